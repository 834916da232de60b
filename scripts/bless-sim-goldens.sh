#!/usr/bin/env bash
# Re-blesses the golden records of the simulated printers from healthy prints:
# golden/sim-80mm/*.json (576 dots) and golden/sim-58mm/*.json (384 dots), every pattern.
# Each record is printed on the simulated printer (seed 1), scanned at 600 dpi and blessed
# with `rig golden bless --force`, which prints what changed against the committed record.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rig=target/release/rig
work=target/golden-scans
mkdir -p "$work"
for model in sim-80mm:576 sim-58mm:384; do
  name=${model%%:*}
  dots=${model##*:}
  for pattern in solid ladder elements dense-sparse receipt; do
    job="$work/$name-$pattern.bin"
    paper="$work/$name-$pattern-paper.png"
    scan="$work/$name-$pattern-scan.png"
    "$rig" patterns escpos "$pattern" --dots "$dots" -o "$job" >/dev/null
    "$rig" sim print "$job" --seed 1 -o "$paper" >/dev/null
    "$rig" sim scan "$paper" --dpi 600 --skew 0.8 --seed 1 -o "$scan" >/dev/null
    "$rig" golden bless "$scan" --pattern "$pattern" --dots "$dots" --model "$name" \
      -o "golden/$name/$pattern.json" --force
  done
done

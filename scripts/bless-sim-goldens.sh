#!/usr/bin/env bash
# Re-blesses the golden records of the simulated printers from healthy prints:
# golden/sim-80mm/*.json (576 dots) and golden/sim-58mm/*.json (384 dots), every pattern.
# Each record is blessed from three copies, as a lab captures a new model: the pattern is
# printed three times on the simulated printer (seeds 1–3, each its own print and scan,
# 600 dpi) and `rig golden bless --force` takes their median, sets the tolerances from
# their spread, and prints what changed against the committed record.
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
    "$rig" patterns escpos "$pattern" --dots "$dots" -o "$job" >/dev/null
    scans=()
    for seed in 1 2 3; do
      paper="$work/$name-$pattern-paper-$seed.png"
      scan="$work/$name-$pattern-scan-$seed.png"
      "$rig" sim print "$job" --seed "$seed" -o "$paper" >/dev/null
      "$rig" sim scan "$paper" --dpi 600 --skew 0.8 --seed "$seed" -o "$scan" >/dev/null
      scans+=("$scan")
    done
    "$rig" golden bless "${scans[@]}" --pattern "$pattern" --dots "$dots" --model "$name" \
      -o "golden/$name/$pattern.json" --force
  done
done

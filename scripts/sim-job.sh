#!/usr/bin/env bash
# A rig job on the simulated 80 mm (576-dot) printer, no hardware needed: every pattern is
# printed healthy and then under a fault it is meant to reveal, scanned at 600 dpi, and
# judged against its golden record. Healthy cases must pass and faulted cases must fail;
# the job exits 0 when every case came out as expected, 1 otherwise.
#
# Usage: scripts/sim-job.sh [RESULTS_DIR]   (default results/sim-job-<UTC time>)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
cargo build --release --quiet || exit 2
rig=target/release/rig
out=${1:-results/sim-job-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out" || exit 2

cases=(
  "solid:" "solid:half=right" "solid:block=128:64" "solid:tilt=0.4"
  "ladder:" "ladder:temp=-10"
  "elements:" "elements:dead=300"
  "dense-sparse:" "dense-sparse:voltage=17.5"
  "receipt:" "receipt:cut=0.9"
)
unexpected=0
seed=1
printf '%-32s %-8s %-8s %s\n' case expected verdict defects
for c in "${cases[@]}"; do
  pattern=${c%%:*}
  fault=${c#*:}
  name=$pattern${fault:+_${fault//[=:,]/-}}
  dir="$out/$name"
  mkdir -p "$dir"
  faultargs=()
  [ -n "$fault" ] && faultargs=(--fault "$fault")
  seed=$((seed + 1))
  "$rig" patterns escpos "$pattern" --dots 576 --serial "$seed" -o "$dir/job.bin" >/dev/null &&
    "$rig" sim print "$dir/job.bin" "${faultargs[@]}" --seed "$seed" -o "$dir/paper.png" >"$dir/print.txt" &&
    "$rig" sim scan "$dir/paper.png" --dpi 600 --skew 1.2 --seed "$seed" -o "$dir/scan.png" >/dev/null
  if [ $? -ne 0 ]; then
    echo "$name: the simulated printer or scanner failed (see $dir)" >&2
    unexpected=$((unexpected + 1))
    continue
  fi
  "$rig" analyze "$dir/scan.png" --pattern "$pattern" --dots 576 --serial "$seed" \
    --golden "golden/sim-80mm/$pattern.json" --overlay "$dir/overlay.png" \
    --json-out "$dir/analysis.json" >"$dir/analysis.txt"
  code=$?
  case $code in 0) verdict=pass ;; 1) verdict=fail ;; *) verdict=error ;; esac
  expected=pass
  [ -n "$fault" ] && expected=fail
  [ "$verdict" = "$expected" ] || unexpected=$((unexpected + 1))
  defects=$(grep -oE '^  [a-z_]+ (FAIL|marginal)' "$dir/analysis.txt" | awk '{print $1}' | sort -u | paste -sd, -)
  printf '%-32s %-8s %-8s %s\n' "$name" "$expected" "$verdict" "${defects:--}"
done
echo "results: $out"
if [ "$unexpected" -ne 0 ]; then
  echo "$unexpected case(s) did not come out as expected" >&2
  exit 1
fi

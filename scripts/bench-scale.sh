#!/usr/bin/env bash
# How `ktriage analyze` grows with the number of reports in one log.
#
#   scripts/bench-scale.sh [MAX]     # N = 1000, 10000, ... up to MAX (default 100000)
#   scripts/bench-scale.sh gib       # one log of 1 GiB: the target is < 64 MiB peak RSS
#
# Two shapes of log, each with N reports:
#   oneline  a page fault header and its RIP line, N times (the shape that
#            was quadratic: 8,000 reports 0.9 s, 32,000 11.3 s);
#   seed     examples/xfs-panic.log (the founding case, 2 reports) N/2 times.
# Each is analysed to text and to --json. Prints wall seconds and peak RSS
# (GNU time), and the ratio to the row of N/10: linear cost is ~10x per row.
# Peak RSS per report is (RSS - RSS of the 1000 row) / (N - 1000).
# `gib`: the shared corpora (distro, syzkaller, kernel-lab) and examples/
# concatenated and repeated to 1 GiB (~350,000 reports of ~5,000 boots
# each), to text and to --json; needs ../shared and ~1 GiB in $TMPDIR.
# Build dir: $KTRIAGE_BUILD (default build). Logs go to a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
max=${1:-100000}
build=${KTRIAGE_BUILD:-build}

if [ ! -x /usr/bin/time ]; then
  echo "bench-scale: installing GNU time (Debian package 'time')" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else sudo apt-get install -y -qq time >/dev/null; fi
fi
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja >/dev/null
ninja -C "$build" -j2 ktriage >/dev/null

dir=$(mktemp -d "${TMPDIR:-/tmp}/ktriage-scale.XXXXXX")
trap 'rm -rf "$dir"' EXIT

generate() {  # shape n file
  python3 - "$1" "$2" "$3" <<'PY'
import sys
shape, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as out:
    if shape == "oneline":
        for i in range(n):
            out.write(f"[{i:6d}.{i % 1000000:06d}] BUG: unable to handle page fault for address: 0000000000000008\n")
            out.write(f"[{i:6d}.{i % 1000000:06d}] RIP: 0010:foo_bar+0x12/0x40 [foo]\n")
    else:
        seed = open("examples/xfs-panic.log").read()
        for _ in range(n // 2):
            out.write(seed)
PY
}

if [ "$max" = gib ]; then
  log=$dir/corpora-1g.log
  python3 - "$log" <<'PY'
import glob, os, sys
parts = []
for d in ["../shared/corpus/distro/logs", "../shared/corpus/syzkaller/linux/report", "../shared/kernel-lab/logs", "examples"]:
    for f in sorted(glob.glob(d + "/*")):
        if os.path.isfile(f) and (f.endswith(".log") or "corpus" in d):
            parts.append(open(f, errors="replace").read())
blob = "\n".join(parts) + "\n"
if len(blob) < 1 << 20:
    sys.exit("bench-scale: the shared corpora are not beside the checkout")
with open(sys.argv[1], "w") as out:
    for _ in range((1 << 30) // len(blob) + 1):
        out.write(blob)
PY
  printf '%-6s %10s %9s %10s %s\n' out "log MiB" "wall s" "peak MiB" "(target < 64)"
  for out in text json; do
    flags=()
    [ $out = json ] && flags=(--json)
    /usr/bin/time -f '%e %M' -o "$dir/time" "$build/ktriage" analyze "${flags[@]}" "$log" >/dev/null || [ $? = 1 ]
    read -r s k <"$dir/time"
    printf '%-6s %10d %9.1f %10.1f\n' "$out" $(($(stat -c %s "$log") >> 20)) "$s" "$(awk -v k="$k" 'BEGIN { print k / 1024 }')"
  done
  exit 0
fi

printf '%-8s %-5s %8s %9s %8s %11s %8s %12s\n' shape out reports "wall s" "x prev" "peak KiB" "x prev" "KiB/report"
for shape in oneline seed; do
  for out in text json; do
    prev_s="" prev_k="" base_k=""
    for ((n = 1000; n <= max; n *= 10)); do
      log=$dir/$shape-$n.log
      [ -f "$log" ] || generate "$shape" "$n" "$log"
      flags=()
      [ $out = json ] && flags=(--json)
      /usr/bin/time -f '%e %M' -o "$dir/time" "$build/ktriage" analyze "${flags[@]}" "$log" >/dev/null || [ $? = 1 ]
      read -r s k <"$dir/time"
      ratio_s=$([ -n "$prev_s" ] && awk -v a="$s" -v b="$prev_s" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }' || echo -)
      ratio_k=$([ -n "$prev_k" ] && awk -v a="$k" -v b="$prev_k" 'BEGIN { printf "%.1f", a / b }' || echo -)
      per=$([ -n "$base_k" ] && awk -v a="$k" -v b="$base_k" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / (n - 1000) }' || echo -)
      printf '%-8s %-5s %8d %9.2f %8s %11d %8s %12s\n' "$shape" "$out" "$n" "$s" "$ratio_s" "$k" "$ratio_k" "$per"
      prev_s=$s prev_k=$k
      [ -n "$base_k" ] || base_k=$k
    done
  done
  rm -f "$dir"/"$shape"-*.log
done

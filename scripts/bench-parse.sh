#!/usr/bin/env bash
# Parser throughput against grep, on one generated noisy log, in one run.
#
#   scripts/bench-parse.sh [SIZE]        # default 1G; e.g. 256M for a quick look
#
# Builds parse_bench (build dir: $KTRIAGE_BUILD, default build-bench), writes
# a noisy log of SIZE into a temp dir (scripts/gen-noisy-log.py: shared corpus
# crash logs in realistic filler), then on the same warm file:
#   - `parse_bench --stream`: LogParser fed 1 MiB chunks, one core, Sink counting;
#   - `grep -c 'Call Trace'`: the floor any log scanner is compared with;
#   - `ktriage analyze --json` (whole CLI, when it builds), for reference.
# Prints MB/s for each, the ktriage/grep ratio, and peak RSS from
# /usr/bin/time -v; fails when the streaming parser's peak RSS reaches 64 MiB.
# Environment: KTRIAGE_BENCH_KEEP=1 keeps the file; KTRIAGE_BENCH_TARGET (MB/s,
# default 500) is the throughput target reported against (not enforced).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
build=${KTRIAGE_BUILD:-build-bench}
target=${KTRIAGE_BENCH_TARGET:-500}
rss_limit_kib=$((64 * 1024))

if [ ! -x /usr/bin/time ]; then
  echo "bench-parse: installing GNU time (Debian package 'time')" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else sudo apt-get install -y -qq time >/dev/null; fi
fi

[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja >/dev/null
ninja -C "$build" -j2 parse_bench >/dev/null
have_cli=0
if ninja -C "$build" -j2 ktriage >/dev/null 2>&1; then have_cli=1; else
  echo "bench-parse: the ktriage CLI does not build right now; measuring the parser only" >&2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/ktriage-bench.XXXXXX")
cleanup() { [ "${KTRIAGE_BENCH_KEEP:-0}" = 1 ] && echo "kept $dir/noisy.log" >&2 || rm -rf "$dir"; }
trap cleanup EXIT
log=$dir/noisy.log
echo "generating $size noisy log in $dir ..."
gen=$(python3 scripts/gen-noisy-log.py --out "$log" --size "$size")
bytes=$(stat -c %s "$log")
cat "$log" >/dev/null  # warm the page cache so every side reads from memory

# seconds and peak RSS (KiB) of a command, from GNU time's -v report.
measure() {
  local out=$1; shift
  /usr/bin/time -v -o "$out.time" "$@" >"$out" 2>"$out.err" || { local rc=$?; [ $rc = 1 ] || return $rc; }
}
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }'; }

measure "$dir/parse" "$build/bench/parse_bench" --stream "$log"
parse_json=$(cat "$dir/parse")
parse_s=$(sed -E 's/.*"seconds": ([0-9.]+).*/\1/' <<<"$parse_json")
parse_rss=$(rss "$dir/parse.time")

measure "$dir/grep" grep -c 'Call Trace' "$log"
grep_s=$(wall "$dir/grep.time")
grep_count=$(cat "$dir/grep")
# GNU time's wall clock has 10 ms resolution; time grep precisely as well.
grep_s=$(python3 - "$log" <<'PY'
import subprocess, sys, time
t = time.perf_counter()
subprocess.run(["grep", "-c", "Call Trace", sys.argv[1]], stdout=subprocess.PIPE, check=False)  # not DEVNULL: grep stops at the first match then
print(f"{time.perf_counter() - t:.3f}")
PY
)

echo "input: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') ($gen)"
printf '%-34s %8s MB/s  %6.2fs  peak RSS %6d KiB  %s\n' "ktriage LogParser (1 MiB chunks)" \
  "$(mbps "$parse_s")" "$parse_s" "$parse_rss" "$parse_json"
printf '%-34s %8s MB/s  %6.2fs  peak RSS %6d KiB  %s matching lines\n' "grep -c 'Call Trace'" \
  "$(mbps "$grep_s")" "$grep_s" "$(rss "$dir/grep.time")" "$grep_count"
if [ $have_cli = 1 ]; then
  measure "$dir/cli" "$build/ktriage" analyze --json "$log"
  cli_s=$(wall "$dir/cli.time")
  printf '%-34s %8s MB/s  %6.2fs  peak RSS %6d KiB  %s reports\n' "ktriage analyze --json (CLI)" \
    "$(mbps "$cli_s")" "$cli_s" "$(rss "$dir/cli.time")" "$(grep -c '"header"' "$dir/cli" || true)"
fi
awk -v p="$parse_s" -v g="$grep_s" -v t="$target" -v b="$bytes" 'BEGIN {
  r = (p > 0 ? g / p : 0); x = (g > 0 ? p / g : 0); m = (p > 0 && b / 1e6 / p >= t ? "met" : "NOT met")
  printf "ratio ktriage/grep throughput: %.2f (ktriage takes %.1fx grep'"'"'s time); target %d MB/s: %s\n", r, x, t, m }'
if [ "$parse_rss" -ge $rss_limit_kib ]; then
  echo "FAIL: streaming parser peak RSS ${parse_rss} KiB >= 64 MiB" >&2
  exit 1
fi
echo "peak RSS ${parse_rss} KiB < 64 MiB: ok"

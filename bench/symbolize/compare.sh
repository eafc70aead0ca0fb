#!/usr/bin/env bash
# compare.sh LOG [RUNS] - time ktriage's symbolizer against eu-addr2line,
# llvm-symbolizer and binutils addr2line on the same vmlinux frames of LOG,
# warm page cache, median of RUNS (default 5), and print the ratios.
#
# ktriage side: symbolize_run (parse the log + symbolize every report, what
# `ktriage analyze --vmlinux` does minus rendering), and `ktriage analyze
# --vmlinux` itself when the CLI accepts that flag. Peers get every vmlinux
# call-trace address of LOG in one invocation each (address = System.map
# value + offset - 1, the call instruction), inline chains on.
#
# Environment: KLAB_CACHE (default ~/.cache/kernel-lab), KLAB_KVER,
# KTRIAGE_BUILD (build dir holding symbolize_run and ktriage; default build).
set -euo pipefail
LOG=${1:?usage: compare.sh LOG [RUNS]}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KLAB_CACHE:-$HOME/.cache/kernel-lab}
KVER=${KLAB_KVER:-6.1.0-56-cloud-amd64}
VMLINUX=$CACHE/dbg/usr/lib/debug/boot/vmlinux-$KVER
MAP=$CACHE/dbg/usr/lib/debug/boot/System.map-$KVER
BUILD=${KTRIAGE_BUILD:-$HERE/../../build}
RUN=$(find "$BUILD" -name symbolize_run -type f -perm -u+x | head -1)
KTRIAGE=$(find "$BUILD" -name ktriage -type f -perm -u+x | head -1)
[ -f "$VMLINUX" ] || { echo "compare.sh: no $VMLINUX (run kernel-lab setup)" >&2; exit 2; }
[ -n "$RUN" ] || { echo "compare.sh: no symbolize_run under $BUILD" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# vmlinux call-trace frames (no [module]) -> link-time addresses of the calls.
grep -oE '^\[ *[0-9.]+\]  (\? )?[A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+$' "$LOG" |
	sed -E 's/.*\] +(\? )?//; s/\/.*//; s/\+/ /' > "$TMP/frames"
awk 'NR == FNR { a[$3] = $1; next } ($1 in a) { print a[$1], $2 }' "$MAP" "$TMP/frames" |
	while read -r base off; do printf '0x%x\n' $((0x$base + off - 1)); done > "$TMP/addrs"
echo "log $LOG: $(wc -l < "$TMP/addrs") vmlinux frames, $RUNS warm runs each"

declare -A WALL RSS
# Wall time: mean of RUNS from `perf stat -r` when perf works (no fork of a
# timing wrapper per run in the measurement), else median of RUNS from
# bash's clock around /usr/bin/time. Peak RSS: median of RUNS, /usr/bin/time.
wall_perf() {
	perf stat -r "$RUNS" -x, -e duration_time "$@" 2>&1 > /dev/null |
		awk -F, '$3 == "duration_time" { printf "%.4f\n", $1 / 1e9 }'
}
bench() {   # bench NAME CMD...
	local name=$1 i w=""; shift
	"$@" > /dev/null 2>&1 || true          # warm-up
	read -r WALL[$name] RSS[$name] < <(for ((i = 0; i < RUNS; i++)); do
		local t0=$EPOCHREALTIME
		/usr/bin/time -f '%M' -o "$TMP/t" "$@" > /dev/null 2>&1 || true
		echo "$(echo "$EPOCHREALTIME - $t0" | bc -l) $(tail -1 "$TMP/t")"
	done | sort -n | awk '{ s[NR] = $1; r[NR] = $2 } END { i = int((NR + 1) / 2); print s[i], r[i] }')
	command -v perf > /dev/null && w=$(wall_perf "$@" || true)
	[ -n "$w" ] && WALL[$name]=$w
	printf '%-28s wall %6.4f s  peak RSS %7.1f MB\n' "$name" "${WALL[$name]}" \
		"$(echo "${RSS[$name]} / 1024" | bc -l)"
}

bench symbolize_run "$RUN" "$LOG" --vmlinux "$VMLINUX" --quiet
if [ -n "$KTRIAGE" ] && "$KTRIAGE" analyze --help 2>&1 | grep -q -- --vmlinux; then
	bench ktriage_analyze "$KTRIAGE" analyze --vmlinux "$VMLINUX" "$LOG"
fi
bench eu-addr2line eu-addr2line -f -i -e "$VMLINUX" $(cat "$TMP/addrs")
command -v llvm-symbolizer > /dev/null &&
	bench llvm-symbolizer llvm-symbolizer --inlining --obj="$VMLINUX" $(cat "$TMP/addrs")
bench addr2line addr2line -f -i -e "$VMLINUX" $(cat "$TMP/addrs")

# Where ktriage's time goes (in-process clocks of symbolize_run).
for ((i = 0; i < RUNS; i++)); do
	KTRIAGE_TIMING=1 "$RUN" "$LOG" --vmlinux "$VMLINUX" --quiet 2>&1 >/dev/null
done | awk '{ print $1, $2 }' | sort -k1,1 -k2,2n | awk '
	{ v[$1, ++n[$1]] = $2 }
	END { for (k in n) printf "  ktriage %-10s median %6.2f ms\n", k, v[k, int((n[k] + 1) / 2)] }' |
	sort | tee "$TMP/stages"
STAGE_MS=$(awk '$2 == "symbolize" { print $4 }' "$TMP/stages")

# Repeat runs with the persisted per-build-id index (--cache): the first
# run fills it, the rest are served from it.
CACHE_DIR=$TMP/symcache
"$RUN" "$LOG" --vmlinux "$VMLINUX" --cache "$CACHE_DIR" --quiet > /dev/null
for ((i = 0; i < RUNS; i++)); do
	KTRIAGE_TIMING=1 "$RUN" "$LOG" --vmlinux "$VMLINUX" --cache "$CACHE_DIR" --quiet 2>&1 >/dev/null
done | awk '$1 == "symbolize" { print $2 }' | sort -n | awk '{ v[NR] = $1 }
	END { printf "  ktriage symbolize with --cache (repeat run) median %6.2f ms\n", v[int((NR + 1) / 2)] }'
bench symbolize_run+cache "$RUN" "$LOG" --vmlinux "$VMLINUX" --cache "$CACHE_DIR" --quiet

echo
for k in "${!WALL[@]}"; do
	case $k in symbolize_run* | ktriage_analyze) ;; *) continue ;; esac
	for p in eu-addr2line llvm-symbolizer addr2line; do
		[ -n "${WALL[$p]:-}" ] || continue
		printf '%-22s / %-16s wall %5.2f  RSS %5.2f\n' "$k" "$p" \
			"$(echo "${WALL[$k]} / ${WALL[$p]}" | bc -l)" "$(echo "${RSS[$k]} / ${RSS[$p]}" | bc -l)"
	done
done
[ -n "$STAGE_MS" ] && printf '%-22s / %-16s wall %5.2f  (symbolization alone, no parse/startup)\n' \
	"symbolize stage" eu-addr2line "$(echo "$STAGE_MS / 1000 / ${WALL[eu-addr2line]}" | bc -l)"
echo "targets (issue 3): ktriage / eu-addr2line wall <= 0.33, RSS <= 0.50"

#!/usr/bin/env bash
# Fuzzing by the hour, outside CI: builds the libFuzzer targets (the clang
# tree of fuzz-smoke.sh), fuzzes each for a CPU-time budget under
# `nice -n 19` with its dictionary and seed corpus, and writes a table of
# execs/s, coverage and findings.
#
#   tests/fuzz/fuzz-run.sh [-t SECONDS] [-j N] [-o DIR] [-b DIR] [-k] [-r] [TARGET[:SECONDS]]...
#
#   -t SECONDS  CPU seconds per target (default 1200); TARGET:SECONDS overrides
#   -j N        targets fuzzed at once (default 1: the machine is shared)
#   -o DIR      seeds, corpora, logs, artifacts and table.md (default BUILD/hours)
#   -b DIR      the clang build (default build-fuzz)
#   -k          keep: merge the inputs that reach edges CI's smoke seeds do not
#               into tests/fuzz/corpus/TARGET/, and report the smoke run's
#               starting coverage without and with them
#   -r          resume: count the CPU time, log and findings of earlier runs
#               into DIR (a budget longer than one sitting); the corpus
#               always carries over
# Without targets: every tests/fuzz/*_fuzz.cc. E.g. the hour per target:
#   tests/fuzz/fuzz-run.sh -t 3600 -k
#
# Seeds: examples/, the shared corpora and kernel-lab logs beside the
# checkout (when present), and per target: Code: lines (code_fuzz), small
# gcc-built ELF files and the lab's crashzoo.ko (elf_fuzz), the embedded
# module's sections (dwarf_fuzz), requests and gzip bodies besides the
# text seeds (http_fuzz); a new target gets the text seeds.
# Dictionaries: tests/fuzz/dict/TARGET.dict (dwarf_fuzz: elf_fuzz.dict).
#
# Time is CPU time of the fuzzer process: on a busy machine a target runs
# again with the rest of its budget until it has had it. After a finding
# (crash, timeout, out-of-memory, leak) it restarts with the corpus so far,
# at most 20 times. Findings stay in DIR/TARGET/artifacts/; exit 1 when any.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
budget=1200 jobs=1 out="" build="$src/build-fuzz" keep=0 resume=0
while getopts "t:j:o:b:kr" opt; do
  case $opt in
    t) budget=$OPTARG ;;
    j) jobs=$OPTARG ;;
    o) out=$OPTARG ;;
    b) build=$OPTARG ;;
    k) keep=1 ;;
    r) resume=1 ;;
    *) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
out=${out:-$build/hours}
mkdir -p "$out"
out=$(cd "$out" && pwd)
shared="$src/../shared"

specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  for f in "$src"/tests/fuzz/*_fuzz.cc; do specs+=("$(basename "$f" .cc)"); done
fi

echo "fuzz-run: building the fuzz targets in $build" >&2
nice -n 19 "$src/tests/fuzz/fuzz-smoke.sh" "$src" "$build" 0 >&2

# The inputs CI's smoke run starts from besides the kept corpus (fuzz-smoke.sh).
smoke_seeds() {
  echo "$src/examples"
  for d in "$shared/corpus/distro/logs" "$shared/corpus/syzkaller/linux/report"; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

# The crash logs of the shared corpora and the lab into $1.
text_seeds() {
  local d
  for d in "$shared/corpus/distro/logs" "$shared/corpus/syzkaller/linux/report" "$shared/kernel-lab/logs"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f \( -name '*.log' -o -name '[0-9]*' \) -exec cp -t "$1" {} +
  done
  return 0
}

# Target-specific seeds into $2.
make_seeds() {
  local t=$1 dir=$2 bin=$3
  mkdir -p "$dir"
  case $t in
    code_fuzz)
      # Each distinct Code: line, first byte 0 (x86-64) or 2 (arm64 words).
      python3 - "$dir" "$src/examples" "$shared/corpus" "$shared/kernel-lab/logs" <<'EOF'
import hashlib, os, re, sys
seen = set()
for root in sys.argv[2:]:
    for base, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(base, name), 'rb') as f:
                for m in re.finditer(rb'Code: ([^\n]*)', f.read()):
                    text = m.group(1).rstrip(b'\r')
                    seed = (b'\x02' if b'(' in text else b'\x00') + text
                    key = hashlib.sha1(seed).hexdigest()
                    if key not in seen:
                        seen.add(key)
                        with open(os.path.join(sys.argv[1], key), 'wb') as o:
                            o.write(seed)
EOF
      ;;
    elf_fuzz)
      # Small gcc-built executables and relocatable objects with DWARF, the
      # same without it, a System.map, and the lab's module.
      local d="$src/tests/unit/data"
      if command -v gcc >/dev/null 2>&1; then
        (cd "$d/symbolize" && gcc -g -O2 -no-pie -o "$dir/vmlinux" main.c dup_a.c dup_b.c &&
           gcc -g -O2 -c -o "$dir/module.ko" module.c) || true
        gcc -g -O2 -c -o "$dir/zoo.ko" "$d/expressions/zoo.c" || true
        gcc -g -O2 -c -o "$dir/frames.o" "$d/stack_usage/frames.c" || true
        gcc -g -O1 -gdwarf-4 -c -o "$dir/listing-dwarf4.o" "$d/listing/listing.c" || true
        for f in vmlinux module.ko; do [ -f "$dir/$f" ] && strip -g -o "$dir/$f.nodwarf" "$dir/$f"; done
      fi
      cp "$d"/symbolize/System.map-* "$dir/" 2>/dev/null || true
      cp "$shared/kernel-lab/logs/debug/crashzoo.ko" "$dir/" 2>/dev/null || true
      ;;
    dwarf_fuzz)
      KTRIAGE_FUZZ_SEEDS="$dir" "$bin" -runs=0 "$dir" >/dev/null 2>&1 || true
      ;;
    http_fuzz)
      # Byte 0 picks the framing (http_fuzz.cc): whole request streams (0),
      # gzip upload bodies (2) and GET paths (3); the text seeds are bodies
      # or paths by their first byte.
      text_seeds "$dir"
      python3 - "$dir" "$src/examples" <<'EOF'
import gzip, hashlib, os, sys
out, examples = sys.argv[1:]
seeds = [
    b'\0GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    b'\0GET /healthz HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n',
    b'\0POST /api/v1/logs HTTP/1.1\r\nContent-Length: 5\r\nX-Ktriage-Host: h\r\n\r\nOops:',
    b'\0POST /api/v1/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nOops:\r\n0\r\n\r\n',
    b'\0GET /api/v1/buckets?sort=last&page=2&since=7d HTTP/1.1\r\nConnection: keep-alive\r\n\r\n'
    b'GET /api/v1/reports/1 HTTP/1.1\r\nConnection: close\r\n\r\n',
    b'\3api/v1/buckets?sort=first&since=2024-05-01',
    b'\3?q=xfs&kernel=2.6.32&host=a&page=1',
    b'\3buckets/1',
    b'\3reports/1',
]
for name in sorted(os.listdir(examples)):
    if not os.path.isfile(os.path.join(examples, name)):
        continue
    with open(os.path.join(examples, name), 'rb') as f:
        seeds.append(b'\2' + gzip.compress(f.read()[:16384], mtime=0))
for seed in seeds:
    with open(os.path.join(out, hashlib.sha1(seed).hexdigest()), 'wb') as o:
        o.write(seed)
EOF
      ;;
    *) text_seeds "$dir" ;;
  esac
  cp "$src"/examples/* "$dir/" 2>/dev/null || true
  return 0
}

max_len() {
  case $1 in
    code_fuzz) echo 4096 ;;
    elf_fuzz) echo 524288 ;;  # crashzoo.ko is 305 KiB
    *) echo 65536 ;;
  esac
}

# Starting coverage ("INITED cov: N") of the target over the given dirs.
inited_cov() {
  local bin=$1; shift
  nice -n 19 "$bin" -runs=0 -timeout=30 -rss_limit_mb=4096 -max_len=65536 "$@" 2>&1 |
    sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' | tail -n 1
}

run_target() {
  local t=$1 secs=$2
  local bin="$build/tests/fuzz/$t" run="$out/$t"
  [ -x "$bin" ] || { echo "fuzz-run: no target $t in $build" >&2; return 1; }
  rm -f "$run/row.tsv"
  [ $resume -eq 1 ] || rm -rf "$run/artifacts" "$run/log" "$run/cpu" "$run/wall"
  mkdir -p "$run/corpus" "$run/artifacts"
  touch "$run/log" "$run/cpu" "$run/wall"
  make_seeds "$t" "$run/seeds" "$bin"
  local dirs=("$run/corpus" "$run/seeds")
  [ -d "$src/tests/fuzz/corpus/$t" ] && dirs+=("$src/tests/fuzz/corpus/$t")
  local dict=() dict_name=$t
  [ "$t" = dwarf_fuzz ] && dict_name=elf_fuzz  # it mutates an ELF's sections: elf_fuzz's names
  [ -f "$src/tests/fuzz/dict/$dict_name.dict" ] && dict=(-dict="$src/tests/fuzz/dict/$dict_name.dict")
  local len
  len=$(max_len "$t")

  local cpu restarts=0 start=$SECONDS
  cpu=$(awk '{ s += $1 + $2 } END { printf "%d", s }' "$run/cpu")
  echo "fuzz-run: $t for ${secs} CPU seconds$([ $resume -eq 1 ] && echo ", $cpu of them done before")" >&2
  local TIMEFORMAT='%U %S'
  while [ $((secs - cpu)) -ge 30 ] && [ $restarts -le 20 ]; do
    local status=0
    { time nice -n 19 "$bin" -max_total_time=$((secs - cpu)) -timeout=25 -rss_limit_mb=2048 -max_len="$len" \
        "${dict[@]}" -print_final_stats=1 -artifact_prefix="$run/artifacts/" "${dirs[@]}" >>"$run/log" 2>&1 ||
        status=$?; } 2>>"$run/cpu"
    cpu=$(awk '{ s += $1 + $2 } END { printf "%d", s }' "$run/cpu")
    [ $status -eq 0 ] && continue
    restarts=$((restarts + 1))
    echo "fuzz-run: $t: finding (exit $status), restarting" >&2
  done
  echo $((SECONDS - start)) >>"$run/wall"
  local wall
  wall=$(awk '{ s += $1 } END { printf "%d", s }' "$run/wall")

  # The table row: execs and rates over all runs, coverage from the first
  # run's start to the last report, findings by artifact.
  local execs peak cov0 cov1 ft corp new
  execs=$(awk '/^stat::number_of_executed_units/ { s += $NF } END { print s + 0 }' "$run/log")
  new=$(awk '/^stat::new_units_added/ { s += $NF } END { print s + 0 }' "$run/log")
  peak=$(awk '/^stat::peak_rss_mb/ { if ($NF + 0 > m) m = $NF + 0 } END { print m + 0 }' "$run/log")
  cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$run/log" | head -n 1)
  cov1=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1/p' "$run/log" | tail -n 1)
  ft=$(sed -n 's/.* cov: [0-9]* ft: \([0-9]*\).*/\1/p' "$run/log" | tail -n 1)
  corp=$(find "$run/corpus" -type f | wc -l)
  local findings=() a
  for a in "$run"/artifacts/{crash,timeout,oom,leak}-*; do
    [ -e "$a" ] && findings+=("$(basename "$a" | cut -c1-16)")
  done
  local reasons
  reasons=$(grep -hE 'property failed|^SUMMARY|ERROR: libFuzzer' "$run/log" | sed 's/^.*ERROR: //' | sort | uniq -c |
            awk '{ $1 = $1 "x"; print }' | paste -sd ';' - || true)

  local smoke=""
  if [ $keep -eq 1 ]; then
    keep_corpus "$t" "$bin" "$run"
    local seeds=()
    mapfile -t seeds < <(smoke_seeds)
    smoke="$(inited_cov "$bin" "${seeds[@]}") -> $(inited_cov "$bin" "${seeds[@]}" "$src/tests/fuzz/corpus/$t")"
  fi
  printf '%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n' "$t" "$cpu" "$wall" "$execs" \
    $((cpu > 0 ? execs / cpu : 0)) "${cov0:-?}" "${cov1:-?}" "${ft:-?}" "$corp" "$new" "$peak" \
    "${#findings[@]}" "${reasons:--}" "${smoke:--}" >"$run/row.tsv"
}

# Adds to tests/fuzz/corpus/TARGET/ the inputs (from this run's corpus and
# seeds) that reach edges the smoke seeds and the kept corpus do not: a
# libFuzzer merge counting edges only, so the kept set stays small. Only
# inputs up to 4 KiB (elf_fuzz: 46 KB kept, smoke coverage 273 -> 1587
# edges; 16 KiB would keep 708 KB for 2256) and no file from ../shared as it
# is: the tree keeps short excerpts of that material at most (corpus/README.md).
keep_max=4096
keep_corpus() {
  local t=$1 bin=$2 run=$3 kept="$src/tests/fuzz/corpus/$1"
  local base="$run/merge" candidates="$run/merge.candidates" f
  rm -rf "$base" "$candidates"
  mkdir -p "$base" "$kept" "$candidates"
  while read -r d; do
    for f in "$d"/*; do [ -f "$f" ] && cp "$f" "$base/$(sha1sum <"$f" | cut -c1-40)"; done
  done < <(smoke_seeds; echo "$kept")
  find "$run/corpus" "$run/seeds" -type f -size -$((keep_max + 1))c -exec cp -t "$candidates" {} +
  if [ -d "$shared" ]; then
    find "$shared" -type f -size -$((keep_max + 1))c -exec sha1sum {} + | cut -c1-40 | sort -u >"$run/shared.sha1"
    for f in "$candidates"/*; do
      if grep -qx "$(sha1sum <"$f" | cut -c1-40)" "$run/shared.sha1"; then rm -f "$f"; fi
    done
  fi
  ls "$base" | sort >"$run/merge.before"
  nice -n 19 "$bin" -merge=1 -use_counters=0 -use_value_profile=0 -timeout=30 -rss_limit_mb=4096 \
    -max_len=65536 "$base" "$candidates" >"$run/merge.log" 2>&1 || {
    echo "fuzz-run: $t: merge failed, see $run/merge.log" >&2
    return 0
  }
  ls "$base" | sort | comm -13 "$run/merge.before" - | while read -r f; do cp "$base/$f" "$kept/$f"; done
  echo "fuzz-run: $t: kept corpus now $(ls "$kept" | wc -l) files, $(cat "$kept"/* 2>/dev/null | wc -c) bytes" >&2
}

pids=()
for spec in "${specs[@]}"; do
  t=${spec%%:*} secs=$budget
  [ "$spec" != "$t" ] && secs=${spec#*:}
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$t" "$secs" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

table="$out/table.md"
{
  echo "| target | CPU s | wall s | execs | execs/CPU s | cov start -> end | ft | corpus | new units | peak RSS MB | findings | smoke cov (seeds -> +kept) |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|"
  status=0
  for spec in "${specs[@]}"; do
    t=${spec%%:*}
    [ -f "$out/$t/row.tsv" ] || { echo "| $t | (no result) |"; status=1; continue; }
    IFS=$'\t' read -r name cpu wall execs rate cov0 cov1 ft corp new peak nfind reasons smoke <"$out/$t/row.tsv"
    [ "$nfind" -gt 0 ] && status=1
    [ "$reasons" = "-" ] && reasons=""
    echo "| $name | $cpu | $wall | $execs | $rate | $cov0 -> $cov1 | $ft | $corp | $new | $peak | $nfind${reasons:+ ($reasons)} | $smoke |"
  done
} >"$table"
cat "$table"
echo "fuzz-run: table in $table; findings in $out/*/artifacts/" >&2
exit $status

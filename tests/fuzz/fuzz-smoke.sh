#!/usr/bin/env bash
# Builds the clang/libFuzzer build and fuzzes every target briefly.
#
#   tests/fuzz/fuzz-smoke.sh SOURCE_DIR BUILD_DIR [TOTAL_SECONDS]
#
# TOTAL_SECONDS (default 24) is shared between the targets; 0 only builds.
# Seeds: examples/, tests/fuzz/corpus/<target>/ when present (kept by
# fuzz-run.sh -k: inputs that reach what the others do not), and the shared
# corpus beside the checkout when present. Dictionary: tests/fuzz/dict/
# <target>.dict when present. The working corpus and any crash artifacts stay
# in BUILD_DIR/runs. Exit 77 (ctest: skipped) without clang.
set -euo pipefail
src=$(cd "$1" && pwd)
build=$2
total=${3:-24}

find_tool() {
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 && { command -v "$t"; return; }; done
  return 1
}
cxx=$(find_tool clang++-14 clang++) || { echo "fuzz-smoke: SKIP: clang++ not found"; exit 77; }
cc=$(find_tool clang-14 clang) || { echo "fuzz-smoke: SKIP: clang not found"; exit 77; }
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cc"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" 2>"$probe/err"; then
  echo "fuzz-smoke: SKIP: $cxx cannot link libFuzzer: $(head -n 1 "$probe/err")"
  exit 77
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" "${generator[@]}" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Fuzz \
    -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only -fno-omit-frame-pointer $san" \
    -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only -fno-omit-frame-pointer $san" \
    -DCMAKE_EXE_LINKER_FLAGS_FUZZ="-fsanitize=address,undefined" \
    -DKTRIAGE_FUZZ=ON -DKTRIAGE_TESTS=OFF -DKTRIAGE_BENCH=OFF -DKTRIAGE_WERROR=OFF >/dev/null
fi
# The targets as the build below will glob them (a file added meanwhile waits for the next run).
targets=()
for f in "$src"/tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
# Two jobs at most: CI machines and the team share two cores.
cmake --build "$build" --target fuzz_targets -j 2

[ "$total" -gt 0 ] || exit 0
per=$(( total / ${#targets[@]} ))
[ "$per" -ge 3 ] || per=3

shared="$src/../shared"
status=0
for t in "${targets[@]}"; do
  runs="$build/runs/$t"
  mkdir -p "$runs/corpus" "$runs/seeds"
  cp -f "$src"/examples/* "$runs/seeds/" 2>/dev/null || true
  seeds=("$runs/seeds")
  [ -d "$src/tests/fuzz/corpus/$t" ] && seeds+=("$src/tests/fuzz/corpus/$t")
  for d in "$shared/corpus/distro/logs" "$shared/corpus/syzkaller/linux/report"; do
    [ -d "$d" ] && seeds+=("$d")
  done
  dict=()
  dict_name=$t
  [ "$t" = dwarf_fuzz ] && dict_name=elf_fuzz  # it mutates an ELF's sections: elf_fuzz's names
  [ -f "$src/tests/fuzz/dict/$dict_name.dict" ] && dict=(-dict="$src/tests/fuzz/dict/$dict_name.dict")
  echo "fuzz-smoke: $t for ${per}s"
  if ! "$build/tests/fuzz/$t" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        "${dict[@]}" -print_final_stats=1 -artifact_prefix="$runs/" "$runs/corpus" "${seeds[@]}" >"$runs/log" 2>&1; then
    echo "fuzz-smoke: $t FAILED; artifacts and log in $runs"
    grep -E 'ERROR|SUMMARY|property failed|runtime error|Test unit written|deadly signal' "$runs/log" | head -n 20 || true
    status=1
  else
    tail -n 12 "$runs/log" | grep -E '^(#|stat::|Done)' | tail -n 3 || true
  fi
done
exit $status

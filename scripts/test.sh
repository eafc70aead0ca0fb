#!/usr/bin/env bash
# Builds and runs the whole test suite twice, as CI does (.ci/run):
#  1. the plain build: unit, golden, CLI, corpus and fuzz-smoke tests;
#  2. the sanitizer build (preset `asan`: ASan + UBSan, any UBSan report
#     aborts): the same tests but fuzz smoke, which already runs under both.
# Heavy tests (label `heavy`) are in neither run. Corpus tests read ../shared
# when present and skip cleanly when not.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build=${KTRIAGE_BUILD:-build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE heavy

asan=${KTRIAGE_ASAN_BUILD:-build-asan}
[[ -f $asan/build.ninja ]] || cmake --preset asan -B "$asan" >/dev/null
cmake --build "$asan" -- -j"$(nproc)"
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$asan" --output-on-failure -j"$(nproc)" -LE heavy

#!/usr/bin/env bash
# Builds and runs the whole test suite (unit, golden, CLI, corpus, fuzz smoke).
# Corpus tests read ../shared when present and skip cleanly when not.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build=${KTRIAGE_BUILD:-build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE heavy

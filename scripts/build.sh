#!/usr/bin/env bash
# Configures (once) and builds ktriage into ${KTRIAGE_BUILD:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
"scripts/install-deps.sh"
build=${KTRIAGE_BUILD:-build}
[[ -f $build/build.ninja ]] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -- -j"$(nproc)"

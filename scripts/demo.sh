#!/usr/bin/env bash
# Installs what is missing, builds, and analyses the founding case:
# an XFS kernel stack overflow on a RHEL 6 kernel (examples/xfs-panic.log).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
exec "${KTRIAGE_BUILD:-build}/ktriage" analyze examples/xfs-panic.log "$@"

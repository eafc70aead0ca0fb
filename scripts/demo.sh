#!/usr/bin/env bash
# Installs what is missing, builds, and analyses the founding case:
# an XFS kernel stack overflow on a RHEL 6 kernel (examples/xfs-panic.log).
#
#   scripts/demo.sh                      the text report on the terminal
#   scripts/demo.sh --html [FILE]        the HTML report, to FILE (default xfs-panic.html)
#   scripts/demo.sh ARGS...              any other `ktriage analyze` options (--format markdown, --json, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
ktriage="${KTRIAGE_BUILD:-build}/ktriage"
if [[ ${1:-} == --html ]]; then
  out=${2:-xfs-panic.html}
  "$ktriage" analyze --format html -o "$out" examples/xfs-panic.log
  echo "wrote $out: open it in a browser (one file, no network needed)" >&2
  exit 0
fi
exec "$ktriage" analyze examples/xfs-panic.log "$@"

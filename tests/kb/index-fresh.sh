#!/usr/bin/env bash
# The shipped CVE index must be what today's ktriage builds from the pinned
# records: signatures come from the parser, so a parser change that alters
# them needs `scripts/build-cve-index.sh CLONE` (and a look at the recall).
#
#   tests/kb/index-fresh.sh KTRIAGE SOURCE_DIR CLONE
#
# Exit 77 (ctest: skipped) when the clone is absent or not at the pinned commit.
set -euo pipefail
ktriage=$1 src=$2 clone=${3:-}
notice=$src/data/kb/kernel-cves.NOTICE
[[ -n $clone && -d $clone/cve/published ]] || { echo "index-fresh: no clone of the records: skipped"; exit 77; }
field() { sed -n "s/^  $1: *//p" "$notice"; }
repo=$(field repository) branch=$(field branch) commit=$(field commit) date=$(field date)
head=$(git -C "$clone" rev-parse HEAD 2>/dev/null || true)
[[ $head == "$commit" ]] || { echo "index-fresh: $clone is at ${head:-?}, the index at $commit: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$ktriage" kb import --cve "$clone" --source "$repo $branch $commit $date" -o "$tmp/kernel-cves.sqlite" >/dev/null
if ! cmp -s "$tmp/kernel-cves.sqlite" "$src/data/kb/kernel-cves.sqlite"; then
  echo "index-fresh: data/kb/kernel-cves.sqlite differs from what this build makes of the records;"
  echo "rebuild it: scripts/build-cve-index.sh $clone $repo"
  sqlite3 "$tmp/kernel-cves.sqlite" "SELECT id, kind, title, frames FROM entry WHERE title IS NOT NULL" >"$tmp/new"
  sqlite3 "$src/data/kb/kernel-cves.sqlite" "SELECT id, kind, title, frames FROM entry WHERE title IS NOT NULL" >"$tmp/old"
  diff "$tmp/old" "$tmp/new" | head -20 || true
  exit 1
fi
echo "index-fresh: data/kb/kernel-cves.sqlite is what this build makes of $repo $commit"

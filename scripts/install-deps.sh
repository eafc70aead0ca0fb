#!/usr/bin/env bash
# Installs the Debian packages ktriage needs to build and test.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config python3
  # fuzzing: clang's libFuzzer runtime; arm64 test kernels: clang --target, lld, llvm-objdump
  clang libclang-rt-14-dev lld llvm
  # libraries
  libdw-dev libelf-dev elfutils libcapstone-dev libre2-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libsqlite3-dev
  # compressed logs (gzip, xz, zstd: journalctl exports, rotated syslogs)
  zlib1g-dev liblzma-dev libzstd-dev
  # the tools that compress them, for the tests (gzip, xz-utils are always there)
  zstd
  # fetching debug info: debuginfod client, HTTP downloads, .deb/.rpm unpacking
  libdebuginfod-dev libcurl4-gnutls-dev libarchive-dev
  # fleet store: PostgreSQL client (libpq; libpqxx for C++ callers) and server (tests start their own)
  libpq-dev libpqxx-dev postgresql libssl-dev
  # ktriage serve: HTTP server (cpp-httplib); browser tests: headless Chromium; the uploader example's curl
  libcpp-httplib-dev chromium curl
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3
  # debuginfo tests: a real debuginfod server, rpmbuild for a small kernel-debuginfo RPM
  debuginfod rpm
  # version orderings checked against the real implementations
  libdpkg-dev librpm-dev
  # report tests: a GFM renderer for the Markdown, headless Chromium for the HTML
  cmark-gfm chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

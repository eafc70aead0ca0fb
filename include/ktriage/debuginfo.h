// Debug info without hunting for it: the stage before symbolization that
// finds, fetches and checks the vmlinux and modules (with DWARF) of the
// kernel a log came from, and hands the symbolizer their paths.
//
// Sources, tried in this order for what is still missing:
//  1. the cache (keyed by build-id; one view per kernel release);
//  2. debuginfod by build-id (libdebuginfod: DEBUGINFOD_URLS plus
//     FetchOptions::debuginfod_urls, its own cache and DEBUGINFOD_TIMEOUT);
//     build-ids come from the log (CONFIG_STACKTRACE_BUILD_ID prints them) or
//     from the kernel's installed files (/boot/vmlinuz-RELEASE, the modules
//     under /lib/modules/RELEASE, /sys when it is the running kernel);
//  3. the distribution's debug package for the release and version string:
//     Debian/Ubuntu -dbg/-dbgsym through the system's apt, Fedora/RHEL
//     kernel-debuginfo RPMs from configured base URLs.
// Whatever is fetched is checked before use: the build-id asked for, and the
// symbolizer's own check against the log (linux_banner release and version,
// printed build-ids, printed symbol sizes). A file that fails is not used and
// never enters the cache; files are unpacked under a temporary name and
// renamed into place once verified.
//
// Failures (no network, 404, a stalled server, a corrupt package, a full
// disk) are not errors of the call: they are listed in FetchReport::problems
// and the caller goes on with whatever was found, possibly nothing.
//
//   ktriage::FetchOptions fo;                          // defaults: env + apt
//   ktriage::FetchResult got = ktriage::fetch_debuginfo(reports, fo);
//   options.debug.vmlinux = got.debug.vmlinux;         // "" when not found
//   for (auto& p : got.report.problems) std::cerr << p << '\n';
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/report.h"
#include "ktriage/symbolize.h"

namespace ktriage {

// What a log says about the kernel whose debug info is wanted.
struct KernelIdentity {
  std::string release;           // "6.1.0-56-cloud-amd64"
  std::string version;           // "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2"
  Arch arch = Arch::unknown;
  std::string vmlinux_build_id;  // printed, or found in the kernel's installed files
  struct Module {
    std::string name;            // as the call trace prints it
    std::string build_id;        // printed, or found in the installed .ko
  };
  std::vector<Module> modules;   // those in call traces (the ones symbolization needs)
};

// The kernel of the reports: the release most reports print (reports of
// another release are ignored), its version string, printed build-ids and
// the modules in their call traces.
KernelIdentity kernel_identity(const std::vector<Report>& reports);

// A distribution debug package for a kernel, by the distribution's naming.
struct DebugPackage {
  std::string format;   // "deb" or "rpm"
  std::string distro;   // "Debian", "Ubuntu", "Fedora/RHEL"
  std::string name;     // "linux-image-6.1.0-56-cloud-amd64-dbg", "kernel-debuginfo"
  std::string version;  // "6.1.192-2"; rpm: "2.6.32"; "" = apt's candidate
  std::string release;  // rpm only: "431.el6"
  std::string arch;     // rpm only: "x86_64"
  std::string file;     // rpm only: "kernel-debuginfo-2.6.32-431.el6.x86_64.rpm"
};

// The packages to try, best first (Ubuntu has two names); empty when the
// release and version follow no known distribution's naming:
//   6.1.0-56-cloud-amd64 "#1 SMP Debian 6.1.192-2" -> linux-image-6.1.0-56-cloud-amd64-dbg 6.1.192-2
//   5.15.0-91-generic "#101-Ubuntu SMP ..."        -> linux-image-unsigned-5.15.0-91-generic-dbgsym 5.15.0-91.101
//   2.6.32-431.el6.x86_64                          -> kernel-debuginfo-2.6.32-431.el6.x86_64.rpm
std::vector<DebugPackage> debug_packages(const std::string& release, const std::string& version);

// The URL of an RPM under a base URL: "{name}", "{version}", "{release}" and
// "{arch}" are replaced; the file name is appended unless the base names a
// .rpm itself.
//   "https://kojipkgs.fedoraproject.org/packages/kernel/{version}/{release}/{arch}/"
//   "http://debuginfo.centos.org/7/x86_64/"
std::string rpm_url(const std::string& base, const DebugPackage& package);

// Progress of one long step, for a progress bar. `total` 0 = unknown.
struct FetchProgress {
  std::string what;     // "downloading linux-image-...-dbg", "unpacking ..."
  uint64_t done = 0;
  uint64_t total = 0;
  bool finished = false;
};

struct FetchOptions {
  // Extra debuginfod servers, tried after DEBUGINFOD_URLS (when use_env).
  std::vector<std::string> debuginfod_urls;
  bool use_debuginfod_env = true;
  bool use_apt = true;                  // Debian/Ubuntu packages through apt-get
  // Base URLs for Fedora/RHEL kernel-debuginfo RPMs (see rpm_url); also
  // KTRIAGE_RPM_URLS (space-separated) when use_rpm_env.
  std::vector<std::string> rpm_urls;
  bool use_rpm_env = true;
  // Where the crashed kernel's image is installed or unpacked: its
  // boot/vmlinuz-RELEASE and lib/modules/RELEASE/ give the build-ids
  // debuginfod needs when the log prints none. "/" also reads /sys when the
  // release is the running kernel's.
  std::string kernel_root = "/";
  std::string cache_dir;                // "" = default_debuginfo_cache_dir()
  uint64_t cache_limit = 8'000'000'000;  // bytes; older kernels are pruned past it
  unsigned timeout_seconds = 30;        // connect, and a transfer making no progress
  // Downloads bigger than this are confirmed first: `confirm` is asked
  // (what, bytes); without `confirm` they are refused.
  uint64_t confirm_above = 100ull << 20;
  std::function<bool(const std::string& what, uint64_t bytes)> confirm;
  std::function<void(const FetchProgress&)> progress;
};

// One debug file the fetch found.
struct FetchedFile {
  std::string role;       // "vmlinux" or "module"
  std::string name;       // "vmlinux", "crashzoo"
  std::string path;       // what the symbolizer is given
  std::string build_id;
  uint64_t size = 0;      // bytes
  std::string source;     // "cache", "debuginfod http://...", "apt linux-image-...-dbg 6.1.192-2", "rpm URL"
};

// What the fetch did, for the report.
struct FetchReport {
  KernelIdentity kernel;
  std::vector<FetchedFile> files;      // vmlinux first; modules the log needs
  uint64_t module_files = 0;           // module files in the view (all of a package's)
  std::string modules_dir;             // their directory, "" when none
  std::vector<std::string> problems;   // one line each: what failed and why
  std::vector<std::string> notes;      // what was tried without success, checks passed
  uint64_t downloaded = 0;             // bytes fetched over the network in this call
};

struct FetchResult {
  DebugInfoOptions debug;  // vmlinux and module_dirs found; empty when nothing
  FetchReport report;
};

// Finds debug info for the kernel of `reports`. `reports` may be a single
// synthetic report carrying only kernel_release/kernel_version (a release
// given by hand). Never fails: problems are in the report.
FetchResult fetch_debuginfo(const std::vector<Report>& reports, const FetchOptions& options);

// $KTRIAGE_DEBUGINFO_CACHE, else $XDG_CACHE_HOME/ktriage/debuginfo, else
// ~/.cache/ktriage/debuginfo.
std::string default_debuginfo_cache_dir();

// One kernel in the cache.
struct CachedKernel {
  std::string release;
  std::string source;        // where it came from
  uint64_t bytes = 0;        // files only this kernel uses
  int64_t last_used = 0;     // seconds since the epoch
  bool has_vmlinux = false;
  uint64_t module_files = 0;
};

struct CacheState {
  std::string dir;
  std::vector<CachedKernel> kernels;  // most recently used first
  uint64_t bytes = 0;                 // everything in the cache
  std::vector<std::string> removed;   // by prune: releases removed
};

// The cache's kernels and size; with `prune`, least recently used kernels
// are removed until it fits `limit`, and unfinished downloads are cleared.
Expected<CacheState> debuginfo_cache(const std::string& dir, bool prune, uint64_t limit);

// "283 MB", "1.7 GB": sizes as apt and users write them (powers of 1000).
std::string human_size(uint64_t bytes);

}  // namespace ktriage

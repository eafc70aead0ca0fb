// The debug-info cache: files keyed by build-id, and one view per kernel
// release that the symbolizer is pointed at.
//
//   <dir>/.build-id/3b/43fad5....debug      the files (from packages), one per build-id
//   <dir>/kernels/<release>/vmlinux         symlink to the kernel's vmlinux (here or in
//                                           debuginfod's own cache)
//   <dir>/kernels/<release>/modules/...     symlinks, named as the package names them
//   <dir>/kernels/<release>/kernel.json     where it came from; .used: last use (mtime)
//   <dir>/tmp/<pid>-<n>/                    downloads and unpacking in progress
//
// Nothing enters .build-id/ or kernels/ before it is complete and verified:
// files are written under tmp/ and renamed in; a view is built under tmp/
// and swapped in whole. Changes take an exclusive flock on <dir>/.lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ktriage/debuginfo.h"
#include "ktriage/error.h"

namespace ktriage::debuginfo {

// A directory removed with everything in it when this goes.
class TempDir {
 public:
  TempDir() = default;
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir& operator=(TempDir&& o) noexcept;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One file of a kernel view: where the symbolizer finds it (name in the
// view, relative: "vmlinux", "modules/kernel/lib/crc-itu-t.ko") and the file.
// With a build-id, `target` is a verified file to move into .build-id/.
struct ViewEntry {
  std::string name;
  std::string target;
  std::string build_id;
};

struct ViewInfo {
  std::string release;
  std::string dir;            // <dir>/kernels/<release>
  std::string vmlinux;        // the view's vmlinux link, "" when absent or dangling
  std::string modules_dir;    // "" when the view has no modules
  uint64_t module_files = 0;
  std::string source;         // from kernel.json
};

class Cache {
 public:
  static Expected<Cache> open(const std::string& dir);

  const std::string& dir() const { return dir_; }

  // A private directory under tmp/ for one download.
  Expected<TempDir> temp_dir() const;

  std::optional<ViewInfo> view(const std::string& release) const;

  // Replaces the view of `release` with exactly `entries` (a package's
  // files), moving the files into .build-id/ first (an existing copy wins);
  // all under the lock, so a prune never sees stored files without a view.
  std::optional<Error> install(const std::string& release, std::vector<ViewEntry> entries,
                               const std::string& source) const;
  // Adds or replaces single links (debuginfod finds), creating the view.
  std::optional<Error> add_to_view(const std::string& release, const std::vector<ViewEntry>& entries,
                                   const std::string& source) const;
  // Removes one link (a file that failed verification against a log).
  void remove_from_view(const std::string& release, const std::string& name) const;

  void touch(const std::string& release) const;

  // Sizes and kernels; with `prune`, least recently used kernels other than
  // `keep` go until the cache fits `limit`, then files no kernel uses.
  CacheState state(bool prune, uint64_t limit, const std::string& keep = "") const;

 private:
  explicit Cache(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace ktriage::debuginfo

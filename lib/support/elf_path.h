// libelf and libdwfl open debug files by path or descriptor and read them
// uncompressed, but kernel modules ship compressed (.ko.xz, .ko.zst, and
// .ko.gz on older distributions).
#pragma once

#include <string>

#include "ktriage/error.h"

namespace ktriage::support {

// A debug file as libelf can open it: the file itself, or, when it is
// compressed with xz, zstd or gzip, its decompressed bytes in an anonymous
// memory file (path /proc/self/fd/N) that lives as long as this object.
class ElfPath {
 public:
  // A module with DWARF decompresses to tens of MiB; more than this is not
  // a debug file.
  static constexpr size_t kMaxDecompressed = size_t{1} << 30;

  static Expected<ElfPath> open(const std::string& path);
  ElfPath(ElfPath&& other) noexcept;
  ElfPath& operator=(ElfPath&& other) noexcept;
  ElfPath(const ElfPath&) = delete;
  ElfPath& operator=(const ElfPath&) = delete;
  ~ElfPath();

  const std::string& path() const { return path_; }  // hand this to libelf/libdwfl
  bool decompressed() const { return fd_ >= 0; }

 private:
  ElfPath() = default;
  int fd_ = -1;
  std::string path_;
};

}  // namespace ktriage::support

// Unpacking the debug files of a distribution package (.deb or .rpm) with
// libarchive: vmlinux and modules with DWARF, nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ktriage/error.h"

namespace ktriage::debuginfo {

struct UnpackedFile {
  std::string archive_path;  // "usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64"
  std::string path;          // where it was written
  uint64_t size = 0;
};

// Writes the regular files under usr/lib/debug/ named vmlinux* or *.ko,
// *.ko.debug (not the .build-id/ links) to `dest` under numbered names;
// archive paths are never used as file names. `progress` gets the bytes of
// the package read so far and its size. A truncated or corrupt package, or a
// write that fails (a full disk), is an Error; `dest` then holds partial
// files that the caller removes.
Expected<std::vector<UnpackedFile>> unpack_debug_files(const std::string& package, const std::string& dest,
                                                       const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace ktriage::debuginfo

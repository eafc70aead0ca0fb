// Build-ids of the files that identify a kernel: ELF (vmlinux, .ko,
// .ko.debug), compressed modules (.ko.xz, .ko.zst, .ko.gz) and x86 bzImage
// (/boot/vmlinuz-*, whose payload is a compressed ELF with vmlinux's notes).
#pragma once

#include <string>
#include <vector>

#include "ktriage/error.h"

namespace ktriage::debuginfo {

// Lower-case hex build-id; "" when the file is ELF without one. An Error when
// the file cannot be read or is none of the above. With `banners`, a kernel
// image's "Linux version ..." lines are returned there too (6.x kernels hold
// two: linux_banner and a placeholder without the build number, "# SMP").
Expected<std::string> build_id_of(const std::string& path, std::vector<std::string>* banners = nullptr);

// Whether the file is ELF with DWARF (.debug_info), for choosing among files.
bool has_debug_info(const std::string& path);

}  // namespace ktriage::debuginfo

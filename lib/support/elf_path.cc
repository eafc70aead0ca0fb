#include "support/elf_path.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "support/log_input.h"

namespace ktriage::support {

Expected<ElfPath> ElfPath::open(const std::string& path) {
  Expected<std::optional<std::string>> bytes = read_decompressed(path, kMaxDecompressed);
  if (!bytes) return bytes.error();
  ElfPath out;
  if (!*bytes) {
    out.path_ = path;
    return out;
  }
  out.fd_ = memfd_create("ktriage-debug-file", MFD_CLOEXEC);
  if (out.fd_ < 0) return Error{fmt::format("{}: cannot hold its decompressed bytes: {}", path, std::strerror(errno))};
  std::string_view rest = **bytes;
  while (!rest.empty()) {
    const ssize_t n = ::write(out.fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{fmt::format("{}: cannot hold its decompressed bytes: {}", path, std::strerror(errno))};
    rest.remove_prefix(static_cast<size_t>(n));
  }
  out.path_ = fmt::format("/proc/self/fd/{}", out.fd_);
  return out;
}

ElfPath::ElfPath(ElfPath&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

ElfPath& ElfPath::operator=(ElfPath&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

ElfPath::~ElfPath() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace ktriage::support

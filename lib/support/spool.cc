#include "support/spool.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace ktriage::support {

Expected<Spool> Spool::file() {
  const char* dir = std::getenv("TMPDIR");
  std::string name = fmt::format("{}/ktriage-spool.XXXXXX", dir && *dir ? dir : "/tmp");
  std::vector<char> path(name.begin(), name.end());
  path.push_back('\0');
  int fd = mkstemp(path.data());
  if (fd < 0) return Error{fmt::format("cannot create a temporary file in {}: {}", name.substr(0, name.rfind('/')),
                                       std::strerror(errno))};
  unlink(path.data());  // unnamed: gone when closed, whatever happens
  Spool s;
  s.file_.reset(fdopen(fd, "w+b"));
  if (!s.file_) {
    close(fd);
    return Error{fmt::format("cannot open a temporary file: {}", std::strerror(errno))};
  }
  return s;
}

void Spool::append(std::string_view bytes) {
  if (!file_) {
    memory_.append(bytes);
  } else if (error_.empty()) {
    if (std::fseek(file_.get(), 0, SEEK_END) != 0 || std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size())
      error_ = fmt::format("writing a temporary file failed (disk full?): {}", std::strerror(errno));
  }
  size_ += bytes.size();
}

std::string Spool::read(uint64_t offset, uint64_t length) const {
  if (offset >= size_) return {};
  length = std::min(length, size_ - offset);
  if (!file_) return memory_.substr(offset, length);
  std::string out(length, '\0');
  if (!error_.empty()) return out;
  if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0 ||
      std::fread(out.data(), 1, length, file_.get()) != length)
    error_ = fmt::format("reading a temporary file failed: {}", std::strerror(errno));
  return out;
}

void Spool::copy_to(std::ostream& out, uint64_t from, uint64_t to) const {
  constexpr uint64_t kChunk = 1 << 20;
  for (uint64_t at = from; at < to && at < size_; at += kChunk) {
    const uint64_t n = std::min(kChunk, std::min(to, size_) - at);
    if (!file_) out << std::string_view(memory_).substr(at, n);
    else out << read(at, n);
  }
}

}  // namespace ktriage::support

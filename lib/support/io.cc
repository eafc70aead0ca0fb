#include "support/io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace ktriage::support {

FdCloser::~FdCloser() {
  if (fd >= 0) close(fd);
}

namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

Expected<File> open_input(const std::string& path) {
  if (path == "-") return File(stdin, [](FILE*) { return 0; });
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return Error{fmt::format("{}: is a directory", path)};
  }
  return File(f, &std::fclose);
}

}  // namespace

Expected<uint64_t> stream_file(const std::string& path, size_t chunk_size,
                               const std::function<void(std::string_view, const StreamProgress&)>& chunk) {
  Expected<File> fileOrErr = open_input(path);
  if (!fileOrErr) return fileOrErr.error();
  FILE* f = fileOrErr->get();
  StreamProgress progress;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) progress.total = static_cast<uint64_t>(st.st_size);
  std::vector<char> buf(chunk_size);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    progress.done += n;
    chunk(std::string_view(buf.data(), n), progress);
  }
  if (std::ferror(f)) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  return progress.done;
}

Expected<std::string> read_file(const std::string& path) {
  std::string data;
  Expected<uint64_t> sizeOrErr =
      stream_file(path, 1 << 16, [&](std::string_view piece, const StreamProgress&) { data.append(piece); });
  if (!sizeOrErr) return sizeOrErr.error();
  return data;
}

}  // namespace ktriage::support

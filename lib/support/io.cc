#include "support/io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace ktriage::support {

Expected<std::string> read_file(const std::string& path) {
  FILE* raw = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!raw) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  std::unique_ptr<FILE, int (*)(FILE*)> f(raw, path == "-" ? [](FILE*) { return 0; } : &std::fclose);
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) data.append(buf, n);
  if (std::ferror(f.get())) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  return data;
}

}  // namespace ktriage::support

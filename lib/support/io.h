// Reading input files and stdin.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ktriage/error.h"

namespace ktriage::support {

// Reads a whole file ("-" = stdin). Errors name the path and the reason.
Expected<std::string> read_file(const std::string& path);

// Streams a file ("-" = stdin) to `chunk` in pieces of `chunk_size` bytes, so
// memory stays bounded whatever the input size. `total` is the file size when
// known (regular files), for progress reporting.
// Closes a file descriptor when it goes out of scope (RAII for open(2)).
struct FdCloser {
  int fd = -1;
  explicit FdCloser(int f) : fd(f) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser();
};

struct StreamProgress {
  uint64_t done = 0;
  std::optional<uint64_t> total;
};
Expected<uint64_t> stream_file(const std::string& path, size_t chunk_size,
                               const std::function<void(std::string_view, const StreamProgress&)>& chunk);

}  // namespace ktriage::support

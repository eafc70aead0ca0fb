// Append-only scratch storage for what a long log's analysis cannot hold in
// memory until it is written out: in memory for a log analysed at once, in
// an unnamed temporary file (gone when closed) for one analysed in windows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "ktriage/error.h"

namespace ktriage::support {

class Spool {
 public:
  Spool() = default;  // in memory
  // An unnamed file in $TMPDIR (default /tmp).
  static Expected<Spool> file();

  uint64_t size() const { return size_; }
  void append(std::string_view bytes);
  std::string read(uint64_t offset, uint64_t length) const;  // less at the end
  // Bytes [from, to) to `out`.
  void copy_to(std::ostream& out, uint64_t from, uint64_t to) const;
  // The first write or read that failed (a full disk), "" when none.
  const std::string& error() const { return error_; }

 private:
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Close> file_;
  std::string memory_;
  uint64_t size_ = 0;
  mutable std::string error_;
};

}  // namespace ktriage::support

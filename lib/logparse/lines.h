// Console lines: one raw input line with its console prefix taken apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ktriage::logparse {

struct LogLine {
  std::string text;                 // the kernel's own text: prefixes, \r, escape junk removed
  uint64_t offset = 0;              // byte offset of the raw line in the input
  uint64_t length = 0;              // raw length, without the newline
  uint32_t number = 0;              // 1-based
  std::optional<double> timestamp;  // [  123.456789] or kmsg usec, in seconds
  std::string caller;               // printk caller id: "T123", "C1"
  int level = -1;                   // <4> / kmsg priority, -1 when absent
  bool cut = false;                 // line was longer than the limit and was cut
};

// Strips one raw line's console prefix (dmesg timestamp, caller id, syslog,
// journalctl, kmsg record, <N> level, serial junk) into `out`.
// `out.offset`/`number` are left to the caller.
void clean_line(std::string_view raw, LogLine& out);

}  // namespace ktriage::logparse

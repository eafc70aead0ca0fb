// Console lines: one raw input line with its console prefix taken apart.
//
// People paste kernel messages with whatever their capture tool put in front
// of them. clean_line() peels those layers off, in any nesting:
//
//   <4>[  123.456789][  T123] text          dmesg -r, printk caller id
//   [  123.456789] text                      dmesg
//   [Wed Nov 25 10:00:01 2026] text          dmesg -T
//   6,1234,5678,-,caller=T1;text             /dev/kmsg record, extended netconsole
//   Nov 25 10:00:01 host kernel: text        syslog, klogd, journalctl (short)
//   Nov 25 10:00:01.123456 host kernel: ...  journalctl -o short-precise
//   2024-01-02T03:04:05+0000 host kernel: .. journalctl -o short-iso, rsyslog RFC 3339
//   [  123.456789] host kernel: text         journalctl -o short-monotonic
//
// and removes what serial lines and copy-paste add: \r, NUL and other control
// bytes, ANSI escape sequences; bytes that are not UTF-8 become '?', so the
// text is always valid UTF-8. The kernel's own leading spaces are kept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "logparse/bytes.h"

namespace ktriage::logparse {

struct LogLine {
  std::string text;                 // the kernel's own text: prefixes, \r, escape junk removed
  uint64_t offset = 0;              // byte offset of the raw line in the input
  uint64_t length = 0;              // raw length, without the newline
  uint32_t number = 0;              // 1-based
  std::optional<double> timestamp;  // [  123.456789] or kmsg usec, in seconds
  std::string caller;               // printk caller id: "T123", "C1"
  int level = -1;                   // <4> / kmsg priority (0-7), -1 when absent
  bool cut = false;                 // line was longer than the limit and was cut
  // A syslog/journal line logged by a program other than the kernel
  // ("host openvpn[1118]: WARNING: ..."): text keeps the "openvpn[1118]: " tag
  // so it never reads like a kernel message.
  bool foreign = false;
  ByteSet bytes;                    // of `text`: later stages skip searches it rules out
};

// Strips one raw line's console prefix (dmesg timestamp, caller id, syslog,
// journalctl, kmsg record, <N> level, serial junk) into `out`, resetting
// out.text/timestamp/caller/level/foreign/bytes. Never allocates beyond out.text.
// `out.offset`/`number`/`length`/`cut` are left to the caller.
void clean_line(std::string_view raw, LogLine& out);

}  // namespace ktriage::logparse

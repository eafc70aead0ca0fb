// Stopgap for benchmarks and the kernel-lab test while the log parser
// (lib/logparse) does not yet fill frames: pulls `RIP:` and call-trace
// frames of the first report out of console text. Once parse_log() fills
// Report::frames this is only used when it returns none.
#pragma once

#include <re2/re2.h>

#include <string>
#include <string_view>

#include "ktriage/report.h"

namespace ktriage::bench {

inline Report first_trace(std::string_view text) {
  static const RE2 kPrefix(R"(^(?:<\d+>)?\[\s*\d+\.\d+\]\s?)");
  static const RE2 kFrame(
      R"(^\s*(\? )?(?:\[<([0-9a-f]+)>\] )?([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)(?: ([0-9a-f]+))?\])?\s*$)");
  static const RE2 kRip(
      R"(^RIP: [0-9a-f]{4}:([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([A-Za-z0-9_-]+)\])?)");
  static const RE2 kCpu(R"(^CPU: \d+ PID: \d+ Comm: .* (?:Not tainted|Tainted: [A-Z ]+?) (\S+) (#.*)$)");
  Report r;
  bool in_trace = false, done = false;
  size_t pos = 0;
  while (pos < text.size() && !done) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw_line = text.substr(pos, nl - pos);
    re2::StringPiece line(raw_line.data(), raw_line.size());
    pos = nl + 1;
    RE2::Consume(&line, kPrefix);
    std::string a, b, c, d, e, f, g;
    if (r.kernel_release.empty() && RE2::PartialMatch(line, kCpu, &a, &b)) {
      r.kernel_release = a;
      r.kernel_version = b;
    }
    if (!r.ip && RE2::PartialMatch(line, kRip, &a, &b, &c, &d)) {
      Symbol s;
      s.function = a;
      s.offset = std::stoull(b, nullptr, 16);
      s.size = std::stoull(c, nullptr, 16);
      s.module = d;
      r.ip = s;
    }
    if (line.find("Call Trace:") != re2::StringPiece::npos) {
      in_trace = true;
      continue;
    }
    if (!in_trace) continue;
    if (line.find("</TASK>") != re2::StringPiece::npos) {
      done = true;
      continue;
    }
    if (RE2::FullMatch(line, kFrame, &a, &b, &c, &d, &e, &f, &g)) {
      Frame fr;
      fr.reliable = a.empty();
      if (!b.empty()) fr.address = std::stoull(b, nullptr, 16);
      fr.function = c;
      fr.offset = std::stoull(d, nullptr, 16);
      fr.size = std::stoull(e, nullptr, 16);
      fr.module = f;
      fr.module_build_id = g;
      r.frames.push_back(fr);
    }
  }
  return r;
}

}  // namespace ktriage::bench

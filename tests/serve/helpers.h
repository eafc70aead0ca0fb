// What the serve tests share: console logs in memory, and URL/Basic-auth
// encodings (cpp-httplib's own are not in Debian's compiled header).
#pragma once

#include <cstdint>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/test_util.h"

namespace ktriage::test {

// Real crash reports from the repository, each copy made unique by its
// console timestamps (so its reports are new to the store while their
// signatures, hence buckets, stay the same): 6 reports per copy of the three.
inline std::vector<std::string> make_logs(int copies, int first_copy = 0) {
  const std::string bases[] = {read_file(KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log"),
                               read_file(KTRIAGE_SOURCE_DIR "/tests/golden/data/arm-ppc-s390-mixed.log"),
                               read_file(KTRIAGE_SOURCE_DIR "/tests/golden/data/arm64-paging-callerid.log")};
  const std::regex stamp(R"(\[ *(\d+)\.(\d{6})\])");
  std::vector<std::string> logs;
  for (int k = first_copy; k < first_copy + copies; ++k) {
    for (size_t b = 0; b < std::size(bases); ++b) {
      std::string out;
      std::istringstream in(bases[b]);
      for (std::string line; std::getline(in, line);) {
        std::smatch m;
        char buf[32];
        if (std::regex_search(line, m, stamp)) {
          std::snprintf(buf, sizeof buf, "[%5ld.%s]", std::stol(m[1]) + 1000L * (k + 1), m[2].str().c_str());
          line = m.prefix().str() + buf + m.suffix().str();
        } else {
          std::snprintf(buf, sizeof buf, "[%5d.%06d] ", 1000 * (k + 1), static_cast<int>(b));
          line = buf + line;
        }
        out += line + '\n';
      }
      logs.push_back(out);
    }
  }
  return logs;
}

// A query-string value.
inline std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

inline std::string base64(std::string_view s) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(s[i])) << 16;
    if (i + 1 < s.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[i + 1])) << 8;
    if (i + 2 < s.size()) v |= static_cast<unsigned char>(s[i + 2]);
    out += kDigits[(v >> 18) & 63];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < s.size() ? kDigits[(v >> 6) & 63] : '=';
    out += i + 2 < s.size() ? kDigits[v & 63] : '=';
  }
  return out;
}

}  // namespace ktriage::test

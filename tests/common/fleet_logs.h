// Console logs for the fleet tests (ingest, serve, dashboard): real crash
// reports from the repository, copied with new timestamps.
#pragma once

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
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

}  // namespace ktriage::test

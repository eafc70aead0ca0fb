// syzkaller's report corpus (shared/corpus/syzkaller, layout in its
// README.md): each case's expected results and the console log, read the way
// syzkaller's own report_test.go reads them.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/test_util.h"

namespace ktriage::test {

struct Case {
  std::string file;
  std::string title;
  std::vector<std::string> alts;
  std::string type;
  bool corrupted = false, suppressed = false, panicked = false;
  std::string frame;
  std::string log;
};

// Case format (shared/corpus/README.md): "KEY: value" lines, an empty line,
// the log; an optional "REPORT:" section after an empty line ends the log.
inline Case parse_case(const std::filesystem::path& path, const std::string& rel) {
  std::string data = read_file(path);
  data.erase(std::remove(data.begin(), data.end(), '\r'), data.end());
  Case c;
  c.file = rel;
  bool headers = true, prev_empty = false;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    std::string line = data.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? data.size() : nl + 1;
    if (headers) {
      if (line.empty()) {
        headers = false;
      } else if (line.rfind("#", 0) != 0) {
        auto val = [&](const char* key) -> const char* {
          size_t n = std::strlen(key);
          return line.compare(0, n, key) == 0 ? line.c_str() + n : nullptr;
        };
        if (auto v = val("TITLE: "))
          c.title = v;
        else if (auto v2 = val("ALT: "))
          c.alts.push_back(v2);
        else if (auto v3 = val("TYPE: "))
          c.type = v3;
        else if (auto v4 = val("FRAME: "))
          c.frame = v4;
        else if (auto v5 = val("CORRUPTED: "))
          c.corrupted = std::string(v5) == "Y";
        else if (auto v6 = val("SUPPRESSED: "))
          c.suppressed = std::string(v6) == "Y";
        else if (auto v7 = val("PANICKED: "))
          c.panicked = std::string(v7) == "Y";
      }
    } else {
      if (prev_empty && line == "REPORT:") break;
      c.log += line;
      c.log += '\n';
    }
    prev_empty = line.empty();
  }
  std::sort(c.alts.begin(), c.alts.end());
  return c;
}

inline std::vector<Case> load_cases(const std::filesystem::path& root) {
  std::vector<Case> out;
  for (const char* sub : {"linux/report", "all/report", "linux/symbolize"}) {
    std::filesystem::path dir = root / sub;
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::pair<long, std::filesystem::path>> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      files.emplace_back(std::stol(name), e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& [n, p] : files) out.push_back(parse_case(p, std::string(sub) + "/" + std::to_string(n)));
  }
  return out;
}

}  // namespace ktriage::test

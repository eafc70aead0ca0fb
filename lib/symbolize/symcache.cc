// The persisted per-build-id index: <cache_dir>/<build-id>.ktsym, one text
// record per line, tab-separated. The file is ours but still read
// defensively: a line that does not parse discards the whole file.
//
//   ktriage-symcache 1 <build-id>
//   S <name> <n> (<address> <size> <section> <gap>)*n        symbol candidates
//   A <address> <has-source> <file> <line> <column> <n> (<function> <file> <line> <column>)*n <error>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "symbolize/debug_object.h"

namespace ktriage {
namespace {

constexpr std::string_view kMagic = "ktriage-symcache\t1\t";

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t tab = line.find('\t', pos);
    out.push_back(line.substr(pos, tab == std::string_view::npos ? tab : tab - pos));
    if (tab == std::string_view::npos) break;
    pos = tab + 1;
  }
  return out;
}

bool number(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Tabs and newlines cannot occur in symbol names or paths we write; errors
// are our own messages. Replace them anyway so a record stays one line.
std::string clean(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

void DebugObject::use_cache(const std::string& dir) {
  const std::string id = build_id();
  if (dir.empty() || id.empty() || kind_ != Kind::elf) return;
  cache_path_ = dir + "/" + id + ".ktsym";
  std::ifstream in(cache_path_);
  std::string line;
  if (!in || !std::getline(in, line) || line != std::string(kMagic) + id) return;
  std::unordered_map<std::string, std::vector<ElfSymbol>> names;
  std::unordered_map<uint64_t, CachedAddress> addresses;
  auto fail = [&] {
    names.clear();
    addresses.clear();
  };
  while (std::getline(in, line)) {
    std::vector<std::string_view> f = split_tabs(line);
    uint64_t n = 0;
    if (f.size() >= 3 && f[0] == "S" && number(f[2], n) && n < 10000 && f.size() == 3 + 4 * n) {
      std::vector<ElfSymbol>& list = names[std::string(f[1])];
      for (uint64_t i = 0; i < n; ++i) {
        ElfSymbol s;
        uint64_t section = 0;
        s.name = std::string(f[1]);
        if (!number(f[3 + 4 * i], s.address) || !number(f[4 + 4 * i], s.size) ||
            !number(f[5 + 4 * i], section) || !number(f[6 + 4 * i], s.gap) || section > 0xffffffff) {
          return fail();
        }
        s.section = static_cast<uint32_t>(section);
        list.push_back(std::move(s));
      }
      continue;
    }
    uint64_t address = 0, has = 0, l = 0, c = 0;
    if (f.size() >= 8 && f[0] == "A" && number(f[1], address) && number(f[2], has) &&
        number(f[4], l) && number(f[5], c) && number(f[6], n) && n < 256 &&
        f.size() == 8 + 4 * n && l <= 0xffffffff && c <= 0xffffffff) {
      CachedAddress a;
      if (has) a.source = SourceLocation{std::string(f[3]), static_cast<uint32_t>(l), static_cast<uint32_t>(c)};
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t il = 0, ic = 0;
        if (!number(f[9 + 4 * i], il) || !number(f[10 + 4 * i], ic) || il > 0xffffffff ||
            ic > 0xffffffff) {
          return fail();
        }
        a.inlined.push_back({std::string(f[7 + 4 * i]),
                             {std::string(f[8 + 4 * i]), static_cast<uint32_t>(il),
                              static_cast<uint32_t>(ic)}});
      }
      a.error = std::string(f[7 + 4 * n]);
      addresses[address] = std::move(a);
      continue;
    }
    return fail();
  }
  for (auto& [name, list] : names) by_name_.try_emplace(name, std::move(list));
  cached_addresses_ = std::move(addresses);
}

void DebugObject::save_cache() {
  if (cache_path_.empty()) return;
  // Names looked up this run: store them with their gaps, so a cached run
  // decides exactly like an uncached one.
  const bool new_names = !gaps_pending_.empty();
  if (!cache_dirty_ && !new_names) return;
  ensure_gaps();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path(), ec);
  const std::string tmp = fmt::format("{}.{}.tmp", cache_path_, getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return;
    out << kMagic << build_id() << '\n';
    for (const auto& [name, list] : by_name_) {
      out << "S\t" << clean(name) << '\t' << list.size();
      for (const ElfSymbol& s : list) {
        out << '\t' << s.address << '\t' << s.size << '\t' << s.section << '\t' << s.gap;
      }
      out << '\n';
    }
    for (const auto& [address, a] : cached_addresses_) {
      out << "A\t" << address << '\t' << (a.source ? 1 : 0) << '\t'
          << clean(a.source ? a.source->file : "") << '\t' << (a.source ? a.source->line : 0) << '\t'
          << (a.source ? a.source->column : 0) << '\t' << a.inlined.size();
      for (const InlineFrame& in : a.inlined) {
        out << '\t' << clean(in.function) << '\t' << clean(in.location.file) << '\t'
            << in.location.line << '\t' << in.location.column;
      }
      out << '\t' << clean(a.error) << '\n';
    }
    if (!out) {
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), cache_path_.c_str()) != 0) std::remove(tmp.c_str());
  cache_dirty_ = false;
}

}  // namespace ktriage

// A report's signature: normalized title + guilty frames (+ the out-of-tree
// modules a core-code crash ran through).
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ktriage/bucket.h"

namespace ktriage {
namespace {

bool identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '$';
}

// Cuts at `max` bytes without splitting a UTF-8 sequence.
void cut_utf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

// Every identifier-like word of the title loses its compiler suffixes
// ("WARNING in foo.isra.0" and "WARNING in foo.isra.3" are one bug).
std::string normalize_title(std::string_view title, const SignatureRules& rules) {
  std::string out;
  out.reserve(title.size());
  size_t i = 0;
  while (i < title.size()) {
    if (!identifier_char(title[i])) {
      out += title[i++];
      continue;
    }
    size_t j = i;
    while (j < title.size() && identifier_char(title[j])) ++j;
    std::string_view word = title.substr(i, j - i);
    out += word.find('.') == std::string_view::npos ? std::string(word) : rules.normalize_function(word);
    i = j;
  }
  cut_utf8(out, rules.max_title());
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Candidate {
  std::string function;  // normalized
  const Symbol* symbol;
};

// The trace as the guilty-frame search reads it: the IP, then every reliable
// frame, normalized, consecutive repeats folded (older kernels print the
// faulting function as the IP and again as the first frame).
std::vector<Candidate> trace(const Report& r, const SignatureRules& rules) {
  std::vector<Candidate> out;
  auto push = [&](const Symbol& s) {
    if (s.function.empty() || s.function.starts_with("0x")) return;
    std::string f = rules.normalize_function(s.function);
    if (!out.empty() && out.back().function == f) return;
    out.push_back({std::move(f), &s});
  };
  if (r.ip) push(*r.ip);
  for (const Frame& f : r.frames)
    if (f.reliable) push(f);
  return out;
}

// The function a title blames: syzkaller's guilty frame ("WARNING in foo"),
// or the one a distro-era title names ("WARNING: at mm/slub.c:LINE foo()").
std::string_view blamed_function(const Report& r) {
  if (!r.frame.empty()) return r.frame;
  std::string_view t = r.title;
  size_t paren = t.rfind("()");
  if (paren == std::string_view::npos) return {};
  size_t b = paren;
  while (b > 0 && identifier_char(t[b - 1])) --b;
  return t.substr(b, paren - b);
}

}  // namespace

Signature sign(const Report& r, const SignatureRules& rules) {
  Signature s;
  s.title = normalize_title(r.title.empty() ? r.header : r.title, rules);

  const size_t wanted = r.corrupted ? rules.frames_when_corrupted() : rules.frames();
  std::vector<Candidate> t = trace(r, rules);
  size_t from = 0;  // where the guilty frames start in t
  if (std::string_view named = blamed_function(r); wanted > 0 && !named.empty()) {
    // The title blames a frame: that is the first guilty one. Find it in the
    // trace for its module and callers; inlined away, it stands alone.
    std::string blamed = rules.normalize_function(named);
    auto it = std::find_if(t.begin(), t.end(), [&](const Candidate& c) { return c.function == blamed; });
    if (it == t.end()) {
      s.frames.push_back({blamed, ""});
      from = t.size();
    } else {
      from = static_cast<size_t>(it - t.begin());
    }
  } else {
    while (from < t.size() && rules.skipped(t[from].function)) ++from;
  }
  for (size_t i = from; i < t.size() && s.frames.size() < wanted; ++i) {
    if (i > from && rules.skipped(t[i].function)) continue;
    s.frames.push_back({t[i].function, t[i].symbol->module});
  }

  // An out-of-tree module on the path to a core-code crash makes it its own
  // bucket; a crash inside the module already names it in its frames.
  const bool core = s.frames.empty() || s.frames.front().module.empty();
  if (core && !r.module_flags.empty()) {
    for (const Candidate& c : t) {
      if (c.symbol->module.empty()) continue;
      for (const ModuleFlags& m : r.module_flags) {
        if (m.name != c.symbol->module || !rules.out_of_tree(m.flags)) continue;
        std::string printed = fmt::format("{}({})", m.name, m.flags);
        if (std::find(s.tainted_by.begin(), s.tainted_by.end(), printed) == s.tainted_by.end())
          s.tainted_by.push_back(std::move(printed));
      }
    }
    std::sort(s.tainted_by.begin(), s.tainted_by.end());
  }
  return s;
}

std::string Signature::text() const {
  std::string out = title;
  if (!frames.empty()) {
    out += " | ";
    for (size_t i = 0; i < frames.size(); ++i) {
      if (i) out += " < ";
      out += frames[i].function;
      if (!frames[i].module.empty()) out += fmt::format(" [{}]", frames[i].module);
    }
  }
  if (!tainted_by.empty()) out += fmt::format(" | tainted by {}", fmt::join(tainted_by, " "));
  return out;
}

std::string Signature::id() const { return sha256_hex(text()).substr(0, 16); }

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

}  // namespace ktriage

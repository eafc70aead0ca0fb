// The literal prefilter: finds the headers and notices the streaming parser
// watches for in bulk, without looking at every byte.
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logparse/detectors.h"
#include "logparse/notes.h"

namespace ktriage::logparse {
// ---------------------------------------------------------------------------
// Literal prefilter.

namespace {
inline uint32_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint32_t hash4(uint32_t v) { return (v * 2654435761u) >> 16; }

// Grams are hashed at every kStride-th position: a literal of kLong bytes or
// more fully holds one of them wherever it starts. Shorter literals all end
// in ':' ("BUG:", "WARNING:") and are checked at colons instead.
constexpr size_t kStride = 6;
constexpr size_t kLong = kStride + 3;

// How unlikely a 4-byte gram is in ordinary console text: capitals, digits
// and punctuation are rarer than lower-case words and spaces.
int gram_rarity(std::string_view g) {
  static constexpr std::string_view kCommon[] = {
      "ing ", "tion", " the", "able", "rror", "erne", "rnel", "kern", "nel ", "vice", "devi",
      "evic", "port", "read", "ount", "nter", " is ", " to ", "ion ", "ted ", "ting", "ble "};
  int score = 0;
  for (char c : g) {
    if (c >= 'a' && c <= 'z') score += 1;
    else if (c == ' ') score += 0;
    else score += 3;
  }
  for (std::string_view common : kCommon)
    if (g == common) score -= 10;
  return score;
}
}  // namespace

LiteralScanner::LiteralScanner() : bitmap_(1 << 10, 0) {
  auto add = [&](std::string_view text, Notice n, std::string_view confirm = {}) {
    Literal l{std::string(text), n, confirm.empty() ? LazyRE2() : LazyRE2(confirm)};
    literals_.push_back(std::move(l));
  };
  for (const Detector& d : detector_table()) add(d.header, Notice::header);
  for (auto s : {"vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure",
                 "FAULT_FLAG_ALLOW_RETRY missing"})
    add(s, Notice::cut);
  add("Kernel panic - not syncing", Notice::panic);
  for (auto s : {"Disabling lock debugging due to kernel taint", "Sending NMI from CPU", "---[ end ",
                 "** replaying previous printk message **",
                 "WARNING: possible circular locking dependency detected"})
    add(s, Notice::marker);
  add("serialport: VM disconnected.", Notice::hangup);
  add("Linux version ", Notice::reboot, "Linux version [0-9]+\\.[0-9]+");
  add("Command line: ", Notice::boot_fact);
  add("Kernel Offset: ", Notice::boot_fact);
  add(" state:", Notice::task_dump, R"(task:\S+ +state:)");
  add("sysrq: Show ", Notice::task_dump);
  add("SysRq : Show ", Notice::task_dump);
  add("]: segfault at ", Notice::user_fault, R"(\[[0-9]+\]: segfault at )");
  for (std::string_view s : note_literals()) add(s, Notice::note);
  // Logs syzkaller does not report: the executor or sshd ran out of memory,
  // the executor could not start, Go runtime OOMs.
  add("panic: failed to start executor binary", Notice::suppress);
  add("panic: executor failed: pthread_create failed", Notice::suppress);
  add("panic: failed to create temp dir", Notice::suppress);
  add("fatal error: unexpected signal during runtime execution", Notice::suppress);
  add("signal SIGBUS: bus error", Notice::suppress);
  add("SYZFAIL: SIGBUS", Notice::suppress);
  add("Out of memory: Kill process", Notice::suppress, R"(Out of memory: Kill process .* \((syz-executor|sshd)\))");
  add("Killed process", Notice::suppress, R"(Killed process .* \((syz-executor|sshd)\))");
  add("lowmemorykiller: Killing '", Notice::suppress, "lowmemorykiller: Killing '(syz-executor|sshd)'");
  add("INIT: PANIC: segmentation violation!", Notice::suppress);
  add("*** stack smashing detected ***: terminated", Notice::suppress);
  add("fatal error: runtime: out of memory", Notice::suppress);
  add("fatal error: runtime: cannot allocate memory", Notice::suppress);
  add("fatal error: out of memory", Notice::suppress);
  add("fatal error: newosproc", Notice::suppress);
  add("panic:", Notice::suppress, "panic: .*cannot allocate memory");
  constexpr size_t kHashes = size_t{1} << 16;
  for (size_t i = 0; i < literals_.size(); ++i) {
    const std::string& t = literals_[i].text;
    if (t.size() < kLong) {
      // Short literals must end in ':' to be found at colons.
      if (t.empty() || t.back() != ':') literals_[i].text.push_back(':');
      short_.push_back(static_cast<uint16_t>(i));
      const std::string& st = literals_[i].text;
      if (st.size() >= 4) {
        uint32_t tail_hash = hash4(load4(st.data() + st.size() - 4)) & 1023;
        short_tail_bits_[tail_hash >> 6] |= uint64_t{1} << (tail_hash & 63);
      } else {
        short_any_tail_ = true;
      }
      continue;
    }
    // An occurrence holds a stride gram at offset r, r+kStride, ... for one
    // r below kStride; per r, index only the gram least likely in ordinary text.
    for (size_t r = 0; r < kStride; ++r) {
      size_t best_off = r;
      int best_score = -1;
      for (size_t off = r; off + 4 <= t.size(); off += kStride) {
        int score = gram_rarity(std::string_view(t).substr(off, 4));
        if (score > best_score) {
          best_score = score;
          best_off = off;
        }
      }
      uint32_t gram = load4(t.data() + best_off);
      uint32_t h = hash4(gram);
      bitmap_[h >> 6] |= uint64_t{1} << (h & 63);
      uses_.push_back({gram, static_cast<uint16_t>(i), static_cast<uint16_t>(best_off)});
      max_gram_offset_ = std::max(max_gram_offset_, best_off);
    }
  }
  // Group the uses by hash (stable: literal order within a bucket) and index
  // each bucket's range.
  std::stable_sort(uses_.begin(), uses_.end(),
                   [](const GramUse& a, const GramUse& b) { return hash4(a.gram) < hash4(b.gram); });
  bucket_start_.assign(kHashes + 1, 0);
  for (const GramUse& g : uses_) ++bucket_start_[hash4(g.gram) + 1];
  for (size_t h = 0; h < kHashes; ++h) bucket_start_[h + 1] += bucket_start_[h];
}

// First literal starting in [from, to) of `text`; literals may extend past `to`.
size_t LiteralScanner::find_in(std::string_view text, size_t from, size_t to) const {
  const char* p = text.data();
  const size_t n = text.size();
  size_t best = std::string_view::npos;
  // Grams at global positions that are multiples of kStride. An occurrence
  // starting at s is indexed by the gram at s + offset of one of its uses
  // (offset <= max_gram_offset_), so probes run that far past `to`.
  size_t first = from / kStride * kStride;
  // pos < stop  <=>  pos + 4 <= n && pos <= to + max_gram_offset_
  const size_t stop = n < 4 ? 0 : std::min(n - 3, to + max_gram_offset_ + 1);
  auto hit = [&](size_t pos) {
    uint32_t h = hash4(load4(p + pos));
    return (bitmap_[h >> 6] >> (h & 63)) & 1;
  };
  for (size_t pos = first; pos < stop; pos += kStride) {
    // Two grams per test while both are in range: nearly all miss.
    if (pos + kStride < stop && !(hit(pos) | hit(pos + kStride))) {
      pos += kStride;
      continue;
    }
    if (!hit(pos)) continue;
    uint32_t h = hash4(load4(p + pos));
    for (uint32_t u = bucket_start_[h]; u < bucket_start_[h + 1]; ++u) {
      const GramUse& g = uses_[u];
      if (pos < g.offset || g.gram != load4(p + pos)) continue;
      size_t start = pos - g.offset;
      if (start < from || start >= to || start >= best) continue;
      const std::string& t = literals_[g.literal].text;
      if (start + t.size() <= n && std::memcmp(p + start, t.data(), t.size()) == 0) best = start;
    }
  }
  // Short literals end at a colon: hash the 4 bytes before each colon
  // against their tails, and compare only on a hit (rare).
  auto try_colon = [&](size_t colon) {
    if (!short_any_tail_ && colon >= 3) {
      uint32_t h = hash4(load4(p + colon - 3)) & 1023;
      if (((short_tail_bits_[h >> 6] >> (h & 63)) & 1) == 0) return;
    }
    best = short_literal_ending_at(text, colon, from, to, best);
  };
  size_t end = std::min(n, to + 8);
  size_t i = from;
#ifdef __SSE2__
  // Colons are common in console text: find them 16 bytes at a time.
  const __m128i colon = _mm_set1_epi8(':');
  for (; i + 16 <= end; i += 16) {
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), colon)));
    while (mask) {
      try_colon(i + static_cast<size_t>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
#endif
  for (; i < end; ++i)
    if (p[i] == ':') try_colon(i);
  return best;
}

// Out of line: the colon loop above stays in registers.
[[gnu::noinline]] size_t LiteralScanner::short_literal_ending_at(std::string_view text, size_t colon, size_t from,
                                                              size_t to, size_t best) const {
  for (uint16_t k : short_) {
    const std::string& t = literals_[k].text;
    if (colon + 1 < t.size()) continue;
    size_t start = colon + 1 - t.size();
    if (start < from || start >= to || start >= best) continue;
    if (std::memcmp(text.data() + start, t.data(), t.size()) == 0) best = start;
  }
  return best;
}

size_t LiteralScanner::find(std::string_view text) const {
  constexpr size_t kWindow = 16 * 1024;
  for (size_t from = 0; from < text.size(); from += kWindow) {
    size_t hit = find_in(text, from, std::min(text.size(), from + kWindow));
    if (hit != std::string_view::npos) return hit;
  }
  return std::string_view::npos;
}

// Called on every line inside a report, and nearly always false: reject
// with the two bitmaps alone, and run the full search only on a candidate.
bool LiteralScanner::any(std::string_view line) const {
  const char* p = line.data();
  const size_t n = line.size();
  bool candidate = false;
  for (size_t pos = 0; pos + 4 <= n && !candidate; pos += kStride) {
    uint32_t h = hash4(load4(p + pos));
    candidate = (bitmap_[h >> 6] >> (h & 63)) & 1;
  }
  auto tail_hit = [&](size_t colon) {
    if (short_any_tail_ || colon < 3) return true;
    uint32_t tail_hash = hash4(load4(p + colon - 3)) & 1023;
    return ((short_tail_bits_[tail_hash >> 6] >> (tail_hash & 63)) & 1) != 0;
  };
  size_t i = 0;
#ifdef __SSE2__
  const __m128i colon = _mm_set1_epi8(':');
  for (; i + 16 <= n && !candidate; i += 16) {
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), colon)));
    for (; mask && !candidate; mask &= mask - 1) candidate = tail_hit(i + static_cast<size_t>(__builtin_ctz(mask)));
  }
#endif
  for (; i < n && !candidate; ++i)
    if (p[i] == ':') candidate = tail_hit(i);
  return candidate && find(line) != std::string_view::npos;
}

unsigned LiteralScanner::notices(std::string_view line) const {
  unsigned out = 0;
  for (const Literal& l : literals_) {
    if (line.find(l.text) == std::string_view::npos) continue;
    if (l.confirm && !RE2::PartialMatch(line, *l.confirm)) continue;
    out |= 1u << static_cast<unsigned>(l.notice);
  }
  return out;
}

const LiteralScanner& literal_scanner() {
  static const LiteralScanner s;
  return s;
}

}  // namespace ktriage::logparse

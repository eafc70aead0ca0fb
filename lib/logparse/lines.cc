// Console prefix stripping. Hand-written scanners instead of regexes: this
// runs on every line inside a report, and most lines carry one of a handful
// of fixed-shape prefixes.
#include "logparse/lines.h"

#include <array>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace ktriage::logparse {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Reads decimal digits at s[i...]; returns how many (at most 19, enough for u64).
size_t read_digits(std::string_view s, size_t i, uint64_t& value) {
  size_t n = 0;
  value = 0;
  while (i + n < s.size() && is_digit(s[i + n])) {
    if (n < 19) value = value * 10 + static_cast<uint64_t>(s[i + n] - '0');
    ++n;
  }
  return n;
}

size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

// --- byte-level cleanup ------------------------------------------------------

// Length of a valid UTF-8 sequence starting at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t min;
  if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// Length of an ANSI escape sequence starting at s[i] == ESC.
size_t escape_length(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j >= s.size()) return 1;
  if (s[j] == '[') {  // CSI: parameters, intermediates, one final byte
    ++j;
    while (j < s.size() && s[j] >= 0x30 && s[j] <= 0x3f) ++j;
    while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x2f) ++j;
    if (j < s.size() && s[j] >= 0x40 && s[j] <= 0x7e) ++j;
    return j - i;
  }
  if (s[j] == ']') {  // OSC: up to BEL or ESC backslash
    for (++j; j < s.size(); ++j) {
      if (s[j] == '\a') return j + 1 - i;
      if (s[j] == '\x1b') return (j + 1 < s.size() && s[j + 1] == '\\' ? j + 2 : j + 1) - i;
    }
    return j - i;
  }
  return 2;  // ESC c, ESC ( B, ...: one more byte
}

bool plain_byte(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return (c >= 0x20 && c < 0x7f) || c == '\t';
}

// Every line inside a report passes here: test 16 bytes at a time.
bool plain_ascii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size(), i = 0;
#ifdef __SSE2__
  // Signed bytes: 0x80-0xff are negative, so "< 0x20" catches them too.
  const __m128i space = _mm_set1_epi8(0x20), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), _mm_cmplt_epi8(v, space)),
                               _mm_cmpeq_epi8(v, del));
    if (_mm_movemask_epi8(bad) != 0) return false;
  }
#endif
  for (; i < n; ++i)
    if (!plain_byte(p[i])) return false;
  return true;
}

// Copies `raw` into `out` without control bytes and escape sequences; bytes
// that are not UTF-8 become '?' (dropped before the first visible byte, where
// they are serial line noise in front of the prefix).
void sanitize(std::string_view raw, std::string& out) {
  out.clear();
  if (plain_ascii(raw)) {
    out.assign(raw);
    return;
  }
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == 0x1b) {
      i += escape_length(raw, i);
    } else if (plain_byte(raw[i])) {
      out.push_back(raw[i++]);
    } else if (c < 0x80 || c == 0x7f) {
      ++i;  // NUL, \r, BEL, backspace, DEL...
    } else if (c == 0xc2 && i + 1 < raw.size() && static_cast<unsigned char>(raw[i + 1]) == 0xa0) {
      out.push_back(' ');  // a no-break space: web pages and mail clients indent pasted traces with it
      i += 2;
    } else if (size_t n = utf8_length(raw, i)) {
      out.append(raw.substr(i, n));
      i += n;
    } else {
      if (!out.empty()) out.push_back('?');
      ++i;
    }
  }
}

// --- prefix scanners ---------------------------------------------------------
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Each returns the number of bytes of s (from i) it consumed, 0 if no match.

// "[  123.456789]" -> seconds.
size_t dmesg_timestamp(std::string_view s, size_t i, std::optional<double>& ts) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = skip_blanks(s, i + 1);
  uint64_t whole = 0, frac = 0;
  size_t n = read_digits(s, j, whole);
  if (n == 0 || n > 12) return 0;
  j += n;
  if (j >= s.size() || s[j] != '.') return 0;
  ++j;
  size_t f = read_digits(s, j, frac);
  if (f == 0 || f > 9) return 0;
  j = skip_blanks(s, j + f);
  if (j >= s.size() || s[j] != ']') return 0;
  double scale = 1;
  for (size_t k = 0; k < f; ++k) scale *= 10;
  ts = static_cast<double>(whole) + static_cast<double>(frac) / scale;
  return j + 1 - i;
}

// "[T123]", "[  C1]": the printk caller id printed after the timestamp.
size_t caller_id(std::string_view s, size_t i, std::string& caller) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = skip_blanks(s, i + 1);
  if (j >= s.size() || (s[j] != 'T' && s[j] != 'C')) return 0;
  uint64_t v;
  size_t n = read_digits(s, j + 1, v);
  if (n == 0 || n > 10 || j + 1 + n >= s.size() || s[j + 1 + n] != ']') return 0;
  caller.assign(s.substr(j, n + 1));
  return j + n + 2 - i;
}

// "<4>" (or "<30>" with a syslog facility): the message level.
size_t level_prefix(std::string_view s, size_t i, int& level) {
  if (i >= s.size() || s[i] != '<') return 0;
  uint64_t v;
  size_t n = read_digits(s, i + 1, v);
  if (n == 0 || n > 3 || i + 1 + n >= s.size() || s[i + 1 + n] != '>') return 0;
  level = static_cast<int>(v & 7);
  return n + 2;
}

// "[Wed Nov 25 10:00:01 2026]" from dmesg -T.
size_t human_timestamp(std::string_view s, size_t i) {
  if (i + 26 > s.size() || s[i] != '[') return 0;
  // "[Www Mmm dd hh:mm:ss yyyy]": fixed shape, day may be space padded.
  std::string_view t = s.substr(i, 26);
  if (t[4] != ' ' || t[8] != ' ' || t[11] != ' ' || t[14] != ':' || t[17] != ':' || t[20] != ' ' ||
      t[25] != ']')
    return 0;
  for (size_t k : {21u, 22u, 23u, 24u, 12u, 13u, 15u, 16u, 18u, 19u})
    if (!is_digit(t[k])) return 0;
  return 26;
}

// "6,1234,5678,-;" or "6,1234,5678,-,caller=T1,ncfrag=0/2;": a /dev/kmsg record.
size_t kmsg_record(std::string_view s, std::optional<double>& ts, std::string& caller, int& level) {
  uint64_t prio, seq, usec;
  size_t i = read_digits(s, 0, prio);
  if (i == 0 || i > 4 || i >= s.size() || s[i] != ',') return 0;
  size_t n = read_digits(s, ++i, seq);
  if (n == 0 || i + n >= s.size() || s[i + n] != ',') return 0;
  i += n + 1;
  n = read_digits(s, i, usec);
  if (n == 0 || i + n >= s.size() || s[i + n] != ',') return 0;
  i += n + 1;
  if (i >= s.size() || (s[i] != '-' && s[i] != 'c' && s[i] != '+')) return 0;
  size_t semi = s.find(';', i);
  if (semi == std::string_view::npos || semi - i > 128) return 0;
  size_t c = s.substr(i, semi - i).find("caller=");
  if (c != std::string_view::npos) {
    size_t b = i + c + 7;
    size_t e = b;
    while (e < semi && s[e] != ',') ++e;
    caller.assign(s.substr(b, e - b));
  }
  level = static_cast<int>(prio & 7);
  ts = static_cast<double>(usec) / 1e6;
  return semi + 1;
}

size_t syslog_date(std::string_view s);

constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "hh:mm:ss" with optional ".ffffff" at s[i]; returns its length.
size_t clock_time(std::string_view s, size_t i) {
  if (i + 8 > s.size()) return 0;
  for (size_t k : {0u, 1u, 3u, 4u, 6u, 7u})
    if (!is_digit(s[i + k])) return 0;
  if (s[i + 2] != ':' || s[i + 5] != ':') return 0;
  size_t j = i + 8;
  if (j < s.size() && (s[j] == '.' || s[j] == ',')) {
    uint64_t v;
    size_t n = read_digits(s, j + 1, v);
    if (n) j += n + 1;
  }
  return j - i;
}

// A month's name as syslog and journalctl print it: "Nov", and in other
// locales "Mär", "Okt.", "janv.", "дек". Returns its length (0: none).
size_t month_name(std::string_view s) {
  if (s.size() >= 3 && s[0] >= 'A' && s[0] <= 'S') {  // Apr .. Sep: most lines start otherwise
    for (std::string_view m : kMonths)
      if (s[0] == m[0] && s[1] == m[1] && s[2] == m[2]) return 3;
  }
  // Localised: 2-5 letters (a UTF-8 letter counts as one), maybe a '.'.
  size_t i = 0, letters = 0;
  while (i < s.size() && letters < 6) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
      ++i;
    } else if (c >= 0xc2 && c <= 0xdf && i + 1 < s.size()) {
      i += 2;
    } else {
      break;
    }
    ++letters;
  }
  if (letters < 2 || letters > 5) return 0;
  if (i < s.size() && s[i] == '.') ++i;
  return i;
}

// journalctl -o short-full: "Tue 2024-01-02 03:04:05 UTC". Returns its length.
size_t weekday_date(std::string_view s) {
  if (s.size() < 24 || s[3] != ' ' || !is_digit(s[4])) return 0;
  for (size_t k = 0; k < 3; ++k)
    if (((s[k] | 0x20) < 'a' || (s[k] | 0x20) > 'z')) return 0;
  size_t d = syslog_date(s.substr(4));
  if (d == 0) return 0;
  size_t j = 4 + d;
  // The time zone: "UTC", "CEST", "+0100".
  if (j < s.size() && s[j] == ' ') {
    size_t k = j + 1;
    while (k < s.size() && k - j <= 6 && (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '+' || s[k] == '-')) ++k;
    if (k > j + 1 && k < s.size() && s[k] == ' ') j = k;
  }
  return j;
}

// journalctl -o short-unix: "1704164645.123456". Returns its length.
size_t unix_date(std::string_view s) {
  uint64_t v;
  size_t n = read_digits(s, 0, v);
  if (n < 9 || n > 11 || n >= s.size() || s[n] != '.') return 0;
  size_t f = read_digits(s, n + 1, v);
  return f >= 3 && f <= 9 ? n + 1 + f : 0;
}

// The date of a syslog/journal line: "Nov 25 10:00:01", "Nov  5 10:00:01.123456",
// "2024-01-02T03:04:05+0000", "2024-01-02T03:04:05.123456+00:00",
// "2024-01-02 03:04:05". Returns its length.
size_t syslog_date(std::string_view s) {
  if (s.size() < 15) return 0;
  if (is_digit(s[0])) {
    // ISO 8601
    if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ')) return 0;
    for (size_t k : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
      if (!is_digit(s[k])) return 0;
    size_t t = clock_time(s, 11);
    if (!t) return 0;
    size_t j = 11 + t;
    if (j < s.size() && s[j] == 'Z') {
      ++j;
    } else if (j < s.size() && (s[j] == '+' || s[j] == '-')) {
      size_t k = j + 1;
      uint64_t v;
      size_t n = read_digits(s, k, v);
      if (n == 2 && k + n < s.size() && s[k + n] == ':') n += 1 + read_digits(s, k + 3, v);
      if (n >= 2) j = k + n;
    }
    return j;
  }
  size_t j = month_name(s);
  if (j == 0 || j >= s.size() || s[j] != ' ') return 0;
  ++j;
  if (s[j] == ' ') ++j;
  uint64_t day;
  size_t n = read_digits(s, j, day);
  if (n == 0 || n > 2 || j + n >= s.size() || s[j + n] != ' ') return 0;
  size_t t = clock_time(s, j + n + 1);
  return t ? j + n + 1 + t : 0;
}

bool kernel_tag(std::string_view tag) {
  return tag == "kernel" || tag.starts_with("kernel[") || tag == "klogd" || tag == "vmunix";
}

// The date in front of a syslog, journal or container line, any style.
size_t dated_prefix(std::string_view s) {
  if (s.empty()) return 0;
  if (is_digit(s[0])) {
    if (size_t d = syslog_date(s)) return d;
    return unix_date(s);
  }
  if (size_t d = syslog_date(s)) return d;
  return weekday_date(s);
}

// After the date: " host tag: ", or " tag: " when the host was left out.
// `kernel` tells whether the tag is the kernel's (then the whole prefix
// goes), otherwise only " host " does.
size_t syslog_host_tag(std::string_view s, size_t i, bool& kernel) {
  if (i >= s.size() || s[i] != ' ') return 0;
  size_t h = i + 1;
  if (s.substr(h).starts_with("kernel: ")) {  // "Aug 13 12:28:38 kernel: [ 3846.6] ..."
    kernel = true;
    return 9;
  }
  size_t he = s.find(' ', h);
  if (he == std::string_view::npos || he == h || he - h > 255) return 0;
  size_t t = he + 1;
  size_t te = s.find(": ", t);
  size_t colon_end = te == std::string_view::npos ? std::string_view::npos : te + 2;
  if (te == std::string_view::npos && s.ends_with(":")) {
    te = s.size() - 1;
    colon_end = s.size();
  }
  if (te == std::string_view::npos || te == t || te - t > 64) return 0;
  std::string_view tag = s.substr(t, te - t);
  if (tag.find(' ') != std::string_view::npos) return 0;
  kernel = kernel_tag(tag);
  return (kernel ? colon_end : t) - i;
}

// "host kernel: " after a journalctl -o short-monotonic timestamp.
size_t monotonic_host(std::string_view s, size_t i) {
  size_t he = s.find(' ', i);
  if (he == std::string_view::npos || he == i || he - i > 255) return 0;
  if (s.substr(he + 1).starts_with("kernel: ")) return he + 9 - i;
  return 0;
}


// dmesg -H: "[Mar 8 17:07] " when the minute changes, "[  +0.000005] " between.
size_t dmesg_human(std::string_view s, size_t i) {
  if (i + 4 >= s.size() || s[i] != '[') return 0;
  size_t j = skip_blanks(s, i + 1);
  uint64_t v;
  if (j < s.size() && s[j] == '+') {
    size_t n = read_digits(s, j + 1, v);
    if (n == 0 || j + 1 + n >= s.size() || s[j + 1 + n] != '.') return 0;
    j += 2 + n;
    size_t f = read_digits(s, j, v);
    if (f == 0 || j + f >= s.size() || s[j + f] != ']') return 0;
    return j + f + 1 - i;
  }
  size_t m = month_name(s.substr(j));
  if (m == 0 || j + m >= s.size() || s[j + m] != ' ') return 0;
  j = skip_blanks(s, j + m);
  size_t n = read_digits(s, j, v);
  if (n == 0 || n > 2 || j + n >= s.size() || s[j + n] != ' ') return 0;
  j += n + 1;
  // "17:07" or "17:07:01"
  if (j + 5 > s.size() || !is_digit(s[j]) || !is_digit(s[j + 1]) || s[j + 2] != ':' || !is_digit(s[j + 3]) ||
      !is_digit(s[j + 4]))
    return 0;
  j += 5;
  if (j + 3 <= s.size() && s[j] == ':' && is_digit(s[j + 1]) && is_digit(s[j + 2])) j += 3;
  if (j >= s.size() || s[j] != ']') return 0;
  return j + 1 - i;
}

// dmesg -x: "kern  :emerg : ", the facility and level padded to six.
size_t dmesg_facility(std::string_view s, size_t i, int& level) {
  static constexpr std::string_view kLevels[] = {"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"};
  size_t j = i;
  while (j < s.size() && j - i <= 8 && s[j] >= 'a' && s[j] <= 'z') ++j;
  if (j == i || j - i > 8) return 0;
  while (j < s.size() && j - i < 10 && s[j] == ' ') ++j;
  if (j >= s.size() || s[j] != ':') return 0;
  size_t l = ++j;
  while (j < s.size() && s[j] >= 'a' && s[j] <= 'z') ++j;
  std::string_view name = s.substr(l, j - l);
  int found = -1;
  for (int k = 0; k < 8; ++k)
    if (name == kLevels[k]) found = k;
  if (found < 0) return 0;
  while (j < s.size() && j - l < 8 && s[j] == ' ') ++j;
  if (j + 1 >= s.size() || s[j] != ':' || s[j + 1] != ' ') return 0;
  level = found;
  return j + 2 - i;
}

// A hypervisor's or serial multiplexer's tag: "[guest0/uart0] ".
size_t serial_tag(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = i + 1, slash = 0;
  while (j < s.size() && j - i <= 32 && (is_alpha(s[j]) || is_digit(s[j]) || s[j] == '_' || s[j] == '-' ||
                                         s[j] == '.' || s[j] == '/')) {
    if (s[j] == '/') slash = j;
    ++j;
  }
  if (slash == 0 || slash == i + 1 || slash + 1 == j || !is_alpha(s[i + 1])) return 0;
  if (j + 1 >= s.size() || s[j] != ']' || s[j + 1] != ' ') return 0;
  return j + 2 - i;
}

// A container runtime's log line (CRI): "2024-01-02T03:04:05.123456789Z stdout F ".
size_t cri_stream(std::string_view s, size_t i) {
  std::string_view r = s.substr(std::min(i, s.size()));
  if ((r.starts_with(" stdout ") || r.starts_with(" stderr ")) && r.size() >= 10 && (r[8] == 'F' || r[8] == 'P') &&
      r[9] == ' ')
    return 10;
  return 0;
}

// E-mail and chat quoting: "> ", "> > ", "| ". A '>' glued to text is the
// kernel's own (KASAN marks the buggy row ">ffff8880...").
size_t quote_marks(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && (s[j] == '>' || s[j] == '|') && (j + 1 == s.size() || s[j + 1] == ' ')) {
    j += 1;
    if (j < s.size()) ++j;  // its space
    while (j < s.size() && s[j] == ' ' && j + 1 < s.size() && (s[j + 1] == '>' || s[j + 1] == '|')) ++j;
  }
  return j - i;
}

// "grep -n" ("1234:"), "grep -n -C" ("1234-"), "cat -n" ("  1234\t") line
// numbers; only in front of a console prefix, so kernel text that starts
// with digits ("00000000: 41 41") stays.
size_t line_number(std::string_view s, size_t i) {
  size_t j = skip_blanks(s, i);
  uint64_t v;
  size_t n = read_digits(s, j, v);
  if (n == 0 || n > 9 || j + n + 1 >= s.size()) return 0;
  j += n;
  char sep = s[j];
  if (sep != ':' && sep != '-' && sep != '\t') return 0;
  ++j;
  char next = s[j];
  bool prefix = next == '[' || next == '<' || (next >= 'A' && next <= 'Z' && syslog_date(s.substr(j)) > 0) ||
                (is_digit(next) && syslog_date(s.substr(j)) > 0);
  return prefix ? j - i : 0;
}
}  // namespace

void clean_line(std::string_view raw, LogLine& out) {
  out.timestamp.reset();
  out.caller.clear();
  out.level = -1;
  out.foreign = false;
  // Plain ASCII (nearly every line) needs no cleanup: read the prefix off
  // `raw` and copy only the text after it.
  bool plain = plain_ascii(raw);
  if (!plain) sanitize(raw, out.text);
  std::string_view s = plain ? raw : std::string_view(out.text);

  size_t i = 0;
  if (s.starts_with("\xef\xbb\xbf")) i = 3;  // UTF-8 byte order mark
  if (size_t n = line_number(s, i)) i += n;
  if (size_t n = kmsg_record(s.substr(i), out.timestamp, out.caller, out.level)) i += n;
  // Layers nest ("<4>[ 1.2] <4>[ 1.2] x", "Nov 1 ... kernel: [ 1.2] x",
  // "> [guest0/uart0] [ 1.2] x"); a few rounds suffice.
  for (int round = 0; round < 6; ++round) {
    size_t start = i;
    if (size_t q = round == 0 ? quote_marks(s, i) : 0) i += q;
    // A quote indented as a whole: "  [  101.5] RIP: ...". The blanks go
    // only when a prefix follows (the kernel's own indentation stays).
    if (round == 0 && i < s.size() && is_blank(s[i])) {
      size_t j = skip_blanks(s, i);
      std::optional<double> ts;
      int level = -1;
      if (j < s.size() && (dmesg_timestamp(s, j, ts) || level_prefix(s, j, level) || dmesg_human(s, j) ||
                           human_timestamp(s, j)))
        i = j;
    }
    if (size_t n = level_prefix(s, i, out.level)) i += n;
    if (size_t n = dmesg_timestamp(s, i, out.timestamp)) {
      i += n;
      if (size_t c = caller_id(s, i, out.caller)) i += c;
      if (i < s.size() && s[i] == ' ') ++i;
      if (size_t h = monotonic_host(s, i)) i += h;
    } else if (size_t c = (i == start ? caller_id(s, i, out.caller) : 0)) {
      i += c;
      if (i < s.size() && s[i] == ' ') ++i;
    } else if (size_t h = human_timestamp(s, i)) {
      i += h;
      if (i < s.size() && s[i] == ' ') ++i;
    } else if (size_t m = dmesg_human(s, i)) {
      i += m;
      if (i < s.size() && s[i] == ' ') ++i;
    } else if (size_t serial = serial_tag(s, i)) {
      i += serial;
    } else if (size_t d = dated_prefix(s.substr(i))) {
      if (size_t stream = cri_stream(s, i + d)) {
        i += d + stream;
      } else {
        bool kernel = false;
        size_t tag = syslog_host_tag(s, i + d, kernel);
        if (tag) {
          i += d + tag;
          if (!kernel) {
            out.foreign = true;
            break;
          }
        }
      }
    } else if (size_t f = dmesg_facility(s, i, out.level)) {
      i += f;
    } else if (s.substr(i).starts_with("kernel: ")) {
      i += 8;
    }
    if (i == start) break;
  }
  if (plain) out.text.assign(s.substr(i));
  else if (i > 0) out.text.erase(0, i);
  out.bytes = ByteSet(out.text);
}

}  // namespace ktriage::logparse

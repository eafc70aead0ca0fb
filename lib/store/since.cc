// --since: a relative age or a UTC date/time.
#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "ktriage/store.h"

namespace ktriage::store {

Expected<int64_t> parse_since(std::string_view text, int64_t now) {
  const Error bad{
      fmt::format("--since '{}': expected an age (30m, 12h, 7d, 2w) or a UTC date (2024-05-01[T12:00[:00]])", text)};
  if (text.empty()) return bad;
  // An age: digits and one unit.
  if (char unit = text.back(); unit == 'm' || unit == 'h' || unit == 'd' || unit == 'w') {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
    if (ec == std::errc() && end == text.data() + text.size() - 1 && n >= 0 && n < 1'000'000) {
      const int64_t seconds = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 7 * 86400;
      return now - n * seconds;
    }
    return bad;
  }
  // A date, with an optional time.
  std::string s(text);
  if (s.back() == 'Z') s.pop_back();
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  if (!rest) return bad;
  if (*rest == 'T' || *rest == ' ') {
    const char* t = strptime(rest + 1, "%H:%M:%S", &tm);
    if (!t) t = strptime(rest + 1, "%H:%M", &tm);
    rest = t;
  }
  if (!rest || *rest) return bad;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace ktriage::store

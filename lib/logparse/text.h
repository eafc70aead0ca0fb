// Small text readers shared by the field extractors: every one runs on every
// line of every report, so none allocates and none uses a regex.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ktriage::logparse {

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_symbol_char(char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '$' || c == '@'; }

inline std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view trim(std::string_view s) { return rtrim(ltrim(s)); }

// t.starts_with(p) for a literal p, always inlined: every report line is
// tested against dozens of prefixes, and the library's out-of-line
// starts_with(const char*) pays a strlen and a call each time.
template <size_t N>
inline bool starts(std::string_view t, const char (&p)[N]) {
  return t.size() >= N - 1 && std::memcmp(t.data(), p, N - 1) == 0;
}

inline bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Text after `marker`, or nullopt.
inline std::optional<std::string_view> after(std::string_view s, std::string_view marker) {
  size_t p = s.find(marker);
  if (p == std::string_view::npos) return std::nullopt;
  return s.substr(p + marker.size());
}

inline size_t hex_run(std::string_view s, size_t i = 0) {
  size_t n = 0;
  while (i + n < s.size() && is_hex(s[i + n])) ++n;
  return n;
}

inline std::optional<uint64_t> hex_value(std::string_view digits) {
  if (digits.empty() || digits.size() > 16) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return v;
}

inline std::optional<uint64_t> dec_value(std::string_view digits) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 10);
  if (ec != std::errc() || p == digits.data()) return std::nullopt;
  return v;
}

// Hex number at the start of s, with or without 0x; `used` gets its length.
inline std::optional<uint64_t> leading_hex(std::string_view s, size_t* used = nullptr) {
  size_t skip = (starts(s, "0x") || starts(s, "0X")) ? 2 : 0;
  size_t n = hex_run(s, skip);
  if (used) *used = skip + n;
  return hex_value(s.substr(skip, n));
}

inline std::optional<uint32_t> leading_u32(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  auto v = dec_value(s.substr(0, n));
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

inline std::string fmt_hex(std::string_view prefix, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return std::string(prefix) + "0x" + std::string(buf, end);
}

}  // namespace ktriage::logparse

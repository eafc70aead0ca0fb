#include "logparse/symbols.h"

#include "logparse/fields.h"
#include "logparse/text.h"

namespace ktriage::logparse {

void note(std::vector<Anomaly>* anomalies, uint32_t line, std::string message) {
  if (!anomalies || anomalies->size() >= 256) return;
  for (const Anomaly& a : *anomalies)
    if (a.line == line && a.message == message) return;
  anomalies->push_back({line, std::move(message)});
}

// Kernel addresses are printed zero-padded to pointer width: 8 or 16 digits.
std::optional<uint64_t> address_digits(std::string_view digits, std::vector<Anomaly>* anomalies, uint32_t line) {
  if (digits.size() != 8 && digits.size() != 16 && !digits.empty())
    note(anomalies, line, "address " + std::string(digits.substr(0, 20)) + " has " + std::to_string(digits.size()) +
                              " hex digits");
  if (digits.size() > 16) return std::nullopt;
  return hex_value(digits);
}

// "[<ffffffff81058e5d>]" at s[0]; returns bytes consumed (0: not one).
size_t bracket_address(std::string_view s, std::optional<uint64_t>& out, std::vector<Anomaly>* anomalies,
                       uint32_t line) {
  if (!starts(s, "[<")) return 0;
  size_t n = hex_run(s, 2);
  if (2 + n + 1 >= s.size() + 1 || s.substr(2 + n, 2) != ">]") return 0;
  out = address_digits(s.substr(2, n), anomalies, line);
  return n + 4;
}

// "func+0x4d/0xa8 [mod buildid]" at the start of s. Returns bytes consumed,
// 0 when s does not start with a symbol.
size_t symbol_at(std::string_view s, Symbol& out, std::vector<Anomaly>* anomalies, uint32_t line) {
  size_t i = 0;
  // 2.6.2x x86_64: ":mod:func+0x1/0x2".
  if (s.starts_with(':')) {
    size_t e = s.find(':', 1);
    if (e == std::string_view::npos || e == 1) return 0;
    for (size_t k = 1; k < e; ++k)
      if (!is_symbol_char(s[k]) && s[k] != '-') return 0;
    out.module.assign(s.substr(1, e - 1));
    i = e + 1;
  }
  size_t name = i;
  while (i < s.size() && is_symbol_char(s[i])) ++i;
  if (i == name) return 0;
  out.function.assign(s.substr(name, i - name));
  if (i < s.size() && s[i] == '+') {
    ++i;
    std::string_view rest = s.substr(i);
    if (starts(rest, "0x0x") || starts(rest, "0X0x")) {
      note(anomalies, line, "offset of " + out.function + " printed with a doubled 0x prefix");
      i += 2;
    }
    size_t used = 0;
    // "inflate_fast+1431" (gdb, pasted by hand): decimal when there is no
    // 0x, no hex letter and no size. The kernel's own %pS always prints 0x.
    size_t digits = 0;
    while (i + digits < s.size() && is_digit(s[i + digits])) ++digits;
    bool decimal = digits > 0 && !starts(rest, "0x") && !starts(rest, "0X") &&
                   (i + digits >= s.size() || (!is_hex(s[i + digits]) && s[i + digits] != '/'));
    out.offset = decimal ? dec_value(s.substr(i, digits)) : leading_hex(s.substr(i), &used);
    if (decimal) used = digits;
    if (!out.offset) note(anomalies, line, "unreadable offset after " + out.function + "+");
    i += used;
    if (i < s.size() && s[i] == '/') {
      ++i;
      out.size = leading_hex(s.substr(i), &used);
      if (!out.size) note(anomalies, line, "unreadable size after " + out.function + "+.../");
      i += used;
    }
  }
  // " [mod]" or " [mod 0123abcd...]" (build id, 5.x+).
  size_t j = i;
  while (j < s.size() && is_blank(s[j])) ++j;
  if (j < s.size() && s[j] == '[' && (j + 1 >= s.size() || s[j + 1] != '<')) {
    size_t e = s.find(']', j);
    std::string_view inside = e == std::string_view::npos ? std::string_view() : s.substr(j + 1, e - j - 1);
    bool ok = !inside.empty() && inside.size() <= 128 && is_symbol_char(inside.front());
    for (char c : inside) ok = ok && (is_symbol_char(c) || c == '-' || c == ' ');
    if (ok && !has(inside, "last unloaded")) {
      size_t sp = inside.find(' ');
      out.module.assign(inside.substr(0, sp));
      if (sp != std::string_view::npos) out.module_build_id.assign(trim(inside.substr(sp + 1)));
      i = e + 1;
    }
  }
  return i;
}

bool parse_symbol(std::string_view text, Symbol& out, std::vector<Anomaly>* anomalies, uint32_t line) {
  return symbol_at(trim(text), out, anomalies, line) > 0;
}

}  // namespace ktriage::logparse

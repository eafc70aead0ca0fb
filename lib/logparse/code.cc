// The kernel prints code bytes around the faulting PC in one of these forms
// (arch/x86/kernel/dumpstack.c show_opcodes, arch/arm64/kernel/traps.c
// dump_kernel_instr, arch/arm/kernel/traps.c dump_instr):
//
//   x86:    48 8b 45 f8 <8b> 40 18 c3        bytes, faulting byte in <>
//   arm64:  d503233f a9be7bfd (b9400000)     32-bit words as values, LE in memory
//   arm:    e5933000 (e5933000)              the same; Thumb prints (4b03) halfwords
//   none:   "Unable to access opcode bytes at 0x...", "Bad RIP value.", arm64 "bad PC value"
//
// Everything else is damage; it yields decodable=false with a reason.
#include "logparse/code.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>

namespace ktriage::logparse {
namespace {

// The kernel prints 64 bytes; a few hundred tokens is already hostile.
constexpr size_t kMaxTokens = 512;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint32_t> parse_hex(std::string_view digits) {
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : digits) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return v;
}

CodeBytes undecodable(CodeBytes code, std::string problem) {
  code.bytes.clear();
  code.faulting_offset.reset();
  code.decodable = false;
  code.problem = std::move(problem);
  return code;
}

}  // namespace

CodeBytes parse_code_line(std::string_view text) {
  CodeBytes code;
  code.text.assign(text);
  std::string_view rest = trim(text);
  if (rest.starts_with("Code:")) rest = trim(rest.substr(5));

  if (rest.empty()) return undecodable(std::move(code), "empty Code: line");
  if (rest.starts_with("Unable to access opcode bytes") || rest.starts_with("Bad RIP value") ||
      rest.starts_with("Bad EIP value") || rest.starts_with("bad PC value")) {
    std::string_view why = rest;
    while (!why.empty() && why.back() == '.') why.remove_suffix(1);
    return undecodable(std::move(code), fmt::format("the kernel could not read the code: {}", why));
  }

  size_t width = 0;  // hex digits per unit, same for every token
  size_t tokens = 0;
  while (!rest.empty()) {
    size_t end = 0;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    std::string_view token = rest.substr(0, end);
    rest = trim(rest.substr(end));
    if (++tokens > kMaxTokens) return undecodable(std::move(code), "too many code bytes");

    bool marked = false;
    if (token.size() >= 2 && ((token.front() == '<' && token.back() == '>') ||
                              (token.front() == '(' && token.back() == ')'))) {
      marked = true;
      token = token.substr(1, token.size() - 2);
    }
    if (token.size() != 2 && token.size() != 4 && token.size() != 8) {
      return undecodable(std::move(code), fmt::format("token '{}' is not 2, 4 or 8 hex digits", token));
    }
    if (width == 0) width = token.size();
    if (token.size() != width) {
      return undecodable(std::move(code), fmt::format("token '{}' differs in width from the others", token));
    }
    std::optional<uint32_t> value = parse_hex(token);
    if (!value) return undecodable(std::move(code), fmt::format("token '{}' is not hex", token));

    if (marked) {
      if (code.faulting_offset) return undecodable(std::move(code), "more than one faulting marker");
      code.faulting_offset = static_cast<uint32_t>(code.bytes.size());
    }
    // Words and halfwords are printed as values; memory holds them little-endian.
    for (size_t i = 0; i < width / 2; ++i) code.bytes.push_back(static_cast<uint8_t>(*value >> (8 * i)));
  }

  code.unit = static_cast<uint8_t>(width / 2);
  if (!code.faulting_offset) return undecodable(std::move(code), "no faulting-instruction marker (<xx> or (xxxxxxxx))");
  code.decodable = true;
  return code;
}

}  // namespace ktriage::logparse

// Register dumps: "NAME: value" pairs of every architecture's format, and
// ppc's "GPR00:" rows. The register table says which architecture each
// name belongs to, which also votes for the report's architecture.
#include <algorithm>
#include <array>

#include "logparse/extractor.h"
#include "logparse/symbols.h"

namespace ktriage::logparse {
namespace {

constexpr size_t kMaxRegisterSets = 32;
constexpr size_t kMaxRegisters = 128;

enum class RegArch : uint8_t { any, x86_64, i386, arm64, arm, ppc, riscv };

struct RegName {
  std::string_view name;
  RegArch arch;
};

constexpr std::array<RegName, 107> kRegisters{{
    {"rax", RegArch::x86_64}, {"rbx", RegArch::x86_64}, {"rcx", RegArch::x86_64}, {"rdx", RegArch::x86_64},
    {"rsi", RegArch::x86_64}, {"rdi", RegArch::x86_64}, {"rbp", RegArch::x86_64}, {"rsp", RegArch::x86_64},
    {"r8", RegArch::any},     {"r9", RegArch::any},     {"r10", RegArch::any},    {"r11", RegArch::x86_64},
    {"r12", RegArch::x86_64}, {"r13", RegArch::x86_64}, {"r14", RegArch::x86_64}, {"r15", RegArch::x86_64},
    {"r08", RegArch::x86_64}, {"r09", RegArch::x86_64}, {"rip", RegArch::x86_64}, {"orig_rax", RegArch::x86_64},
    {"knlgs", RegArch::x86_64}, {"eflags", RegArch::any}, {"cs", RegArch::any}, {"ds", RegArch::any},
    {"es", RegArch::any},     {"fs", RegArch::any},     {"gs", RegArch::any},     {"ss", RegArch::any},
    {"cr0", RegArch::any},    {"cr2", RegArch::any},    {"cr3", RegArch::any},    {"cr4", RegArch::any},
    {"dr0", RegArch::any},    {"dr1", RegArch::any},    {"dr2", RegArch::any},    {"dr3", RegArch::any},
    {"dr6", RegArch::any},    {"dr7", RegArch::any},    {"pkru", RegArch::x86_64}, {"eax", RegArch::i386},
    {"ebx", RegArch::i386},   {"ecx", RegArch::i386},   {"edx", RegArch::i386},   {"esi", RegArch::i386},
    {"edi", RegArch::i386},   {"ebp", RegArch::i386},   {"esp", RegArch::i386},   {"eip", RegArch::i386},
    {"x0", RegArch::arm64},   {"x1", RegArch::arm64},   {"x2", RegArch::arm64},   {"x3", RegArch::arm64},
    {"x4", RegArch::arm64},   {"x5", RegArch::arm64},   {"x6", RegArch::arm64},   {"x7", RegArch::arm64},
    {"x8", RegArch::arm64},   {"x9", RegArch::arm64},   {"x10", RegArch::arm64},  {"x11", RegArch::arm64},
    {"x12", RegArch::arm64},  {"x13", RegArch::arm64},  {"x14", RegArch::arm64},  {"x15", RegArch::arm64},
    {"x16", RegArch::arm64},  {"x17", RegArch::arm64},  {"x18", RegArch::arm64},  {"x19", RegArch::arm64},
    {"x20", RegArch::arm64},  {"x21", RegArch::arm64},  {"x22", RegArch::arm64},  {"x23", RegArch::arm64},
    {"x24", RegArch::arm64},  {"x25", RegArch::arm64},  {"x26", RegArch::arm64},  {"x27", RegArch::arm64},
    {"x28", RegArch::arm64},  {"x29", RegArch::arm64},  {"x30", RegArch::arm64},  {"pstate", RegArch::arm64},
    {"sp", RegArch::any},     {"pc", RegArch::any},     {"lr", RegArch::any},     {"r0", RegArch::arm},
    {"r1", RegArch::arm},     {"r2", RegArch::arm},     {"r3", RegArch::arm},     {"r4", RegArch::arm},
    {"r5", RegArch::arm},     {"r6", RegArch::arm},     {"r7", RegArch::arm},     {"fp", RegArch::arm},
    {"ip", RegArch::arm},     {"psr", RegArch::arm},    {"cpsr", RegArch::arm},   {"nip", RegArch::ppc},
    {"ctr", RegArch::ppc},    {"msr", RegArch::ppc},    {"xer", RegArch::ppc},    {"dar", RegArch::ppc},
    {"dsisr", RegArch::ppc},  {"cfar", RegArch::ppc},   {"epc", RegArch::riscv},
}};

// Asked for the first word of nearly every line in a report: binary search.
const RegName* find_register(std::string_view lower) {
  static const auto sorted = [] {
    auto a = kRegisters;
    std::sort(a.begin(), a.end(), [](const RegName& x, const RegName& y) { return x.name < y.name; });
    return a;
  }();
  auto it = std::lower_bound(sorted.begin(), sorted.end(), lower,
                             [](const RegName& r, std::string_view n) { return r.name < n; });
  return it != sorted.end() && it->name == lower ? &*it : nullptr;
}

// The register a token names, in any case ("RAX", "pc"); nullptr for others.
const RegName* register_name(std::string_view token) {
  char lower[8];
  if (token.empty() || token.size() > sizeof lower) return nullptr;
  for (size_t k = 0; k < token.size(); ++k) {
    char c = token[k];
    if (!is_alpha(c) && !is_digit(c) && c != '_') return nullptr;
    lower[k] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
  return find_register(std::string_view(lower, token.size()));
}

bool is_ip_register(std::string_view n) { return n == "rip" || n == "eip" || n == "pc" || n == "nip" || n == "epc"; }

struct RegPair {
  std::string name;  // lower case
  std::optional<uint64_t> value;
  std::string_view raw_value;  // for "RIP: 0010:func+0x1/0x2"
  std::string_view segment;
};

// "NAME: value NAME : value ..." pairs of one line. Stops at 16 pairs.
size_t register_pairs(std::string_view s, std::array<RegPair, 16>& out, std::vector<Anomaly>* anomalies,
                      uint32_t line) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size() && n < out.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    size_t b = i;
    while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_')) ++i;
    size_t e = i;
    while (i < s.size() && s[i] == ' ') ++i;
    if (e == b || e - b > 8 || i >= s.size() || s[i] != ':') {
      // Not "NAME:": skip this token.
      while (i < s.size() && !is_blank(s[i])) ++i;
      if (e == b && i == b) ++i;
      continue;
    }
    ++i;
    while (i < s.size() && is_blank(s[i])) ++i;
    RegPair& p = out[n];
    p.name.clear();
    for (size_t k = b; k < e; ++k) p.name.push_back(static_cast<char>(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]));
    p.value.reset();
    p.segment = {};
    size_t vb = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    std::string_view v = s.substr(vb, i - vb);
    p.raw_value = v;
    // "0010:[<ffffffff81058e5d>]", "0018:ffff88014f057818", "0010:func+0x1/0x2"
    if (v.size() > 5 && v[4] == ':' && hex_run(v) == 4) {
      p.segment = v.substr(0, 4);
      v.remove_prefix(5);
      p.raw_value = v;
    }
    if (starts(v, "[<")) {
      std::optional<uint64_t> a;
      if (bracket_address(v, a, anomalies, line)) p.value = a;
    } else {
      if (v.ends_with(",")) v.remove_suffix(1);
      size_t paren = v.find('(');  // "FS:  00007f0c(0000)"
      if (paren != std::string_view::npos) v = v.substr(0, paren);
      if (starts(v, "0x")) v.remove_prefix(2);  // "RIP: 0033:0x7f4a1b2c3d4e"
      if (hex_run(v) == v.size()) p.value = hex_value(v);
    }
    ++n;
  }
  return n;
}

}  // namespace

bool Extractor::registers(std::string_view t) {
  if (t.empty() || !is_alpha(t.front())) return false;
  if (starts(t, "IP:")) return false;  // x86 "IP: [<...>] func", not arm's "ip :" register
  if (starts(t, "GPR") && t.size() > 6 && is_digit(t[3]) && is_digit(t[4]) && t[5] == ':')
    return gpr_line(t);
  // Most lines fail here, before the pairs are read: the text before the
  // first ':' must be a register name. ("[<" values are read regardless:
  // a bad address there is an anomaly.)
  size_t colon = t.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view first_token = rtrim(t.substr(0, colon));
  if (!register_name(first_token) && !has(t, "[<")) return false;
  std::array<RegPair, 16> pairs;
  size_t n = register_pairs(t, pairs, anomalies(), line_);
  if (n == 0) return false;
  const RegName* first = find_register(pairs[0].name);
  // The line must start with a register name followed directly by ':'.
  if (!first) return false;
  if (first_token.size() != pairs[0].name.size()) return false;
  bool follows_registers = last_register_line_ + 1 == line_;
  size_t known = 0;
  for (size_t k = 0; k < n; ++k)
    if (find_register(pairs[k].name) && pairs[k].value) ++known;
  bool ip_first = is_ip_register(pairs[0].name);
  // arm64 "lr : func+0x10/0x40" carries a symbol, not a value, but is part of the dump.
  if (known > 0 || ip_first || (pairs[0].name == "lr" && has(pairs[0].raw_value, "+0x")))
    last_register_line_ = line_;
  // Names like "sp", "ip", "cs" start ordinary messages too; want two values or an IP.
  if (known == 0 && !ip_first) return false;
  if (known < 2 && !ip_first && first->arch == RegArch::any && pairs[0].name.size() <= 3 &&
      pairs[0].name != "cr2" && pairs[0].name != "cr3" && !follows_registers)
    return false;

  bool new_set = r_.registers.empty();
  if (!new_set) {
    const RegisterSet& cur = r_.registers.back();
    // arm64 prints "pstate:" before "pc :"; a lone flags register does not make a dump.
    bool has_ip = cur.get("rip") || cur.get("eip") || cur.get("pc") || cur.get("nip") || cur.get("epc");
    if (ip_first && (cur.regs.size() > 1 || has_ip)) {
      new_set = true;
    } else if (cur.get(pairs[0].name)) {
      // A lone "CR2: ..." after the dump repeats what the dump had.
      if (known <= 1 && pairs[0].name == "cr2") return true;
      new_set = true;
    }
  }
  if (new_set) {
    if (r_.registers.size() >= kMaxRegisterSets) return true;
    r_.registers.emplace_back();
    r_.registers.back().line = line_;
  }
  RegisterSet& set = r_.registers.back();
  for (size_t k = 0; k < n; ++k) {
    const RegPair& p = pairs[k];
    if (p.name == "cpu" && p.value && !r_.cpu) r_.cpu = leading_u32(p.raw_value);
    const RegName* reg = find_register(p.name);
    if (!reg || !p.value || set.regs.size() >= kMaxRegisters || set.get(p.name)) continue;
    std::string name = p.name;
    if (name.size() == 3 && name[0] == 'r' && name[1] == '0') name.erase(1, 1);  // R08 -> r8
    set.regs.push_back({std::move(name), *p.value});
    switch (reg->arch) {
      case RegArch::x86_64: votes_.x86_64 = true; break;
      case RegArch::i386: votes_.i386 = true; break;
      case RegArch::arm64: votes_.arm64 = true; break;
      case RegArch::arm: votes_.arm = true; break;
      case RegArch::ppc: votes_.ppc = true; break;
      case RegArch::riscv: votes_.riscv = true; break;
      case RegArch::any: break;
    }
  }
  return true;
}

// "GPR00: c00000000806b258 c000000010ff3a30 d0000000008e3bb8 0000000000000000"
bool Extractor::gpr_line(std::string_view t) {
  uint32_t base = static_cast<uint32_t>((t[3] - '0') * 10 + (t[4] - '0'));
  if (r_.registers.empty() || (base == 0 && r_.registers.back().get("gpr0"))) {
    if (r_.registers.size() >= kMaxRegisterSets) return true;
    r_.registers.emplace_back();
    r_.registers.back().line = line_;
  }
  RegisterSet& set = r_.registers.back();
  std::string_view rest = t.substr(6);
  uint32_t k = 0;
  while (!rest.empty() && k < 8) {
    rest = ltrim(rest);
    size_t n = hex_run(rest);
    if (n == 0) break;
    if (auto v = hex_value(rest.substr(0, n)); v && set.regs.size() < kMaxRegisters) {
      set.regs.push_back({"gpr" + std::to_string(base + k), *v});
      (n == 16 ? votes_.ppc64 : votes_.ppc) = true;
    }
    rest.remove_prefix(n);
    ++k;
  }
  return true;
}

}  // namespace ktriage::logparse

// Lines that name the faulting instruction: `RIP: 0010:f+0x1/0x2`,
// `IP: [<addr>] f+0x1/0x2`, `EIP is at`, arm64 `pc : f+0x1/0x2`, ppc
// `NIP [addr] f+0x1/0x2`, s390 `Krnl PSW : ... (f+0x1/0x2)`. A user-mode
// segment (RIP: 0033:) is not the fault.
#include "logparse/extractor.h"
#include "logparse/symbols.h"

namespace ktriage::logparse {
namespace {

// User-mode code segments: a RIP/EIP there is user space, not the fault.
bool user_segment(std::string_view seg) { return seg == "0033" || seg == "0023" || seg == "0073" || seg == "002b"; }

}  // namespace

void Extractor::strong_ip(Symbol s) {
  if (!r_.ip || !ip_strong_) {
    r_.ip = std::move(s);
    ip_strong_ = true;
    return;
  }
  Symbol& ip = *r_.ip;
  if (ip.function.empty() && !s.function.empty()) {
    ip.function = s.function;
    ip.offset = s.offset;
    ip.size = s.size;
    if (ip.module.empty()) ip.module = s.module;
  }
  if (!ip.address && s.address && (s.function.empty() || s.function == ip.function)) ip.address = s.address;
  if (ip.module.empty() && !s.module.empty() && s.function == ip.function) ip.module = s.module;
}

// "[<addr>]  [<addr>] func+0x1/0x2 [mod]", "[<addr>] func", "func+0x1/0x2", "0x7f...".
Symbol Extractor::ip_text(std::string_view s) {
  Symbol out;
  s = ltrim(s);
  for (int k = 0; k < 2 && starts(s, "[<"); ++k) {
    std::optional<uint64_t> a;
    size_t n = bracket_address(s, a, anomalies(), line_);
    if (!n) break;
    if (!out.address) out.address = a;
    s = ltrim(s.substr(n));
  }
  if (starts(s, "0x")) {
    size_t used = 0;
    if (!out.address) out.address = leading_hex(s, &used);
    return out;
  }
  if (s.starts_with('<')) {
    Symbol old;
    if (braced_symbol(s, old)) return old;
  }
  Symbol sym;
  size_t used = symbol_at(s, sym, anomalies(), line_);
  // "EIP: 0060:[<c04ac80f>] EFLAGS: 00010046", "pc : [<c0333330>] lr : [<...>]":
  // a register name, not a symbol.
  size_t k = used;
  while (k < s.size() && is_blank(s[k])) ++k;
  if (used && (k >= s.size() || s[k] != ':')) {
    sym.address = out.address;
    return sym;
  }
  return out;
}

// Lines that name the faulting instruction. Returns true for the register
// dump's first line (RIP:/EIP:/pc :/NIP:), which registers() also reads.
bool Extractor::ip_line(std::string_view t) {
  if (starts(t, "RIP: ") || starts(t, "EIP: ") || starts(t, "RIP:0") || starts(t, "EIP:0")) {
    (t[0] == 'R' ? votes_.x86_64 : votes_.i386) = true;
    std::string_view rest = ltrim(t.substr(4));
    if (rest.size() > 5 && rest[4] == ':' && hex_run(rest) == 4) {
      if (user_segment(rest.substr(0, 4))) {
        user_ip_index_ = index_;
        return true;
      }
      strong_ip(ip_text(rest.substr(5)));
      return true;
    }
    // "EIP: [<c04ac80f>] func+0x4d/0xab SS:ESP 0068:d6959e28": the summary.
    if (starts(rest, "[<")) {
      Symbol s = ip_text(rest);
      if (!weak_ip_) weak_ip_ = s;
      return false;
    }
    strong_ip(ip_text(rest));  // 4.x i386 "EIP: func+0x1/0x2"
    return true;
  }
  if (starts(t, "IP: ")) {
    strong_ip(ip_text(t.substr(4)));
    return false;
  }
  if (starts(t, "EIP is at ") || starts(t, "PC is at ") || starts(t, "RIP is at ")) {
    strong_ip(ip_text(t.substr(t.find(" at ") + 4)));
    return false;
  }
  if (starts(t, "pc : ")) {
    std::string_view rest = ltrim(t.substr(5));
    Symbol s = ip_text(rest);
    if (!s.function.empty() || s.address) strong_ip(std::move(s));
    return true;
  }
  if (starts(t, "NIP [")) {
    std::string_view rest = t.substr(4);
    size_t n = hex_run(rest, 1);
    Symbol s;
    if (n && 1 + n < rest.size() && rest[1 + n] == ']') {
      std::optional<uint64_t> a = address_digits(rest.substr(1, n), anomalies(), line_);
      s = ip_text(rest.substr(n + 2));
      s.address = a;
      (n == 16 ? votes_.ppc64 : votes_.ppc) = true;
    }
    strong_ip(std::move(s));
    return false;
  }
  if (starts(t, "Krnl PSW : ") || starts(t, "PSW : ")) {
    votes_.s390 = true;
    std::string_view rest = ltrim(t.substr(t.find(':') + 1));
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return false;
    rest = ltrim(rest.substr(sp));
    size_t n = hex_run(rest);
    Symbol s;
    std::optional<uint64_t> a = hex_value(rest.substr(0, n));
    rest = ltrim(rest.substr(n));
    if (starts(rest, "(")) {
      std::string_view inside = rest.substr(1);
      if (inside.ends_with(")")) inside.remove_suffix(1);
      symbol_at(inside, s, anomalies(), line_);
    }
    s.address = a;
    strong_ip(std::move(s));
    return false;
  }
  if (starts(t, "RIP  [<") || starts(t, "RIP [<")) {
    Symbol s = ip_text(t.substr(3));
    if (!weak_ip_) weak_ip_ = s;
    return false;
  }
  if (auto a = after(t, "Faulting instruction address: ")) {
    Symbol s;
    s.address = leading_hex(*a);
    if (!weak_ip_ && s.address) weak_ip_ = s;
    return false;
  }
  return false;
}

}  // namespace ktriage::logparse

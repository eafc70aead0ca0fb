// Reading the structured fields of a report, one line at a time. Each line
// is offered to a few small readers (IP, registers, frames, task, taint,
// modules, Code:); none uses a regex: these run on every line of every
// report and the shapes are fixed by the kernel's printk formats.
#include "logparse/fields.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>

#include "logparse/bytes.h"
#include "logparse/code.h"

namespace ktriage::logparse {
namespace {

constexpr size_t kMaxFrames = 1024;
constexpr size_t kMaxRegisterSets = 32;
constexpr size_t kMaxRegisters = 128;
constexpr size_t kMaxModules = 4096;
constexpr size_t kMaxCodeText = 4096;
// The fault address and oops code are printed near the top; later matches
// belong to follow-on reports that the splitter kept in this one.
constexpr size_t kHeadLines = 60;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_symbol_char(char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '$' || c == '@'; }

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) { return rtrim(ltrim(s)); }

// t.starts_with(p) for a literal p, always inlined: every report line is
// tested against dozens of prefixes, and the library's out-of-line
// starts_with(const char*) pays a strlen and a call each time.
template <size_t N>
inline bool starts(std::string_view t, const char (&p)[N]) {
  return t.size() >= N - 1 && std::memcmp(t.data(), p, N - 1) == 0;
}

bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Text after `marker`, or nullopt.
std::optional<std::string_view> after(std::string_view s, std::string_view marker) {
  size_t p = s.find(marker);
  if (p == std::string_view::npos) return std::nullopt;
  return s.substr(p + marker.size());
}

size_t hex_run(std::string_view s, size_t i = 0) {
  size_t n = 0;
  while (i + n < s.size() && is_hex(s[i + n])) ++n;
  return n;
}

std::optional<uint64_t> hex_value(std::string_view digits) {
  if (digits.empty() || digits.size() > 16) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 16);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> dec_value(std::string_view digits) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, 10);
  if (ec != std::errc() || p == digits.data()) return std::nullopt;
  return v;
}

// Hex number at the start of s, with or without 0x; `used` gets its length.
std::optional<uint64_t> leading_hex(std::string_view s, size_t* used = nullptr) {
  size_t skip = (starts(s, "0x") || starts(s, "0X")) ? 2 : 0;
  size_t n = hex_run(s, skip);
  if (used) *used = skip + n;
  return hex_value(s.substr(skip, n));
}

std::optional<uint32_t> leading_u32(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  auto v = dec_value(s.substr(0, n));
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::string fmt_hex(std::string_view prefix, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return std::string(prefix) + "0x" + std::string(buf, end);
}

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
    out.offset = leading_hex(s.substr(i), &used);
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

// --- taint -------------------------------------------------------------------

struct TaintLetter {
  char letter;
  std::string_view meaning;
};

// include/linux/panic.h taint_flags, in the kernel's own words.
constexpr std::array<TaintLetter, 20> kTaint{{
    {'P', "proprietary module loaded"},
    {'F', "module force loaded"},
    {'S', "kernel running on an out-of-specification system"},
    {'R', "module force unloaded"},
    {'M', "machine check exception occurred"},
    {'B', "bad page referenced or unexpected page flags"},
    {'U', "taint requested by userspace"},
    {'D', "kernel died recently (OOPS or BUG)"},
    {'A', "ACPI table overridden by user"},
    {'W', "kernel issued warning"},
    {'C', "staging driver loaded"},
    {'I', "workaround for bug in platform firmware applied"},
    {'O', "out-of-tree module loaded"},
    {'E', "unsigned module loaded"},
    {'L', "soft lockup occurred"},
    {'K', "kernel has been live patched"},
    {'X', "auxiliary taint (distribution-defined)"},
    {'T', "kernel built with the struct randomization plugin"},
    {'N', "in-kernel test has been run"},
    {'J', "userspace used a mutating debug operation in fwctl"},
}};

bool looks_like_release(std::string_view t) {
  if (t.empty()) return false;
  if (t.front() == '<' && t.back() == '>') return true;  // "<KERNEL_VERSION>" placeholders
  return is_digit(t.front()) && (has(t, ".") || has(t, "-")) && t.size() <= 128;
}

// "#1 SMP ..." starts at a '#' followed by a digit.
size_t version_hash(std::string_view s) {
  for (size_t p = s.find('#'); p != std::string_view::npos; p = s.find('#', p + 1))
    if (p + 1 < s.size() && is_digit(s[p + 1]) && (p == 0 || is_blank(s[p - 1]))) return p;
  return std::string_view::npos;
}

// --- registers -------------------------------------------------------------

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

// User-mode code segments: a RIP/EIP there is user space, not the fault.
bool user_segment(std::string_view seg) { return seg == "0033" || seg == "0023" || seg == "0073" || seg == "002b"; }

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

// --- module list ------------------------------------------------------------

// "xfs(OE)" / "radeon(+)(U)" -> "xfs"; false for tokens that are not module names.
bool module_token(std::string_view t, std::string_view& name) {
  size_t e = 0;
  while (e < t.size() && (is_symbol_char(t[e]) || t[e] == '-')) ++e;
  if (e == 0) return false;
  for (size_t k = e; k < t.size(); ++k) {
    char c = t[k];
    if (c != '(' && c != ')' && c != '+' && c != '-' && !(c >= 'A' && c <= 'Z')) return false;
  }
  name = t.substr(0, e);
  return true;
}

bool code_token(std::string_view t) {
  if (t.size() >= 2 && ((t.front() == '<' && t.back() == '>') || (t.front() == '(' && t.back() == ')')))
    t = t.substr(1, t.size() - 2);
  return !t.empty() && t.size() <= 8 && t.size() % 2 == 0 && hex_run(t) == t.size();
}

// --- the extractor -------------------------------------------------------------

struct ArchVotes {
  bool x86_64 = false, i386 = false, arm64 = false, arm = false, ppc64 = false, ppc = false, s390 = false,
       riscv = false;
  bool wide_x86_frames = false;  // [<ffffffff8...>] frames
  bool narrow_frames = false;
  bool x86_64_direct_map = false;  // 0xffff88..., 0xffffea00...: x86_64 direct map and vmemmap     // [<c0123456>] frames (not arm's "from" form)
};

class Extractor {
 public:
  explicit Extractor(Report& r) : r_(r) {}

  void run(std::span<const LogLine> lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      line_ = lines[i].number;
      index_ = i;
      bytes_ = lines[i].bytes;
      line(lines[i].text);
    }
    finish();
  }

 private:
  Report& r_;
  uint32_t line_ = 0;
  size_t index_ = 0;
  // Bytes of the line being read (LogLine::bytes). The searches every line
  // goes through (markers of task, taint, release and fault lines) skip the
  // scan when the line lacks one of their bytes; they only look inside it.
  ByteSet bytes_;
  bool may_hold(const Needle& n) const { return bytes_.covers(n.bytes); }
  bool holds(std::string_view part, const Needle& n) const { return may_hold(n) && has(part, n.text); }
  std::optional<std::string_view> after_marker(std::string_view part, const Needle& n) const {
    if (!may_hold(n)) return std::nullopt;
    return after(part, n.text);
  }

  std::string context_ = "task";
  bool skip_next_frame_ = false;
  bool trace_over_ = false;
  uint32_t last_register_line_ = 0;
  bool lockdep_backtrace_ = false;  // lockdep: only the trace after "stack backtrace:" is the report's
  std::optional<Frame> arm_pending_;
  size_t dropped_frames_ = 0;

  bool ip_strong_ = false;
  std::optional<Symbol> weak_ip_;
  bool warning_next_line_ip_ = false;

  bool modules_open_ = false;
  size_t modules_line_len_ = 0;
  bool code_open_ = false;
  std::string code_text_;
  bool release_from_linux_version_ = false;
  std::string pid_line_hardware_;

  ArchVotes votes_;

  std::vector<Anomaly>* anomalies() { return &r_.anomalies; }

  void line(std::string_view raw) {
    std::string_view t = trim(raw);
    bool continued = continuation(raw, t);
    if (continued || t.empty()) return;
    if (index_ == 0) header(t);
    if (warning_next_line_ip_ && index_ <= 2) warning_symbol_line(t);

    if (starts(t, "---[ end ")) {
      flush_arm();
      trace_over_ = true;
      return;
    }
    if (t == "stack backtrace:" || (t.ends_with("ack backtrace:") && t.size() <= 16)) {
      // lockdep: the chains above are other stacks; the report's own trace follows.
      r_.frames.clear();
      arm_pending_.reset();
      lockdep_backtrace_ = true;
      context_ = "task";
      return;
    }
    if (starts(t, "Last Breaking-Event-Address:")) {
      skip_next_frame_ = true;
      return;
    }
    if (frames(t)) return;
    if (ip_line(t)) {
      registers(t);
      return;
    }
    if (!arm_pending_ && registers(t)) return;
    address_votes(t);
    task(t);
    release(t);
    fault(t);
    if (starts(t, "Modules linked in:")) {
      modules_open_ = true;
      modules_line_len_ = t.size();
      module_tokens(t.substr(18));
    } else if (starts(t, "Hardware name:")) {
      if (r_.hardware.empty()) r_.hardware.assign(trim(t.substr(14)));
    } else if (starts(t, "Code:") && !r_.code && code_text_.empty()) {
      code_text_.assign(trim(t.substr(5)));
      code_open_ = true;
    }
  }

  // Lines that continue the previous one: wrapped module lists and Code: bytes.
  bool continuation(std::string_view raw, std::string_view t) {
    if (modules_open_) {
      bool ok = !t.empty() && (is_blank(raw.front()) || modules_line_len_ >= 60);
      if (ok) {
        size_t b = 0;
        bool in_last = false;
        while (ok && b < t.size()) {
          size_t e = t.find(' ', b);
          if (e == std::string_view::npos) e = t.size();
          std::string_view tok = t.substr(b, e - b);
          std::string_view name;
          if (starts(tok, "[last")) in_last = true;
          if (!tok.empty() && !in_last && !module_token(tok, name)) ok = false;
          if (tok.ends_with("]")) in_last = false;
          b = e + 1;
        }
        // A lone word is more likely the next message than a module.
        ok = ok && (has(t, " ") || has(t, "_"));
      }
      if (ok) {
        modules_line_len_ = t.size();
        module_tokens(t);
        return true;
      }
      modules_open_ = false;
    }
    if (code_open_) {
      bool ok = !t.empty();
      for (size_t b = 0; ok && b < t.size();) {
        size_t e = t.find(' ', b);
        if (e == std::string_view::npos) e = t.size();
        if (e > b) ok = code_token(t.substr(b, e - b));
        b = e + 1;
      }
      if (ok && code_text_.size() + t.size() < kMaxCodeText) {
        code_text_.push_back(' ');
        code_text_.append(t);
        return true;
      }
      code_open_ = false;
    }
    return false;
  }

  void module_tokens(std::string_view s) {
    size_t b = 0;
    bool in_last = false;
    while (b < s.size()) {
      while (b < s.size() && is_blank(s[b])) ++b;
      size_t e = b;
      while (e < s.size() && !is_blank(s[e])) ++e;
      std::string_view tok = s.substr(b, e - b);
      b = e;
      if (tok.empty()) continue;
      if (starts(tok, "[last")) in_last = true;
      if (in_last) {
        if (tok.ends_with("]")) in_last = false;
        continue;
      }
      std::string_view name;
      if (module_token(tok, name) && r_.modules.size() < kMaxModules) r_.modules.emplace_back(name);
    }
  }

  // --- header ------------------------------------------------------------

  void header(std::string_view t) {
    if (auto a = after(t, "scheduling while atomic:")) {
      std::string_view s = trim(*a);
      size_t last = s.rfind('/');
      if (last != std::string_view::npos && last > 0) {
        size_t prev = s.rfind('/', last - 1);
        if (prev != std::string_view::npos) {
          r_.comm.assign(s.substr(0, prev));
          r_.pid = leading_u32(s.substr(prev + 1));
          size_t used = 0;
          r_.preempt_count = leading_hex(s.substr(last + 1), &used);
          if (!r_.preempt_count) note(anomalies(), line_, "unreadable preempt count after scheduling while atomic");
        }
      }
    }
    if (auto a = after(t, "soft lockup - CPU#")) {
      r_.cpu = leading_u32(*a);
      size_t lb = a->rfind('[');
      size_t colon = a->rfind(':');
      if (lb != std::string_view::npos && colon != std::string_view::npos && colon > lb) {
        r_.comm.assign(a->substr(lb + 1, colon - lb - 1));
        r_.pid = leading_u32(a->substr(colon + 1));
      }
    }
    if (auto a = after(t, "INFO: task ")) {
      size_t end = a->find(" blocked for more than");
      std::string_view who = a->substr(0, end == std::string_view::npos ? 0 : end);
      size_t colon = who.rfind(':');
      if (colon != std::string_view::npos) {
        r_.comm.assign(who.substr(0, colon));
        r_.pid = leading_u32(who.substr(colon + 1));
      }
    }
    bool warning = starts(t, "WARNING:") || has(t, "] WARNING:");
    if (warning) {
      if (auto a = after(t, "CPU: ")) r_.cpu = leading_u32(*a);
      if (auto a = after(t, " PID: ")) r_.pid = leading_u32(*a);
      // "WARNING: at file:line func+0x1/0x2 [mod]()": the warning's site.
      if (auto a = after(t, " at ")) {
        std::string_view rest = ltrim(*a);
        size_t sp = rest.find(' ');
        if (sp == std::string_view::npos) {
          warning_next_line_ip_ = true;  // 2.6: the function is on the next line
        } else {
          weak_symbol(rest.substr(sp + 1));
        }
      }
    }
  }

  void warning_symbol_line(std::string_view t) {
    Symbol s;
    size_t n = symbol_at(t, s, nullptr, line_);
    if (n && n + 2 <= t.size() && t.substr(n, 2) == "()") {
      if (!weak_ip_) weak_ip_ = s;
      warning_next_line_ip_ = false;
    }
  }

  void weak_symbol(std::string_view s) {
    Symbol sym;
    size_t n = symbol_at(ltrim(s), sym, anomalies(), line_);
    if (n && !weak_ip_) weak_ip_ = std::move(sym);
  }

  // --- frames ----------------------------------------------------------------

  struct Marker {
    std::string_view text;
    std::string_view context;
  };

  bool context_marker(std::string_view& t) {
    static constexpr std::array<Marker, 12> kMarkers{{
        {"<IRQ>", "IRQ"},
        {"</IRQ>", "task"},
        {"<NMI>", "NMI"},
        {"</NMI>", "task"},
        {"<EOI>", "task"},
        {"<<EOE>>", "task"},
        {"<EOE>", "task"},
        {"<TASK>", "task"},
        {"</TASK>", "task"},
        {"<SOFTIRQ>", "SOFTIRQ"},
        {"</SOFTIRQ>", "task"},
        {"<ENTRY_TRAMPOLINE>", "ENTRY_TRAMPOLINE"},
    }};
    for (const Marker& m : kMarkers) {
      if (t.starts_with(m.text)) {
        context_.assign(m.context);
        t = ltrim(t.substr(m.text.size()));
        return true;
      }
    }
    // "<#DF>", "<#MC>", "</#DF>": exception stacks.
    if (starts(t, "<#") || starts(t, "</#")) {
      size_t e = t.find('>');
      if (e != std::string_view::npos && e <= 6) {
        context_.assign(t[1] == '/' ? "task" : "EXCEPTION");
        t = ltrim(t.substr(e + 1));
        return true;
      }
    }
    return false;
  }

  void push_frame(Frame f) {
    if (skip_next_frame_ || (r_.kind == CrashKind::lockdep && !lockdep_backtrace_)) return;
    if (r_.frames.size() >= kMaxFrames) {
      ++dropped_frames_;
      return;
    }
    f.context = context_;
    if (f.line == 0) f.line = line_;
    r_.frames.push_back(std::move(f));
  }

  void flush_arm() {
    if (arm_pending_) {
      Frame f = std::move(*arm_pending_);
      arm_pending_.reset();
      push_frame(std::move(f));
    }
  }

  void vote_address(const std::optional<uint64_t>& a, size_t digits) {
    if (a && digits == 16 && (*a >> 32) == 0xffffffff) votes_.wide_x86_frames = true;
    // arm puts modules at 0xbf000000, just below the kernel; i386 never does.
    if (a && digits == 8) ((*a >> 24) == 0xbf ? votes_.arm : votes_.narrow_frames) = true;
  }

  // Returns true when the line was a frame line (or a bare context marker).
  bool frames(std::string_view t) {
    if (trace_over_) return false;
    bool marker = false;
    // 2.6.9-era "Call Trace: [<c0123456>] f+0x1/0x2 ..." / "Call Trace:<ffffffff8010e0a4>{f+1220}".
    bool same_line = false;
    if (starts(t, "Call Trace:") && (has(t, "[<") || has(t, ">{"))) {
      t = ltrim(t.substr(11));
      same_line = true;
    }
    while (!t.empty() && t.front() == '<' && !same_line && context_marker(t)) marker = true;
    if (t.empty()) return marker;
    bool ok = false;
    if (t.front() == '<' && hex_run(t, 1) >= 8) ok = braced_frames(t);
    else if (starts(t, "[<")) ok = bracket_frames(t, true);
    else if (starts(t, "([<")) ok = s390_unreliable(t);
    else if (t.front() == '[') ok = ppc_frame(t) || klogd_frame(t);
    else ok = bare_frame(t);
    if (ok) skip_next_frame_ = false;
    return ok || marker;
  }

  // 2.6.9-2.6.18 x86_64: "<ffffffff8010e0a4>{do_page_fault+1220}", decimal
  // offset, "{:jbd:journal_commit_transaction+456}" for modules.
  size_t braced_symbol(std::string_view t, Symbol& out) {
    if (!t.starts_with('<')) return 0;
    size_t n = hex_run(t, 1);
    if (n == 0 || 1 + n + 1 >= t.size() || t.substr(1 + n, 2) != ">{") return 0;
    size_t close = t.find('}', n + 3);
    if (close == std::string_view::npos) return 0;
    out.address = address_digits(t.substr(1, n), anomalies(), line_);
    std::string_view inside = t.substr(n + 3, close - n - 3);
    size_t plus = inside.rfind('+');
    std::string_view name = inside.substr(0, plus);
    if (name.starts_with(':')) {
      size_t e = name.find(':', 1);
      if (e != std::string_view::npos) {
        out.module.assign(name.substr(1, e - 1));
        name.remove_prefix(e + 1);
      }
    }
    out.function.assign(name);
    if (plus != std::string_view::npos) {
      if (auto v = dec_value(inside.substr(plus + 1))) out.offset = v;
    }
    return close + 1;
  }

  bool braced_frames(std::string_view t) {
    bool any = false;
    while (t.starts_with('<')) {
      Frame f;
      size_t used = braced_symbol(t, f);
      if (!used) break;
      flush_arm();
      push_frame(std::move(f));
      any = true;
      t = ltrim(t.substr(used));
    }
    return any;
  }

  // "[<addr>] ? func+0x1/0x2 [mod]" (several per line on old i386),
  // "[<addr>] (func+0x1/0x2) from [<addr>] (caller+0x3/0x4)" (arm).
  bool bracket_frames(std::string_view t, bool reliable_default) {
    bool any = false;
    while (starts(t, "[<")) {
      Frame f;
      size_t n = bracket_address(t, f.address, anomalies(), line_);
      if (!n) break;
      vote_address(f.address, n - 4);
      t = ltrim(t.substr(n));
      if (starts(t, "(")) return arm_frame(std::move(f), t) || any;
      f.reliable = reliable_default;
      if (starts(t, "? ")) {
        f.reliable = false;
        t = ltrim(t.substr(2));
      }
      if (!starts(t, "[<")) {
        size_t used = symbol_at(t, f, anomalies(), line_);
        t = ltrim(t.substr(used));
      }
      if (starts(t, "(unreliable)")) f.reliable = false;
      flush_arm();
      push_frame(std::move(f));
      any = true;
    }
    return any;
  }

  bool arm_frame(Frame callee, std::string_view t) {
    size_t close = t.find(')');
    if (close == std::string_view::npos) return false;
    std::string_view inside = t.substr(1, close - 1);
    if (!symbol_at(inside, callee, anomalies(), line_)) return false;
    votes_.arm = true;
    std::optional<Frame> caller;
    std::string_view rest = ltrim(t.substr(close + 1));
    if (starts(rest, "from ")) {
      rest = ltrim(rest.substr(5));
      Frame c;
      size_t n = bracket_address(rest, c.address, anomalies(), line_);
      rest = ltrim(rest.substr(n));
      if (n && starts(rest, "(")) {
        size_t cl = rest.find(')');
        if (cl != std::string_view::npos && symbol_at(rest.substr(1, cl - 1), c, anomalies(), line_)) caller = c;
      }
    } else if (starts(rest, "[") && callee.module.empty()) {
      // "[<addr>] (func+0x1/0x2) [mod]"
      size_t e = rest.find(']');
      if (e != std::string_view::npos) callee.module.assign(rest.substr(1, std::min(e, rest.find(' ')) - 1));
    }
    if (arm_pending_ && arm_pending_->function == callee.function) {
      // The previous line's "from" part is this function at its return
      // address: keep that (it has the offset), drop the duplicate.
      Frame f = std::move(*arm_pending_);
      arm_pending_.reset();
      if (f.module.empty()) f.module = callee.module;
      push_frame(std::move(f));
    } else {
      flush_arm();
      push_frame(std::move(callee));
    }
    arm_pending_ = std::move(caller);
    if (arm_pending_) arm_pending_->line = line_;
    return true;
  }

  // s390: "([<000003ff8086d036>] will_oops_init+0x36/0x1000 [will_oops])" is a
  // frame the unwinder is not sure of.
  bool s390_unreliable(std::string_view t) {
    t.remove_prefix(1);
    if (t.ends_with(")")) t.remove_suffix(1);
    votes_.s390 = true;
    return bracket_frames(t, false);
  }

  // ppc: "[c000000010ff3ad0] [c00000000806b258] .eeh_report_error+0x98/0x110 (unreliable)"
  bool ppc_frame(std::string_view t) {
    size_t n1 = hex_run(t, 1);
    if (n1 < 8 || 1 + n1 >= t.size() || t[1 + n1] != ']') return false;
    std::string_view rest = ltrim(t.substr(n1 + 2));
    if (!starts(rest, "[")) return false;
    size_t n2 = hex_run(rest, 1);
    if (n2 < 8 || 1 + n2 >= rest.size() || rest[1 + n2] != ']') return false;
    Frame f;
    f.address = address_digits(rest.substr(1, n2), anomalies(), line_);
    rest = ltrim(rest.substr(n2 + 2));
    size_t used = symbol_at(rest, f, anomalies(), line_);
    rest = ltrim(rest.substr(used));
    if (starts(rest, "(unreliable)")) f.reliable = false;
    (n2 == 16 ? votes_.ppc64 : votes_.ppc) = true;
    flush_arm();
    push_frame(std::move(f));
    return true;
  }

  // 2.6.2x i386: "[warn_on_slowpath+71/115] warn_on_slowpath+0x47/0x73" (decimal copy first).
  bool klogd_frame(std::string_view t) {
    size_t close = t.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view inside = t.substr(1, close - 1);
    size_t plus = inside.find('+');
    size_t slash = inside.find('/');
    if (plus == std::string_view::npos || slash == std::string_view::npos || slash < plus) return false;
    for (size_t k = plus + 1; k < inside.size(); ++k)
      if (!is_digit(inside[k]) && k != slash) return false;
    return bare_frame(ltrim(t.substr(close + 1)));
  }

  // Addresses on lines that are not frames ("#0: (lock){..}, at: [<ffffffff81175edb>]") still tell the arch.
  void address_votes(std::string_view t) {
    static constexpr Needle kDirectMap[] = {"0xffff88", "0xffffea00"};
    for (const Needle& p : kDirectMap) {
      if (!may_hold(p)) continue;
      size_t at = t.find(p.text);
      if (at != std::string_view::npos && hex_run(t, at + 2) == 16) votes_.x86_64_direct_map = true;
    }
    for (size_t p = t.find("[<"); p != std::string_view::npos; p = t.find("[<", p + 2)) {
      size_t n = hex_run(t, p + 2);
      if (p + 2 + n < t.size() && t[p + 2 + n] == '>') vote_address(hex_value(t.substr(p + 2, n)), n);
    }
  }

  // Modern and arm64: "? func+0x1/0x2 [mod buildid]" alone on its line.
  bool bare_frame(std::string_view t) {
    // A frame has "+offset/size": most lines are no frame and have no '+'.
    if (t.find('+') == std::string_view::npos) return false;
    Frame f;
    if (starts(t, "? ")) {
      f.reliable = false;
      t = ltrim(t.substr(2));
    }
    if (t.empty() || !(is_alpha(t.front()) || t.front() == '_' || t.front() == '.')) return false;
    std::vector<Anomaly> odd;
    size_t used = symbol_at(t, f, &odd, line_);
    if (!used || !f.offset || !f.size) return false;
    std::string_view rest = trim(t.substr(used));
    if (rest == "(unreliable)") f.reliable = false;
    else if (!rest.empty()) return false;
    for (Anomaly& a : odd) note(anomalies(), a.line, std::move(a.message));
    flush_arm();
    push_frame(std::move(f));
    return true;
  }

  // --- IP ---------------------------------------------------------------------

  void strong_ip(Symbol s) {
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
  Symbol ip_text(std::string_view s) {
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
  bool ip_line(std::string_view t) {
    if (starts(t, "RIP: ") || starts(t, "EIP: ") || starts(t, "RIP:0") || starts(t, "EIP:0")) {
      (t[0] == 'R' ? votes_.x86_64 : votes_.i386) = true;
      std::string_view rest = ltrim(t.substr(4));
      if (rest.size() > 5 && rest[4] == ':' && hex_run(rest) == 4) {
        if (user_segment(rest.substr(0, 4))) return true;
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

  // --- registers ----------------------------------------------------------------

  bool registers(std::string_view t) {
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
  bool gpr_line(std::string_view t) {
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

  // --- task, taint, release ---------------------------------------------------------

  void task(std::string_view t) {
    if (starts(t, "CPU: ") && has(t, "PID: ")) {
      if (!r_.cpu) r_.cpu = leading_u32(t.substr(5));
      if (auto a = after(t, "PID: "); a && !r_.pid) r_.pid = leading_u32(*a);
      if (auto a = after(t, "Comm: ")) {
        size_t e = std::min(a->find(" Not tainted"), a->find(" Tainted: "));
        if (r_.comm.empty()) r_.comm.assign(rtrim(a->substr(0, e)));
      }
      taint_line(t, false);
      return;
    }
    if (holds(t, ", comm: ") && (starts(t, "Pid: ") || has(t, "ainted"))) {
      if (auto a = after(t, ": "); a && !r_.pid) r_.pid = leading_u32(*a);
      if (auto a = after(t, ", comm: ")) {
        size_t e = std::min(a->find(" Not tainted"), a->find(" Tainted: "));
        if (r_.comm.empty()) r_.comm.assign(rtrim(a->substr(0, e)));
      }
      taint_line(t, true);
      return;
    }
    if (starts(t, "Process ") && has(t, " (pid: ")) {
      size_t p = t.find(" (pid: ");
      if (r_.comm.empty()) r_.comm.assign(t.substr(8, p - 8));
      if (!r_.pid) r_.pid = leading_u32(t.substr(p + 7));
      return;
    }
    if (starts(t, "in_atomic(): ")) {
      if (auto a = after(t, " pid: "); a && !r_.pid) r_.pid = leading_u32(*a);
      if (auto a = after(t, " name: "); a && r_.comm.empty()) r_.comm.assign(trim(*a));
      return;
    }
    if (starts(t, "preempt_count: ") && !r_.preempt_count) {
      r_.preempt_count = leading_hex(t.substr(15));
      return;
    }
    // Old WARNINGs: "(Not tainted)" / "(Tainted: P W)" at the end of a line.
    if (r_.taint.flags.empty()) {
      if (auto a = after_marker(t, "(Tainted: ")) {
        std::string_view f = a->substr(0, a->find(')'));
        r_.taint.flags.assign(trim(f));
      }
    }
    if (holds(t, " Tainted: ") && has(t, "REGS: ")) taint_line(t, false);  // ppc register header
    // hung task: "      Tainted: G         C    3.16.0-4-amd64 #1"; 6.x "Tainted: [W]=WARN" is a legend.
    if ((starts(t, "Tainted: ") && !has(t, "]=")) || starts(t, "Not tainted ")) taint_line(t, false);
  }

  // After "Tainted: " or "Not tainted": flags, release, "#N ..." version.
  void taint_line(std::string_view t, bool pid_style) {
    bool tainted = false;
    std::string_view rest;
    if (auto a = after(t, "Not tainted")) {
      rest = *a;
    } else if (auto b = after(t, "Tainted: ")) {
      rest = *b;
      tainted = true;
    } else {
      return;
    }
    rest = trim(rest);
    std::string_view flags, release, version, extra;
    size_t lp = rest.find('(');
    if (lp != std::string_view::npos && rest.find(')', lp) != std::string_view::npos) {
      // "G W -------------- (3.10.0-33.el7.ppc64)", "(2.6.32-5-686 #1) VirtualBox"
      size_t rp = rest.find(')', lp);
      std::string_view inside = trim(rest.substr(lp + 1, rp - lp - 1));
      flags = rest.substr(0, lp);
      extra = trim(rest.substr(rp + 1));
      size_t h = version_hash(inside);
      release = trim(inside.substr(0, h));
      if (h != std::string_view::npos) version = inside.substr(h);
      if (!looks_like_release(release)) release = {};
    } else {
      size_t h = version_hash(rest);
      std::string_view before = rtrim(rest.substr(0, h));
      if (h != std::string_view::npos) version = rest.substr(h);
      size_t sp = before.find_last_of(" \t");
      std::string_view last = sp == std::string_view::npos ? before : before.substr(sp + 1);
      if (looks_like_release(last)) {
        release = last;
        flags = before.substr(0, before.size() - last.size());
      } else {
        flags = before;
      }
    }
    if (pid_style && !version.empty()) {
      // 2.6 "Pid:" lines: "#1 Dell Inc. PowerEdge R610" — the rest is the machine.
      size_t sp = version.find(' ');
      if (sp != std::string_view::npos) {
        extra = trim(version.substr(sp + 1));
        version = version.substr(0, sp);
      }
    }
    if (tainted && r_.taint.flags.empty()) r_.taint.flags.assign(trim(flags));
    if (!release.empty() && (r_.kernel_release.empty() || release_from_linux_version_)) {
      r_.kernel_release.assign(release);
      release_from_linux_version_ = false;
    }
    if (!version.empty() && r_.kernel_version.empty()) r_.kernel_version.assign(trim(version));
    if (!extra.empty() && pid_line_hardware_.empty()) pid_line_hardware_.assign(extra);
  }

  void release(std::string_view t) {
    if (auto a = after_marker(t, "Linux version ")) {
      std::string_view rest = *a;
      std::string_view rel = rest.substr(0, rest.find(' '));
      if (looks_like_release(rel) && r_.kernel_release.empty()) {
        r_.kernel_release.assign(rel);
        release_from_linux_version_ = true;
        size_t h = version_hash(rest);
        if (h != std::string_view::npos && r_.kernel_version.empty()) r_.kernel_version.assign(trim(rest.substr(h)));
      }
      return;
    }
    // lockdep: "3.1.0-0.rc0.git19.1.fc17.x86_64 #1" / "6.1.0-rc4 #0 Not tainted" on its own line.
    if (!r_.kernel_release.empty() || t.empty() || !is_digit(t.front())) return;
    size_t sp = t.find(' ');
    if (sp == std::string_view::npos) return;
    std::string_view rel = t.substr(0, sp);
    std::string_view rest = ltrim(t.substr(sp));
    if (looks_like_release(rel) && rest.size() >= 2 && rest[0] == '#' && is_digit(rest[1]) && has(rel, ".")) {
      r_.kernel_release.assign(rel);
      if (r_.kernel_version.empty()) r_.kernel_version.assign(rest.substr(0, rest.find(' ')));
      if (auto b = after(rest, "Tainted: "); b && r_.taint.flags.empty()) r_.taint.flags.assign(trim(*b));
    }
  }

  // --- fault ------------------------------------------------------------------

  void fault(std::string_view t) {
    if (index_ < kHeadLines) {
      if (!r_.fault_address) fault_address(t);
      if (!r_.oops_number) oops_line(t);
    }
    if (!r_.error_code) {
      if (auto a = after_marker(t, "error_code(0x")) {
        size_t n = hex_run(*a);
        if (auto v = hex_value(a->substr(0, n)); v && *v <= UINT32_MAX)
          r_.error_code = PageFaultError{static_cast<uint32_t>(*v)};
      }
    }
  }

  void fault_address(std::string_view t) {
    static constexpr Needle kMarkers[] = {
        "paging request at virtual address ", "dereference at virtual address ", "paging request at ",
        "NULL pointer dereference at ", "for data at address ", "page fault for address: ",
        "dereference, address: ", "non-canonical address ", "Failing address: ", " at addr "};
    for (const Needle& m : kMarkers) {
      auto a = after_marker(t, m);
      if (!a) continue;
      std::string_view s = ltrim(*a);
      if (starts(s, "(null)")) {
        r_.fault_address = 0;
        return;
      }
      size_t used = 0;
      std::optional<uint64_t> v = leading_hex(s, &used);
      if (v) {
        size_t digits = starts(s, "0x") ? used - 2 : used;
        if (digits > 8 && digits != 16)
          note(anomalies(), line_, "fault address " + std::string(s.substr(0, used)) + " has " +
                                      std::to_string(digits) + " hex digits");
        r_.fault_address = v;
        return;
      }
    }
  }

  // "Oops: 0000 [#1] SMP", "general protection fault: 0000 [#1] SMP",
  // "Internal error: Oops: 805 [#1] SMP ARM", "Oops: Kernel access of bad area, sig: 11 [#1]".
  void oops_line(std::string_view t) {
    size_t hash = t.find("[#");
    if (hash == std::string_view::npos || hash + 2 >= t.size() || !is_digit(t[hash + 2])) return;
    std::optional<uint32_t> number = leading_u32(t.substr(hash + 2));
    if (!number) return;
    // After "Oops:" when printed, else after the first ": " (s390 prints
    // "illegal operation: 0001 ilc:1 [#1]").
    size_t oops = t.find("Oops:");
    size_t start;
    if (oops != std::string_view::npos && oops < hash) {
      start = oops + 5;
    } else {
      size_t colon = t.find(": ");
      if (colon == std::string_view::npos || colon > hash) return;
      start = colon + 2;
    }
    std::string_view code = trim(t.substr(start));
    // 6.x "Oops: general protection fault, ... 0xdffffc0000000001: 0000 [#1]": the code proper.
    size_t inner = code.rfind(": ", code.find("[#"));
    if (inner != std::string_view::npos) {
      std::string_view c = ltrim(code.substr(inner + 2));
      size_t n = hex_run(c);
      if (n >= 4 && n < c.size() && c.substr(n).starts_with(" [#")) code = c;
    }
    r_.oops_number = number;
    r_.oops_code.assign(code);
  }

  // --- end --------------------------------------------------------------------------

  void finish() {
    flush_arm();
    if (!code_text_.empty()) r_.code = parse_code_line(code_text_);
    if (!ip_strong_ && weak_ip_) r_.ip = std::move(weak_ip_);
    if (r_.ip && r_.ip->module.empty() && !r_.ip->address) {
      // "WARNING: at /tmp/oops.c:5 modinit()": the trace says which module.
      for (const Frame& f : r_.frames) {
        if (f.function == r_.ip->function && !f.module.empty()) {
          r_.ip->module = f.module;
          break;
        }
      }
    }
    if (r_.hardware.empty()) r_.hardware = pid_line_hardware_;
    if (dropped_frames_)
      note(anomalies(), line_, std::to_string(dropped_frames_) + " frames beyond " + std::to_string(kMaxFrames) +
                                   " not kept");
    r_.taint.meanings = taint_meanings(r_.taint.flags);
    r_.arch = decide_arch();
    // Before 4.x x86 printed the page-fault error code only as "Oops: 0002".
    bool page_fault = r_.kind == CrashKind::oops_paging || r_.kind == CrashKind::null_deref;
    // CR2 holds the faulting address of the last page fault: the fault address
    // when the header did not print one, a sign of damage when it disagrees.
    std::optional<uint64_t> cr2;
    uint32_t cr2_line = 0;
    for (const RegisterSet& set : r_.registers) {
      if ((cr2 = set.get("cr2"))) {
        cr2_line = set.line;
        break;
      }
    }
    if (cr2 && page_fault) {
      if (!r_.fault_address) {
        r_.fault_address = cr2;
      } else if (*r_.fault_address != *cr2) {
        note(anomalies(), cr2_line, fmt_hex("CR2 ", *cr2) + fmt_hex(" differs from the printed fault address ",
                                                                     *r_.fault_address));
      }
    }
    if (!r_.error_code && page_fault && (r_.arch == Arch::x86_64 || r_.arch == Arch::i386) &&
        r_.oops_code.size() >= 4) {
      size_t n = hex_run(r_.oops_code);
      if (n == 4)
        if (auto v = hex_value(std::string_view(r_.oops_code).substr(0, 4)))
          r_.error_code = PageFaultError{static_cast<uint32_t>(*v)};
    }
  }

  // Traces without addresses or registers (KASAN, modern WARNINGs) still end
  // in the arch's own entry code.
  Arch arch_from_entry_symbols() const {
    struct EntrySymbol {
      std::string_view prefix;
      Arch arch;
    };
    static constexpr std::array<EntrySymbol, 22> kEntry{{
        {"entry_SYSCALL_64", Arch::x86_64},  {"do_syscall_64", Arch::x86_64},
        {"__x64_sys_", Arch::x86_64},         {"x64_sys_call", Arch::x86_64},
        {"asm_exc_", Arch::x86_64},           {"asm_sysvec_", Arch::x86_64},
        {"asm_common_interrupt", Arch::x86_64}, {"system_call_fastpath", Arch::x86_64},
        {"x86_64_start_kernel", Arch::x86_64}, {"sysenter_do_call", Arch::i386},
        {"syscall_call", Arch::i386},         {"entry_INT80_32", Arch::i386},
        {"i386_start_kernel", Arch::i386},    {"el0_svc", Arch::arm64},
        {"el0t_64_", Arch::arm64},            {"el1h_64_", Arch::arm64},
        {"__arm64_sys_", Arch::arm64},        {"ret_fast_syscall", Arch::arm},
        {"__irq_svc", Arch::arm},             {"do_trap_ecall_u", Arch::riscv64},
        {"__s390x_sys_", Arch::s390},         {"system_call_exception", Arch::ppc64},
    }};
    for (auto it = r_.frames.rbegin(); it != r_.frames.rend(); ++it)
      for (const EntrySymbol& e : kEntry)
        if (it->function.starts_with(e.prefix)) return e.arch;
    return Arch::unknown;
  }

  Arch decide_arch() const {
    if (Arch a = arch_from_release(r_.kernel_release); a != Arch::unknown) return a;
    const ArchVotes& v = votes_;
    if (v.s390) return Arch::s390;
    if (v.x86_64) return Arch::x86_64;
    if (v.i386) return Arch::i386;
    if (v.arm64) return Arch::arm64;
    if (v.ppc64) return Arch::ppc64;
    if (v.ppc) return Arch::ppc;
    if (v.riscv) return Arch::riscv64;
    if (v.arm) return Arch::arm;
    if (Arch a = arch_from_entry_symbols(); a != Arch::unknown) return a;
    if (v.wide_x86_frames || v.x86_64_direct_map) return Arch::x86_64;
    if (v.narrow_frames) return Arch::i386;
    return Arch::unknown;
  }
};

}  // namespace

bool parse_symbol(std::string_view text, Symbol& out, std::vector<Anomaly>* anomalies, uint32_t line) {
  return symbol_at(trim(text), out, anomalies, line) > 0;
}

std::vector<std::string> taint_meanings(std::string_view flags) {
  std::vector<std::string> out;
  for (char c : flags) {
    for (const TaintLetter& t : kTaint) {
      if (t.letter != c) continue;
      std::string m = std::string(1, c) + ": " + std::string(t.meaning);
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(std::move(m));
    }
  }
  return out;
}

Arch arch_from_release(std::string_view release) {
  struct Suffix {
    std::string_view word;
    Arch arch;
  };
  static constexpr std::array<Suffix, 24> kSuffixes{{
      {"x86_64", Arch::x86_64}, {"amd64", Arch::x86_64},  {"i686", Arch::i386},     {"i586", Arch::i386},
      {"i386", Arch::i386},     {"686", Arch::i386},      {"PAE", Arch::i386},      {"686-pae", Arch::i386},
      {"armv7hl", Arch::arm},   {"armv7l", Arch::arm},    {"armv6l", Arch::arm},    {"armmp", Arch::arm},
      {"armhf", Arch::arm},     {"aarch64", Arch::arm64}, {"arm64", Arch::arm64},   {"ppc64le", Arch::ppc64},
      {"ppc64", Arch::ppc64},   {"ppc64p7", Arch::ppc64}, {"powerpc64le", Arch::ppc64}, {"ppc", Arch::ppc},
      {"s390x", Arch::s390},    {"s390", Arch::s390},     {"riscv64", Arch::riscv64}, {"mips", Arch::mips},
  }};
  // Split at '.', '-', '+' and look at the words from the end.
  size_t end = release.size();
  while (end > 0) {
    size_t b = end;
    while (b > 0 && release[b - 1] != '.' && release[b - 1] != '-' && release[b - 1] != '+') --b;
    std::string_view word = release.substr(b, end - b);
    for (const Suffix& s : kSuffixes)
      if (word == s.word) return s.arch;
    if (b == 0) break;
    end = b - 1;
  }
  return Arch::unknown;
}

void inherit_kernel(Report& report, std::string_view release, std::string_view version) {
  if (!report.kernel_release.empty()) return;
  report.kernel_release.assign(release);
  if (report.kernel_version.empty()) report.kernel_version.assign(version);
  if (report.arch == Arch::unknown) report.arch = arch_from_release(release);
}

void extract_fields(std::span<const LogLine> lines, Report& report) {
  Extractor(report).run(lines);
}

}  // namespace ktriage::logparse

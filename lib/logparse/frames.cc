// Call-trace lines of every architecture and era: x86 `[<addr>] ? f+0x1/0x2`,
// modern and arm64 bare `f+0x1/0x2 [mod]`, 2.6.9 `<addr>{f+1220}`, arm
// `[<pc>] (f) from [<pc>] (g)`, ppc `[sp] [pc] .f+0x1/0x2 (unreliable)`,
// s390 `([<addr>] f+0x1/0x2)`, klogd's decimal copies, and the stack context
// markers <IRQ>/<NMI>/<EOI>/<TASK>/<#DF>.
#include <algorithm>
#include <array>

#include "logparse/extractor.h"
#include "logparse/symbols.h"

namespace ktriage::logparse {
namespace {

struct Marker {
  std::string_view text;
  std::string_view context;
};

}  // namespace

bool Extractor::context_marker(std::string_view& t) {
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

void Extractor::push_frame(Frame f) {
  if (skip_next_frame_) return;
  if (r_.kind == CrashKind::lockdep && !lockdep_backtrace_) {
    // A dependency chain's stack: the report's own trace comes after "stack
    // backtrace:"; the last chain (#0) stands in when that was not quoted.
    if (lockdep_chain_.size() < kMaxFrames) {
      f.context = context_;
      if (f.line == 0) f.line = line_;
      lockdep_chain_.push_back(std::move(f));
    }
    return;
  }
  if (r_.frames.size() >= kMaxFrames) {
    ++dropped_frames_;
    return;
  }
  f.context = context_;
  if (f.line == 0) f.line = line_;
  r_.frames.push_back(std::move(f));
}

void Extractor::flush_arm() {
  if (arm_pending_) {
    Frame f = std::move(*arm_pending_);
    arm_pending_.reset();
    push_frame(std::move(f));
  }
}

// Where frames' addresses lie. x86_64's kernel text and modules are at
// 0xffffffff81000000 and above; riscv64's kernel is at 0xffffffff80000000.
// i386's kernel is at 0xc0000000 and above; arm puts modules at 0xbf000000,
// just below its kernel; MIPS runs from 0x80000000 (kseg0), so lower
// addresses are no i386 text.
void Extractor::vote_address(const std::optional<uint64_t>& a, size_t digits) {
  if (a && digits == 16 && *a >= 0xffffffff81000000) votes_.wide_x86_frames = true;
  if (a && digits == 8) {
    if ((*a >> 24) == 0xbf) votes_.arm = true;
    else if (*a >= 0xc0000000) votes_.narrow_frames = true;
  }
}

// Returns true when the line was a frame line (or a bare context marker).
bool Extractor::frames(std::string_view t) {
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
  else ok = bare_frame(t) || arm_from_frame(t);
  if (ok) skip_next_frame_ = false;
  return ok || marker;
}

// 2.6.9-2.6.18 x86_64: "<ffffffff8010e0a4>{do_page_fault+1220}", decimal
// offset, "{:jbd:journal_commit_transaction+456}" for modules.
size_t Extractor::braced_symbol(std::string_view t, Symbol& out) {
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

bool Extractor::braced_frames(std::string_view t) {
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
bool Extractor::bracket_frames(std::string_view t, bool reliable_default) {
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

bool Extractor::arm_frame(Frame callee, std::string_view t) {
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
  arm_pair(std::move(callee), std::move(caller));
  return true;
}

void Extractor::arm_pair(Frame callee, std::optional<Frame> caller) {
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
}

// s390: "([<000003ff8086d036>] will_oops_init+0x36/0x1000 [will_oops])" is a
// frame the unwinder is not sure of.
bool Extractor::s390_unreliable(std::string_view t) {
  t.remove_prefix(1);
  if (t.ends_with(")")) t.remove_suffix(1);
  votes_.s390 = true;
  return bracket_frames(t, false);
}

// ppc: "[c000000010ff3ad0] [c00000000806b258] .eeh_report_error+0x98/0x110 (unreliable)"
bool Extractor::ppc_frame(std::string_view t) {
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
bool Extractor::klogd_frame(std::string_view t) {
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
void Extractor::address_votes(std::string_view t) {
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

namespace {

// A name alone on a line inside a trace is a frame printed without offset
// ("zlib_inflate", "schedule"); words of prose are not: kernel functions are
// lower case, or have an underscore ("SyS_ioctl").
bool plausible_function_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 128) return false;
  bool lower = false, upper = false, underscore = false;
  for (char c : name) {
    lower |= c >= 'a' && c <= 'z';
    upper |= c >= 'A' && c <= 'Z';
    underscore |= c == '_';
  }
  return lower && (!upper || underscore);
}

// "fs/namei.c:12", "./include/linux/rcupdate.h:779", "segment.c:2484:7":
// a source file (a name with an extension) and a line number.
std::optional<SourceSite> source_token(std::string_view t) {
  size_t colon = t.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= t.size()) return std::nullopt;
  std::string_view file = t.substr(0, colon);
  size_t dot = file.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == file.size() || file.size() - dot > 4) return std::nullopt;
  for (char c : file)
    if (!is_symbol_char(c) && c != '/' && c != '-' && c != '+') return std::nullopt;
  std::string_view rest = t.substr(colon + 1);
  size_t n = 0;
  while (n < rest.size() && is_digit(rest[n])) ++n;
  if (n == 0 || n > 7) return std::nullopt;
  if (n < rest.size()) {  // ":12:7": a column
    if (rest[n] != ':') return std::nullopt;
    for (size_t k = n + 1; k < rest.size(); ++k)
      if (!is_digit(rest[k])) return std::nullopt;
  }
  return SourceSite{std::string(file), static_cast<uint32_t>(*dec_value(rest.substr(0, n)))};
}

// Bytes of the word at t[0] (up to a blank; a parenthesised word up to its
// matching ')': "(lib/dump_stack.c:107 (discriminator 4))").
size_t word_length(std::string_view t) {
  if (t.starts_with('(')) {
    size_t depth = 0;
    for (size_t e = 0; e < t.size(); ++e) {
      if (t[e] == '(') ++depth;
      if (t[e] == ')' && --depth == 0) return e + 1;
    }
    return t.size();
  }
  size_t e = 0;
  while (e < t.size() && !is_blank(t[e])) ++e;
  return e;
}

// arm64 6.14+ marks a frame with where its unwinder found it: (C)aller,
// (T)ask, (P)c or (L)ink register of a pt_regs, (U)nknown, then F for a
// ftrace graph return and K for a kretprobe one: "(T)", "(PF)", "(F)".
// Older kernels printed "(?:?)".
bool arm64_unwind_source(std::string_view w) {
  if (w == "(?:?)") return true;
  if (w.size() < 3 || w.size() > 5 || w.front() != '(' || w.back() != ')') return false;
  std::string_view inside = w.substr(1, w.size() - 2);
  size_t k = std::string_view("CTPLU").find(inside[0]) != std::string_view::npos ? 1 : 0;
  if (inside.substr(k).empty() && k == 0) return false;
  for (char c : inside.substr(k))
    if (c != 'F' && c != 'K') return false;
  return true;
}

}  // namespace

// What a symbolized or annotated trace prints after a frame's symbol, in any
// order: " fs/namei.c:12" or " (fs/namei.c:12)" (the source line; decode_stacktrace
// puts an inline chain in the parentheses, the frame's own line last),
// " [inline]", " [mod]" (after the source line), " (unreliable)", and arm64's
// " (T)", " (P)", " (LF)", ... (where the unwinder found it).
// False at the first word that is none of these: the line is no frame.
bool Extractor::frame_tail(std::string_view rest, Frame& f) {
  rest = trim(rest);
  while (!rest.empty()) {
    size_t n = word_length(rest);
    std::string_view w = rest.substr(0, n);
    if (w == "[inline]") {
      f.printed_inline = true;
    } else if (w == "(unreliable)") {
      f.reliable = false;
    } else if (arm64_unwind_source(w)) {
      // arm64 6.14+: where the unwinder found it; says nothing against the frame.
    } else if (w.size() > 2 && w.front() == '[' && w.back() == ']' && f.module.empty()) {
      std::string_view inside = w.substr(1, w.size() - 2);
      for (char c : inside)
        if (!is_symbol_char(c) && c != '-') return false;
      f.module.assign(inside);
    } else if (w.front() == '(' && w.back() == ')') {
      // "(lib/dump_stack.c:107)", "(mm/kasan/report.c:378 mm/kasan/report.c:488)"
      std::string_view inside = trim(w.substr(1, w.size() - 2));
      std::optional<SourceSite> last;
      for (size_t b = 0; b < inside.size();) {
        size_t e = std::min(inside.find(' ', b), inside.size());
        if (inside.substr(b).starts_with("(discriminator ")) {
          // addr2line's "(discriminator 4)": which basic block of the line.
          e = std::min(inside.find(')', b), inside.size());
        } else if (e > b && !(last = source_token(inside.substr(b, e - b)))) {
          return false;
        }
        b = e + 1;
      }
      if (!last) return false;
      f.printed_source = std::move(last);
    } else if (auto site = source_token(w)) {
      f.printed_source = std::move(site);
    } else {
      return false;
    }
    rest = ltrim(rest.substr(n));
  }
  return true;
}

// "Call Trace:", "Call trace:", "Backtrace:", "backtrace (crc 1a2b):",
// "Allocated by task 12:", lockdep's "-> #1 (&mm->mmap_lock){++++}-{3:3}:":
// frames follow.
bool Extractor::trace_start(std::string_view t) {
  if (!t.ends_with(':')) return false;
  if (starts(t, "-> #")) {
    lockdep_chain_.clear();
    return true;
  }
  return has(t, "race:") || has(t, "acktrace") || (starts(t, "Allocated by task ") || starts(t, "Freed by task "));
}

// "...", "[...]", "<snip>", "[ snip ]", "…": the person who pasted the report
// left lines out. The trace goes on after it; the gap is recorded.
bool Extractor::elision(std::string_view t) {
  std::string_view inner = t;
  if (inner.size() >= 2 && ((inner.front() == '[' && inner.back() == ']') ||
                            (inner.front() == '<' && inner.back() == '>') ||
                            (inner.front() == '(' && inner.back() == ')')))
    inner = trim(inner.substr(1, inner.size() - 2));
  bool dots = inner.size() >= 3 && inner.find_first_not_of('.') == std::string_view::npos;
  bool gap = dots || inner == "\xe2\x80\xa6" || inner == "snip" || inner == "SNIP" || inner == "snipped" ||
             inner == "cut" || inner == "trimmed";
  if (!gap || t.size() > 16) return false;
  note(anomalies(), line_, "lines left out here (\"" + std::string(t) + "\"); read on after it");
  return true;
}

// A line that only continues the frame above: an e-mail client wrapped
// "f+0x1/0x2 fs/namei.c:12 [inline]" at 72 columns. Folded into that frame.
bool Extractor::wrapped_frame_tail(std::string_view t) {
  // (The caller checks that the line before was a frame.)
  if (r_.frames.empty() || r_.frames.back().line + 1 != line_) return false;
  if (!(t.starts_with('[') || t.starts_with('(') || has(t, ".c:") || has(t, ".h:"))) return false;
  Frame copy = r_.frames.back();
  if (!frame_tail(t, copy)) return false;
  copy.line = r_.frames.back().line;
  r_.frames.back() = std::move(copy);
  return true;
}

// Modern and arm64: "? func+0x1/0x2 [mod buildid]" alone on its line;
// symbolized: "func+0x1/0x2 fs/namei.c:12", "func fs/namei.c:12 [inline]",
// "func (lib/dump_stack.c:107)"; pasted by hand: "inflate_fast+1431", and
// inside a trace a name alone ("zlib_inflate").
bool Extractor::bare_frame(std::string_view t) {
  Frame f;
  if (starts(t, "? ")) {
    f.reliable = false;
    t = ltrim(t.substr(2));
  }
  if (t.empty() || !(is_alpha(t.front()) || t.front() == '_' || t.front() == '.')) return false;
  std::vector<Anomaly> odd;
  size_t used = symbol_at(t, f, &odd, line_);
  if (!used) return false;
  std::string_view rest = t.substr(used);
  // "net/tipc/name_distr.c:413" (a wrapped header's source line) is no frame "net".
  if (!rest.empty() && !is_blank(rest.front())) return false;
  if (!frame_tail(rest, f)) return false;
  // A frame says where it is: an offset, a source line, or it is a lone
  // name in the middle of a trace.
  if (!f.offset && !f.printed_source) {
    bool lone_name = trim(rest).empty() && in_trace_ && plausible_function_name(f.function);
    if (!lone_name) return false;
  }
  for (Anomaly& a : odd) note(anomalies(), a.line, std::move(a.message));
  flush_arm();
  push_frame(std::move(f));
  return true;
}

// arm 6.x: "__schedule from schedule+0x20/0xac", "f [mod] from g+0x94/0x1d0 [mod2]";
// pasted without addresses: "(cap_capable) from (kprobe_handler+0x218/0x340)".
bool Extractor::arm_from_frame(std::string_view t) {
  size_t from = t.find(" from ");
  if (from == std::string_view::npos || from == 0) return false;
  auto side = [&](std::string_view s, Frame& f) {
    s = trim(s);
    bool paren = s.starts_with('(');
    if (paren) {
      size_t close = s.find(')');
      if (close == std::string_view::npos) return false;
      std::string_view after = trim(s.substr(close + 1));
      s = s.substr(1, close - 1);
      if (!after.empty() && !frame_tail(after, f)) return false;
    }
    if (s.empty() || !(is_alpha(s.front()) || s.front() == '_' || s.front() == '.')) return false;
    size_t used = symbol_at(s, f, anomalies(), line_);
    return used > 0 && frame_tail(s.substr(used), f);
  };
  Frame callee, caller;
  if (!side(t.substr(0, from), callee) || !side(t.substr(from + 6), caller)) return false;
  if (!caller.offset && !callee.offset) return false;
  votes_.arm = true;
  arm_pair(std::move(callee), std::move(caller));
  return true;
}

}  // namespace ktriage::logparse

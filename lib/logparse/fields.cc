// Reading the structured fields of a report, one line at a time. Each line
// is offered to a few small readers (IP, registers, frames, task, taint,
// modules, Code:); none uses a regex: these run on every line of every
// report and the shapes are fixed by the kernel's printk formats.
#include "logparse/fields.h"

#include "logparse/code.h"
#include "logparse/extractor.h"
#include "logparse/symbols.h"

namespace ktriage::logparse {
namespace {

constexpr size_t kMaxModules = 4096;
constexpr size_t kMaxCodeText = 4096;
// The fault address and oops code are printed near the top; later matches
// belong to follow-on reports that the splitter kept in this one.
constexpr size_t kHeadLines = 60;

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

}  // namespace

// A user task's fault ("sh[96]: segfault at 427700 ip ... in busybox[...]"),
// printed with the task's Code: line after it.
constexpr Needle kUserSegfault{"]: segfault at "};

void Extractor::line(std::string_view raw) {
  std::string_view t = trim(raw);
  bool continued = continuation(raw, t);
  if (continued || t.empty()) return;
  notes_and_marks(t);
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
    in_trace_ = true;
    return;
  }
  // s390's last branch, and __schedule_bug's "Preemption disabled at:" (with
  // CONFIG_DEBUG_PREEMPT): one address on the next line, not a frame of the trace.
  if (starts(t, "Last Breaking-Event-Address:") || starts(t, "Preemption disabled at:")) {
    if (t.front() == 'L') votes_.s390 = true;  // only s390 prints it
    skip_next_frame_ = true;
    return;
  }
  bool was_frame = last_line_was_frame_;
  last_line_was_frame_ = false;
  if (elision(t)) {
    last_line_was_frame_ = was_frame;
    return;
  }
  if (was_frame && wrapped_frame_tail(t)) {
    last_line_was_frame_ = true;
    return;
  }
  if (frames(t)) {
    in_trace_ = last_line_was_frame_ = true;
    return;
  }
  // MIPS: "$ 0   : 00000000 ...", "epc   : 80123456 f+0x1/0x2" (riscv prints "epc : ").
  if (starts(t, "$ 0   :") || starts(t, "epc   :") || starts(t, "Cause : ")) votes_.mips = true;
  in_trace_ = trace_start(t);
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
  } else if (holds(t, kUserSegfault)) {
    user_ip_index_ = index_;  // show_signal_msg: its Code: is the task's
  } else if (starts(t, "Code:") && !r_.code && code_text_.empty() && !after_user_ip()) {
    code_text_.assign(trim(t.substr(5)));
    code_open_ = true;
  }
}

// Lines that continue the previous one: wrapped module lists and Code: bytes.
bool Extractor::continuation(std::string_view raw, std::string_view t) {
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

void Extractor::module_tokens(std::string_view s) {
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
    if (!module_token(tok, name) || r_.modules.size() >= kMaxModules) continue;
    r_.modules.emplace_back(name);
    // "crashzoo(OE)", "radeon(+)(U)": the letters in parentheses.
    if (tok.size() > name.size()) {
      std::string flags;
      for (char c : tok.substr(name.size()))
        if (c != '(' && c != ')') flags.push_back(c);
      if (!flags.empty()) r_.module_flags.push_back({std::string(name), std::move(flags)});
    }
  }
}

void Extractor::header(std::string_view t) {
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

void Extractor::warning_symbol_line(std::string_view t) {
  Symbol s;
  size_t n = symbol_at(t, s, nullptr, line_);
  if (n && n + 2 <= t.size() && t.substr(n, 2) == "()") {
    if (!weak_ip_) weak_ip_ = s;
    warning_next_line_ip_ = false;
  }
}

void Extractor::weak_symbol(std::string_view s) {
  Symbol sym;
  size_t n = symbol_at(ltrim(s), sym, anomalies(), line_);
  if (n && !weak_ip_) weak_ip_ = std::move(sym);
}

void Extractor::fault(std::string_view t) {
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

void Extractor::fault_address(std::string_view t) {
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
void Extractor::oops_line(std::string_view t) {
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

void Extractor::finish() {
  flush_arm();
  if (r_.frames.empty() && !lockdep_chain_.empty()) {
    note(anomalies(), lockdep_chain_.front().line,
         "no \"stack backtrace:\" trace; frames are those of lockdep's last dependency chain");
    r_.frames = std::move(lockdep_chain_);
  }
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

void extract_fields(std::span<const LogLine> lines, Report& report) {
  Extractor(report).run(lines);
}

}  // namespace ktriage::logparse
// Internal to logparse: the field extractor, one instance per report. Each
// line is offered to a few small readers; they live in one file per part of
// the report (fields.cc: the line loop, header, fault and Code:; frames.cc;
// ip.cc; registers.cc; kernel.cc: task, taint, release, architecture) and
// share the state below.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/report.h"
#include "logparse/bytes.h"
#include "logparse/lines.h"
#include "logparse/text.h"

namespace ktriage::logparse {

// Frames kept per report; more are counted in an anomaly.
constexpr size_t kMaxFrames = 1024;
// Notes kept per report (Report::notes).
constexpr size_t kMaxNotes = 256;

// Which architecture the report's lines point at (decide_arch() weighs them).
struct ArchVotes {
  bool x86_64 = false, i386 = false, arm64 = false, arm = false, ppc64 = false, ppc = false, s390 = false,
       riscv = false, mips = false;
  bool wide_x86_frames = false;  // [<ffffffff8...>] frames
  bool narrow_frames = false;
  bool x86_64_direct_map = false;  // 0xffff88..., 0xffffea00...: x86_64 direct map and vmemmap
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
      // Where evidence cites them: the first line that gave each.
      if (r_.taint.line == 0 && !r_.taint.flags.empty()) r_.taint.line = line_;
      if (r_.modules_line == 0 && !r_.modules.empty()) r_.modules_line = line_;
    }
    finish();
  }

 private:
  // --- fields
  void line(std::string_view raw);
  // Lines that continue the previous one: wrapped module lists and Code: bytes.
  bool continuation(std::string_view raw, std::string_view t);
  void module_tokens(std::string_view s);
  void header(std::string_view t);
  void warning_symbol_line(std::string_view t);
  void weak_symbol(std::string_view s);
  void fault(std::string_view t);
  void fault_address(std::string_view t);
  void oops_line(std::string_view t);
  void finish();

  // --- notes, the assertion's source line, format marks (notes.cc)
  void notes_and_marks(std::string_view t);

  // --- frames (frames.cc)
  bool context_marker(std::string_view& t);
  void push_frame(Frame f);
  void flush_arm();
  void vote_address(const std::optional<uint64_t>& a, size_t digits);
  // True when the line was a frame line (or a bare context marker).
  bool frames(std::string_view t);
  size_t braced_symbol(std::string_view t, Symbol& out);
  bool braced_frames(std::string_view t);
  bool bracket_frames(std::string_view t, bool reliable_default);
  bool arm_frame(Frame callee, std::string_view t);
  bool s390_unreliable(std::string_view t);
  bool ppc_frame(std::string_view t);
  bool klogd_frame(std::string_view t);
  void address_votes(std::string_view t);
  bool bare_frame(std::string_view t);
  bool arm_from_frame(std::string_view t);
  void arm_pair(Frame callee, std::optional<Frame> caller);
  bool frame_tail(std::string_view rest, Frame& f);
  bool wrapped_frame_tail(std::string_view t);
  bool elision(std::string_view t);
  bool trace_start(std::string_view t);

  // --- the faulting IP (ip.cc)
  void strong_ip(Symbol s);
  Symbol ip_text(std::string_view s);
  // True for the register dump's first line (RIP:/EIP:/pc :/NIP:), which registers() also reads.
  bool ip_line(std::string_view t);

  // --- register dumps (registers.cc)
  bool registers(std::string_view t);
  bool gpr_line(std::string_view t);

  // --- task, taint, release, architecture (kernel.cc)
  void task(std::string_view t);
  void taint_line(std::string_view t, bool pid_style);
  void release(std::string_view t);
  Arch arch_from_entry_symbols() const;
  Arch decide_arch() const;

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
  // Inside a call trace: after its "Call Trace:" line or a frame (a name
  // alone on a line is a frame only here).
  bool in_trace_ = false;
  bool last_line_was_frame_ = false;
  uint32_t last_register_line_ = 0;
  bool lockdep_backtrace_ = false;  // lockdep: only the trace after "stack backtrace:" is the report's
  std::optional<Frame> arm_pending_;
  std::vector<Frame> lockdep_chain_;  // frames of lockdep's last dependency chain
  size_t dropped_frames_ = 0;

  bool ip_strong_ = false;
  std::optional<Symbol> weak_ip_;
  bool warning_next_line_ip_ = false;
  // Index of a user-mode RIP:/EIP: line or a user segfault line: the Code:
  // line after it is user code.
  std::optional<size_t> user_ip_index_;

  bool modules_open_ = false;
  size_t modules_line_len_ = 0;
  bool code_open_ = false;
  std::string code_text_;
  bool release_from_linux_version_ = false;
  std::string pid_line_hardware_;

  ArchVotes votes_;

  std::vector<Anomaly>* anomalies() { return &r_.anomalies; }
  // The kernel prints the registers of the user-mode entry frame with their
  // own Code: line (show_ip): the task's code at its syscall, not the fault.
  bool after_user_ip() const { return user_ip_index_ && index_ == *user_ip_index_ + 1; }

};

}  // namespace ktriage::logparse

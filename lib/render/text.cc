// Human report for the terminal: the headline first, then the details a
// kernel engineer reads (fault, IP, trace), nothing computed here.
#include <fmt/format.h>

#include <algorithm>

#include "ktriage/render.h"

namespace ktriage {
namespace {

struct Style {
  bool color;
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string red(std::string_view s) const { return wrap("1;31", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
  std::string wrap(std::string_view code, std::string_view s) const {
    return color ? fmt::format("\033[{}m{}\033[0m", code, s) : std::string(s);
  }
};

std::string symbol_text(const Symbol& s) {
  std::string out = s.function.empty() && s.address ? fmt::format("{:#x}", *s.address) : s.function;
  if (s.offset) out += fmt::format("+{:#x}", *s.offset);
  if (s.size) out += fmt::format("/{:#x}", *s.size);
  if (!s.module.empty()) out += fmt::format(" [{}]", s.module);
  return out;
}

// " at mm/slub.c:337:9", with the inline chain when there is one.
std::string location_text(const FrameSymbolization* s) {
  if (!s) return "";
  if (!s->symbolize_error.empty()) return fmt::format("  ({})", s->symbolize_error);
  if (!s->source) return "";
  std::string out = fmt::format("  {}:{}", s->source->file, s->source->line);
  if (s->inlined.size() > 1) {
    out += "  inlined:";
    for (size_t i = 0; i + 1 < s->inlined.size(); ++i)
      out += fmt::format(" {} ({}:{}) ->", s->inlined[i].function, s->inlined[i].location.file,
                         s->inlined[i].location.line);
    out += " " + s->inlined.back().function;
  }
  return out;
}

void render_code(const ReportDetails& d, const Style& st, std::ostream& out) {
  if (d.fault) {
    const std::string& insn = d.fault->instruction.text;
    out << fmt::format("  faulting insn  {}  ({})\n", insn.empty() ? "not in the log" : insn, to_string(d.fault->access));
    for (const std::string& sentence : d.fault->sentences) out << fmt::format("                 {}\n", sentence);
  } else if (!d.code_error.empty()) {
    out << st.dim(fmt::format("  Code:          {}", d.code_error)) << '\n';
  }
  if (d.code_match) {
    const std::string verdict = d.code_match->verdict == "match"             ? "match"
                                : d.code_match->verdict == "runtime_patched" ? "runtime-patched code"
                                                                             : "different kernel build";
    std::string line = fmt::format("  Code: check    {}: {}", verdict, d.code_match->explanation);
    out << (d.code_match->verdict == "different_build" ? st.red(line) : line) << '\n';
  }
  if (d.code) {
    out << "  Code: decoded\n";
    for (const Instruction& i : d.code->instructions) {
      std::string line = fmt::format("    {} {:#x}: {}", i.faulting ? "=>" : "  ", i.address, i.text);
      out << (i.faulting ? st.bold(line) : line) << '\n';
    }
  }
}

// "; crashzoo.c:72 (inlined zoo_next_id <- zoo_sum_ids)"
std::string listing_location(const ListingInstruction& i) {
  if (!i.source) return "";
  std::string out = fmt::format("; {}:{}", i.source->file, i.source->line);
  if (i.inlined.size() > 1) {
    out += " (inlined";
    for (size_t k = 0; k + 1 < i.inlined.size(); ++k) out += (k == 0 ? " " : " <- ") + i.inlined[k].function;
    out += " <- " + i.inlined.back().function + ")";
  }
  return out;
}

// Instructions shown around the marked one when the listing was not asked
// for whole.
constexpr size_t kCompactBefore = 16;
constexpr size_t kCompactAfter = 8;

void render_listing(const FunctionListing& l, const Style& st, std::ostream& out) {
  const bool module = l.object != "vmlinux";
  const std::string what = l.frame == "ip" ? "the ip" : "frame #" + l.frame;
  size_t first = 0, last = l.instructions.size();
  if (!l.requested && l.marked) {
    first = *l.marked > kCompactBefore ? *l.marked - kCompactBefore : 0;
    last = std::min(last, *l.marked + kCompactAfter + 1);
  }
  std::string head = fmt::format("  disassembly    {}{} ({}, {:#x} bytes", l.function, module ? " [" + l.object + "]" : "",
                                 what, l.size);
  if (first != 0 || last != l.instructions.size()) {
    head += fmt::format("; instructions {}-{} of {}, --disasm {} for all", first + 1, last, l.instructions.size(),
                        l.frame);
  }
  out << head << ")\n";
  for (const std::string& w : l.warnings) out << st.dim(fmt::format("                 note: {}", w)) << '\n';
  // A module's addresses are only meaningful as offsets when the log did not
  // print where it was loaded.
  const bool show_address = l.runtime || !module;
  std::string location;
  for (size_t k = first; k < last; ++k) {
    const ListingInstruction& i = l.instructions[k];
    std::string loc = listing_location(i);
    if (!loc.empty() && (loc != location || k == first)) out << st.dim("                 " + loc) << '\n';
    location = loc;
    std::string line = fmt::format("    {} {:<8}", i.faulting ? "=>" : "  ", fmt::format("<+{:#x}>", i.offset));
    if (show_address) line += fmt::format(" {:x}:", i.insn.address);
    line += " " + i.insn.text;
    if (!i.target.empty() && i.target.front() == '"') {
      line += fmt::format("  # {}", i.target);  // a string literal: the format a printk/BUG prints
    } else if (!i.target.empty()) {
      if (i.insn.branch_target) {
        line += fmt::format(" <{}>", i.target);
      } else if (i.target_address) {
        line += fmt::format("  # {:#x} <{}>", *i.target_address, i.target);
      } else {
        line += fmt::format("  # <{}>", i.target);
      }
    }
    out << (i.faulting ? st.bold(line) : line) << '\n';
  }
}

void render_report(const Report& r, const ReportDetails& d, size_t index, const Style& st, std::ostream& out) {
  out << st.red(fmt::format("Report {}: {}", index + 1, r.title.empty() ? r.header : r.title)) << '\n';
  auto field = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) out << fmt::format("  {:<14} {}\n", name, value);
  };
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  field("kind", std::string(to_string(r.kind)));
  field("header", r.header);
  field("lines", fmt::format("{}-{}", r.span.first_line, r.span.last_line));
  if (r.arch != Arch::unknown) field("arch", std::string(to_string(r.arch)));
  field("kernel", r.kernel_release);
  field("taint", r.taint.flags);
  std::string task;
  if (r.cpu) task += fmt::format("CPU {} ", *r.cpu);
  if (r.pid) task += fmt::format("PID {} ", *r.pid);
  if (!r.comm.empty()) task += fmt::format("comm {}", r.comm);
  field("task", task);
  if (r.preempt_count) field("preempt_count", fmt::format("{:#x}", *r.preempt_count));
  if (r.fault_address) field("fault address", fmt::format("{:#x}", *r.fault_address));
  if (r.error_code) field("error code", fmt::format("{:#x} ({})", r.error_code->code, r.error_code->describe()));
  if (r.ip) field("ip", symbol_text(*r.ip) + location_text(sym && sym->ip ? &*sym->ip : nullptr));
  if (sym && sym->kaslr_offset) field("kaslr offset", sym->kaslr_offset_hex() + " (" + sym->kaslr_source + ")");
  if (sym) {
    for (const DebugInfoFile& f : sym->debuginfo) {
      if (f.match == "mismatch")
        out << st.red(fmt::format("  {} {} does not match this log ({})", f.role, f.path, f.confidence)) << '\n';
    }
  }
  if (r.corrupted) field("corrupted", r.corrupted_reason.empty() ? "yes" : r.corrupted_reason);
  render_code(d, st, out);
  for (const FunctionListing& l : d.disassembly) {
    if (l.frame == "ip") render_listing(l, st, out);
  }
  if (!r.frames.empty()) {
    size_t unreliable = 0;
    for (const Frame& f : r.frames) unreliable += !f.reliable;
    out << fmt::format("  call trace     {} frames, {} unreliable\n", r.frames.size(), unreliable);
    for (size_t i = 0; i < r.frames.size(); ++i) {
      const Frame& f = r.frames[i];
      const FrameSymbolization* fs = sym && i < sym->frames.size() ? &sym->frames[i] : nullptr;
      std::string line = fmt::format("    {} {:<3} {}{}", f.reliable ? " " : "?", fmt::format("#{}", i), symbol_text(f),
                                     location_text(fs));
      out << (f.reliable ? line : st.dim(line)) << '\n';
    }
  }
  for (const FunctionListing& l : d.disassembly) {
    if (l.frame != "ip") render_listing(l, st, out);
  }
  for (const std::string& e : d.disassembly_errors) out << st.dim(fmt::format("  disassembly    {}", e)) << '\n';
  for (const Anomaly& a : r.anomalies) out << st.dim(fmt::format("  note: line {}: {}", a.line, a.message)) << '\n';
}

void render_finding(const Finding& f, bool headline, const Style& st, std::ostream& out) {
  std::string head = fmt::format("{} [{}, confidence {:.0f}%]", f.title, f.cause, f.confidence * 100);
  out << (headline ? st.red("Most likely: " + head) : st.bold(head)) << '\n';
  if (!f.confidence_reason.empty()) out << fmt::format("  confidence: {}\n", f.confidence_reason);
  if (!f.reports.empty()) {
    std::string ids;
    for (size_t r : f.reports) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", r + 1);
    out << fmt::format("  reports: {}\n", ids);
  }
  if (!f.evidence.empty()) {
    out << "  evidence:\n";
    for (const Evidence& e : f.evidence) {
      std::string where = e.line ? fmt::format("line {}: ", *e.line) : "";
      out << fmt::format("    - {}{}\n", where, e.text);
    }
  }
  if (!f.explanation.empty()) out << fmt::format("  why: {}\n", f.explanation);
  for (const std::string& a : f.actions) out << fmt::format("  -> {}\n", a);
}

void render_kb(const Analysis& a, const Style& st, std::ostream& out) {
  if (a.kb_matches.empty()) return;
  out << '\n' << st.bold("Known bugs that match") << '\n';
  if (!a.kb_summary.empty()) out << fmt::format("  {}\n", a.kb_summary);
  for (const KbMatch& m : a.kb_matches) {
    out << fmt::format("  [{}] {}: {}\n", m.verdict, m.id, m.title);
    if (!m.commit.empty())
      out << fmt::format("      fix: {} \"{}\" (upstream {})\n", m.commit, m.subject, m.fixed_in);
    if (!m.carried_by.empty()) out << fmt::format("      carried by: {}\n", m.carried_by);
    if (!m.verdict_text.empty()) out << fmt::format("      {}\n", m.verdict_text);
    for (const std::string& r : m.references) out << st.dim(fmt::format("      see {}", r)) << '\n';
  }
}

}  // namespace

void render_text(const Analysis& analysis, const RenderOptions& options, std::ostream& out) {
  Style st{options.color};
  if (analysis.reports.empty()) {
    out << fmt::format("{}: no crash reports found\n", analysis.source);
    return;
  }
  out << st.bold(fmt::format("{}: {} crash report{}\n", analysis.source, analysis.reports.size(),
                             analysis.reports.size() == 1 ? "" : "s"));
  if (!analysis.kernel_version.empty()) out << fmt::format("kernel version: {}\n", analysis.kernel_version);
  for (size_t i = 0; i < analysis.findings.size(); ++i) {
    out << '\n';
    render_finding(analysis.findings[i], i == 0, st, out);
  }
  render_kb(analysis, st, out);
  for (size_t i = 0; i < analysis.reports.size(); ++i) {
    out << '\n';
    static const ReportDetails kNoDetails;
    render_report(analysis.reports[i], i < analysis.details.size() ? analysis.details[i] : kNoDetails, i, st, out);
  }
}

}  // namespace ktriage

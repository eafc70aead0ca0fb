// GitHub-flavoured Markdown for bug trackers: what a reader needs first in
// the open, the long parts folded into <details>. Log text is escaped so it
// reads as typed: no emphasis, links, tables or raw HTML come from a log.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "ktriage/render.h"
#include "render/display.h"
#include "render/html.h"

namespace ktriage {
namespace {

using render::symbol_text;

// One line of log text: control characters and line breaks become spaces.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// Inline text: backslash-escapes what could start markup. `_` inside a word
// cannot (CommonMark's flanking rules), so identifiers stay readable.
std::string md(std::string_view raw) {
  const std::string s = one_line(raw);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool inside_word = i > 0 && i + 1 < s.size() && alnum(s[i - 1]) && alnum(s[i + 1]);
    switch (c) {
      case '_':
        if (!inside_word) out += '\\';
        break;
      case '\\': case '`': case '*': case '[': case ']': case '<': case '>': case '|': case '&': case '~':
      case '#': case '!':
        out += '\\';
        break;
      default: break;
    }
    out += c;
  }
  return out;
}

// A code span: fenced with more backticks than any run inside; `|` escaped
// where the span sits in a table cell (GFM splits cells on it even there).
std::string code(std::string_view raw, bool in_table = false) {
  std::string s = one_line(raw);
  if (s.empty()) return "";
  size_t run = 0, longest = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  if (in_table) {
    std::string escaped;
    for (char c : s) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    s = escaped;
  }
  const std::string fence(longest + 1, '`');
  const bool pad = s.front() == '`' || s.back() == '`' || (s.front() == ' ' && s.back() == ' ');
  return fence + (pad ? " " : "") + s + (pad ? " " : "") + fence;
}

// A fenced code block of lines (control characters but tabs become spaces).
std::string code_block(const std::vector<std::string>& lines, std::string_view info = "text") {
  size_t longest = 0;
  for (const std::string& l : lines) {
    size_t run = 0;
    for (char c : l) {
      run = c == '`' ? run + 1 : 0;
      longest = std::max(longest, run);
    }
  }
  const std::string fence(std::max<size_t>(3, longest + 1), '`');
  std::string out = fence + std::string(info) + "\n";
  for (const std::string& l : lines) {
    std::string clean = l;
    for (char& c : clean) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = ' ';
    }
    out += clean + "\n";
  }
  return out + fence + "\n";
}

// <details> with a summary: the summary is raw HTML, so HTML-escaped.
void details(std::ostream& out, const std::string& summary, const std::string& body) {
  out << "<details><summary>" << render::html_escape(one_line(summary)) << "</summary>\n\n" << body << "\n</details>\n\n";
}

std::string report_title(const Report& r) { return r.title.empty() ? r.header : r.title; }

void finding(const Finding& f, bool headline, std::ostream& out) {
  out << (headline ? "### Most likely: " : "#### ") << md(f.title) << "\n\n";
  out << fmt::format("**{}**, confidence {:.0f}%", md(f.cause), f.confidence * 100);
  if (!f.confidence_reason.empty()) out << ": " << md(f.confidence_reason);
  if (!f.reports.empty()) {
    out << (f.reports.size() == 1 ? " (report " : " (reports ");
    for (size_t k = 0; k < f.reports.size(); ++k) out << (k ? ", " : "") << f.reports[k] + 1;
    out << ")";
  }
  out << "\n\n";
  if (!f.evidence.empty()) {
    out << "**Evidence**\n\n";
    for (const Evidence& e : f.evidence) {
      out << "- " << (e.line ? fmt::format("line {}: ", *e.line) : "") << md(e.text) << "\n";
    }
    out << "\n";
  }
  if (!f.explanation.empty()) out << "**What happened:** " << md(f.explanation) << "\n\n";
  if (!f.actions.empty()) {
    out << "**What to do**\n\n";
    for (size_t k = 0; k < f.actions.size(); ++k) out << k + 1 << ". " << md(f.actions[k]) << "\n";
    out << "\n";
  }
}

void kb(const Analysis& a, std::ostream& out) {
  if (a.kb_matches.empty()) return;
  const KbKernel& kernel = a.kb_summary.kernel;
  out << "### Known bugs that match\n\n";
  if (std::string summary = kb_summary_text(a.kb_matches, a.kb_summary); !summary.empty()) out << md(summary) << "\n\n";
  for (const KbMatch& m : a.kb_matches) {
    out << "- **" << md(std::string(to_string(m.verdict))) << "**"
        << (m.strength == KbStrength::similar ? " (similar)" : "") << " " << code(m.id) << ": " << md(m.title) << "\n";
    if (!m.commit.empty()) {
      std::string url = render::commit_url(m.commit);
      out << "  - fix: "
          << (url.empty() ? code(m.commit) : fmt::format("[{}]({})", code(m.commit.substr(0, 12)), url));
      if (!m.subject.empty()) out << " \"" << md(m.subject) << "\"";
      if (!m.fixed_in.empty()) out << " (upstream " << md(m.fixed_in) << ")";
      out << "\n";
    }
    if (std::string carried = kb_carried_by_text(m, kernel); !carried.empty())
      out << "  - carried by: " << md(carried) << "\n";
    if (!m.cve.empty() && !m.reasons.empty()) {
      std::string why;
      for (const KbReason& r : m.reasons) why += (why.empty() ? "" : "; ") + kb_reason_text(r);
      out << "  - matched on: " << md(why) << "\n";
    }
    if (std::string verdict = kb_verdict_text(m, kernel); !verdict.empty()) out << "  - " << md(verdict) << "\n";
    for (const std::string& ref : m.references) {
      std::string url = render::link_url(ref);
      // Autolinks: the address shown is the address linked.
      out << "  - see " << (url.empty() ? md(ref) : "<" + url + ">") << "\n";
    }
  }
  out << "\n";
}

void report(const Analysis& a, size_t index, std::ostream& out) {
  static const ReportDetails kNone;
  const Report& r = a.reports[index];
  const ReportDetails& d = index < a.details.size() ? a.details[index] : kNone;
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  out << "### Report " << index + 1 << ": " << md(report_title(r)) << "\n\n";
  out << "| field | value |\n| --- | --- |\n";
  auto row = [&](std::string_view name, const std::string& value_md) {
    if (!value_md.empty()) out << "| " << name << " | " << value_md << " |\n";
  };
  row("kind", code(std::string(to_string(r.kind)), true));
  row("header", code(r.header, true));
  row("lines", fmt::format("{}-{}", r.span.first_line, r.span.last_line));
  if (r.arch != Arch::unknown) row("arch", md(std::string(to_string(r.arch))));
  row("kernel", code(r.kernel_release, true));
  row("taint", code(r.taint.flags, true));
  std::string task;
  if (r.cpu) task += fmt::format("CPU {} ", *r.cpu);
  if (r.pid) task += fmt::format("PID {} ", *r.pid);
  if (!r.comm.empty()) task += "comm " + r.comm;
  row("task", md(task));
  if (r.preempt_count) row("preempt_count", code(fmt::format("{:#x}", *r.preempt_count), true));
  if (r.fault_address) row("fault address", code(fmt::format("{:#x}", *r.fault_address), true));
  if (r.error_code) row("error code", code(fmt::format("{:#x}", r.error_code->code), true) + " " + md(r.error_code->describe()));
  if (r.ip) {
    std::string ip = code(symbol_text(*r.ip), true);
    if (sym && sym->ip && sym->ip->source) {
      ip += " " + md(render::source_text(*sym->ip->source));
      if (std::string chain = render::inline_chain_text(sym->ip->inlined); !chain.empty()) ip += ", inlined: " + md(chain);
    }
    row("ip", ip);
  }
  if (sym && sym->kaslr_offset) row("KASLR offset", code(sym->kaslr_offset_hex(), true) + " " + md("(" + sym->kaslr_source + ")"));
  if (r.corrupted) row("corrupted", md(r.corrupted_reason.empty() ? "yes" : r.corrupted_reason));
  out << "\n";
  if (sym) {
    for (const DebugInfoFile& f : sym->debuginfo) {
      if (f.match == DebugMatch::mismatch)
        out << "**Warning:** " << md(mismatch_text(f)) << "\n\n";
    }
  }

  if (d.fault) {
    const FaultExplanation& f = *d.fault;
    out << "**Faulting instruction:** "
        << (f.instruction.text.empty() ? std::string("not in the log") : code(f.instruction.text)) << " ("
        << to_string(f.access) << ")\n\n";
    for (const std::string& s : render::fault_sentences(f)) out << "> " << md(s) << "\n>\n";
    out << "\n";
    if (!f.chain.empty()) {
      out << "| step | instruction | wrote | as an expression | value | source |\n| --- | --- | --- | --- | --- | --- |\n";
      for (size_t k = 0; k < f.chain.size(); ++k) {
        const render::ChainStepText t = render::chain_step_text(f.chain[k]);
        out << "| " << k + 1 << " | " << code(t.instruction, true) << " | " << code(t.register_name, true) << " | "
            << code(t.expression, true) << " | " << code(t.value, true) << " | " << md(t.source) << " |\n";
      }
      out << "\n";
    }
  } else if (!d.code_error.empty()) {
    out << "Code: " << md(d.code_error) << "\n\n";
  }
  if (d.code_match) {
    const render::CodeCheckText check = render::code_check_text(*d.code_match);
    out << "**Code: check:** " << (check.alarming ? "**" + md(check.label) + "**" : md(check.label)) << ": "
        << md(check.explanation) << "\n\n";
  }

  if (!r.frames.empty()) {
    size_t unreliable = 0;
    for (const Frame& f : r.frames) unreliable += !f.reliable;
    out << fmt::format("**Call trace** ({} frames, {} unreliable)\n\n", r.frames.size(), unreliable);
    std::vector<std::string> lines;
    for (size_t i = 0; i < r.frames.size(); ++i) {
      const Frame& f = r.frames[i];
      std::string line = fmt::format("{} {:<4}{}", f.reliable ? " " : "?", fmt::format("#{}", i), symbol_text(f));
      const FrameSymbolization* fs = sym && i < sym->frames.size() ? &sym->frames[i] : nullptr;
      if (fs && fs->source) {
        line += "  " + render::source_text(*fs->source);
        if (std::string chain = render::inline_chain_text(fs->inlined); !chain.empty()) line += "  inlined: " + chain;
      }
      lines.push_back(line);
    }
    out << code_block(lines) << "\n";
  }

  for (const FunctionListing& l : d.disassembly) {
    const render::ListingWindow w = render::listing_window(l);
    std::vector<std::string> lines;
    std::string location;
    for (size_t k = w.first; k < w.last; ++k) {
      const ListingInstruction& i = l.instructions[k];
      std::string loc = render::listing_location(i);
      if (!loc.empty() && (loc != location || k == w.first)) lines.push_back("                 ; " + loc);
      location = loc;
      lines.push_back(fmt::format("{} {:<8} {}{}", i.faulting ? "=>" : "  ", fmt::format("<+{:#x}>", i.offset),
                                  i.insn.text, render::listing_target_text(i)));
    }
    std::string summary = fmt::format("Disassembly of {}{} ({}, {:#x} bytes", l.function,
                                      l.object != "vmlinux" ? " [" + l.object + "]" : "", render::listing_frame_text(l), l.size);
    if (!w.whole) summary += fmt::format("; instructions {}-{} of {}", w.first + 1, w.last, l.instructions.size());
    details(out, summary + ")", code_block(lines));
  }

  if (std::any_of(r.registers.begin(), r.registers.end(), [](const RegisterSet& s) { return !s.regs.empty(); })) {
    std::vector<std::string> lines;
    for (size_t s = 0; s < r.registers.size(); ++s) {
      const RegisterSet& set = r.registers[s];
      if (set.regs.empty()) continue;
      const bool classified = d.register_classes && d.register_classes->set == s;
      lines.push_back(fmt::format("# line {}{}", set.line, classified ? ": the fault's registers" : ""));
      for (const Register& reg : set.regs) {
        std::string line = fmt::format("{:>7} {:#018x}", reg.name, reg.value);
        if (classified) {
          for (const ClassifiedRegister& c : d.register_classes->registers) {
            if (c.name == reg.name && !render::register_class_text(c).empty()) line += "  " + render::register_class_text(c);
          }
        }
        lines.push_back(line);
      }
    }
    details(out, "Registers", code_block(lines));
  }
  if (d.code) {
    std::vector<std::string> lines;
    for (const Instruction& i : d.code->instructions)
      lines.push_back(fmt::format("{} {:#x}: {}", i.faulting ? "=>" : "  ", i.address, i.text));
    details(out, "Code: bytes decoded", code_block(lines));
  }
  if (!r.anomalies.empty()) {
    for (const Anomaly& an : r.anomalies) out << "- note: line " << an.line << ": " << md(an.message) << "\n";
    out << "\n";
  }
}

}  // namespace

void render_markdown(const Analysis& a, std::ostream& out) {
  out << "## ktriage: " << code(a.source) << "\n\n";
  if (a.reports.empty()) {
    out << "No crash reports found.\n";
    return;
  }
  out << fmt::format("{} crash report{}", a.reports.size(), a.reports.size() == 1 ? "" : "s");
  if (!a.kernel_version.empty()) out << ", kernel version " << md(a.kernel_version);
  out << ".\n\n";
  for (const DebugInfoFile& f : a.refused_debuginfo()) out << "**Warning:** " << md(mismatch_text(f)) << "\n\n";
  if (a.debuginfo_fetch) {
    for (const FetchedFile& f : a.debuginfo_fetch->files)
      out << "- debug info: " << md(f.role == "vmlinux" ? "vmlinux" : "module " + f.name) << " " << code(f.path) << " from "
          << md(f.source) << "\n";
    if (a.debuginfo_fetch->files.empty()) out << "- debug info: none could be fetched; the analysis has no source lines\n";
    for (const std::string& p : a.debuginfo_fetch->problems) out << "- debug info: " << md(p) << "\n";
    out << "\n";
  }
  if (!a.findings.empty()) finding(a.findings.front(), true, out);
  kb(a, out);
  if (a.findings.size() > 1) {
    std::ostringstream more;
    for (size_t i = 1; i < a.findings.size(); ++i) finding(a.findings[i], false, more);
    details(out, fmt::format("Other findings ({})", a.findings.size() - 1), more.str());
  }
  for (size_t i = 0; i < a.reports.size(); ++i) report(a, i, out);
  out << "Made by ktriage; every value here is in `ktriage analyze --json`.\n";
}

}  // namespace ktriage

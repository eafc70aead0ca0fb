// The HTML report: one self-contained page (or a fragment for ktriage
// serve) that reads like the text report, with the pictures a terminal
// cannot draw. Every string that came from the log passes html_escape();
// the only links are the page's own anchors and known bugs' http(s) addresses.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "ktriage/render.h"
#include "render/display.h"
#include "render/html.h"
#include "support/utf8.h"

namespace ktriage {
namespace render {

std::string html_escape(std::string_view raw) {
  const std::string text = support::valid_utf8(raw);
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': case '\n': case '\r': out += c; break;  // whitespace in HTML
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += "\xef\xbf\xbd";  // U+FFFD
        else out += c;
    }
  }
  return out;
}

}  // namespace render

namespace {

using render::html_escape;

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

// Element ids: the caller's prefix, then only numbers and fixed words.
struct Ids {
  std::string prefix;
  std::string report(size_t r) const { return fmt::format("{}r{}", prefix, r + 1); }
  std::string listing_row(size_t r, size_t frame_listing, size_t k) const {
    return fmt::format("{}r{}-l{}-i{}", prefix, r + 1, frame_listing, k);
  }
  std::string source_line(size_t r, uint32_t line) const { return fmt::format("{}r{}-src-{}", prefix, r + 1, line); }
  std::string finding(size_t f) const { return fmt::format("{}finding-{}", prefix, f + 1); }
  std::string stack(size_t r) const { return fmt::format("{}r{}-stack", prefix, r + 1); }
};

class HtmlRenderer {
 public:
  HtmlRenderer(const Analysis& a, const HtmlOptions& o, std::ostream& out) : a_(a), o_(o), out_(out), ids_{o.id_prefix} {}

  void render();

 private:
  bool shows_report(size_t r) const { return !o_.report || *o_.report == r; }
  void header();
  void finding(const Finding& f, size_t index, bool headline);
  void kb();
  void report(size_t r);
  void facts(size_t r);
  void fault(size_t r, const FaultExplanation& f, const FunctionListing* listing);
  void listing(size_t r, size_t n, const FunctionListing& l, const FaultExplanation* f);
  void trace(size_t r);
  void registers(size_t r);
  void code(size_t r, bool open);
  std::string report_link(size_t r) const {
    return fmt::format(R"~(<a href="#{}">{}</a>)~", ids_.report(r), r + 1);
  }
  // Instruction text with the registers of the fault chain marked.
  std::string asm_html(const std::string& text, const std::set<std::string>& regs) const;

  const Analysis& a_;
  const HtmlOptions& o_;
  std::ostream& out_;
  Ids ids_;
};

const ReportDetails& details_of(const Analysis& a, size_t r) {
  static const ReportDetails kNone;
  return r < a.details.size() ? a.details[r] : kNone;
}

std::string report_title(const Report& r) { return r.title.empty() ? r.header : r.title; }

void HtmlRenderer::render() {
  if (!o_.fragment) {
    std::string title = o_.title;
    if (title.empty()) {
      title = "ktriage: " + a_.source;
      if (!a_.findings.empty()) title += " \u2014 " + a_.findings.front().title;
    }
    out_ << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            // Nothing may load: no script, no image, no font, no frame. Styles are inline.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; base-uri 'none'; form-action 'none'\">\n"
            "<meta name=\"color-scheme\" content=\"light dark\">\n"
            "<meta name=\"generator\" content=\"ktriage\">\n"
         << "<title>" << html_escape(title) << "</title>\n<style>" << html_stylesheet()
         << "html{background:#fff}@media (prefers-color-scheme:dark){html{background:#0d1117}}"
            "@media print{html{background:#fff}}body{margin:0}</style>\n</head>\n<body>\n";
  }
  out_ << fmt::format(R"~(<div class="ktriage" id="{}ktriage">)~", ids_.prefix) << '\n';
  if (o_.fragment && o_.inline_style) out_ << "<style>" << html_stylesheet() << "</style>\n";
  out_ << "<main>\n";
  header();
  if (o_.report && *o_.report >= a_.reports.size()) {
    out_ << fmt::format("<p class=\"kt-alert\">No report {} in this analysis ({} report{}).</p>\n", *o_.report + 1,
                        a_.reports.size(), a_.reports.size() == 1 ? "" : "s");
  } else {
    size_t shown = 0;
    for (size_t i = 0; i < a_.findings.size(); ++i) {
      const Finding& f = a_.findings[i];
      if (o_.report && std::find(f.reports.begin(), f.reports.end(), *o_.report) == f.reports.end()) continue;
      finding(f, i, shown++ == 0);
    }
    kb();
    for (size_t r = 0; r < a_.reports.size(); ++r) {
      if (shows_report(r)) report(r);
    }
  }
  out_ << "</main>\n<footer>Made by ktriage from " << html_escape(a_.source)
       << ". Every number here is in <code>ktriage analyze --json</code> (docs/json.md).</footer>\n</div>\n";
  if (!o_.fragment) out_ << "</body>\n</html>\n";
}

void HtmlRenderer::header() {
  out_ << "<header>\n<h1>Crash triage: " << html_escape(a_.source) << "</h1>\n<p class=\"kt-meta\">";
  if (a_.reports.empty()) {
    out_ << "no crash reports found";
  } else {
    out_ << fmt::format("{} crash report{}", a_.reports.size(), a_.reports.size() == 1 ? "" : "s");
  }
  if (!a_.kernel_version.empty()) out_ << " \u00b7 kernel version " << html_escape(a_.kernel_version);
  out_ << "</p>\n";
  for (const DebugInfoFile& f : a_.refused_debuginfo())
    out_ << "<p class=\"kt-alert\">" << html_escape(mismatch_text(f)) << "</p>\n";
  if (a_.debuginfo_fetch) {
    const FetchReport& f = *a_.debuginfo_fetch;
    for (const FetchedFile& file : f.files) {
      out_ << "<p class=\"kt-meta\">debug info: "
           << html_escape(file.role == "vmlinux" ? "vmlinux" : "module " + file.name) << " <code>"
           << html_escape(file.path) << "</code> from " << html_escape(file.source) << "</p>\n";
    }
    if (f.files.empty())
      out_ << "<p class=\"kt-alert\">debug info: none could be fetched; the analysis has no source lines</p>\n";
    for (const std::string& p : f.problems) out_ << "<p class=\"kt-alert\">debug info: " << html_escape(p) << "</p>\n";
  }
  out_ << "</header>\n";
}

void HtmlRenderer::finding(const Finding& f, size_t index, bool headline) {
  out_ << fmt::format(R"~(<section class="kt-finding{}" id="{}" data-cause="{}">)~", headline ? " kt-headline" : "",
                      ids_.finding(index), html_escape(f.cause))
       << '\n';
  out_ << (headline ? "<h2>Most likely: " : "<h3>") << html_escape(f.title) << (headline ? "</h2>" : "</h3>") << '\n';
  out_ << "<p class=\"kt-meta\"><span class=\"kt-badge kt-cause\">" << html_escape(f.cause) << "</span> "
       << fmt::format("<span class=\"kt-badge\">confidence {:.0f}%</span>", f.confidence * 100);
  if (!f.reports.empty()) {
    out_ << (f.reports.size() == 1 ? " report " : " reports ");
    for (size_t k = 0; k < f.reports.size(); ++k) out_ << (k ? ", " : "") << report_link(f.reports[k]);
  }
  out_ << "</p>\n";
  if (!f.confidence_reason.empty())
    out_ << "<p class=\"kt-meta\">Confidence: " << html_escape(f.confidence_reason) << "</p>\n";
  const char* h = headline ? "h3" : "h4";
  if (!f.evidence.empty()) {
    out_ << "<" << h << ">Evidence</" << h << ">\n<ul class=\"kt-evidence\">\n";
    for (const Evidence& e : f.evidence) {
      out_ << "<li>";
      if (e.line) {
        out_ << "<span class=\"kt-where\">";
        if (e.report) out_ << fmt::format(R"~(<a href="#{}">line {}</a>)~", ids_.report(*e.report), *e.line);
        else out_ << "line " << *e.line;
        out_ << "</span> ";
      }
      out_ << html_escape(e.text) << "</li>\n";
    }
    out_ << "</ul>\n";
  }
  if (!f.explanation.empty())
    out_ << "<" << h << ">What happened</" << h << ">\n<p>" << html_escape(f.explanation) << "</p>\n";
  if (!f.actions.empty()) {
    out_ << "<" << h << ">What to do</" << h << ">\n<ol class=\"kt-actions\">\n";
    for (const std::string& action : f.actions) out_ << "<li>" << html_escape(action) << "</li>\n";
    out_ << "</ol>\n";
  }
  out_ << "</section>\n";
}

void HtmlRenderer::kb() {
  std::vector<const KbMatch*> matches;
  for (const KbMatch& m : a_.kb_matches) {
    if (shows_report(m.report)) matches.push_back(&m);
  }
  if (matches.empty()) return;
  const KbKernel& kernel = a_.kb_summary.kernel;
  out_ << fmt::format(R"~(<section class="kt-kb" id="{}kb">)~", ids_.prefix) << "\n<h2>Known bugs that match</h2>\n";
  if (!o_.report) {
    if (std::string summary = kb_summary_text(a_.kb_matches, a_.kb_summary); !summary.empty())
      out_ << "<p class=\"kt-kb-summary\">" << html_escape(summary) << "</p>\n";
  }
  for (const KbMatch* m : matches) {
    const char* badge = m->verdict == KbVerdict::fixed       ? "kt-badge-ok"
                        : m->verdict == KbVerdict::not_fixed ? "kt-badge-bad"
                                                             : "kt-badge-warn";
    out_ << fmt::format(R"~(<article class="kt-kb-match" data-verdict="{}">)~", to_string(m->verdict)) << '\n';
    out_ << fmt::format(R"~(<h3><span class="kt-badge {}">{}</span> )~", badge, html_escape(to_string(m->verdict)));
    if (m->strength == KbStrength::similar) out_ << "<span class=\"kt-badge\">similar</span> ";
    out_ << "<code>" << html_escape(m->id) << "</code> " << html_escape(m->title) << "</h3>\n";
    if (!m->commit.empty()) {
      out_ << "<p>Fix: ";
      if (std::string url = render::commit_url(m->commit); !url.empty()) {
        out_ << fmt::format(R"~(<a class="kt-fix" href="{}"><code>{}</code></a>)~", html_escape(url),
                            html_escape(m->commit.substr(0, 12)));
      } else {
        out_ << "<code>" << html_escape(m->commit) << "</code>";
      }
      if (!m->subject.empty()) out_ << " \u201c" << html_escape(m->subject) << "\u201d";
      if (!m->fixed_in.empty()) out_ << " (upstream " << html_escape(m->fixed_in) << ")";
      out_ << "</p>\n";
    }
    if (std::string carried = kb_carried_by_text(*m, kernel); !carried.empty())
      out_ << "<p>Carried by: " << html_escape(carried) << "</p>\n";
    if (!m->cve.empty() && !m->reasons.empty()) {
      std::string why;
      for (const KbReason& r : m->reasons) why += (why.empty() ? "" : "; ") + kb_reason_text(r);
      out_ << "<p>Matched on: " << html_escape(why) << "</p>\n";
    }
    if (std::string verdict = kb_verdict_text(*m, kernel); !verdict.empty())
      out_ << "<p class=\"kt-verdict\"><strong>" << html_escape(verdict) << "</strong></p>\n";
    if (!m->advice.empty()) out_ << "<p>" << html_escape(m->advice) << "</p>\n";
    if (!m->references.empty()) {
      out_ << "<ul class=\"kt-refs\">\n";
      for (const std::string& ref : m->references) {
        if (std::string url = render::link_url(ref); !url.empty()) {
          out_ << fmt::format(R"~(<li><a href="{}">{}</a></li>)~", html_escape(url), html_escape(ref)) << '\n';
        } else {
          out_ << "<li>" << html_escape(ref) << "</li>\n";
        }
      }
      out_ << "</ul>\n";
    }
    out_ << "</article>\n";
  }
  out_ << "</section>\n";
}

void HtmlRenderer::facts(size_t ri) {
  const Report& r = a_.reports[ri];
  const ReportDetails& d = details_of(a_, ri);
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  out_ << "<dl class=\"kt-facts\">\n";
  auto field = [&](std::string_view name, const std::string& value_html) {
    if (!value_html.empty()) out_ << "<dt>" << name << "</dt><dd>" << value_html << "</dd>\n";
  };
  auto text = [](const std::string& s) { return html_escape(s); };
  auto mono = [](const std::string& s) { return s.empty() ? s : "<code>" + html_escape(s) + "</code>"; };
  field("kind", text(std::string(to_string(r.kind))));
  field("header", mono(r.header));
  field("lines", fmt::format("{}\u2013{}", r.span.first_line, r.span.last_line));
  if (r.arch != Arch::unknown) field("arch", text(std::string(to_string(r.arch))));
  field("kernel", text(r.kernel_release));
  field("taint", mono(r.taint.flags));
  std::string task;
  if (r.cpu) task += fmt::format("CPU {} ", *r.cpu);
  if (r.pid) task += fmt::format("PID {} ", *r.pid);
  if (!r.comm.empty()) task += "comm " + r.comm;
  field("task", text(task));
  if (r.preempt_count) field("preempt_count", mono(hex(*r.preempt_count)));
  if (r.fault_address) field("fault address", mono(hex(*r.fault_address)));
  if (r.error_code) field("error code", mono(hex(r.error_code->code)) + " " + text(r.error_code->describe()));
  if (r.ip) {
    std::string ip = mono(render::symbol_text(*r.ip));
    if (sym && sym->ip && sym->ip->source) {
      ip += " " + text(render::source_text(*sym->ip->source));
      if (std::string chain = render::inline_chain_text(sym->ip->inlined); !chain.empty())
        ip += " <span class=\"kt-dim\">inlined: " + text(chain) + "</span>";
    } else if (sym && sym->ip && !sym->ip->symbolize_error.empty()) {
      ip += " <span class=\"kt-dim\">(" + text(sym->ip->symbolize_error) + ")</span>";
    }
    field("ip", ip);
  }
  if (sym && sym->kaslr_offset) field("KASLR offset", mono(sym->kaslr_offset_hex()) + " " + text("(" + sym->kaslr_source + ")"));
  if (r.corrupted) field("corrupted", text(r.corrupted_reason.empty() ? "yes" : r.corrupted_reason));
  out_ << "</dl>\n";
  if (sym) {
    for (const DebugInfoFile& f : sym->debuginfo) {
      if (f.match == DebugMatch::mismatch) {
        out_ << "<p class=\"kt-alert\">" << html_escape(mismatch_text(f))
             << "</p>\n";
      }
    }
  }
}

std::string HtmlRenderer::asm_html(const std::string& text, const std::set<std::string>& regs) const {
  if (regs.empty()) return html_escape(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const bool word = std::isalnum(static_cast<unsigned char>(text[i]));
    size_t j = i;
    while (j < text.size() && static_cast<bool>(std::isalnum(static_cast<unsigned char>(text[j]))) == word) ++j;
    const std::string piece = text.substr(i, j - i);
    // A register name standing alone (AT&T: after '%').
    const bool alone = word && (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])));
    if (alone && regs.count(piece)) {
      const bool percent = i > 0 && text[i - 1] == '%';
      if (percent) out.pop_back();  // the escaped '%' is one byte
      out += "<mark class=\"kt-reg\">" + std::string(percent ? "%" : "") + html_escape(piece) + "</mark>";
    } else {
      out += html_escape(piece);
    }
    i = j;
  }
  return out;
}

void HtmlRenderer::fault(size_t ri, const FaultExplanation& f, const FunctionListing* l) {
  out_ << "<section class=\"kt-fault\">\n<h3>Faulting instruction</h3>\n<p>";
  if (f.instruction.text.empty()) {
    out_ << "not in the log";
  } else {
    std::optional<size_t> at = l ? render::listing_index(*l, f, f.instruction) : std::nullopt;
    std::string insn = "<code class=\"kt-insn\">" + html_escape(f.instruction.text) + "</code>";
    if (at) insn = fmt::format(R"~(<a href="#{}">{}</a>)~", ids_.listing_row(ri, 0, *at), insn);
    out_ << insn;
  }
  out_ << " <span class=\"kt-badge\">" << html_escape(to_string(f.access)) << "</span>";
  if (!f.bad_register.empty()) {
    out_ << " bad register <mark class=\"kt-reg\">" << html_escape(f.bad_register) << "</mark>";
    if (f.bad_value) out_ << " = <code>" << hex(*f.bad_value) << "</code>";
    if (f.bad_verdict.kind != PointerClass::plausible) {
      out_ << fmt::format(R"~( <span class="kt-badge kt-badge-bad kt-class-{}">{}</span>)~",
                          to_string(f.bad_verdict.kind), html_escape(f.bad_verdict.description));
    }
  }
  out_ << "</p>\n";
  for (const std::string& s : render::fault_sentences(f)) out_ << "<p>" << html_escape(s) << "</p>\n";
  if (!f.chain.empty()) {
    out_ << "<table class=\"kt-chain-steps\">\n<thead><tr><th>step</th><th>instruction</th><th>wrote</th>"
            "<th>as an expression</th><th>value</th><th>source</th></tr></thead>\n<tbody>\n";
    for (size_t k = 0; k < f.chain.size(); ++k) {
      const render::ChainStepText t = render::chain_step_text(f.chain[k]);
      std::string insn = "<code>" + html_escape(t.instruction) + "</code>";
      if (std::optional<size_t> at = l ? render::listing_index(*l, f, f.chain[k].instruction) : std::nullopt)
        insn = fmt::format(R"~(<a href="#{}">{}</a>)~", ids_.listing_row(ri, 0, *at), insn);
      out_ << fmt::format("<tr><td>{}</td><td>{}</td><td><mark class=\"kt-reg\">{}</mark></td><td><code>{}</code></td>"
                          "<td><code>{}</code></td><td>{}</td></tr>\n",
                          k + 1, insn, html_escape(t.register_name), html_escape(t.expression), html_escape(t.value),
                          html_escape(t.source));
    }
    out_ << "</tbody>\n</table>\n";
  }
  if (const std::string expression = source_expression_text(f); !expression.empty()) {
    out_ << "<p>In the source: <code>" << html_escape(expression) << "</code>";
    if (const std::string at = source_location_text(f); !at.empty()) out_ << " at " << html_escape(at);
    out_ << "</p>\n";
  }
  out_ << "</section>\n";
}

void HtmlRenderer::listing(size_t ri, size_t n, const FunctionListing& l, const FaultExplanation* f) {
  const render::ListingWindow w = render::listing_window(l);
  const bool module = l.object != "vmlinux";
  out_ << fmt::format(R"~(<section class="kt-listing-section" data-frame="{}">)~", html_escape(l.frame)) << "\n<h3>"
       << "Disassembly of <code>" << html_escape(l.function) << "</code>"
       << (module ? " [" + html_escape(l.object) + "]" : "") << " <span class=\"kt-dim\">("
       << html_escape(render::listing_frame_text(l)) << ", " << hex(l.size) << " bytes";
  if (!w.whole)
    out_ << fmt::format("; instructions {}\u2013{} of {}, <code>--disasm {}</code> for all", w.first + 1, w.last,
                        l.instructions.size(), html_escape(l.frame));
  out_ << ")</span></h3>\n";
  for (const std::string& warning : l.warnings) out_ << "<p class=\"kt-meta\">note: " << html_escape(warning) << "</p>\n";

  // The chain's instructions and registers, when this is the faulting function.
  std::vector<int> step_of(l.instructions.size(), 0);
  std::set<std::string> regs;
  if (f && l.frame == "ip") {
    if (!f->bad_register.empty()) regs.insert(f->bad_register);
    for (size_t k = 0; k < f->chain.size(); ++k) {
      regs.insert(f->chain[k].register_name);
      if (std::optional<size_t> at = render::listing_index(l, *f, f->chain[k].instruction)) step_of[*at] = static_cast<int>(k + 1);
    }
  }
  // The ip's source lines (--source-root), which the listing's locations link to.
  const ReportDetails& d = details_of(a_, ri);
  const FrameSymbolization* ip_sym = d.symbols && d.symbols->ip ? &*d.symbols->ip : nullptr;
  std::set<uint32_t> context_lines;
  if (l.frame == "ip" && ip_sym && ip_sym->source) {
    for (const SourceLine& s : ip_sym->source_context) context_lines.insert(s.line);
  }

  const bool show_address = l.runtime || !module;
  out_ << "<div class=\"kt-scroll\"><table class=\"kt-listing\">\n";
  std::string location;
  for (size_t k = w.first; k < w.last; ++k) {
    const ListingInstruction& i = l.instructions[k];
    std::string loc = render::listing_location(i);
    if (!loc.empty() && (loc != location || k == w.first)) {
      std::string where = html_escape(loc);
      if (i.source && ip_sym && ip_sym->source && i.source->file == ip_sym->source->file && context_lines.count(i.source->line))
        where = fmt::format(R"~(<a href="#{}">{}</a>)~", ids_.source_line(ri, i.source->line), where);
      out_ << "<tr class=\"kt-src\"><td></td><td colspan=\"3\">" << where << "</td></tr>\n";
    }
    location = loc;
    std::string cls = i.faulting ? "kt-faulting" : step_of[k] ? "kt-chain" : "";
    std::string marker = i.faulting ? (l.return_address ? "call" : "=&gt;") : "";
    if (step_of[k]) marker = fmt::format("<span class=\"kt-step\">step {}</span>", step_of[k]);
    out_ << fmt::format(R"~(<tr id="{}"{}>)~", ids_.listing_row(ri, n, k), cls.empty() ? "" : " class=\"" + cls + "\"");
    out_ << "<td class=\"kt-marker\"" << (i.faulting ? " title=\"the faulting instruction\"" : "") << ">" << marker << "</td>";
    out_ << "<td class=\"kt-dim\">" << fmt::format("&lt;+{:#x}&gt;", i.offset) << "</td>";
    out_ << "<td class=\"kt-dim\">" << (show_address ? fmt::format("{:x}", i.insn.address) : "") << "</td>";
    out_ << "<td>" << asm_html(i.insn.text, (i.faulting || step_of[k]) ? regs : std::set<std::string>{})
         << html_escape(render::listing_target_text(i)) << "</td></tr>\n";
  }
  out_ << "</table></div>\n";
  if (!context_lines.empty() && ip_sym) {
    out_ << "<h4>Source around " << html_escape(render::source_text(*ip_sym->source)) << "</h4>\n<div class=\"kt-scroll\"><table class=\"kt-listing kt-source\">\n";
    for (const SourceLine& s : ip_sym->source_context) {
      const bool here = s.line == ip_sym->source->line;
      out_ << fmt::format(R"~(<tr id="{}"{}><td class="kt-dim">{}</td><td>{}</td></tr>)~", ids_.source_line(ri, s.line),
                          here ? " class=\"kt-faulting-line\"" : "", s.line, html_escape(s.text))
           << '\n';
    }
    out_ << "</table></div>\n";
  }
  out_ << "</section>\n";
}

void HtmlRenderer::trace(size_t ri) {
  const Report& r = a_.reports[ri];
  if (r.frames.empty()) return;
  const ReportDetails& d = details_of(a_, ri);
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  size_t unreliable = 0;
  for (const Frame& f : r.frames) unreliable += !f.reliable;
  out_ << fmt::format("<section class=\"kt-trace-section\">\n<h3>Call trace <span class=\"kt-dim\">({} frame{}, {} unreliable)</span></h3>\n",
                      r.frames.size(), r.frames.size() == 1 ? "" : "s", unreliable);
  out_ << "<div class=\"kt-scroll\"><table class=\"kt-trace\">\n";
  std::string context;
  for (size_t i = 0; i < r.frames.size(); ++i) {
    const Frame& f = r.frames[i];
    if (!f.context.empty() && f.context != context) {
      out_ << "<tr class=\"kt-src\"><td></td><td colspan=\"3\">&lt;" << html_escape(f.context) << "&gt;</td></tr>\n";
    }
    context = f.context;
    const FrameSymbolization* fs = sym && i < sym->frames.size() ? &sym->frames[i] : nullptr;
    std::string where;
    if (fs && fs->source) {
      where = html_escape(render::source_text(*fs->source));
      if (std::string chain = render::inline_chain_text(fs->inlined); !chain.empty())
        where += " <span class=\"kt-dim\">inlined: " + html_escape(chain) + "</span>";
    } else if (fs && !fs->symbolize_error.empty()) {
      where = "<span class=\"kt-dim\">" + html_escape(fs->symbolize_error) + "</span>";
    }
    out_ << fmt::format(R"~(<tr id="{}-f{}"{}><td>{}</td><td>#{}</td><td>{}</td><td>{}</td></tr>)~", ids_.report(ri), i,
                        f.reliable ? "" : " class=\"kt-unreliable\" title=\"unreliable: printed with '?'\"",
                        f.reliable ? "" : "?", i, html_escape(render::symbol_text(f)), where)
         << '\n';
  }
  out_ << "</table></div>\n</section>\n";
}

void HtmlRenderer::registers(size_t ri) {
  const Report& r = a_.reports[ri];
  if (std::all_of(r.registers.begin(), r.registers.end(), [](const RegisterSet& s) { return s.regs.empty(); })) return;
  const ReportDetails& d = details_of(a_, ri);
  const int width = r.arch == Arch::i386 || r.arch == Arch::arm ? 8 : 16;
  out_ << "<section class=\"kt-registers\">\n<h3>Registers</h3>\n";
  for (size_t s = 0; s < r.registers.size(); ++s) {
    const RegisterSet& set = r.registers[s];
    if (set.regs.empty()) continue;
    const bool classified = d.register_classes && d.register_classes->set == s;
    if (!classified) {
      out_ << fmt::format("<details><summary>register dump at line {}</summary>\n<pre>", set.line);
      for (size_t k = 0; k < set.regs.size(); ++k) {
        out_ << fmt::format("{:>6}: {:0{}x}", html_escape(set.regs[k].name), set.regs[k].value, width)
             << ((k % 3 == 2) ? "\n" : "  ");
      }
      out_ << "</pre></details>\n";
      continue;
    }
    out_ << fmt::format("<p class=\"kt-meta\">The fault's register dump (line {}); each general-purpose value read as a pointer.</p>\n", set.line);
    // The registers the fault explanation names stand out.
    std::set<std::string> named;
    if (d.fault) {
      named.insert(d.fault->bad_register);
      for (const ChainStep& step : d.fault->chain) named.insert(step.register_name);
    }
    out_ << "<div class=\"kt-regs\">\n";
    for (const Register& reg : set.regs) {
      const ClassifiedRegister* c = nullptr;
      for (const ClassifiedRegister& x : d.register_classes->registers) {
        if (x.name == reg.name) c = &x;
      }
      const std::string what = c ? render::register_class_text(*c) : "";
      const std::string cls = what.empty() ? "" : std::string(to_string(c->verdict.kind));
      out_ << fmt::format("<div class=\"kt-reg-row{}\"{}><span class=\"kt-reg-name\">{}</span> <code>{:0{}x}</code> "
                          "<span class=\"kt-reg-class{}\">{}</span></div>\n",
                          named.count(reg.name) ? " kt-named" : "", cls.empty() ? "" : " data-class=\"" + cls + "\"",
                          html_escape(reg.name), reg.value, width, cls.empty() ? "" : " kt-class-" + cls, html_escape(what));
    }
    out_ << "</div>\n";
  }
  out_ << "</section>\n";
}

void HtmlRenderer::code(size_t ri, bool open) {
  const Report& r = a_.reports[ri];
  const ReportDetails& d = details_of(a_, ri);
  if (!d.code) {
    if (!d.code_error.empty()) out_ << "<p class=\"kt-meta\">Code: " << html_escape(d.code_error) << "</p>\n";
    return;
  }
  out_ << fmt::format("<details class=\"kt-code\"{}><summary>Code: bytes decoded ({} instructions)</summary>\n<pre>",
                      open ? " open" : "", d.code->instructions.size());
  for (const Instruction& i : d.code->instructions) {
    std::string line = fmt::format("{} {:#x}: {}", i.faulting ? "=>" : "  ", i.address, i.text);
    out_ << (i.faulting ? "<b class=\"kt-faulting\">" + html_escape(line) + "</b>" : html_escape(line)) << '\n';
  }
  out_ << "</pre>\n";
  if (r.code) out_ << "<p class=\"kt-meta\">As printed: <code>" << html_escape(r.code->text) << "</code></p>\n";
  out_ << "</details>\n";
}

void HtmlRenderer::report(size_t ri) {
  const Report& r = a_.reports[ri];
  const ReportDetails& d = details_of(a_, ri);
  out_ << fmt::format(R"~(<section class="kt-report" id="{}">)~", ids_.report(ri)) << "\n<h2>Report " << ri + 1 << ": "
       << html_escape(report_title(r)) << "</h2>\n";
  facts(ri);
  render::render_stack_figure(r, d, a_.stack_limit, ri + 1, ids_.stack(ri), out_);
  const FunctionListing* ip = render::ip_listing(d);
  if (d.fault) {
    fault(ri, *d.fault, ip);
  } else if (!d.code_error.empty()) {
    out_ << "<p class=\"kt-meta\">Code: " << html_escape(d.code_error) << "</p>\n";
  }
  if (d.code_match) {
    const render::CodeCheckText check = render::code_check_text(*d.code_match);
    out_ << "<p" << (check.alarming ? " class=\"kt-alert\"" : "") << "><strong>Code: check: " << html_escape(check.label)
         << "</strong> \u2014 " << html_escape(check.explanation) << "</p>\n";
  }
  // The faulting function first, then the frames asked for with --disasm.
  size_t n = 0;
  if (ip) listing(ri, n++, *ip, d.fault ? &*d.fault : nullptr);
  trace(ri);
  for (const FunctionListing& l : d.disassembly) {
    if (&l != ip) listing(ri, n++, l, nullptr);
  }
  for (const std::string& e : d.disassembly_errors) out_ << "<p class=\"kt-meta\">disassembly: " << html_escape(e) << "</p>\n";
  registers(ri);
  code(ri, !ip);
  if (!r.anomalies.empty()) {
    out_ << "<ul class=\"kt-notes kt-meta\">\n";
    for (const Anomaly& an : r.anomalies)
      out_ << "<li>line " << an.line << ": " << html_escape(an.message) << "</li>\n";
    out_ << "</ul>\n";
  }
  out_ << "</section>\n";
}

}  // namespace

void render_html(const Analysis& analysis, const HtmlOptions& options, std::ostream& out) {
  HtmlRenderer(analysis, options, out).render();
}

std::string render_html(const Analysis& analysis, const HtmlOptions& options) {
  std::ostringstream out;
  render_html(analysis, options, out);
  return out.str();
}

}  // namespace ktriage

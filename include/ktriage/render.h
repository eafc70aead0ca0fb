// Renderers: one model, many formats. A renderer formats what earlier stages
// computed and never computes anything itself: every number and word it
// shows is in the JSON document too (docs/json.md).
//
//   ktriage::Expected<ktriage::Analysis> a = ktriage::triage("crash.log", reports, options);
//   ktriage::render_text(*a, {.color = true}, std::cout);   // the terminal
//   ktriage::render_json(*a, std::cout);                    // scripts
//   ktriage::render_markdown(*a, std::cout);                // bug trackers, mailing lists
//   ktriage::render_html(*a, {}, std::cout);                // one self-contained page
//
//   // A server's page: one report as a fragment, the stylesheet in its <head>.
//   std::string head = "<style>" + std::string(ktriage::html_stylesheet()) + "</style>";
//   std::string body = ktriage::render_html(*a, {.fragment = true, .inline_style = false, .report = 0});
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/error.h"

namespace ktriage {

struct RenderOptions {
  bool color = false;            // ANSI colour (only when writing to a terminal)
  bool verbose = false;
  size_t width = 0;              // wrap prose to this many columns (a terminal's); 0: do not wrap
};

inline constexpr int kJsonSchemaVersion = 1;

void render_json(const Analysis& analysis, std::ostream& out);
// One report as parsed, before any analysis: the fields of an element of
// render_json's "reports" up to "anomalies", on one line (what ingest stores).
std::string render_parsed_json(const Report& report);
void render_text(const Analysis& analysis, const RenderOptions& options, std::ostream& out);

// The output formats of `analyze --format`.
enum class ReportFormat { text, json, markdown, html };
std::optional<ReportFormat> report_format_from_string(std::string_view name);  // "text", "json", "markdown", "html"

// render_text or render_json of a log analysed in windows (TriageStream),
// byte for byte what they write for the log analysed at once: window()
// renders each window's reports as it comes, into a temporary file;
// finish() writes the document. Memory: the text report's groups of
// identical reports and findings (two 64-bit digests each), not their text.
class ReportStream {
 public:
  static Expected<ReportStream> open(ReportFormat format, const RenderOptions& options,
                                     std::vector<std::string> sources);  // text or json
  ReportStream(ReportStream&&) noexcept;
  ReportStream& operator=(ReportStream&&) noexcept;
  ~ReportStream();

  void window(const Analysis& window, size_t first);  // `first`: the log's index of window.reports[0]
  // `head`: what Analysis says of the log besides its reports, details and
  // findings; `used`, `refused`: Analysis::used_debuginfo(), refused_debuginfo().
  // An error when the temporary file failed.
  Expected<bool> finish(const Analysis& head, size_t reports, const FindingSource& findings,
                        const std::vector<DebugInfoFile>& used, const std::vector<DebugInfoFile>& refused,
                        std::ostream& out);

 private:
  struct State;
  explicit ReportStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// GitHub-flavoured Markdown for issues, Bugzilla/GitLab comments and mail
// (lib/render/markdown.cc): the top finding with its evidence and actions,
// the known bugs with their verdicts, then each report: facts, the faulting
// instruction and its chain, the call trace as a code block, and the long
// parts (registers, listings, the Code: decode) in collapsible <details>.
// Log text is escaped: nothing from the log becomes markup or raw HTML.
void render_markdown(const Analysis& analysis, std::ostream& out);

// HTML (lib/render/html*.cc): inline CSS and SVG, no script, no request to
// anything outside the page (a Content-Security-Policy forbids it), readable
// printed and in dark mode. The finding, evidence and actions first; per
// report a picture of the crashing stack (frames by measured size against
// THREAD_SIZE, the overflow region, thread_info where it sits at the stack
// bottom; without debug info the frames by depth, "size unknown"), the
// faulting function's listing with the faulting instruction, the fault
// chain and its registers marked, the call trace (unreliable frames dimmed),
// registers with their values read as pointers, and the known bugs with
// links to their fixes. Every piece of log text is escaped.
struct HtmlOptions {
  // false: a whole page (<!DOCTYPE html> ... </html>). true: one
  // <div class="ktriage"> to put inside another page's <body>.
  bool fragment = false;
  // For a fragment: put a <style> element inside it. A page that shows
  // several fragments sets this to false and puts html_stylesheet() in its
  // <head> once. A whole page always has its style inline.
  bool inline_style = true;
  // Only this report (an index into Analysis::reports), with the findings
  // that explain it and the known bugs matched on it; nullopt: everything.
  // Out of range: an empty report section saying so.
  std::optional<size_t> report;
  // Prefix of every element id, for several fragments on one page ("b17-").
  std::string id_prefix;
  // The page's <title>; default "ktriage: <source>".
  std::string title;
};
void render_html(const Analysis& analysis, const HtmlOptions& options, std::ostream& out);
std::string render_html(const Analysis& analysis, const HtmlOptions& options = {});

// The CSS the HTML uses, every rule scoped to `.ktriage` (light and dark
// colour schemes, print).
std::string_view html_stylesheet();

// The knowledge base's typed verdicts in words (lib/render/kb_text.cc):
//   kb_verdict_text: "this kernel (2.6.32-431.el6) lacks the fix; upgrade to 2.6.32-520.el6 or later"
//   kb_carried_by_text: the carrier for this kernel's line, or every line's when the kernel is unknown
//   kb_summary_text: the paragraph across the likely matches ("" when there are none)
//   kb_reason_text: "frames bfq_init_rq, bfq_insert_request (2 of the top 8)"
std::string kb_verdict_text(const KbMatch& match, const KbKernel& kernel);
std::string kb_carried_by_text(const KbMatch& match, const KbKernel& kernel);
std::string kb_summary_text(const std::vector<KbMatch>& matches, const KbSummary& summary);
std::string kb_reason_text(const KbReason& reason);

// One knowledge-base entry (`ktriage kb show`, `kb search`), with its
// verdict against `kernel` (lib/render/kb_entry.cc).
struct KbEntry;
std::string kb_entry_line(const KbEntry& entry);   // "CVE-2024-26581  netfilter: ...  [title]"
void render_kb_entry_text(const KbEntry& entry, const KbMatch& verdict, const KbKernel& kernel, std::ostream& out);
std::string render_kb_entry_json(const KbEntry& entry, const KbMatch* verdict, const KbKernel& kernel);

}  // namespace ktriage

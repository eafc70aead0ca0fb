// `analyze --format markdown|html` and `-o FILE` as a user sees them: the
// Markdown rendered by a real GFM renderer (Debian's cmark-gfm, installed by
// scripts/install-deps.sh: the test fails, not skips, without it), log text
// that tries to become markup stays text in both formats, and every format
// reports a write error (a full disk, /dev/full) with exit 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/report_fixture.h"
#include "common/cli_run.h"
#include "common/test_util.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSeed = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";

std::string quote_arg(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// HTML entities back to text, tags dropped: what a reader of the rendered page sees.
std::string visible_text(const std::string& html) {
  std::string text;
  bool tag = false;
  for (char c : html) {
    if (c == '<') tag = true;
    else if (c == '>' && tag) tag = false;
    else if (!tag) text += c;
  }
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&amp;", '&'}};
    bool replaced = false;
    for (const auto& [entity, ch] : kEntities) {
      if (std::string_view(text).substr(i, entity.size()) == entity) {
        out += ch;
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i];
  }
  return out;
}

class ReportFormats : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ScratchDir("ktriage-report-formats");
    std::ofstream(dir_ / "hostile.log") << hostile_log();
  }
  static void TearDownTestSuite() { dir_ = {}; }

  // cmark-gfm's HTML for `markdown`, raw HTML passed through (--unsafe): a
  // tag that got through the escaping would show up as a tag.
  static std::string cmark(const std::string& markdown, const std::string& extensions = "-e table -e strikethrough") {
    if (std::system("cmark-gfm --version > /dev/null 2>&1") != 0) {
      ADD_FAILURE() << "cmark-gfm is not installed (scripts/install-deps.sh installs it)";
      return "";
    }
    const fs::path in = dir_ / "in.md";
    std::ofstream(in, std::ios::binary) << markdown;
    return run_command("cmark-gfm --unsafe " + extensions + " '" + in.string() + "'");
  }

  static inline ScratchDir dir_;
};

TEST_F(ReportFormats, MarkdownOfTheSeedRendersAsGfm) {
  CliResult r = run_ktriage({"analyze", "--format", "markdown", kSeed});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = cmark(r.out, "-e table -e strikethrough -e autolink");
  // The headline first, then the known bugs, then the reports.
  const size_t headline = html.find("<h3>Most likely: kernel stack overflow corrupted thread_info</h3>");
  ASSERT_NE(headline, std::string::npos) << html;
  EXPECT_LT(headline, html.find("<h3>Known bugs that match</h3>"));
  EXPECT_LT(html.find("<h3>Known bugs that match</h3>"), html.find("<h3>Report 1:"));
  EXPECT_THAT(html, HasSubstr("<li>line 2: preempt count 0xffff8811 is pointer-like"));
  EXPECT_THAT(html, HasSubstr("<ol>\n<li>Reduce stack depth"));
  // Header facts as a table, the trace as a code block, long parts folded.
  EXPECT_THAT(html, HasSubstr("<td><code>BUG: scheduling while atomic:qemu-system-x86/27122/0xffff8811</code></td>"));
  EXPECT_THAT(html, HasSubstr("<pre><code class=\"language-text\">? #0  task_rq_lock+0x4d/0xa0\n"));
  EXPECT_THAT(html, HasSubstr("<details><summary>Other findings (3)</summary>"));
  // The fix commit, linked.
  EXPECT_THAT(html, HasSubstr("<a href=\"https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/"
                              "?id=6538b8ea886e472f4431db8ca1d60478f838d14b\"><code>6538b8ea886e</code></a>"));
  // Escaping leaves nothing behind: the seed has no backslash, the rendering neither.
  EXPECT_THAT(visible_text(html), Not(HasSubstr("\\")));
  EXPECT_THAT(visible_text(html), HasSubstr("xlog_state_do_callback"));
}

TEST_F(ReportFormats, MarkdownWithDebugInfoFoldsTheListingAndRegisters) {
  const FixtureKernel k = build_fixture_kernel(dir_ / "kernel");
  ASSERT_EQ(k.error, "");
  CliResult r = run_ktriage({"analyze", "--format", "markdown", "--vmlinux", k.vmlinux, k.log});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = cmark(r.out);
  EXPECT_THAT(html, HasSubstr("<strong>Faulting instruction:</strong> <code>movq 0x18(%" + k.bad_register + "), %" +
                              k.bad_register + "</code> (read)"));
  EXPECT_THAT(html, HasSubstr("<details><summary>Disassembly of sum_ids (the ip"));
  EXPECT_THAT(html, HasSubstr("<details><summary>Registers</summary>"));
  EXPECT_THAT(html, HasSubstr("=&gt; &lt;+0x"));  // the marked instruction in the listing
  EXPECT_THAT(html, HasSubstr("<th>as an expression</th>"));  // the chain as a table
  EXPECT_THAT(html, HasSubstr("NULL"));
}

TEST_F(ReportFormats, LogTextStaysTextInMarkdown) {
  CliResult r = run_ktriage({"analyze", "--format", "markdown", (dir_ / "hostile.log").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string html = cmark(r.out);
  ASSERT_FALSE(html.empty());
  // No tag, link or emphasis came from the log ...
  for (const char* tag : {"<script", "<img", "<b>", "<!--", "<a ", "<em>", "<strong>bold"})
    EXPECT_THAT(html, Not(HasSubstr(tag))) << r.out;
  // ... and the reader sees exactly what the kernel printed.
  EXPECT_THAT(visible_text(html), HasSubstr(kHostilePayload)) << html;
  EXPECT_THAT(visible_text(html), HasSubstr("comm <b>evil</b>"));
}

TEST_F(ReportFormats, LogTextStaysTextInHtml) {
  CliResult r = run_ktriage({"analyze", "--format", "html", (dir_ / "hostile.log").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* tag : {"<script", "<img", "<b>", "<!--", "onerror=\"", "href=\"http://example"})
    EXPECT_THAT(r.out, Not(HasSubstr(tag)));
  EXPECT_THAT(r.out, HasSubstr("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; &quot;&gt;&lt;img src=x"));
  EXPECT_THAT(visible_text(r.out), HasSubstr(kHostilePayload));
  // Nothing may load even if something got through.
  EXPECT_THAT(r.out, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
}

TEST_F(ReportFormats, OutputFileHoldsWhatStandardOutputWould) {
  for (const char* format : {"text", "json", "markdown", "html"}) {
    const fs::path file = dir_ / (std::string("out.") + format);
    CliResult to_file = run_ktriage({"analyze", "--format", format, "-o", file.string(), kSeed});
    CliResult to_stdout = run_ktriage({"analyze", "--format", format, kSeed});
    EXPECT_EQ(to_file.status, 0) << format << ": " << to_file.err;
    EXPECT_EQ(to_file.out, "") << format;
    EXPECT_EQ(read_file(file), to_stdout.out) << format;
  }
  EXPECT_EQ(run_ktriage({"analyze", "--json", kSeed}).out, run_ktriage({"analyze", "--format", "json", kSeed}).out);
  CliResult bad = run_ktriage({"analyze", "--format", "yaml", kSeed});
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.err, HasSubstr("yaml"));
}

// Issue 12, item 9: a write error is exit 2 with one line on stderr, never
// a truncated report and success.
TEST_F(ReportFormats, WriteErrorsAreErrorsInEveryFormat) {
  for (const char* format : {"text", "json", "markdown", "html"}) {
    const fs::path out = dir_ / "full-out";
    const std::string cmd = quote_arg(KTRIAGE_BINARY) + " analyze --format " + format + " " + quote_arg(kSeed) +
                            " > /dev/full 2> " + quote_arg(out.string());
    const int raw = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 2) << format << ": status " << raw;
    EXPECT_THAT(read_file(out), HasSubstr("writing standard output failed")) << format;

    CliResult to_full = run_ktriage({"analyze", "--format", format, "-o", "/dev/full", kSeed});
    EXPECT_EQ(to_full.status, 2) << format;
    EXPECT_THAT(to_full.err, HasSubstr("writing /dev/full failed")) << format;
  }
  CliResult no_dir = run_ktriage({"analyze", "-o", (dir_ / "no/such/dir/report.html").string(), kSeed});
  EXPECT_EQ(no_dir.status, 2);
  EXPECT_THAT(no_dir.err, HasSubstr("cannot write"));
  // Other subcommands too: their output goes through the same check.
  const std::string kb = quote_arg(KTRIAGE_BINARY) + " kb search xfs > /dev/full 2>/dev/null";
  const int raw = std::system(kb.c_str());
  EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 2) << raw;
}

}  // namespace
}  // namespace ktriage::test

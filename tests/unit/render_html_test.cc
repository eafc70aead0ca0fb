// The HTML renderer as a library (what `ktriage serve` calls): a whole page
// or a fragment, one report or all, ids prefixed for several fragments on a
// page, and log text escaped in both. The browser tests (tests/cli/
// report_browser_test.cc) check the rendered page; these check the contract.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Analysis seed() {
  const std::string text = test::read_file(KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log");
  TriageOptions options;
  Expected<Analysis> a = triage("xfs-panic.log", parse_log(text), options);
  EXPECT_TRUE(a) << a.error().message;
  return a ? *a : Analysis{};
}

TEST(RenderHtml, WholePageOrFragment) {
  const Analysis a = seed();
  ASSERT_EQ(a.reports.size(), 2u);
  const std::string page = render_html(a);
  EXPECT_THAT(page, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(page, HasSubstr("<title>ktriage: xfs-panic.log \u2014 kernel stack overflow corrupted thread_info</title>"));
  EXPECT_THAT(page, HasSubstr("default-src 'none'"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));

  const std::string fragment = render_html(a, {.fragment = true});
  EXPECT_THAT(fragment, StartsWith("<div class=\"ktriage\" id=\"ktriage\">"));
  EXPECT_THAT(fragment, Not(HasSubstr("<html")));
  EXPECT_THAT(fragment, HasSubstr("<style>"));
  const std::string bare = render_html(a, {.fragment = true, .inline_style = false, .id_prefix = "b7-"});
  EXPECT_THAT(bare, Not(HasSubstr("<style>")));
  EXPECT_THAT(bare, HasSubstr("id=\"b7-r2\""));
  EXPECT_THAT(bare, HasSubstr("href=\"#b7-r2\""));
  EXPECT_THAT(bare, Not(HasSubstr("id=\"r2\"")));
  // Every rule of the stylesheet is scoped to the fragment's root.
  EXPECT_THAT(std::string(html_stylesheet()), Not(HasSubstr("\nbody")));
}

TEST(RenderHtml, OneReport) {
  const Analysis a = seed();
  const std::string second = render_html(a, {.fragment = true, .report = 1});
  EXPECT_THAT(second, HasSubstr("<section class=\"kt-report\" id=\"r2\">"));
  EXPECT_THAT(second, Not(HasSubstr("id=\"r1\"")));
  EXPECT_THAT(second, HasSubstr("kt-headline"));  // the findings that explain report 2
  EXPECT_THAT(second, HasSubstr("r2-stack"));
  const std::string none = render_html(a, {.fragment = true, .report = 7});
  EXPECT_THAT(none, HasSubstr("No report 8 in this analysis (2 reports)."));
  EXPECT_THAT(none, Not(HasSubstr("class=\"kt-report\"")));
}

TEST(RenderHtml, LogTextIsEscaped) {
  Report r;
  r.kind = CrashKind::panic;
  r.header = "Kernel panic - not syncing: <script>alert('x')</script> \"><img src=x onerror=y>\x1b[31m";
  r.comm = "<b>";
  Frame f;
  f.function = "fn\"><svg onload=z>";
  f.module = "m<i>";
  r.frames = {f};
  Analysis a;
  a.source = "<src>&";
  a.reports = {r};
  a.details.resize(1);
  const std::string page = render_html(a);
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, Not(HasSubstr("<svg onload")));
  EXPECT_THAT(page, Not(HasSubstr("<b>")));
  EXPECT_THAT(page, Not(HasSubstr("\x1b")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=y&gt;\xef\xbf\xbd[31m"));
  EXPECT_THAT(page, HasSubstr("fn&quot;&gt;&lt;svg onload=z&gt; [m&lt;i&gt;]"));
  EXPECT_THAT(page, HasSubstr("&lt;src&gt;&amp;"));
}

}  // namespace
}  // namespace ktriage

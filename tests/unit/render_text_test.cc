// The text report's frame lines, from a symbolization built by hand (the
// debug-info side has its own tests): where an inline chain ends, why a frame
// has no source line said once; a storm of one oops read as one report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"

namespace ktriage {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The text report of one report read with symbolization `s`.
std::string render(const Report& r, const Symbolization& s) {
  Analysis a;
  a.source = "test";
  a.reports.push_back(r);
  ReportDetails d;
  d.symbols = s;
  a.details.push_back(d);
  std::ostringstream out;
  render_text(a, RenderOptions{}, out);
  return out.str();
}

TEST(RenderText, InlineChainEndsAtTheContainingFunctionsLine) {
  Report r;
  r.title = "BUG: corrupted list in zoo_list_corrupt";
  Frame f;
  f.function = "zoo_list_corrupt";
  r.frames.push_back(f);

  FrameSymbolization fs;
  fs.source = SourceLocation{.file = "include/linux/list.h", .line = 169};
  fs.inlined = {{"__list_del_entry", {.file = "include/linux/list.h", .line = 169}},
                {"list_del", {.file = "include/linux/list.h", .line = 181}},
                {"zoo_list_corrupt", {.file = "crashzoo.c", .line = 143}}};
  Symbolization s;
  s.frames.push_back(fs);
  EXPECT_THAT(render(r, s), HasSubstr("inlined: __list_del_entry (include/linux/list.h:169) -> list_del "
                                      "(include/linux/list.h:181) -> zoo_list_corrupt (crashzoo.c:143)"));
}

TEST(RenderText, WhyAFrameHasNoSourceIsSaidOnce) {
  Report r;
  Symbolization s;
  for (const char* name : {"zoo_a", "zoo_b", "zoo_c"}) {
    Frame f;
    f.function = name;
    f.module = "crashzoo";
    r.frames.push_back(f);
    FrameSymbolization fs;
    fs.symbolize_error = "no debug file for module crashzoo";
    s.frames.push_back(fs);
  }
  const std::string text = render(r, s);
  const size_t first = text.find("(no debug file for module crashzoo)");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("(no debug file for module crashzoo)", first + 1), std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("zoo_c [crashzoo]"));
}

// The same oops, a minute apart, `n` times (a machine crashing in a loop,
// one console log).
std::string storm(size_t n) {
  std::string log;
  for (size_t i = 0; i < n; ++i) {
    auto line = [&](std::string_view text) { log += "[" + std::to_string(100 + 60 * i) + ".000001] " + std::string(text) + "\n"; };
    line("BUG: kernel NULL pointer dereference, address: 0000000000000008");
    line("#PF: supervisor read access in kernel mode");
    line("Oops: 0000 [#1] PREEMPT SMP NOPTI");
    line("CPU: 0 PID: 97 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2");
    line("RIP: 0010:zoo_null_deref+0x11/0x20 [crashzoo]");
    line("Call Trace:");
    line(" <TASK>");
    line(" zoo_trigger+0x11/0x20 [crashzoo]");
    line(" vfs_write+0xc8/0x3a0");
    line(" </TASK>");
    line("Modules linked in: crashzoo(OE) crc_itu_t");
  }
  return log;
}

std::string storm_text(size_t n) {
  Expected<Analysis> a = triage("storm.log", parse_log(storm(n)), TriageOptions{.shipped_kb = false});
  EXPECT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->reports.size(), n);
  std::ostringstream out;
  render_text(*a, RenderOptions{}, out);
  return out.str();
}

TEST(RenderText, IdenticalReportsAndFindingsAreShownOnceWithACount) {
  const std::string ten = storm_text(10), hundred = storm_text(100);
  EXPECT_THAT(hundred, HasSubstr("storm.log: 100 crash reports"));
  EXPECT_THAT(hundred, HasSubstr("repeated       \u00d7100 in all: reports 1-100, the same but for their lines (the last: 1090-1100)"));
  EXPECT_THAT(hundred, HasSubstr("  reports: 1-100 (\u00d7100 in all: the same finding for each; evidence of the first)\n"));
  EXPECT_THAT(hundred, Not(HasSubstr("  reports: 1\n")));
  // The text does not grow with the repeats: 10 and 100 read the same.
  auto lines = [](const std::string& t) { return std::count(t.begin(), t.end(), '\n'); };
  EXPECT_EQ(lines(ten), lines(hundred)) << hundred;
  EXPECT_EQ(hundred.find("Report 2:"), std::string::npos);
}

// The same finding about reports that come out of order (findings are
// ranked, not sorted by report): the runs are of the reports' numbers.
TEST(RenderText, RunsOfReportsGivenOutOfOrder) {
  Expected<Analysis> a = triage("storm.log", parse_log(storm(12)), TriageOptions{.shipped_kb = false});
  ASSERT_TRUE(a);
  Finding f;
  f.id = "test.same";
  f.cause = "other";
  f.title = "the same finding";
  auto with = [&](std::vector<std::vector<size_t>> reports) {
    a->findings.clear();
    for (std::vector<size_t>& r : reports) {
      f.reports = std::move(r);
      a->findings.push_back(f);
    }
    std::ostringstream out;
    render_text(*a, RenderOptions{}, out);
    return out.str();
  };
  // 1-based in the text: indices 4, 1, 2-3 are reports 5, 2, 3-4.
  EXPECT_THAT(with({{4}, {1}, {2, 3}}), HasSubstr("reports: 2-5 (\u00d73 in all:"));
  EXPECT_THAT(with({{0}, {2}, {1}}), HasSubstr("reports: 1-3 (\u00d73 in all:"));
  EXPECT_THAT(with({{9}, {5}, {7}, {6}, {5}}), HasSubstr("reports: 6-8, 10 (\u00d75 in all:"));
  EXPECT_THAT(with({{9}, {3}, {6}, {10}, {8}, {0}}), HasSubstr("reports: 1, 4, 7, 9-11 (\u00d76 in all:"));
}

TEST(RenderText, NumberRunsOfRepeatedReports) {
  // Every other report the same: listed as numbers, cut after eight runs.
  std::string log = storm(20);
  Expected<Analysis> a = triage("storm.log", parse_log(log), TriageOptions{.shipped_kb = false});
  ASSERT_TRUE(a);
  for (size_t i = 1; i < a->reports.size(); i += 2) a->reports[i].comm = "other";
  std::ostringstream out;
  render_text(*a, RenderOptions{}, out);
  EXPECT_THAT(out.str(), HasSubstr("\u00d710 in all: reports 1, 3, 5, 7, 9, 11, 13, 15, ... (10 reports)"));
  EXPECT_THAT(out.str(), HasSubstr("\u00d710 in all: reports 2, 4, 6, 8, 10, 12, 14, 16, ... (10 reports)"));

  // A title of its own is another report, whatever else it shares.
  for (Report& r : a->reports) r.comm = "sh";
  a->reports[3].title = "BUG: something else";
  std::ostringstream titled;
  render_text(*a, RenderOptions{}, titled);
  EXPECT_THAT(titled.str(), HasSubstr("\u00d719 in all: reports 1-3, 5-20,"));
  EXPECT_THAT(titled.str(), HasSubstr("Report 4: BUG: something else"));
}

}  // namespace
}  // namespace ktriage

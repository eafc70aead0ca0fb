// The detector table compiles its regexes on first use (LazyRE2): building
// the table and the literal prefilter compiles nothing, a log only compiles
// the patterns its reports need, and first use from several threads at once
// gives the same reports as parsing on one thread.
//
// ctest runs every test in a fresh process, so "not yet compiled" holds at
// the start of each test; the laziness checks come first for direct runs of
// the binary too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ktriage/logparse.h"
#include "logparse/detectors.h"
#include "common/test_util.h"

namespace {

using ktriage::test::read_file;

namespace lp = ktriage::logparse;
using ktriage::Report;

size_t compiled_formats(std::string_view header) {
  size_t n = 0;
  for (const lp::Detector& d : lp::detector_table()) {
    if (d.header != header) continue;
    for (const lp::TitleFormat& f : d.formats) {
      n += f.title.compiled();
      n += f.report && f.report.compiled();
    }
  }
  return n;
}

TEST(LazyPatterns, TableAndPrefilterCompileNothing) {
  const lp::LiteralScanner& scanner = lp::literal_scanner();
  EXPECT_EQ(scanner.find("xx BUG: KASAN: use-after-free in f+0x1/0x2"), 3u);
  for (const lp::Detector& d : lp::detector_table()) {
    for (const lp::LazyRE2& s : d.suppress) EXPECT_FALSE(s.compiled()) << d.header;
    for (const lp::TitleFormat& f : d.formats) {
      EXPECT_FALSE(f.title.compiled()) << f.title.source();
      if (f.report) {
        EXPECT_FALSE(f.report.compiled()) << f.report.source();
      }
    }
  }
}

TEST(LazyPatterns, ALogCompilesOnlyWhatItsReportsNeed) {
  auto reports = ktriage::parse_log(
      "[    2.000000] WARNING: CPU: 0 PID: 1 at net/core/dev.c:100 dev_watchdog+0x254/0x260\n"
      "[    2.000001] Modules linked in: e1000\n"
      "[    2.000002] Call Trace:\n"
      "[    2.000003]  [<ffffffff81000001>] dump_stack+0x1/0x2\n"
      "[    2.000004]  [<ffffffff81000002>] dev_watchdog+0x254/0x260\n"
      "[    2.000005] ---[ end trace 0123456789abcdef ]---\n");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].title, "WARNING in dev_watchdog");
  EXPECT_GT(compiled_formats("WARNING:"), 0u);
  EXPECT_EQ(compiled_formats("BUG:"), 0u);
  EXPECT_EQ(compiled_formats("general protection fault"), 0u);
}

TEST(LazyPatterns, LazyRE2CompilesOnceWithPlaceholders) {
  lp::LazyRE2 absent;
  EXPECT_FALSE(absent);
  lp::LazyRE2 re("at {{FUNC}}");
  EXPECT_TRUE(re);
  EXPECT_FALSE(re.compiled());
  std::string func;
  EXPECT_TRUE(RE2::PartialMatch("called at foo_bar+0x1/0x2", *re, &func));
  EXPECT_EQ(func, "foo_bar");
  EXPECT_TRUE(re.compiled());
  EXPECT_EQ(&re.get(), &*re);
  lp::LazyRE2 bad("(unclosed");  // compile_pattern: a bad pattern never matches
  EXPECT_FALSE(RE2::PartialMatch("(unclosed", *bad));
}

// Everything the table decides, per report.
std::string summary(const std::vector<Report>& reports) {
  std::string out;
  for (const Report& r : reports) {
    out += r.title + "|" + r.type + "|" + r.frame + "|" + r.header + "|" + r.corrupted_reason + "|" +
           std::to_string(static_cast<int>(r.kind)) + "|" + std::to_string(r.frames.size()) + "|" +
           std::to_string(r.span.first_line) + "-" + std::to_string(r.span.last_line);
    for (const std::string& a : r.alt_titles) out += "|" + a;
    out += "\n";
  }
  return out;
}

TEST(LazyPatterns, FirstUseFromManyThreadsGivesTheSameReports) {
  namespace fs = std::filesystem;
  std::vector<std::string> logs;
  const fs::path shared = KTRIAGE_SHARED_DIR;
  for (const char* dir : {"corpus/distro/logs", "seed", "kernel-lab/logs"}) {
    if (!fs::is_directory(shared / dir)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(shared / dir))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) logs.push_back(read_file(f));
  }
  if (logs.empty()) GTEST_SKIP() << "no shared logs under " << shared;

  // Each thread starts on a different log so first uses race.
  constexpr size_t kThreads = 4;
  std::vector<std::vector<std::string>> got(kThreads, std::vector<std::string>(logs.size()));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < logs.size(); ++k) {
        size_t i = (k + t * logs.size() / kThreads) % logs.size();
        got[t][i] = summary(ktriage::parse_log(logs[i]));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < logs.size(); ++i) {
    std::string once = summary(ktriage::parse_log(logs[i]));
    for (size_t t = 0; t < kThreads; ++t) EXPECT_EQ(got[t][i], once) << "log " << i << " thread " << t;
  }
}

}  // namespace

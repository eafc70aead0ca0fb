// A log analysed in windows (TriageStream + ReportStream) reads exactly as
// the same log analysed at once (triage + render_text/render_json): every
// finding, link, kernel fact, known bug and grouped repeat, byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>

#include "common/test_util.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"

namespace ktriage {
namespace {

namespace fs = std::filesystem;
using test::read_file;

struct Rendered {
  std::string text, json;
};

Rendered at_once(const std::vector<Report>& reports, const TriageOptions& options) {
  Expected<Analysis> a = triage("log", reports, options);
  EXPECT_TRUE(a) << (a ? "" : a.error().message);
  if (!a) return {};
  a->sources = {"log"};
  std::ostringstream text, json;
  render_text(*a, {}, text);
  render_json(*a, json);
  return {text.str(), json.str()};
}

Rendered in_windows(const std::vector<Report>& reports, const TriageOptions& options, size_t window) {
  LogFacts facts;
  KbLogKernel kernel{.release = options.kernel_version, .flag = !options.kernel_version.empty()};
  for (const Report& r : reports) {
    facts.add(r);
    kernel.see(r);
  }
  Rendered out;
  for (ReportFormat format : {ReportFormat::text, ReportFormat::json}) {
    Expected<ReportStream> render = ReportStream::open(format, {}, {"log"});
    EXPECT_TRUE(render);
    Expected<TriageStream> stream = TriageStream::open(
        "log", options, facts, kernel, [&](const Analysis& w, size_t first) { render->window(w, first); }, window);
    EXPECT_TRUE(stream);
    if (!render || !stream) return {};
    for (const Report& r : reports) stream->add(r);
    Expected<TriageTotals> totals = stream->finish();
    EXPECT_TRUE(totals);
    if (!totals) return {};
    totals->summary.sources = {"log"};
    std::ostringstream s;
    EXPECT_TRUE(render->finish(totals->summary, totals->reports, *totals->findings, totals->used_debuginfo,
                               totals->refused_debuginfo, s));
    (format == ReportFormat::text ? out.text : out.json) = s.str();
  }
  return out;
}

// The first line where two documents differ, for the failure message.
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string l, m;
  for (size_t n = 1;; ++n) {
    const bool more_x = static_cast<bool>(std::getline(x, l)), more_y = static_cast<bool>(std::getline(y, m));
    if (!more_x && !more_y) return "equal";
    if (l != m || more_x != more_y) return "line " + std::to_string(n) + ":\n  whole:    " + l + "\n  windowed: " + m;
  }
}

void expect_same(const std::vector<Report>& reports, const std::string& what, const TriageOptions& options = {}) {
  const Rendered whole = at_once(reports, options);
  for (size_t window : {1, 5, 256}) {
    const Rendered parts = in_windows(reports, options, window);

    EXPECT_TRUE(whole.text == parts.text) << what << ", windows of " << window << ", text "
                                          << first_difference(whole.text, parts.text);
    EXPECT_TRUE(whole.json == parts.json) << what << ", windows of " << window << ", JSON "
                                          << first_difference(whole.json, parts.json);
  }
}

std::vector<fs::path> files_in(const fs::path& dir, std::string_view ext = "") {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TriageStream, TheFoundingCaseRepeatedReadsAsAtOnce) {
  const std::string seed = read_file(fs::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log");
  ASSERT_FALSE(seed.empty());
  std::string log;
  for (int i = 0; i < 40; ++i) log += seed;
  std::vector<Report> reports = parse_log(log);
  ASSERT_EQ(reports.size(), 80u);
  expect_same(reports, "the seed x40");
  // A release given by the user: every report is judged against it.
  TriageOptions given;
  given.kernel_version = "2.6.32-431.el6.x86_64";
  expect_same(reports, "the seed x40, --kernel-version", given);
}

TEST(TriageStream, EveryExampleAndLabLogReadsAsAtOnce) {
  std::vector<fs::path> logs = files_in(fs::path(KTRIAGE_SOURCE_DIR) / "examples", ".log");
  for (const fs::path& p : files_in(fs::path(KTRIAGE_SHARED_DIR) / "kernel-lab" / "logs", ".log")) logs.push_back(p);
  ASSERT_GE(logs.size(), 3u);
  for (const fs::path& p : logs) expect_same(parse_log(read_file(p)), p.filename().string());
}

// The distro corpus as one log: 2.6 to 5.x kernels on five architectures,
// boots that run different kernels (each boot is reasoned about alone),
// logs without a release (the era from the report format).
TEST(TriageStream, TheDistroCorpusAsOneLogReadsAsAtOnce) {
  const std::vector<fs::path> logs = files_in(fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "distro" / "logs");
  if (logs.empty()) GTEST_SKIP() << "no shared corpus";
  std::string all;
  for (const fs::path& p : logs) {
    expect_same(parse_log(read_file(p)), p.filename().string());
    all += read_file(p) + "\n";
  }
  std::vector<Report> reports = parse_log(all);
  EXPECT_GT(reports.size(), 80u);
  expect_same(reports, "the distro corpus as one log");
}

TEST(TriageStream, TheSyzkallerCorpusAsOneLogReadsAsAtOnce) {
  const std::vector<fs::path> logs = files_in(fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller" / "linux" / "report");
  if (logs.empty()) GTEST_SKIP() << "no shared corpus";
  std::string all;
  for (const fs::path& p : logs) all += read_file(p) + "\n";
  std::vector<Report> reports = parse_log(all);
  EXPECT_GT(reports.size(), 400u);
  expect_same(reports, "the syzkaller corpus as one log");
}

// `ktriage analyze` on a log of more reports than it holds at once analyses
// it in windows, reading it twice (standard input kept in a temporary file
// for the second pass): its document is the one written for the log
// analysed whole.
TEST(TriageStream, TheCommandReadsManyReportsAsTheLibraryReadsThemWhole) {
  test::ScratchDir dir("triage-stream");
  std::string log;
  const std::string seed = read_file(fs::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log");
  for (int i = 0; i < 200; ++i) log += seed;  // 400 reports
  const fs::path path = dir.path() / "many.log";
  std::ofstream(path, std::ios::binary) << log;
  auto run = [&](const std::string& args, const std::string& input) {
    const fs::path out = dir.path() / "out";
    const int status = std::system((std::string(KTRIAGE_BINARY) + " analyze " + args + " '" + input + "' < '" +
                                    path.string() + "' > '" + out.string() + "'")
                                       .c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << args << " " << input;
    return read_file(out);
  };
  for (const std::string& input : {path.string(), std::string("-")}) {
    std::vector<Report> reports = parse_log(log);
    for (Report& r : reports) r.source = input;  // as the command names each report's input
    Expected<Analysis> whole = triage(input, std::move(reports), {});
    ASSERT_TRUE(whole);
    ASSERT_EQ(whole->reports.size(), 400u);
    whole->sources = {input};
    std::ostringstream text, json;
    render_text(*whole, {}, text);
    render_json(*whole, json);
    const std::string cli_text = run("", input), cli_json = run("--json", input);
    EXPECT_TRUE(cli_text == text.str()) << input << ", text " << first_difference(text.str(), cli_text);
    EXPECT_TRUE(cli_json == json.str()) << input << ", JSON " << first_difference(json.str(), cli_json);
  }
}

}  // namespace
}  // namespace ktriage

// The log parser against hostile and damaged input: binary garbage, NUL
// bytes, a 200 MB line without a newline, reports cut off mid-frame,
// 100k-frame traces, pathological lines, and arbitrary chunking.
//
// Whatever the input: no crash, memory bounded by ParseOptions (not by input
// size), reports bounded in size, each test well under a few seconds, and the
// same reports however the bytes are split across feed() calls.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string& founding_case() {
  static const std::string text = read_file(KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log");
  return text;
}

// A modern x86_64 page-fault oops, one frame per line, as dmesg prints it.
std::string modern_oops(std::string_view prefix = "") {
  static const char* const kLines[] = {
      "BUG: kernel NULL pointer dereference, address: 0000000000000008",
      "#PF: supervisor read access in kernel mode",
      "#PF: error_code(0x0000) - not-present page",
      "PGD 0 P4D 0 ",
      "Oops: 0000 [#1] PREEMPT SMP NOPTI",
      "CPU: 3 PID: 1234 Comm: kworker/3:1 Tainted: G           OE     6.1.0-13-amd64 #1  Debian 6.1.55-1",
      "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
      "Workqueue: events foo_work_fn [foo]",
      "RIP: 0010:foo_work_fn+0x1d/0x60 [foo]",
      "Code: 48 8b 47 08 48 85 c0 74 0c 48 8b 40 08 <48> 8b 00 c3 cc cc cc cc 0f 1f 44 00 00",
      "RSP: 0018:ffffb4c6c0a47e68 EFLAGS: 00010246",
      "RAX: 0000000000000000 RBX: ffff9b8d4f5b2c00 RCX: 0000000000000000",
      "Call Trace:",
      " <TASK>",
      " process_one_work+0x1c7/0x380",
      " worker_thread+0x4d/0x380",
      " ? rescuer_thread+0x3a0/0x3a0",
      " kthread+0xe9/0x110",
      " ? kthread_complete_and_exit+0x20/0x20",
      " ret_from_fork+0x22/0x30",
      " </TASK>",
      "Modules linked in: foo(OE) nft_chain_nat nf_nat bridge stp llc",
      "CR2: 0000000000000008",
      "---[ end trace 0000000000000000 ]---",
  };
  std::string out;
  double ts = 812.000001;
  char stamp[32];
  for (const char* line : kLines) {
    std::snprintf(stamp, sizeof stamp, "[%12.6f] ", ts += 0.000013);
    out += prefix;
    out += stamp;
    out += line;
    out += '\n';
  }
  return out;
}

std::string filler(size_t lines, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  char buf[160];
  for (size_t i = 0; i < lines; ++i) {
    std::snprintf(buf, sizeof buf, "[%6u.%06u] e1000e 0000:00:19.0 eth0: NIC Link is Up %u Mbps Full Duplex\n",
                  static_cast<unsigned>(i), static_cast<unsigned>(rng() % 1000000), 10u << (rng() % 3));
    out += buf;
  }
  return out;
}

// Offset of the start of the first line containing `needle`.
size_t line_start(const std::string& text, std::string_view needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  size_t nl = text.rfind('\n', at);
  return nl == std::string::npos ? 0 : nl + 1;
}

// A report never holds more than the options allow, whatever the input.
void expect_bounded(const std::vector<Report>& reports, const ParseOptions& o, size_t input_size) {
  for (const Report& r : reports) {
    EXPECT_LE(r.header.size(), o.max_line_bytes);
    EXPECT_LE(r.frames.size(), o.max_frames);
    EXPECT_LE(r.span.begin, r.span.end);
    EXPECT_LE(r.span.end, input_size);
    EXPECT_LE(r.span.first_line, r.span.last_line);
    EXPECT_LE(r.span.last_line - r.span.first_line + 1, o.max_report_lines);
    EXPECT_LE(r.registers.size(), o.max_report_lines);
    EXPECT_LE(r.modules.size(), o.max_report_lines * 64);
    EXPECT_LE(r.anomalies.size(), o.max_report_lines + o.max_frames + 16);
    for (const Frame& f : r.frames) EXPECT_LE(f.function.size(), o.max_line_bytes);
    if (r.code) {
      EXPECT_LE(r.code->text.size(), o.max_line_bytes);
    }
    for (const Anomaly& a : r.anomalies) EXPECT_LE(a.message.size(), o.max_line_bytes + 256);
  }
}

// Every field of every report, via the JSON renderer, so "same reports" means same everything.
std::string render(std::vector<Report> reports) {
  Analysis a;
  a.reports = std::move(reports);
  std::ostringstream out;
  render_json(a, out);
  return out.str();
}

std::vector<Report> feed_in_chunks(std::string_view text, const std::vector<size_t>& sizes,
                                   const ParseOptions& o = {}) {
  std::vector<Report> reports;
  LogParser parser(o, [&](Report&& r) { reports.push_back(std::move(r)); });
  size_t i = 0;
  while (!text.empty()) {
    size_t n = std::min(sizes[i++ % sizes.size()], text.size());
    parser.feed(text.substr(0, n));
    text.remove_prefix(n);
  }
  parser.finish();
  return reports;
}

// Resident set size now, from /proc/self/status (0 when unavailable).
size_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

TEST(HostileInput, BinaryGarbageDoesNotCrashAndStaysBounded) {
  std::mt19937_64 rng(20261125);
  std::string garbage(8 << 20, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  Stopwatch clock;
  ParseOptions o;
  expect_bounded(parse_log(garbage, o), o, garbage.size());

  // Garbage with report vocabulary sprinkled in, so detectors fire on it.
  static const char* const kBait[] = {"\nBUG: unable to handle kernel paging request at ",
                                      "\nCall Trace:\n", "\n [<ffffffff81058e5d>] ? ", "+0x4d/0xa8 [",
                                      "\nRIP: 0010:", "\nCode: 48 8b <", "\nKernel panic - not syncing: ",
                                      "\nWARNING: CPU: 1 PID: 1 at ", "\n------------[ cut here ]------------\n",
                                      "\nModules linked in: ", "\nRAX: ", "\n<IRQ>\n"};
  for (size_t at = 0; at < garbage.size(); at += 997) {
    std::string_view bait = kBait[rng() % std::size(kBait)];
    garbage.replace(at, std::min(bait.size(), garbage.size() - at), bait);
  }
  std::vector<Report> reports = parse_log(garbage, o);
  expect_bounded(reports, o, garbage.size());
  EXPECT_LT(clock.seconds(), 10.0);
}

// Random bytes are not a crash, even where they hold a header's words: a
// header is a printable console line (issue 13).
TEST(HostileInput, RandomBytesAroundAHeaderAreNoReport) {
  std::mt19937_64 rng(20261203);
  auto junk = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng());
      if (c == '\n') c = 'x';
    }
    return s;
  };
  std::string garbage;
  for (int i = 0; i < 2000; ++i)
    garbage += junk(60) + (i % 2 ? "BUG: unable to handle kernel paging request at " : "Call Trace:") + junk(60) + "\n";
  EXPECT_TRUE(parse_log(garbage).empty());
  // The same header as text is one.
  EXPECT_EQ(parse_log("BUG: unable to handle kernel paging request at 0000000000000008\n").size(), 1u);
}

TEST(HostileInput, TwoHundredMegabyteLineWithoutNewlineKeepsMemoryBounded) {
  const std::string chunk(1 << 20, 'A');
  ParseOptions o;
  std::vector<Report> reports;
  LogParser parser(o, [&](Report&& r) { reports.push_back(std::move(r)); });
  const size_t baseline = rss_bytes();
  size_t peak = baseline;
  Stopwatch clock;
  parser.feed("BUG: unable to handle kernel paging request at ");  // the giant line is a report header
  for (int i = 0; i < 200; ++i) {
    parser.feed(chunk);
    if (i % 8 == 0) peak = std::max(peak, rss_bytes());
  }
  parser.feed("\n");
  parser.feed(modern_oops());
  parser.finish();
  peak = std::max(peak, rss_bytes());
  EXPECT_LT(clock.seconds(), 10.0);
  if (baseline != 0) {
    EXPECT_LT(peak - baseline, size_t{64} << 20) << "parser buffered the long line";
  }
  expect_bounded(reports, o, size_t{201} << 20);
  // The report after the giant line is still found, whole.
  bool found = false;
  for (const Report& r : reports) found |= r.header.find("NULL pointer dereference") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(HostileInput, LongLineInsideAReportIsCutNotKept) {
  std::string text = modern_oops();
  std::string long_line = "[  812.000100] Modules linked in: " + std::string(4 << 20, 'm') + "\n";
  text.insert(line_start(text, "CR2:"), long_line);  // before the report's last lines
  ParseOptions o;
  std::vector<Report> reports = parse_log(text, o);
  ASSERT_FALSE(reports.empty());
  expect_bounded(reports, o, text.size());
  size_t total = 0;
  for (const std::string& m : reports.front().modules) total += m.size();
  EXPECT_LE(total, o.max_line_bytes);
}

TEST(HostileInput, NulBytesDoNotHideOrInventReports) {
  ParseOptions o;
  // pstore and serial captures carry zero-filled regions between records.
  std::string zeros(16 << 20, '\0');
  Stopwatch clock;
  std::vector<Report> none = parse_log(zeros, o);
  EXPECT_TRUE(none.empty());
  EXPECT_LT(clock.seconds(), 5.0);

  const std::string clean = filler(50, 1) + modern_oops() + filler(50, 2);
  const std::vector<Report> expected = parse_log(clean, o);
  ASSERT_FALSE(expected.empty());

  std::string padded = std::string(1 << 20, '\0') + "\n" + clean + std::string(4096, '\0');
  std::vector<Report> reports = parse_log(padded, o);
  expect_bounded(reports, o, padded.size());
  ASSERT_EQ(reports.size(), expected.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].header, expected[i].header);
    EXPECT_EQ(reports[i].kind, expected[i].kind);
    EXPECT_EQ(reports[i].frames.size(), expected[i].frames.size());
  }

  // NULs inside the report's lines: no crash, still bounded, still one report per header.
  std::string sprinkled = clean;
  for (size_t at = 7; at < sprinkled.size(); at += 61) sprinkled[at] = '\0';
  expect_bounded(parse_log(sprinkled, o), o, sprinkled.size());
}

// A report whose last frame line is cut off (EOF, or the machine rebooted
// mid-print) is truncated: docs/json.md says `corrupted` covers that.
std::string cut_mid_frame() {
  const std::string oops = modern_oops();
  const size_t cut = oops.find("worker_thread+0x4d/") + std::string_view("worker_thread+0x4").size();
  return filler(20, 3) + oops.substr(0, cut);
}

TEST(HostileInput, ReportCutOffMidFrameAtEndOfInputIsFlaggedCorrupted) {
  std::vector<Report> reports = parse_log(cut_mid_frame());  // EOF in the middle of a frame
  ASSERT_FALSE(reports.empty());
  const Report& r = reports.back();
  EXPECT_THAT(r.header, HasSubstr("NULL pointer dereference"));
  EXPECT_TRUE(r.corrupted) << "a trace cut mid-frame must be flagged";
  EXPECT_FALSE(r.corrupted_reason.empty());
}

TEST(HostileInput, ReportCutOffMidFrameByARebootIsFlaggedCorrupted) {
  std::string text = cut_mid_frame() + "\n[    0.000000] Linux version 6.1.0-13-amd64\n" + filler(20, 4);
  std::vector<Report> reports = parse_log(text);
  bool flagged = false;
  for (const Report& r : reports) {
    if (r.header.find("NULL pointer dereference") == std::string::npos) continue;
    flagged |= r.corrupted;
    // The cut frame's size was never printed; it must not be invented.
    for (const Frame& f : r.frames) EXPECT_FALSE(f.function == "worker_thread" && f.size.has_value());
  }
  EXPECT_TRUE(flagged);
}

// Frames and lines past the options are dropped, never buffered, and say so.
TEST(HostileInput, HundredThousandFrameTraceIsCappedAndFlagged) {
  std::string text = modern_oops();
  std::string frames;
  frames.reserve(100000 * 48);
  char buf[96];
  for (int i = 0; i < 100000; ++i) {
    std::snprintf(buf, sizeof buf, "[  812.%06d]  recurse_fn_%d+0x%x/0x200\n", i % 1000000, i % 7, 16 + i % 200);
    frames += buf;
  }
  text.insert(line_start(text, "kthread_complete_and_exit"), frames);  // inside the Call Trace
  Stopwatch clock;

  ParseOptions o;
  std::vector<Report> reports = parse_log(text, o);
  ASSERT_FALSE(reports.empty());
  expect_bounded(reports, o, text.size());
  EXPECT_TRUE(reports.front().corrupted) << "longer than max_report_lines must be closed corrupted";

  // With room for all lines, frames are still capped at max_frames and the rest counted.
  ParseOptions roomy;
  roomy.max_report_lines = 200000;
  reports = parse_log(text, roomy);
  ASSERT_FALSE(reports.empty());
  expect_bounded(reports, roomy, text.size());
  EXPECT_EQ(reports.front().frames.size(), roomy.max_frames);
  EXPECT_FALSE(reports.front().anomalies.empty()) << "dropped frames must be recorded";
  EXPECT_LT(clock.seconds(), 10.0);
}

TEST(HostileInput, PathologicalLinesParseInLinearTime) {
  // Lines that tempt backtracking regexes: endless brackets, offsets, hex.
  std::string text = modern_oops();
  std::string evil;
  for (int i = 0; i < 2000; ++i) {
    evil += "[  812.000100]  [<" + std::string(3000, 'f') + "+0x" + std::string(3000, '1') + "/0x" +
            std::string(3000, 'a') + "\n";
  }
  for (int i = 0; i < 2000; ++i) evil += " ? " + std::string(4000, '(') + std::string(4000, '[') + "\n";
  text.insert(line_start(text, "kthread_complete_and_exit"), evil);
  Stopwatch clock;
  ParseOptions o;
  o.max_report_lines = 10000;
  expect_bounded(parse_log(text, o), o, text.size());
  EXPECT_LT(clock.seconds(), 5.0);
}

TEST(HostileInput, EveryLineAHeaderStaysBoundedPerReport) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "BUG: scheduling while atomic: swapper/0/0/0x00000100\n";
  Stopwatch clock;
  size_t count = 0;
  ParseOptions o;
  LogParser parser(o, [&](Report&& r) {
    ++count;
    EXPECT_LE(r.span.last_line - r.span.first_line + 1, o.max_report_lines);
  });
  parser.feed(text);
  parser.finish();
  EXPECT_GT(count, 0u);
  EXPECT_LT(clock.seconds(), 10.0);
}

// Reports of several shapes behind several console prefixes, plus the founding case.
std::string synthetic_input() {
  std::string text = founding_case();
  text += filler(30, 5) + modern_oops() + filler(10, 6);
  text += modern_oops("<4>") + modern_oops("Nov 25 12:00:01 host kernel: ");
  text += modern_oops().substr(0, 900);  // a cut-off report
  text += "\r\n" + modern_oops() + std::string("\0\0\0", 3) + filler(5, 7);
  return text;
}

// The shared corpus's console logs (distro logs, syzkaller cases), "" when absent.
std::string corpus_input() {
  std::string text;
  const fs::path corpus = fs::path(KTRIAGE_SHARED_DIR) / "corpus";
  for (const char* sub : {"distro/logs", "syzkaller/linux/report"}) {
    if (!fs::is_directory(corpus / sub)) continue;
    std::vector<fs::path> logs;
    for (const auto& e : fs::directory_iterator(corpus / sub)) logs.push_back(e.path());
    std::sort(logs.begin(), logs.end());
    for (const fs::path& p : logs) {
      std::string log = read_file(p);
      // syzkaller cases: `KEY: value` lines, an empty line, then the console log.
      if (std::string_view(sub).starts_with("syzkaller")) {
        size_t blank = log.starts_with('\n') ? 0 : log.find("\n\n");
        if (blank != std::string::npos) log.erase(0, log.starts_with('\n') ? 1 : blank + 2);
      }
      text += log + "\n";
    }
  }
  return text;
}

TEST(HostileInput, RandomChunkingGivesTheSameReportsAsOneFeed) {
  const std::string text = synthetic_input();
  ParseOptions o;
  const std::vector<Report> whole = parse_log(text, o);
  ASSERT_FALSE(whole.empty());
  expect_bounded(whole, o, text.size());
  const std::string expected = render(whole);

  // One byte at a time, and boundaries falling everywhere.
  EXPECT_EQ(render(feed_in_chunks(text, {1}, o)), expected) << "1-byte feeds";
  EXPECT_EQ(render(feed_in_chunks(text, {2, 3, 5, 7, 11, 13, 4096, 1}, o)), expected);
  std::mt19937 rng(7);
  for (int round = 0; round < 8; ++round) {
    std::vector<size_t> sizes(64);
    for (size_t& s : sizes) s = 1 + rng() % (round < 4 ? 97 : 7000);
    EXPECT_EQ(render(feed_in_chunks(text, sizes, o)), expected) << "random chunk sizes, round " << round;
  }
  // Empty feeds change nothing.
  std::vector<Report> with_empty;
  {
    LogParser parser(o, [&](Report&& r) { with_empty.push_back(std::move(r)); });
    for (char c : text) {
      parser.feed({});
      parser.feed(std::string_view(&c, 1));
    }
    parser.finish();
  }
  EXPECT_EQ(render(std::move(with_empty)), expected);
}

TEST(HostileInput, RandomChunkingOfTheSharedCorpusGivesTheSameReports) {
  const std::string text = corpus_input();
  if (text.empty()) GTEST_SKIP() << "shared corpus not found at " << KTRIAGE_SHARED_DIR;
  ParseOptions o;
  const std::vector<Report> whole = parse_log(text, o);
  ASSERT_FALSE(whole.empty());
  expect_bounded(whole, o, text.size());
  const std::string expected = render(whole);
  std::mt19937 rng(11);
  std::vector<size_t> sizes(256);
  for (size_t& s : sizes) s = 1 + rng() % 300;
  EXPECT_EQ(render(feed_in_chunks(text, sizes, o)), expected);
}

// parser_fuzz found it: whether lines end in '\r' alone was decided on the
// first chunk, so a CRLF log whose first chunk ended at a '\r' was read as
// CR-only and every "\r\n" counted as two line ends.
TEST(HostileInput, ChunkingDoesNotChangeHowLinesEnd) {
  const std::string text =
      "[    3.547908] BUG: kernel NULL pointer dereference, address: 0000000000000018\r\n"
      "[    3.549069] CPU: 0 PID: 96 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1\r\n"
      "[    3.549595] Call Trace:\r\n"
      "[    3.549595]  <TASK>\r\n"
      "[    3.549595]  zoo_nullderef+0x1c/0x30 [crashzoo]\r\n"
      "[    3.549595]  </TASK>\r\n";
  const std::string expected = render(parse_log(text));
  ASSERT_NE(expected.find("\"last_line\": 6"), std::string::npos) << expected;
  const size_t cr = text.find('\r');
  EXPECT_EQ(render(feed_in_chunks(text, {cr + 1, 4096})), expected) << "first chunk ends at the \\r";
  EXPECT_EQ(render(feed_in_chunks(text, {1})), expected) << "1-byte feeds";
  // A log with '\r' alone still is one.
  std::string cr_only = text;
  cr_only.erase(std::remove(cr_only.begin(), cr_only.end(), '\n'), cr_only.end());
  const std::string cr_expected = render(parse_log(cr_only));
  EXPECT_NE(cr_expected.find("\"last_line\": 6"), std::string::npos);
  EXPECT_EQ(render(feed_in_chunks(cr_only, {5})), cr_expected);
}

TEST(HostileInput, SinkAndTakeReportsAgree) {
  const std::string text = synthetic_input();
  LogParser collecting;
  collecting.feed(text);
  collecting.finish();
  std::vector<Report> taken = collecting.take_reports();
  std::vector<Report> sunk = feed_in_chunks(text, {text.size()});
  EXPECT_EQ(render(std::move(taken)), render(std::move(sunk)));
}

}  // namespace
}  // namespace ktriage

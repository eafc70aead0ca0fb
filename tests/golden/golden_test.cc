// Golden files for whole reports: each input log is parsed (ktriage::parse_log)
// and its reports rendered as the CLI's JSON (render_json, reports only: no
// symbolization, findings or known bugs), then compared line by line with
// tests/golden/data/<name>.json.
//
// Inputs: the founding case (examples/xfs-panic.log and, when shared/ is
// present, the full article shared/seed/xfs-stack-overflow-article.zh.txt),
// plus every tests/golden/data/<name>.log, plus crash quotes of CVE records
// (tests/cve/data, MITRE's notice beside them) that show a form of real input:
// decode_stacktrace.sh frames, elisions, pasted fragments, symbolized traces.
//
// tests/golden/data/prefix-*.log are the kernel lab's nullderef crash
// (shared/kernel-lab/logs/nullderef.log, lines 1 and 359-420) as each tool
// prints it: dmesg -x, dmesg -H, journalctl -o short-full and short-unix,
// syslog without a host name, a bare "kernel: " tag with a byte order mark
// and CR line ends, an e-mail quote of an indented paste. two-boots.log is
// the founding case under its RHEL 6 banner, then a Debian 6.1 boot with the
// same nullderef crash. syz-* are cases of syzkaller's test corpus, read from
// ../shared when present (skipped when not), each showing a report boundary.
//
// Prefixes.EveryToolsPrefixReadsToTheSameReports puts each tool's line prefix
// (issue 11) before every line of two real reports and expects the same
// reports as from the plain text.
//
// KTRIAGE_UPDATE_GOLDEN=1 rewrites the expected files instead of comparing;
// review the diff by eye before committing it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "common/test_util.h"

namespace fs = std::filesystem;

namespace ktriage {
namespace {

using ktriage::test::read_file;

const fs::path kData = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "golden" / "data";

bool update_mode() {
  const char* v = std::getenv("KTRIAGE_UPDATE_GOLDEN");
  return v && *v && std::string_view(v) != "0";
}

struct Case {
  std::string name;
  fs::path input;
  bool syzkaller_case = false;  // a syzkaller test file: its "TITLE: ..." head ends at the first blank line
};

std::vector<Case> cases() {
  std::vector<Case> out{
      {"xfs-panic", fs::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log"},
      {"xfs-stack-overflow-article", fs::path(KTRIAGE_SHARED_DIR) / "seed" / "xfs-stack-overflow-article.zh.txt"},
  };
  std::vector<Case> local;
  if (fs::is_directory(kData)) {
    for (const auto& e : fs::directory_iterator(kData))
      if (e.path().extension() == ".log") local.push_back({e.path().stem().string(), e.path()});
  }
  std::sort(local.begin(), local.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  out.insert(out.end(), local.begin(), local.end());
  const fs::path cve = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "cve" / "data";
  for (const auto& [name, record] : {
           std::pair{"cve-decode-stacktrace-elided", "CVE-2023-53216"},  // "f (file.c:107)", "[...]", indented
           std::pair{"cve-elisions-unindented", "CVE-2021-47273"},       // "..." between header, pc and frames
           std::pair{"cve-fragment-rip", "CVE-2021-47014"},              // starts at KASAN's note and RIP:
           std::pair{"cve-fragment-symbolized", "CVE-2021-47397"},       // starts at RIP:, file:line and [inline]
           std::pair{"cve-fragment-call-trace", "CVE-2021-47479"},       // starts at Call Trace:
           std::pair{"cve-arm-from-frames", "CVE-2025-21821"},           // ARM 6.x "f from g+0x1/0x2", no addresses
           std::pair{"cve-ppc64-hard-lockup", "CVE-2024-46797"},         // "watchdog: CPU 15 Hard LOCKUP", bare frames
           std::pair{"cve-s390-pointer-dereference", "CVE-2023-53599"},  // s390's page-fault oops
           std::pair{"cve-comm-with-space", "CVE-2022-48876"},           // "Comm: mt76-usb-rx phy Tainted: ..."
           std::pair{"cve-hung-task-two-tasks", "CVE-2024-53052"},       // another task's dump, then the hung task's
           std::pair{"cve-mail-wrapped", "CVE-2022-49696"},              // lines wrapped at 72 columns: "f+0x1/0x2\nmm/x.c:1"
       })
    out.push_back({name, cve / (std::string(record) + ".txt")});
  // syzkaller's test cases, read from the shared corpus when it is there.
  const fs::path syz = fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller" / "linux";
  for (const auto& [name, file] : {
           std::pair{"syz-arm64-bug-internal-error", "decompile/arm64/0.in"},  // "Internal error: Oops - BUG" continues
           std::pair{"syz-panic-on-warn-lent-trace", "report/158"},    // refcount, WARNING, panic: one trace for all
           std::pair{"syz-dentry-warning-lent-trace", "report/624"},   // "BUG: Dentry still in use", then its WARN
           std::pair{"syz-arm64-unwind-sources", "report/1000"},       // arm64 6.14+ frames "f+0x1/0x2 (T)"
           std::pair{"syz-unprefixed-line-inside", "report/726"},      // "SYZFAIL:" among [T8978] lines
           std::pair{"syz-arm64-kasan-note", "report/734"},            // KASAN's note after arm64's fault line
       })
    out.push_back({name, syz / file, std::string_view(file).starts_with("report/")});
  return out;
}

std::vector<Report> parse(const fs::path& input) { return parse_log(read_file(input)); }

std::vector<Report> parse_case(const Case& c) {
  std::string text = read_file(c.input);
  if (c.syzkaller_case) {
    size_t head = text.find("\n\n");
    text.erase(0, head == std::string::npos ? 0 : head + 2);
  }
  return parse_log(text);
}

// The reports as `ktriage analyze --json` prints them, pretty-printed so that
// a difference shows as a line.
std::string golden_json(const std::string& name, std::vector<Report> reports) {
  Analysis a;
  a.source = name;
  a.reports = std::move(reports);
  std::ostringstream s;
  render_json(a, s);
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(s.str());
  nlohmann::ordered_json doc;
  doc["source"] = j["source"];
  doc["reports"] = j["reports"];
  return doc.dump(2) + "\n";
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The differing middle part (after the common prefix, before the common
// suffix), for the failure message.
std::string first_differences(const std::string& want, const std::string& got) {
  std::vector<std::string> a = split_lines(want), b = split_lines(got);
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
  std::string out = "at line " + std::to_string(pre + 1) + ":\n";
  auto show = [&](const std::vector<std::string>& v, char sign) {
    size_t end = v.size() - suf;
    for (size_t i = pre; i < end && i < pre + 20; ++i) out += std::string(1, sign) + v[i] + "\n";
    if (end > pre + 20) out += std::string(1, sign) + " ... " + std::to_string(end - pre - 20) + " more\n";
  };
  show(a, '-');
  show(b, '+');
  return out;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Golden : public testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesExpectedJson) {
  const Case& c = GetParam();
  if (!fs::exists(c.input)) GTEST_SKIP() << c.input << " not found";
  std::string got = golden_json(c.name, parse_case(c));
  fs::path expected = kData / (c.name + ".json");
  if (update_mode()) {
    fs::create_directories(kData);
    std::ofstream(expected, std::ios::binary) << got;
    GTEST_SKIP() << "rewrote " << expected;
  }
  ASSERT_TRUE(fs::exists(expected)) << expected << " missing; run with KTRIAGE_UPDATE_GOLDEN=1 to create it";
  std::string want = read_file(expected);
  EXPECT_TRUE(want == got) << c.name << " differs from " << expected << "\n"
                           << first_differences(want, got)
                           << "(KTRIAGE_UPDATE_GOLDEN=1 rewrites the expected file)";
}

INSTANTIATE_TEST_SUITE_P(All, Golden, testing::ValuesIn(cases()), [](const testing::TestParamInfo<Case>& i) {
  std::string n;
  for (char ch : i.param.name) n.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  return n;
});

// What the founding case must show, whatever else the golden file holds.
void expect_seed(const std::vector<Report>& reports) {
  ASSERT_EQ(reports.size(), 2u);
  const Report& atomic = reports[0];
  EXPECT_EQ(atomic.kind, CrashKind::scheduling_while_atomic);
  EXPECT_EQ(atomic.preempt_count, 0xffff8811u);
  EXPECT_EQ(atomic.comm, "qemu-system-x86");
  EXPECT_EQ(atomic.pid, 27122u);

  const Report& oops = reports[1];
  EXPECT_EQ(oops.kind, CrashKind::oops_paging);
  EXPECT_EQ(oops.fault_address, 0xdd7ed3a8u);
  EXPECT_EQ(oops.oops_code, "0000 [#1] SMP");
  EXPECT_EQ(oops.oops_number, 1u);
  ASSERT_TRUE(oops.ip);
  EXPECT_EQ(oops.ip->function, "task_rq_lock");
  EXPECT_EQ(oops.ip->offset, 0x4du);
  EXPECT_EQ(oops.arch, Arch::x86_64);
  ASSERT_EQ(oops.frames.size(), 16u);
  size_t xfs = 0;
  for (const Frame& f : oops.frames) {
    EXPECT_FALSE(f.reliable) << f.function;
    bool in_xfs = f.function.starts_with("xfs_") || f.function.starts_with("xlog_");
    EXPECT_EQ(f.module, in_xfs ? "xfs" : "") << f.function;
    xfs += in_xfs;
  }
  EXPECT_EQ(xfs, 9u);
  EXPECT_EQ(oops.frames.front().function, "task_rq_lock");
  EXPECT_EQ(oops.frames[10].function, "xlog_cli_committed");
  EXPECT_EQ(oops.frames[10].offset, 0x3du);  // printed "+0x0x3d"
  EXPECT_EQ(oops.frames.back().function, "xfs_buf_iodone_work");
  bool digits = false, doubled = false;
  for (const Anomaly& a : oops.anomalies) {
    digits |= a.message.find("15 hex digits") != std::string::npos;
    doubled |= a.message.find("doubled 0x") != std::string::npos;
  }
  EXPECT_TRUE(digits);
  EXPECT_TRUE(doubled);
}

// Every console prefix reads to the same report as the plain console log.
TEST(GoldenPrefixes, EveryPrefixReadsLikeThePlainLog) {
  std::vector<Report> plain = parse(kData / "prefix-dmesg-x.log");
  ASSERT_EQ(plain.size(), 2u);
  const Report& want = plain[0];
  EXPECT_EQ(want.kernel_release, "6.1.0-56-cloud-amd64");
  ASSERT_EQ(want.frames.size(), 13u);
  EXPECT_EQ(want.frames[0].function, "zoo_nullderef");
  for (const char* name : {"prefix-dmesg-H", "prefix-journal-short-full", "prefix-journal-short-unix",
                           "prefix-syslog-no-host", "prefix-kernel-tag-bom-cr", "prefix-mail-quote"}) {
    SCOPED_TRACE(name);
    std::vector<Report> got = parse(kData / (std::string(name) + ".log"));
    ASSERT_EQ(got.size(), 2u);
    const Report& r = got[0];
    EXPECT_EQ(r.title, want.title);
    EXPECT_EQ(r.kernel_release, want.kernel_release);
    EXPECT_EQ(r.arch, want.arch);
    EXPECT_EQ(r.registers.size(), want.registers.size());
    ASSERT_TRUE(r.code);
    EXPECT_EQ(r.code->bytes, want.code->bytes);
    ASSERT_EQ(r.frames.size(), want.frames.size());
    for (size_t i = 0; i < r.frames.size(); ++i) EXPECT_EQ(r.frames[i].function, want.frames[i].function);
  }
}

// Two boots in one log: each report takes the release of its own boot, and
// a boot's panic footer ("Kernel Offset:") is its own.
TEST(GoldenBoots, EachReportTakesItsOwnBootsRelease) {
  std::vector<Report> reports = parse(kData / "two-boots.log");
  ASSERT_EQ(reports.size(), 4u);
  for (size_t i : {0u, 1u}) {
    EXPECT_EQ(reports[i].boot, 0u);
    EXPECT_EQ(reports[i].kernel_release, "2.6.32-431.el6.x86_64");
    EXPECT_FALSE(reports[i].kernel_offset);
  }
  for (size_t i : {2u, 3u}) {
    EXPECT_EQ(reports[i].boot, 1u);
    EXPECT_EQ(reports[i].kernel_release, "6.1.0-56-cloud-amd64");
    EXPECT_EQ(reports[i].kernel_offset, 0);  // "Kernel Offset: disabled"
  }
}

TEST(GoldenSeed, ExcerptShowsTheFoundingCase) {
  fs::path p = fs::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log";
  if (!fs::exists(p)) GTEST_SKIP() << p << " not found";
  expect_seed(parse(p));
}

TEST(GoldenSeed, ArticleShowsTheFoundingCase) {
  fs::path p = fs::path(KTRIAGE_SHARED_DIR) / "seed" / "xfs-stack-overflow-article.zh.txt";
  if (!fs::exists(p)) GTEST_SKIP() << p << " not found";
  expect_seed(parse(p));
}

// --- one report behind every tool's line prefix -------------------------------

// What a report is, without where it sits (spans, line numbers, timestamps):
// the same for the same kernel text behind any prefix.
std::string essence(const std::vector<Report>& reports) {
  nlohmann::json out = nlohmann::json::array();
  for (const Report& r : reports) {
    nlohmann::json j = {{"title", r.title},          {"kind", std::string(to_string(r.kind))},
                        {"arch", std::string(to_string(r.arch))}, {"release", r.kernel_release},
                        {"comm", r.comm},            {"pid", r.pid.value_or(0)},
                        {"taint", r.taint.flags},    {"modules", r.modules},
                        {"code", r.code ? r.code->text : ""}, {"corrupted", r.corrupted_reason}};
    for (const Frame& f : r.frames) j["frames"].push_back(f.function + (f.reliable ? "" : "?"));
    for (const RegisterSet& set : r.registers)
      for (const Register& reg : set.regs) j["registers"].push_back(reg.name + "=" + std::to_string(reg.value));
    out.push_back(std::move(j));
  }
  return out.dump(1);
}

std::string fmt_width(size_t v, size_t width) {
  std::string d = std::to_string(v);
  return std::string(d.size() < width ? width - d.size() : 0, ' ') + d;
}

// The prefixes of issue 11, as each tool prints them before line `n` (0-based)
// whose console timestamp is `ts` ("[   12.345678]").
struct Prefix {
  const char* name;
  std::string (*make)(size_t n, const std::string& ts);
};

const Prefix kPrefixes[] = {
    {"dmesg", [](size_t, const std::string& ts) { return ts + " "; }},
    {"dmesg -x", [](size_t, const std::string& ts) { return "kern  :emerg : " + ts + " "; }},
    {"dmesg -H", [](size_t n, const std::string&) { return std::string(n == 0 ? "[Mar 8 17:07] " : "[  +0.000005] "); }},
    {"journalctl -o short-full", [](size_t, const std::string&) { return std::string("Tue 2024-01-02 03:04:05 UTC host kernel: "); }},
    {"journalctl -o short-unix", [](size_t, const std::string&) { return std::string("1704164645.123456 host kernel: "); }},
    {"syslog without host", [](size_t, const std::string& ts) { return "Aug 13 12:28:38 kernel: " + ts + " "; }},
    {"bare kernel tag", [](size_t, const std::string&) { return std::string("kernel: "); }},
    {"German month", [](size_t, const std::string&) { return std::string("M\xc3\xa4r 08 17:07:01 host kernel: "); }},
    {"CRI container log", [](size_t, const std::string& ts) { return "2024-01-02T03:04:05.123456789Z stdout F " + ts + " "; }},
    {"serial tag", [](size_t, const std::string& ts) { return "[guest0/uart0] " + ts + " "; }},
    {"grep -n", [](size_t n, const std::string& ts) { return std::to_string(n + 100) + ":" + ts + " "; }},
    {"cat -n", [](size_t n, const std::string& ts) { return fmt_width(n + 1, 6) + "\t" + ts + " "; }},
    {"mail quote", [](size_t, const std::string& ts) { return "> " + ts + " "; }},
    {"caller id", [](size_t, const std::string& ts) { return ts + "[ T1234] "; }},
};

// Real reports in the tree: the founding case, and a CVE record's quote
// (x86_64 oops with registers, Code: and a Comm with a space).
std::vector<std::pair<std::string, std::string>> plain_reports() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("xfs-panic", read_file(fs::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log"));
  std::string cve = read_file(fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "cve" / "data" / "CVE-2022-48876.txt");
  size_t begin = cve.find("BUG: kernel NULL pointer dereference");
  size_t end = begin == std::string::npos ? begin : cve.find("\n\n", begin);
  if (begin != std::string::npos && end != std::string::npos) out.emplace_back("CVE-2022-48876", cve.substr(begin, end - begin + 1));
  return out;
}

TEST(Prefixes, EveryToolsPrefixReadsToTheSameReports) {
  auto reports = plain_reports();
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& [name, text] : reports) {
    std::vector<std::string> lines = split_lines(text);
    std::string want = essence(parse_log(text));
    ASSERT_NE(want, "[]") << name;
    for (const Prefix& p : kPrefixes) {
      std::string prefixed;
      for (size_t n = 0; n < lines.size(); ++n) {
        char ts[32];
        std::snprintf(ts, sizeof ts, "[%5zu.%06zu]", 100 + n / 1000, (n * 1237) % 1000000);
        prefixed += p.make(n, ts) + lines[n] + "\n";
      }
      EXPECT_EQ(essence(parse_log(prefixed)), want) << name << " behind " << p.name;
    }
  }
}

}  // namespace
}  // namespace ktriage

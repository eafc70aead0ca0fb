// The ktriage CLI as a user and a script see it: exit codes (0 found, 1 none,
// 2 error with one line on stderr), standard input, the JSON document's
// fixed shape, and colour only when asked for or on a terminal.
#include <fcntl.h>
#include <pty.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace {

using ktriage::test::read_file;

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Json = nlohmann::json;

const std::string kExample = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

// Everything a child wrote to its pseudo-terminal, until it has gone (EIO).
std::string read_terminal(int master) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  return out;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ktriage-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // ASan's quarantine keeps freed blocks (up to 256 MiB): without it, what
  // is resident is what ktriage holds.
  static void without_asan_quarantine() {
    if (ktriage::test::kSanitizers.find("address") == std::string_view::npos) return;
    std::string options = "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
    if (const char* given = std::getenv("ASAN_OPTIONS")) options = std::string(given) + ":" + options;
    setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
  // The largest peak RSS of the children waited for so far.
  static long children_peak_kib() {
    rusage usage{};
    EXPECT_EQ(getrusage(RUSAGE_CHILDREN, &usage), 0);
    return usage.ru_maxrss;
  }

  // Runs `ktriage ARGS < stdin_path` with stdout and stderr captured apart.
  Result run(std::initializer_list<std::string> args, const std::string& stdin_path = "/dev/null") {
    std::string cmd = quote(KTRIAGE_BINARY);
    for (const std::string& a : args) cmd += " " + quote(a);
    cmd += " <" + quote(stdin_path) + " >" + quote((dir_ / "out").string()) + " 2>" +
           quote((dir_ / "err").string());
    int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = read_file(dir_ / "out");
    r.err = read_file(dir_ / "err");
    return r;
  }

  // Runs ktriage on a pseudo-terminal (stdout and stderr a tty) with TERM=xterm
  // and no NO_COLOR, then `env` (a null value unsets); returns what it printed.
  using Env = std::vector<std::pair<const char*, const char*>>;
  std::string run_on_tty(std::initializer_list<std::string> args, const Env& env = {}) {
    std::vector<std::string> argv_s = {KTRIAGE_BINARY};
    argv_s.insert(argv_s.end(), args);
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    int master = -1;
    pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
      unsetenv("NO_COLOR");
      setenv("TERM", "xterm", 1);
      for (const auto& [name, value] : env) {
        if (value) setenv(name, value, 1);
        else unsetenv(name);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    EXPECT_GT(pid, 0);
    std::string out = read_terminal(master);
    int status = 0;
    waitpid(pid, &status, 0);
    close(master);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    return out;
  }

  fs::path file(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    spit(p, text);
    return p;
  }

  fs::path dir_;
};

const char kQuietLog[] =
    "[    0.000000] Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)\n"
    "[    1.204811] e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex\n"
    "[    2.001002] systemd[1]: Started Journal Service.\n"
    "[    3.500000] EXT4-fs (sda1): mounted filesystem with ordered data mode\n";

// One line on stderr, prefixed with the program name.
void expect_one_error_line(const Result& r) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_THAT(r.err, StartsWith("ktriage: "));
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(CliTest, ExitsZeroWhenReportsAreFound) {
  Result r = run({"analyze", kExample});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, ExitsOneWhenNoReportIsFound) {
  Result r = run({"analyze", file("quiet.log", kQuietLog).string()});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err, "");
  Result empty = run({"analyze", file("empty.log", "").string()});
  EXPECT_EQ(empty.status, 1) << empty.err;
}

TEST_F(CliTest, ExitsTwoOnMissingFileWithOneLineNamingIt) {
  std::string missing = (dir_ / "no-such.log").string();
  Result r = run({"analyze", missing});
  expect_one_error_line(r);
  EXPECT_THAT(r.err, HasSubstr("no-such.log"));
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, ExitsTwoOnDirectory) { expect_one_error_line(run({"analyze", dir_.string()})); }

TEST_F(CliTest, ExitsTwoOnUnreadableFile) {
  fs::path p = file("secret.log", kQuietLog);
  // A path through a regular file fails to open for anyone (ENOTDIR).
  expect_one_error_line(run({"analyze", (p / "child.log").string()}));
  if (geteuid() == 0) GTEST_SKIP() << "root reads a mode-000 file";
  chmod(p.c_str(), 0);
  expect_one_error_line(run({"analyze", p.string()}));
}

TEST_F(CliTest, ExitsTwoOnBadFlags) {
  expect_one_error_line(run({"analyze", "--no-such-flag", kExample}));
  expect_one_error_line(run({"analyze", "--color=sometimes", kExample}));
  expect_one_error_line(run({"no-such-command"}));
  expect_one_error_line(run({}));
}

TEST_F(CliTest, HelpAndVersionExitZero) {
  Result help = run({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("analyze"));
  Result version = run({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.out, HasSubstr("ktriage"));
}

// Issue 12, rough edges a new user hits: each mistake gets a message that
// says what was meant or what the file is, and one value per option.
TEST_F(CliTest, MistakesGetUsefulMessages) {
  Result help = run({"help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("ktriage analyze dmesg.txt"));
  Result analyze_help = run({"help", "analyze"});
  EXPECT_EQ(analyze_help.status, 0);
  EXPECT_THAT(analyze_help.out, HasSubstr("--vmlinux"));

  Result typo = run({"analyse", kExample});
  expect_one_error_line(typo);
  EXPECT_THAT(typo.err, HasSubstr("did you mean 'analyze'?"));
  Result unknown = run({"foo"});
  expect_one_error_line(unknown);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'foo'"));

  Result jsn = run({"analyze", "--jsn", kExample});
  expect_one_error_line(jsn);
  EXPECT_THAT(jsn.err, HasSubstr("did you mean --json?"));
  EXPECT_THAT(jsn.err, HasSubstr("see ktriage analyze --help"));
  EXPECT_THAT(run({"analyze", "--colour", "never", kExample}).err, HasSubstr("did you mean --color?"));
  EXPECT_THAT(run({"analyze", "--version"}).err, HasSubstr("ktriage --version"));

  Result kernel = run({"analyze", "--kernel-version", "garbage", kExample});
  expect_one_error_line(kernel);
  EXPECT_THAT(kernel.err, HasSubstr("not a kernel release"));
  EXPECT_EQ(run({"analyze", "--kernel-version", "Debian 6.1.192-2", kExample}).status, 0);

  Result null = run({"analyze", "--vmlinux", "/dev/null", kExample});
  expect_one_error_line(null);
  EXPECT_THAT(null.err, HasSubstr("/dev/null: a character device"));

  // One value per occurrence: the log after the option stays the input.
  Result disasm = run({"analyze", "--disasm", "ip", kExample});
  EXPECT_EQ(disasm.status, 0) << disasm.err;
  // Without debug info there is nothing to list: said, not silently ignored.
  EXPECT_THAT(disasm.out, HasSubstr("no debug info given (--vmlinux, --modules or --debug-root): nothing to disassemble"));
}

// A recursion's frames show once with their range and count in the text
// report; the JSON keeps every frame, numbered the same.
TEST_F(CliTest, RepeatedFramesAreCollapsedInTheTextReport) {
  std::string log = "BUG: TASK stack guard page was hit at 00000000cae8473d\nCall Trace:\n <TASK>\n";
  for (int i = 0; i < 6; ++i) log += " zoo_recurse+0x72/0x80 [crashzoo]\n";
  log += " zoo_direct_write+0x85/0xc3 [crashzoo]\n full_proxy_write+0x53/0x80\n </TASK>\n";
  fs::path in = file("recurse.log", log);
  Result text = run({"analyze", in.string()});
  EXPECT_THAT(text.out, HasSubstr("#0-#5 zoo_recurse+0x72/0x80 [crashzoo]  \u00d76"));
  EXPECT_THAT(text.out, HasSubstr("#6  zoo_direct_write+0x85/0xc3 [crashzoo]"));
  EXPECT_THAT(text.out, Not(HasSubstr("#1 ")));
  Json j = Json::parse(run({"analyze", "--json", in.string()}).out);
  EXPECT_EQ(j["reports"][0]["frames"].size(), 8u);
}

// syzkaller's words about its own title text stay in JSON; the text report
// does not call a report with 37 frames "corrupted: extracted no frames", nor
// title it "... in corrupted" (CVE-2025-21821's ARM quote).
TEST_F(CliTest, TextReportLeavesOutSyzkallersTitleVerdicts) {
  const std::string quote = KTRIAGE_SOURCE_DIR "/tests/cve/data/CVE-2025-21821.txt";
  Result text = run({"analyze", quote});
  EXPECT_THAT(text.out, HasSubstr("Report 1: BUG: scheduling while atomic\n"));
  EXPECT_THAT(text.out, Not(HasSubstr("corrupted")));
  Json j = Json::parse(run({"analyze", "--json", quote}).out);
  EXPECT_EQ(j["reports"][0]["title"], "BUG: scheduling while atomic in corrupted");
  EXPECT_EQ(j["reports"][0]["corrupted_reason"], "extracted no frames");
  EXPECT_EQ(j["reports"][0]["frames"].size(), 37u);
}

// A Debian 6.1 boot, then the founding case's RHEL 6 boot: the known bugs of
// the RHEL reports are not judged against the first boot's kernel (which has
// the 16K stack), and the summary speaks of that kernel only.
TEST_F(CliTest, KnownBugsOfAnotherBootAreNotJudgedAgainstTheFirstKernel) {
  const std::string log = read_file(KTRIAGE_SOURCE_DIR "/tests/golden/data/two-boots.log");
  const size_t debian = log.find("[    0.000000] Linux version 6.1.0");
  ASSERT_NE(debian, std::string::npos);
  fs::path in = file("debian-then-rhel.log", log.substr(debian) + log.substr(0, debian));
  Result r = run({"analyze", "--json", in.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json j = Json::parse(r.out);
  bool stack = false;
  for (const Json& m : j["kb_matches"]) {
    if (m["id"] != "x86_64-8k-stack-overflow") continue;
    stack = true;
    EXPECT_EQ(m["verdict"], "unknown") << m.dump();
  }
  EXPECT_TRUE(stack) << j["kb_matches"].dump();
  EXPECT_EQ(j["kb_summary"], "") << "a summary about the Debian kernel";
}

TEST_F(CliTest, DashReadsStandardInput) {
  Result from_file = run({"analyze", "--json", kExample});
  Result from_stdin = run({"analyze", "--json", "-"}, kExample);
  ASSERT_EQ(from_stdin.status, 0) << from_stdin.err;
  Json a = Json::parse(from_file.out);
  Json b = Json::parse(from_stdin.out);
  EXPECT_EQ(b["source"], "-");
  // The same reports; each names its own input.
  ASSERT_EQ(a["reports"].size(), b["reports"].size());
  for (size_t i = 0; i < a["reports"].size(); ++i) {
    EXPECT_EQ(a["reports"][i]["source"], kExample);
    EXPECT_EQ(b["reports"][i]["source"], "-");
    a["reports"][i].erase("source");
    b["reports"][i].erase("source");
  }
  EXPECT_EQ(a["reports"], b["reports"]);

  Result quiet = run({"analyze", "-"}, file("quiet.log", kQuietLog).string());
  EXPECT_EQ(quiet.status, 1);
}

// A hex string as docs/json.md promises for 64-bit values.
void expect_hex_or_null(const Json& j, const std::string& what) {
  if (j.is_null()) return;
  ASSERT_TRUE(j.is_string()) << what << ": " << j;
  EXPECT_THAT(j.get<std::string>(), ::testing::MatchesRegex("0x[0-9a-f]+")) << what;
}

void expect_symbol_shape(const Json& s, const std::string& what) {
  ASSERT_TRUE(s.is_object()) << what;
  for (const char* key : {"address", "function", "offset", "size", "module"}) {
    EXPECT_TRUE(s.contains(key)) << what << " lacks " << key;
  }
  expect_hex_or_null(s["address"], what + ".address");
  expect_hex_or_null(s["offset"], what + ".offset");
  expect_hex_or_null(s["size"], what + ".size");
  EXPECT_TRUE(s["function"].is_string()) << what;
  EXPECT_TRUE(s["module"].is_string()) << what;
}

void expect_report_shape(const Json& r) {
  ASSERT_TRUE(r.is_object());
  for (const char* key : {"title", "type", "frame", "header", "kind", "arch", "kernel_release", "taint"}) {
    ASSERT_TRUE(r.contains(key)) << "report lacks " << key;
    EXPECT_TRUE(r[key].is_string()) << key << ": " << r[key];
  }
  for (const char* key : {"corrupted", "suppressed", "panicked"}) {
    ASSERT_TRUE(r.contains(key)) << "report lacks " << key;
    EXPECT_TRUE(r[key].is_boolean()) << key;
  }
  ASSERT_TRUE(r.contains("alt_titles"));
  ASSERT_TRUE(r["alt_titles"].is_array());
  for (const Json& t : r["alt_titles"]) EXPECT_TRUE(t.is_string());
  ASSERT_TRUE(r.contains("ip"));
  if (!r["ip"].is_null()) expect_symbol_shape(r["ip"], "ip");
  ASSERT_TRUE(r.contains("frames"));
  ASSERT_TRUE(r["frames"].is_array());
  for (const Json& f : r["frames"]) {
    expect_symbol_shape(f, "frame");
    ASSERT_TRUE(f.contains("reliable"));
    EXPECT_TRUE(f["reliable"].is_boolean());
  }
}

TEST_F(CliTest, JsonHasSchemaVersionOneAndTheFixedFieldNames) {
  Result r = run({"analyze", "--json", kExample});
  ASSERT_EQ(r.status, 0) << r.err;
  Json doc = Json::parse(r.out);  // throws (test fails) on invalid JSON
  EXPECT_EQ(doc["schema_version"], 1);
  ASSERT_TRUE(doc["reports"].is_array());
  ASSERT_FALSE(doc["reports"].empty());
  for (const Json& report : doc["reports"]) expect_report_shape(report);
}

TEST_F(CliTest, JsonOfTheFoundingCaseCarriesItsTraceAndFaultingIp) {
  Json doc = Json::parse(run({"analyze", "--json", kExample}).out);
  // examples/xfs-panic.log: "IP: [<fffffff81058e5d>] task_rq_lock+0x4d/0xa8"
  // and a call trace printed entirely with '?' (unreliable) entries.
  bool found = false;
  for (const Json& r : doc["reports"]) {
    if (r["ip"].is_null() || r["ip"]["function"] != "task_rq_lock") continue;
    found = true;
    EXPECT_EQ(r["ip"]["offset"], "0x4d");
    EXPECT_EQ(r["ip"]["size"], "0xa8");
    ASSERT_FALSE(r["frames"].empty());
    EXPECT_EQ(r["frames"][0]["reliable"], false);
    EXPECT_EQ(r["frames"][0]["address"], "0xffffffff81058e5d");
  }
  EXPECT_TRUE(found) << "no report with ip task_rq_lock";
}

TEST_F(CliTest, JsonIsValidWhenNothingIsFoundAndOnBinaryInput) {
  Result quiet = run({"analyze", "--json", file("quiet.log", kQuietLog).string()});
  EXPECT_EQ(quiet.status, 1);
  Json doc = Json::parse(quiet.out);
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_TRUE(doc["reports"].empty());

  // Invalid UTF-8 and control bytes inside a report still give valid JSON.
  std::string binary = read_file(kExample);
  binary.insert(binary.find("task_rq_lock"), "\xff\xfe\x01\x80 ");
  binary += std::string("\0\xc3\x28\n", 4);
  Result r = run({"analyze", "--json", file("binary.log", binary).string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NO_THROW(Json::parse(r.out));
}

// The CLI streams: a log much bigger than the memory limit, from a file and
// from a pipe, never makes it resident.
TEST_F(CliTest, StreamsLargeInputInBoundedMemory) {
  fs::path big = dir_ / "big.log";
  {
    std::ofstream out(big, std::ios::binary);
    std::string block;
    for (int i = 0; block.size() < (1 << 20); ++i) block += std::string(kQuietLog);
    for (int i = 0; i < 128; ++i) out << block;
    out << read_file(kExample);  // one report at the very end
  }
  // The bound is on what the log adds to ktriage's own footprint, measured
  // first on the small example: a sanitizer build's shadow memory and
  // allocator alone are ~110 MiB (plain build: ~23 MiB). Reading the log whole
  // would add at least its 128 MiB.
  without_asan_quarantine();
  Result small = run({"analyze", kExample});
  ASSERT_EQ(small.status, 0) << small.err;
  const long baseline_kib = children_peak_kib();
  Result from_file = run({"analyze", big.string()});
  EXPECT_EQ(from_file.status, 0) << from_file.err;
  Result from_pipe = run({"analyze", "-"}, big.string());
  EXPECT_EQ(from_pipe.status, 0) << from_pipe.err;
  EXPECT_LT(children_peak_kib() - baseline_kib, 32 * 1024)
      << "peak RSS (KiB) of ktriage on a 128 MiB log beyond its " << baseline_kib << " KiB on a small one";
  fs::remove(big);
}

// Memory does not grow with the number of reports: 6,000 reports of the
// founding case took 130 MB (text) and 260 MB (JSON) when every report
// and its analysis were held to the end.
TEST_F(CliTest, ManyReportsInBoundedMemory) {
  const fs::path path = dir_ / "storm.log";
  {
    std::ofstream out(path, std::ios::binary);
    const std::string seed = read_file(kExample);
    for (int i = 0; i < 3000; ++i) out << seed;
  }
  without_asan_quarantine();
  Result small = run({"analyze", "--json", kExample});
  ASSERT_EQ(small.status, 0) << small.err;
  const long baseline_kib = children_peak_kib();
  Result text = run({"analyze", path.string()});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith(path.string() + ": 6000 crash reports\n"));
  Result json = run({"analyze", "--json", "-"}, path.string());
  EXPECT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(Json::parse(json.out)["reports"].size(), 6000u);
  EXPECT_LT(children_peak_kib() - baseline_kib, 32 * 1024)
      << "peak RSS (KiB) of ktriage on 6,000 reports beyond its " << baseline_kib << " KiB on one log";
}

// A crash with what the analyses read around it: a module's taint message
// earlier in the boot and CONFIG_DEBUG_LIST's verdict just before the header.
const char kListCorruption[] =
    "[    3.043073] crashzoo: loading out-of-tree module taints kernel.\n"
    "[   12.000001] list_add corruption. next->prev should be prev (ffffffffc04410a0), but was dead000000000122. "
    "(next=ffff8a2c5ff80fe0).\n"
    "[   12.000002] ------------[ cut here ]------------\n"
    "[   12.000003] kernel BUG at lib/list_debug.c:27!\n"
    "[   12.000004] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n"
    "[   12.000005] CPU: 0 PID: 97 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2\n"
    "[   12.000006] RIP: 0010:__list_add_valid.cold+0x3a/0x3c\n"
    "[   12.000007] Call Trace:\n"
    "[   12.000008]  <TASK>\n"
    "[   12.000009]  zoo_list_corrupt+0x4a/0x80 [crashzoo]\n"
    "[   12.000010]  zoo_trigger+0x11/0x20 [crashzoo]\n"
    "[   12.000011]  vfs_write+0xc8/0x3a0\n"
    "[   12.000012]  </TASK>\n"
    "[   12.000013] Modules linked in: crashzoo(OE) crc_itu_t\n";

// The findings without where they are: line numbers move with the log.
Json findings_without_lines(const std::string& analyze_json) {
  Json findings = Json::parse(analyze_json).at("findings");
  for (Json& f : findings)
    for (Json& e : f.at("evidence")) e.erase("line");
  return findings;
}

// Analyses read only what the parser extracted: a crash gives the same
// findings alone and at the end of 100 MiB of other console text.
TEST_F(CliTest, SameFindingsAloneAndAfterMuchOtherText) {
  fs::path alone = file("alone.log", kListCorruption);
  fs::path late = dir_ / "late.log";
  {
    std::ofstream out(late, std::ios::binary);
    std::string block;
    while (block.size() < (1 << 20)) block += std::string(kQuietLog);
    for (int i = 0; i < 100; ++i) out << block;
    out << kListCorruption;
  }
  Result a = run({"analyze", "--json", alone.string()});
  Result b = run({"analyze", "--json", late.string()});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  Json fa = findings_without_lines(a.out), fb = findings_without_lines(b.out);
  EXPECT_EQ(fa, fb);
  EXPECT_EQ(fa.at(0).at("cause"), "list_corruption") << fa.dump(2);
  EXPECT_THAT(fa.dump(), HasSubstr("LIST_POISON2"));
  EXPECT_THAT(fa.dump(), HasSubstr("crashzoo: loading out-of-tree module taints kernel."));
  fs::remove(late);
}

bool has_escape(const std::string& s) { return s.find("\x1b[") != std::string::npos; }

// `ktriage analyze` typed with no input on a terminal says what it waits for.
TEST_F(CliTest, SaysItReadsStandardInputOnATerminal) {
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) GTEST_SKIP() << "no pseudo-terminal can be opened here";
  if (pid == 0) {
    execl(KTRIAGE_BINARY, KTRIAGE_BINARY, "analyze", static_cast<char*>(nullptr));
    _exit(127);
  }
  // The terminal's end of input (Ctrl-D at the start of a line).
  ASSERT_EQ(write(master, "\x04", 1), 1);
  std::string out = read_terminal(master);
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  EXPECT_THAT(out, HasSubstr("reading the log from standard input"));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);  // no crash report in no input
}

TEST_F(CliTest, ColourOnlyWhenAskedOrOnATerminal) {
  EXPECT_FALSE(has_escape(run({"analyze", kExample}).out)) << "colour into a file by default";
  EXPECT_FALSE(has_escape(run({"analyze", "--color=never", kExample}).out));
  EXPECT_TRUE(has_escape(run({"analyze", "--color=always", kExample}).out));
  EXPECT_FALSE(has_escape(run({"analyze", "--json", kExample}).out));

  EXPECT_TRUE(has_escape(run_on_tty({"analyze", kExample}))) << "no colour on a terminal";
  EXPECT_FALSE(has_escape(run_on_tty({"analyze", kExample}, {{"NO_COLOR", "1"}}))) << "NO_COLOR ignored";
  EXPECT_FALSE(has_escape(run_on_tty({"analyze", kExample}, {{"TERM", "dumb"}}))) << "TERM=dumb ignored";
  EXPECT_FALSE(has_escape(run_on_tty({"analyze", "--color=never", kExample})));
}

}  // namespace

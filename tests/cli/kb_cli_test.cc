// `ktriage kb import|search|show|stats` and the known-bug part of `analyze`
// as a user and a script see them: what the import says it read, used and
// skipped; exit codes (0 found, 1 none, 2 error with one line); the
// kb_matches fields docs/json.md promises (strength, reasons, cve).
// Fixtures: tests/unit/data/kb (CVE records of a fictional driver, distro
// changelogs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"

namespace {

using ktriage::test::read_file;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kData = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "unit" / "data" / "kb";

// The fixture's drain bug as another machine prints it.
constexpr const char* kDrainLog =
    "[ 8812.120001] BUG: KASAN: slab-use-after-free in zz_queue_drain+0x1b0/0x2a0 [zzdrv]\n"
    "[ 8812.120010] Read of size 8 at addr ffff88810ee1a2f0 by task kworker/0:3/4412\n"
    "[ 8812.120020] CPU: 0 PID: 4412 Comm: kworker/0:3 Not tainted 6.1.50 #1\n"
    "[ 8812.120040] Call Trace:\n"
    "[ 8812.120041]  <TASK>\n"
    "[ 8812.120050]  dump_stack_lvl+0x48/0x70\n"
    "[ 8812.120070]  kasan_report+0xd4/0x110\n"
    "[ 8812.120080]  zz_queue_drain+0x1b0/0x2a0 [zzdrv]\n"
    "[ 8812.120090]  zz_queue_stop+0x51/0x90 [zzdrv]\n"
    "[ 8812.120100]  zz_reset_work+0x101/0x240 [zzdrv]\n"
    "[ 8812.120110]  process_one_work+0x171/0x340\n";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int status = -1;
  std::string out, err;
};

class KbCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kb_ = dir_ / "kb";
    fs::create_directories(kb_);
  }

  Result run(std::initializer_list<std::string> args) {
    std::string cmd = quote(KTRIAGE_BINARY);
    for (const std::string& a : args) cmd += " " + quote(a);
    cmd += " </dev/null >" + quote((dir_ / "out").string()) + " 2>" + quote((dir_ / "err").string());
    int raw = std::system(cmd.c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = read_file(dir_ / "out");
    r.err = read_file(dir_ / "err");
    return r;
  }

  // The fixture records imported into kb_/cves.sqlite.
  Result import_records() {
    return run({"kb", "import", "--cve", (kData / "vulns").string(), "--source", "fixture", "-o",
                (kb_ / "cves.sqlite").string()});
  }

  ktriage::test::ScratchDir dir_{"ktriage-kb-cli"};
  fs::path kb_;
};

TEST_F(KbCliTest, ImportSaysWhatItReadUsedAndSkipped) {
  Result r = import_records();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cve records: read 6, used 2 (1 quote a crash the parser reads, 1 with 3 or more "
                               "frames), skipped 4 (1 rejected, 3 unusable)"));
  EXPECT_THAT(r.out, HasSubstr("cve terms of use: "));
  // One warning per skipped record, naming it.
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("CVE-2099-10004.json: not JSON"));
  EXPECT_THAT(r.err, HasSubstr("CVE-2099-10005.json: schema 6.0 is not CVE JSON 5.x"));
  EXPECT_TRUE(fs::exists(kb_ / "cves.sqlite"));

  Result changelogs =
      run({"kb", "import", "--debian-changelog", (kData / "changelog.Debian").string(), "--rpm-changelog",
           (kData / "rpm-changelog.txt").string(), "-o", (kb_ / "distro.sqlite").string()});
  ASSERT_EQ(changelogs.status, 0) << changelogs.err;
  EXPECT_THAT(changelogs.out, HasSubstr("changelogs: 6 releases"));
  EXPECT_THAT(changelogs.err, HasSubstr("rpm-changelog.txt: line 11: unreadable release header"));
}

TEST_F(KbCliTest, ImportErrorsAreOneLine) {
  Result none = run({"kb", "import", "-o", (dir_ / "x.sqlite").string()});
  EXPECT_EQ(none.status, 2);
  EXPECT_THAT(none.err, StartsWith("ktriage: nothing to import"));
  Result wrong = run(
      {"kb", "import", "--rpm-changelog", (kData / "changelog.Debian").string(), "-o", (dir_ / "x.sqlite").string()});
  EXPECT_EQ(wrong.status, 2);
  EXPECT_THAT(wrong.err, HasSubstr("changelog.Debian: no RPM changelog release header"));
  EXPECT_FALSE(fs::exists(dir_ / "x.sqlite"));
  Result no_output = run({"kb", "import", "--cve", (kData / "vulns").string()});
  EXPECT_EQ(no_output.status, 2);
}

TEST_F(KbCliTest, SearchShowStats) {
  ASSERT_EQ(import_records().status, 0);
  const std::string kb = kb_.string();
  Result search = run({"kb", "search", "zz_queue_stop", "--kb", kb});
  EXPECT_EQ(search.status, 0) << search.err;
  EXPECT_THAT(search.out, StartsWith("CVE-2099-10001  zz: drain the queue before freeing it  [KASAN: "));
  EXPECT_EQ(run({"kb", "search", "no-such-words-anywhere", "--kb", kb}).status, 1);
  // The shipped hand-written entries are searched too.
  EXPECT_THAT(run({"kb", "search", "16K"}).out, HasSubstr("x86_64-8k-stack-overflow"));

  Result show = run({"kb", "show", "CVE-2099-10001", "--kb", kb, "--kernel-version", "6.1.50"});
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("fixed in stable: 6.1.78, 6.6.17"));
  EXPECT_THAT(show.out, HasSubstr("guilty frame: zz_queue_drain"));
  EXPECT_THAT(show.out,
              HasSubstr("verdict: not_fixed: this kernel (6.1.50) lacks the fix; upgrade to 6.1.78 or later"));
  Result json = run({"kb", "show", "CVE-2099-10001", "--kb", kb, "--json", "--kernel-version", "Debian 6.1.192-2"});
  ASSERT_EQ(json.status, 0) << json.err;
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["cve"], "CVE-2099-10001");
  EXPECT_EQ(j["verdict"], "fixed");
  EXPECT_EQ(j["signature"]["frame"], "zz_queue_drain");
  Result missing = run({"kb", "show", "CVE-2099-99999", "--kb", kb});
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.err, HasSubstr("CVE-2099-99999: no such known bug"));
  Result bad_kernel = run({"kb", "show", "CVE-2099-10001", "--kb", kb, "--kernel-version", "banana"});
  EXPECT_EQ(bad_kernel.status, 2);

  Result stats = run({"kb", "stats", "--kb", kb, "--json"});
  ASSERT_EQ(stats.status, 0) << stats.err;
  Json s = Json::parse(stats.out);
  ASSERT_GE(s["indexes"].size(), 1u);
  EXPECT_EQ(s["indexes"].back()["source"], "fixture");
  EXPECT_EQ(s["indexes"].back()["entries"], 2);
}

TEST_F(KbCliTest, AnalyzeShowsStrengthReasonsAndCve) {
  ASSERT_EQ(import_records().status, 0);
  std::ofstream(dir_ / "drain.log") << kDrainLog;
  Result r = run({"analyze", "--json", "--no-shipped-kb", (dir_ / "drain.log").string(), "--kb", kb_.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j["kb_matches"].size(), 1u);
  const Json& m = j["kb_matches"][0];
  EXPECT_EQ(m["id"], "CVE-2099-10001");
  EXPECT_EQ(m["cve"], "CVE-2099-10001");
  EXPECT_EQ(m["strength"], "likely");
  ASSERT_TRUE(m["reasons"].is_array());
  EXPECT_EQ(m["reasons"][0], "title \"KASAN: slab-use-after-free Read in zz_queue_drain\"");
  EXPECT_EQ(m["verdict"], "not_fixed");
  EXPECT_EQ(m["verdict_text"],
            "this kernel (6.1.50) lacks the fix; upgrade to 6.1.78 or later (the first 6.1.y "
            "release with it; upstream since 6.8)");
  EXPECT_EQ(j["kb_summary"], "6.1.50 (upstream): this kernel lacks CVE-2099-10001: upgrade to 6.1.78 or later");

  Result text =
      run({"analyze", "--color", "never", "--no-shipped-kb", (dir_ / "drain.log").string(), "--kb", kb_.string()});
  EXPECT_THAT(text.out, HasSubstr("[not_fixed] CVE-2099-10001: zz: drain the queue before freeing it"));
  EXPECT_THAT(text.out, HasSubstr("matched on: title \"KASAN: slab-use-after-free Read in zz_queue_drain\"; guilty "
                                  "frame zz_queue_drain; frames zz_queue_drain, zz_queue_stop, zz_reset_work"));
  // A hand-written match carries the new fields too, with no CVE.
  Result seed = run({"analyze", "--json", KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log"});
  Json sj = Json::parse(seed.out);
  ASSERT_FALSE(sj["kb_matches"].empty());
  EXPECT_EQ(sj["kb_matches"][0]["strength"], "likely");
  EXPECT_TRUE(sj["kb_matches"][0]["cve"].is_null());
  EXPECT_FALSE(sj["kb_matches"][0]["reasons"].empty());
}

TEST_F(KbCliTest, ADamagedIndexIsOneErrorLine) {
  std::ofstream(kb_ / "broken.sqlite") << std::string(4096, 'x');
  std::ofstream(dir_ / "drain.log") << kDrainLog;
  Result r = run({"analyze", (dir_ / "drain.log").string(), "--kb", kb_.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, StartsWith("ktriage: "));
  EXPECT_THAT(r.err, HasSubstr("broken.sqlite"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace

// Logs as people keep them (issue 11): compressed by the tool that rotated or
// exported them, saved as UTF-16, several files or a directory at once. Every
// form reads to the same reports as the plain file, each naming its input.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ktriage::test::read_file;

const std::string kExample = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class RealInput : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ktriage-input-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `sh -c CMD`; fails the test when it does not exit 0.
  void sh(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

  // `ktriage analyze --json --no-shipped-kb ARGS...`: exit status and the document.
  int analyze(const std::string& args, Json& doc, std::string* err = nullptr) {
    fs::path out = dir_ / "out.json", errf = dir_ / "err";
    std::string cmd = quote(KTRIAGE_BINARY) + " analyze --json --no-shipped-kb " + args + " >" +
                      quote(out.string()) + " 2>" + quote(errf.string());
    int raw = std::system(cmd.c_str());
    std::string text = read_file(out);
    doc = text.empty() ? Json() : Json::parse(text);
    if (err) *err = read_file(errf);
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128;
  }

  fs::path dir_;
};

// The founding case as every form of the file: the same two reports.
TEST_F(RealInput, CompressedAndUtf16LogsReadLikeThePlainOne) {
  Json plain;
  ASSERT_EQ(analyze(quote(kExample), plain), 0);
  ASSERT_EQ(plain["reports"].size(), 2u);
  const std::string src = quote(kExample);
  const std::string base = (dir_ / "xfs.log").string();
  sh("gzip -c " + src + " > " + quote(base + ".gz"));
  sh("xz -c " + src + " > " + quote(base + ".xz"));
  sh("zstd -q -c " + src + " > " + quote(base + ".zst"));
  sh("iconv -f UTF-8 -t UTF-16 " + src + " > " + quote(base + ".utf16"));      // with a byte order mark
  sh("iconv -f UTF-8 -t UTF-16LE " + src + " > " + quote(base + ".utf16le"));  // without one
  sh("iconv -f UTF-8 -t UTF-16 " + src + " | gzip -c > " + quote(base + ".utf16.gz"));
  for (const char* ext : {".gz", ".xz", ".zst", ".utf16", ".utf16le", ".utf16.gz"}) {
    SCOPED_TRACE(ext);
    Json doc;
    std::string err;
    ASSERT_EQ(analyze(quote(base + ext), doc, &err), 0);
    EXPECT_EQ(err, "");  // a whole file is no "data ends early" (zstd said so of every file)
    ASSERT_EQ(doc["reports"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(doc["reports"][i]["title"], plain["reports"][i]["title"]);
      EXPECT_EQ(doc["reports"][i]["frames"].size(), plain["reports"][i]["frames"].size());
      EXPECT_EQ(doc["reports"][i]["source"], base + ext);
    }
  }
  // A compressed log on standard input is read too.
  Json piped;
  ASSERT_EQ(analyze("- < " + quote(base + ".xz"), piped), 0);
  EXPECT_EQ(piped["reports"].size(), 2u);
}

// Several inputs in one run: every report names its own, the document lists them all.
TEST_F(RealInput, SeveralInputsEachReportNamesItsSource) {
  const std::string quiet = (dir_ / "quiet.log").string();
  std::ofstream(quiet) << "[    1.000000] e1000e 0000:00:19.0 eth0: NIC Link is Up\n";
  const std::string copy = (dir_ / "again.log.gz").string();
  sh("gzip -c " + quote(kExample) + " > " + quote(copy));
  Json doc;
  ASSERT_EQ(analyze(quote(kExample) + " " + quote(quiet) + " " + quote(copy), doc), 0);
  ASSERT_EQ(doc["sources"], Json::array({kExample, quiet, copy}));
  ASSERT_EQ(doc["reports"].size(), 4u);
  EXPECT_EQ(doc["reports"][0]["source"], kExample);
  EXPECT_EQ(doc["reports"][1]["source"], kExample);
  EXPECT_EQ(doc["reports"][2]["source"], copy);
  EXPECT_EQ(doc["reports"][3]["source"], copy);
  // Report line numbers are those of each report's own file.
  EXPECT_EQ(doc["reports"][2]["span"]["first_line"], doc["reports"][0]["span"]["first_line"]);
}

// A directory is read with -r only (it is not a log); with -r, every file under it.
TEST_F(RealInput, DirectoriesNeedRecursive) {
  fs::create_directories(dir_ / "logs" / "old");
  sh("cp " + quote(kExample) + " " + quote((dir_ / "logs" / "a.log").string()));
  sh("gzip -c " + quote(kExample) + " > " + quote((dir_ / "logs" / "old" / "b.log.gz").string()));
  Json doc;
  std::string err;
  EXPECT_EQ(analyze(quote((dir_ / "logs").string()), doc, &err), 2);
  EXPECT_NE(err.find("is a directory"), std::string::npos) << err;
  ASSERT_EQ(analyze("-r " + quote((dir_ / "logs").string()), doc), 0);
  EXPECT_EQ(doc["reports"].size(), 4u);
  EXPECT_EQ(doc["sources"].size(), 2u);
}

// A missing file among several: the others are still reported, the exit status says 2.
TEST_F(RealInput, AMissingInputAmongSeveralIsAnError) {
  Json doc;
  std::string err;
  EXPECT_EQ(analyze(quote(kExample) + " " + quote((dir_ / "nope.log").string()), doc, &err), 2);
  EXPECT_NE(err.find("nope.log"), std::string::npos) << err;
  EXPECT_EQ(doc["reports"].size(), 2u);
}

// Reports of different inputs are never one incident, though each file's
// line numbers start again: an oops at the end of one file and a panic at the
// start of the next are not linked.
TEST_F(RealInput, ReportsOfDifferentInputsAreNeverLinked) {
  const std::string a = (dir_ / "a.log").string(), b = (dir_ / "b.log").string();
  std::ofstream(a) << "BUG: unable to handle kernel NULL pointer dereference at 0000000000000018\n"
                      "IP: [<ffffffff8119f8d1>] zoo_sum_ids+0x18/0x27\n"
                      "Call Trace:\n"
                      " [<ffffffff8119f8d1>] zoo_sum_ids+0x18/0x27\n"
                      " [<ffffffff8119f9a0>] zoo_nullderef+0x10/0x17\n";
  std::ofstream(b) << "Kernel panic - not syncing: Fatal exception\n";
  Json doc;
  ASSERT_EQ(analyze(quote(a) + " " + quote(b), doc), 0);
  ASSERT_EQ(doc["reports"].size(), 2u);
  for (const Json& f : doc["findings"]) EXPECT_LE(f["reports"].size(), 1u) << f.dump();
  // The same two lines in one file are one incident.
  const std::string both = (dir_ / "both.log").string();
  std::ofstream(both) << read_file(a) << read_file(b);
  ASSERT_EQ(analyze(quote(both), doc), 0);
  bool linked = false;
  for (const Json& f : doc["findings"]) linked |= f["reports"].size() == 2;
  EXPECT_TRUE(linked);
}

// A panic footer's "Kernel Offset:" is the KASLR offset of every report of
// its boot (issue 12, item 4); the panic's "---[ end Kernel panic" marker is
// no report of its own.
TEST_F(RealInput, KernelOffsetOfTheBootAndNoEndMarkerReport) {
  const std::string log = (dir_ / "kaslr.log").string();
  std::ofstream(log) << "[    3.547908] BUG: kernel NULL pointer dereference, address: 0000000000000018\n"
                        "[    3.548824] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
                        "[    3.549595] RIP: 0010:zoo_sum_ids.constprop.0+0x18/0x27 [crashzoo]\n"
                        "[    3.549595] Call Trace:\n"
                        "[    3.549595]  <TASK>\n"
                        "[    3.549595]  zoo_nullderef+0x10/0x17 [crashzoo]\n"
                        "[    3.549595]  full_proxy_write+0x53/0x80\n"
                        "[    3.549595]  </TASK>\n"
                        "[    3.549595] ---[ end trace 0000000000000000 ]---\n"
                        "[    3.549595] Kernel panic - not syncing: Fatal exception\n"
                        "[    3.549595] Kernel Offset: 0x13200000 from 0xffffffff81000000 (relocation range: "
                        "0xffffffff80000000-0xffffffffbfffffff)\n"
                        "[    3.549595] ---[ end Kernel panic - not syncing: Fatal exception ]---\n";
  Json doc;
  ASSERT_EQ(analyze(quote(log), doc), 0);
  ASSERT_EQ(doc["reports"].size(), 2u);
  for (const Json& r : doc["reports"]) {
    EXPECT_EQ(r["kaslr_offset"], "0x13200000") << r["title"];
    EXPECT_EQ(r["title"].get<std::string>().find("]---"), std::string::npos) << r["title"];
  }
}

}  // namespace

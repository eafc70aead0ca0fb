// Known bugs on the kernel-lab logs (issue 14), through the CLI with the
// shipped index (data/kb/kernel-cves.sqlite):
//  - precision: the lab's crashes come from its own module and none is a
//    known kernel bug, so no log may get a `likely` match;
//  - distro verdicts: with the lab kernel's own changelog.Debian.gz (from the
//    lab download, $KLAB_CACHE) and site entries that tie the lab's crash to
//    real CVE records, the kernel in the log (Debian 6.1.192-2) is judged as
//    the records and the changelog say: a fix first in 6.1.78 is there, one
//    no 6.1.y release has is not, and one Debian backported is there.
// Skips when shared/kernel-lab or the download is absent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;
using ktriage::test::run_command;
using ktriage::test::ScratchDir;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const fs::path kLogs = fs::path(KTRIAGE_SHARED_DIR) / "kernel-lab" / "logs";

Json analyze(const std::string& args) {
  std::string out = run_command("'" KTRIAGE_BINARY "' analyze --json " + args + " 2>&1");
  Json j = Json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << out;
  return j;
}

TEST(KbKernelLab, NoLikelyMatchOnCrashesThatAreNoKnownBug) {
  if (!fs::is_directory(kLogs)) GTEST_SKIP() << kLogs << " not found";
  size_t logs = 0, similar = 0;
  for (const auto& e : fs::directory_iterator(kLogs)) {
    if (e.path().extension() != ".log") continue;
    ++logs;
    Json j = analyze("'" + e.path().string() + "'");
    for (const Json& m : j["kb_matches"]) {
      EXPECT_NE(m["strength"], "likely") << e.path().filename() << ": " << m["id"] << " " << m["reasons"].dump();
      similar += m["strength"] == "similar";
    }
  }
  EXPECT_GE(logs, 10u);
  std::printf("kernel-lab: %zu logs, 0 likely and %zu similar known-bug matches\n", logs, similar);
}

fs::path lab_changelog() {
  const char* cache = std::getenv("KLAB_CACHE");
  std::string base = cache ? cache : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/kernel-lab";
  for (const char* sub : {"/root/usr/share/doc/linux-image-6.1.0-56-cloud-amd64-unsigned/changelog.Debian.gz",
                          "/dbg/usr/share/doc/linux-image-6.1.0-56-cloud-amd64-dbg/changelog.Debian.gz"}) {
    fs::path p = base + sub;
    if (fs::exists(p)) return p;
  }
  return {};
}

TEST(KbKernelLab, DebianVerdictsFromTheRecordsAndTheLabKernelsChangelog) {
  fs::path changelog = lab_changelog();
  if (!fs::is_directory(kLogs) || changelog.empty())
    GTEST_SKIP() << "needs shared/kernel-lab and the lab download's changelog.Debian.gz ($KLAB_CACHE)";
  ScratchDir dir("kb-kernel-lab");
  fs::create_directories(dir / "kb");
  // The lab's WARN, filed by a site under three real records.
  std::ofstream(dir / "kb" / "lab.toml") << R"toml(
[[bug]]
id = "lab-fixed-in-6.1.78"
title = "the lab's WARN, filed as CVE-2024-26581 (first fixed on 6.1.y in 6.1.78)"
[bug.match]
frames = ["^zoo_warn$"]
[bug.fix]
cve = "CVE-2024-26581"

[[bug]]
id = "lab-fixed-after-6.1.192"
title = "the lab's WARN, filed as CVE-2026-23240 (fixed in 7.0, 6.12.75; no 6.1.y release)"
[bug.match]
frames = ["^zoo_warn$"]
[bug.fix]
cve = "CVE-2026-23240"

[[bug]]
id = "lab-debian-backport"
title = "the lab's WARN, filed as CVE-2023-52452 (no 6.1.y release; Debian backported it)"
[bug.match]
frames = ["^zoo_warn$"]
[bug.fix]
cve = "CVE-2023-52452"
)toml";
  const std::string log = "'" + (kLogs / "warn.log").string() + "' --kb '" + (dir / "kb").string() + "'";
  auto verdicts = [](const Json& j) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const Json& m : j["kb_matches"]) out[m["id"]] = {m["verdict"], m["verdict_text"]};
    return out;
  };

  // Without the changelog: the stable release decides; a backport cannot be told.
  Json before = analyze(log);
  EXPECT_EQ(before["kernel_version"], "Debian 6.1.192-2");
  auto v0 = verdicts(before);
  ASSERT_EQ(v0.size(), 3u) << before["kb_matches"].dump();
  EXPECT_EQ(v0["lab-fixed-in-6.1.78"].first, "fixed");
  EXPECT_EQ(v0["lab-fixed-after-6.1.192"].first, "unknown");
  EXPECT_EQ(v0["lab-debian-backport"].first, "unknown");

  std::string imported = run_command("'" KTRIAGE_BINARY "' kb import --debian-changelog '" + changelog.string() +
                                     "' -o '" + (dir / "kb" / "debian.sqlite").string() + "' 2>&1");
  ASSERT_THAT(imported, HasSubstr("wrote ")) << imported;
  auto v = verdicts(analyze(log));
  EXPECT_EQ(v["lab-fixed-in-6.1.78"].first, "fixed");
  EXPECT_THAT(v["lab-fixed-in-6.1.78"].second, HasSubstr("based on 6.1.192, which has the fix (6.1.y since 6.1.78)"));
  EXPECT_EQ(v["lab-fixed-after-6.1.192"].first, "not_fixed");
  EXPECT_THAT(v["lab-fixed-after-6.1.192"].second, HasSubstr("the debian changelog up to 6.1.192-2 does not list it"));
  EXPECT_EQ(v["lab-debian-backport"].first, "fixed");
  EXPECT_THAT(v["lab-debian-backport"].second, HasSubstr("already carries the fix (debian since 6.1.192-1)"));
}

}  // namespace

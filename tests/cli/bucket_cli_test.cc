// `ktriage bucket` as a user and a script see it: exit codes, the JSON
// document (index = position in analyze --json's reports[]), standard input,
// --signature-rules, and no progress line when stderr is not a terminal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>

#include "common/cli_run.h"

namespace ktriage::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

const std::string kMixed = KTRIAGE_SOURCE_DIR "/tests/golden/data/arm-ppc-s390-mixed.log";
const std::string kXfs = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";

void expect_one_error_line(const CliResult& r, const std::string& mentions) {
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_THAT(r.err, StartsWith("ktriage: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(mentions));
}

TEST(BucketCli, JsonListsEveryReportByItsAnalyzeIndex) {
  CliResult r = run_ktriage({"bucket", "--json", kMixed, kXfs, kMixed});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress line: stderr is not a terminal
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["schema_version"], 1);
  std::map<std::string, Json> analyzed = {{kMixed, Json::parse(run_ktriage({"analyze", "--json", kMixed}).out)},
                                          {kXfs, Json::parse(run_ktriage({"analyze", "--json", kXfs}).out)}};
  size_t total = 0, previous = SIZE_MAX;
  for (const Json& b : doc["buckets"]) {
    EXPECT_TRUE(std::regex_match(b["id"].get<std::string>(), std::regex("[0-9a-f]{16}"))) << b["id"];
    EXPECT_EQ(b["count"], b["reports"].size());
    EXPECT_LE(b["count"].get<size_t>(), previous);  // biggest first
    previous = b["count"];
    EXPECT_EQ(b["match"]["title"],
              b["signature"].get<std::string>().substr(0, b["match"]["title"].get<std::string>().size()));
    for (const Json& m : b["reports"]) {
      const Json& report = analyzed.at(m["source"])["reports"].at(m["index"].get<size_t>());
      EXPECT_EQ(report["title"], m["title"]);
      EXPECT_EQ(report["span"]["first_line"], m["line"]);
      ++total;
    }
  }
  EXPECT_EQ(total, 2 * analyzed[kMixed]["reports"].size() + analyzed[kXfs]["reports"].size());
  // The same log twice: every bucket of it has an even count.
  CliResult twice = run_ktriage({"bucket", "--json", kMixed, kMixed});
  const Json twice_doc = Json::parse(twice.out);  // a range-for over a temporary's member would dangle
  ASSERT_FALSE(twice_doc["buckets"].empty());
  for (const Json& b : twice_doc["buckets"]) EXPECT_EQ(b["count"].get<int>() % 2, 0);
}

TEST(BucketCli, TextIsATableAndStandardInputWorks) {
  CliResult r = run_ktriage({"bucket", "-"}, {}, false, kMixed);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("COUNT  BUCKET"));
  EXPECT_THAT(r.out, HasSubstr("-:1"));  // first seen: standard input, line 1
  CliResult v = run_ktriage({"bucket", "-v", kMixed});
  EXPECT_THAT(v.out, HasSubstr(" | "));  // signatures follow the table
}

TEST(BucketCli, ExitCodes) {
  EXPECT_EQ(run_ktriage({"bucket", "/dev/null"}).status, 1);
  expect_one_error_line(run_ktriage({"bucket", kXfs, "/no/such.log"}), "/no/such.log: No such file or directory");
  expect_one_error_line(run_ktriage({"bucket", KTRIAGE_SOURCE_DIR}), "is a directory");
  EXPECT_EQ(run_ktriage({"bucket"}).status, 2);
}

TEST(BucketCli, SignatureRulesFromAFile) {
  ScratchDir dir("kt-bucket-rules");
  std::ofstream(dir / "bad.toml") << "version = 1\n[skip]\nfunctions = ['(']\n";
  expect_one_error_line(run_ktriage({"bucket", "--signature-rules", (dir / "bad.toml").string(), kXfs}),
                        "bad.toml:3:14: skip.functions[0]: bad pattern");
  std::ofstream(dir / "title-only.toml") << "version = 1\n[signature]\nframes = 0\n";
  CliResult r = run_ktriage({"bucket", "-v", "--signature-rules", (dir / "title-only.toml").string(), kMixed});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(" | ")));
}

}  // namespace
}  // namespace ktriage::test

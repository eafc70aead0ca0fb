// Debug files that do not fit the log are not used (issue "Never silently
// wrong", item 1): the report says so at its top and on stderr, says what the
// file is, and explains nothing through it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli/report_fixture.h"
#include "common/cli_run.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSeed = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";

class DebugInfoMismatch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kt-mismatch-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Every vmlinux entry of every report's debuginfo list, from the JSON.
std::vector<nlohmann::json> vmlinux_files(const std::string& json) {
  std::vector<nlohmann::json> out;
  const nlohmann::json parsed = nlohmann::json::parse(json);
  for (const auto& r : parsed["reports"])
    for (const auto& f : r["debuginfo"])
      if (f["role"] == "vmlinux") out.push_back(f);
  return out;
}

TEST_F(DebugInfoMismatch, AnotherKernelsVmlinuxIsNotUsed) {
  // The fixture kernel has none of the seed's functions: a likely mismatch.
  const FixtureKernel k = build_fixture_kernel(dir_ / "kernel");
  ASSERT_EQ(k.error, "");
  CliResult text = run_ktriage({"analyze", "--vmlinux", k.vmlinux, kSeed});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.err, HasSubstr("vmlinux " + k.vmlinux + " does not match this log (likely: no symbol"));
  EXPECT_THAT(text.err, HasSubstr("): not used"));
  // At the top, before the first finding, not only inside a report.
  const size_t warning = text.out.find("does not match this log");
  ASSERT_NE(warning, std::string::npos);
  EXPECT_LT(warning, text.out.find("Report 1"));
  // Nothing is explained through it: no listing, no KASLR offset, no source lines.
  EXPECT_THAT(text.out, Not(HasSubstr("kaslr offset")));
  EXPECT_THAT(text.out, Not(HasSubstr("disassembly of")));
  EXPECT_THAT(text.out, Not(HasSubstr("kernel.c:")));

  CliResult json = run_ktriage({"analyze", "--json", "--vmlinux", k.vmlinux, kSeed});
  ASSERT_EQ(json.status, 0) << json.err;
  const auto files = vmlinux_files(json.out);
  ASSERT_FALSE(files.empty());
  // Each report rates the file against itself: the one with frames refuses
  // it; the one with none has nothing to rate it by (and nothing to resolve).
  size_t refused = 0;
  for (const auto& f : files) {
    EXPECT_NE(f["match"], "match");
    if (f["used"] == false) ++refused;
  }
  EXPECT_GE(refused, 1u);
  // The seed prints no Kernel Offset; one from the wrong vmlinux would be invented.
  const nlohmann::json parsed = nlohmann::json::parse(json.out);
  for (const auto& r : parsed["reports"]) EXPECT_TRUE(r["kaslr_offset"].is_null());
}

TEST_F(DebugInfoMismatch, TheMatchingVmlinuxIsUsed) {
  const FixtureKernel k = build_fixture_kernel(dir_ / "kernel");
  ASSERT_EQ(k.error, "");
  CliResult r = run_ktriage({"analyze", "--json", "--vmlinux", k.vmlinux, k.log});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("does not match")));
  const auto files = vmlinux_files(r.out);
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0]["match"], "match");
  EXPECT_EQ(files[0]["used"], true);
  // The text report names the file once, at its top (issue 12: which debug files were used).
  CliResult text = run_ktriage({"analyze", "--vmlinux", k.vmlinux, k.log});
  const std::string line = "debug info: vmlinux " + k.vmlinux + "\n";
  const size_t at = text.out.find(line);
  ASSERT_NE(at, std::string::npos) << text.out;
  EXPECT_LT(at, text.out.find("Report 1:"));
  EXPECT_EQ(text.out.find(line, at + 1), std::string::npos) << "named more than once";
}

TEST_F(DebugInfoMismatch, SaysWhatTheFileIs) {
  // A user-space program.
  CliResult ls = run_ktriage({"analyze", "--vmlinux", "/bin/ls", kSeed});
  ASSERT_EQ(ls.status, 0) << ls.err;
  EXPECT_THAT(ls.err, HasSubstr("vmlinux /bin/ls does not match this log (certain: a user-space program, not a kernel image): not used"));
  // Refused for the oops, it is not "used" because the other report had nothing to check.
  EXPECT_THAT(ls.out, Not(HasSubstr("debug info: vmlinux /bin/ls")));

  // A module (a relocatable object) given as vmlinux.
  const fs::path src = dir_ / "mod.c", obj = dir_ / "mod.ko";
  std::ofstream(src) << "int __this_module;\nint task_rq_lock(int x) { return x + 1; }\n";
  ASSERT_EQ(std::system(("gcc -c -O2 -o '" + obj.string() + "' '" + src.string() + "'").c_str()), 0);
  CliResult ko = run_ktriage({"analyze", "--vmlinux", obj.string(), kSeed});
  ASSERT_EQ(ko.status, 0) << ko.err;
  EXPECT_THAT(ko.err, HasSubstr("(certain: a module, not vmlinux (give modules with --modules)): not used"));
}

}  // namespace
}  // namespace ktriage::test

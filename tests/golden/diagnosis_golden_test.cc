// Golden files for the founding case's diagnosis (issue 5): the whole text
// report of `ktriage analyze examples/xfs-panic.log`, with no kernel version,
// with a RHEL 6 kernel that lacks the fixes and with one that carries them.
// Besides the byte-exact comparison, each case asserts the sentences the
// diagnosis must contain, so a regenerated golden file cannot hide a wrong
// answer.
//
// KTRIAGE_UPDATE_GOLDEN=1 rewrites tests/golden/diagnosis/*.txt; review the
// diff by eye before committing it.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace fs = std::filesystem;

namespace {

using ktriage::test::read_file;

const fs::path kDir = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "golden" / "diagnosis";

std::string run(const std::string& args) {
  // From the source dir, so the input is named examples/xfs-panic.log.
  std::string cmd = "cd '" KTRIAGE_SOURCE_DIR "' && '" KTRIAGE_BINARY "' analyze --color never " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  return out;
}

struct Case {
  const char* name;
  const char* args;
  std::vector<const char*> must_contain;
};

const Case kCases[] = {
    {"no-version",
     "examples/xfs-panic.log",
     {"Most likely: kernel stack overflow corrupted thread_info [stack_overflow",
      "preempt count 0xffff8811 is pointer-like",
      "kernel read of user-space address 0xdd7ed3a8 in task_rq_lock",
      "all 16 frames of report #2 are marked '?'",
      "deep xfs I/O-completion chain",
      "THREAD_SIZE 8 KiB",
      "report #1 and report #2 are one incident",
      "upgrade to 2.6.32-520.el6 or later"}},
    {"rhel6-431",
     "--kernel-version 2.6.32-431.el6.x86_64 examples/xfs-panic.log",
     {"Most likely: kernel stack overflow corrupted thread_info [stack_overflow",
      "this kernel lacks both fixes",
      "upgrade to 2.6.32-520.el6 or later"}},
    {"rhel6-573",
     "--kernel-version 2.6.32-573.el6.x86_64 examples/xfs-panic.log",
     {"already carries the 16K stack",
      "look at c999a22"}},
};

class DiagnosisGolden : public ::testing::TestWithParam<Case> {};

TEST_P(DiagnosisGolden, MatchesExpectedText) {
  const Case& c = GetParam();
  std::string got = run(c.args);
  for (const char* s : c.must_contain) EXPECT_NE(got.find(s), std::string::npos) << "missing: " << s << "\n" << got;
  fs::path expected = kDir / (std::string(c.name) + ".txt");
  const char* update = std::getenv("KTRIAGE_UPDATE_GOLDEN");
  if (update && *update && std::string(update) != "0") {
    std::ofstream(expected, std::ios::binary) << got;
    return;
  }
  ASSERT_TRUE(fs::exists(expected)) << expected << " missing: run with KTRIAGE_UPDATE_GOLDEN=1";
  EXPECT_EQ(read_file(expected), got);
}

INSTANTIATE_TEST_SUITE_P(Seed, DiagnosisGolden, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) {
                           std::string n = param_info.param.name;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace

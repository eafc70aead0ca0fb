// Golden text reports of kernel-lab logs analysed with the lab's debug info:
// the whole `ktriage analyze --vmlinux ... --modules ...` output, plus the
// sentences each must contain, so a regenerated file cannot hide a wrong
// answer. uaf.log is the case where debug info once turned a correct
// use-after-free diagnosis into "non-canonical address" (issue 10).
//
// Needs the lab's download ($KLAB_CACHE): label `heavy`, skips without it.
// KTRIAGE_UPDATE_GOLDEN=1 rewrites tests/heavy/golden/*.txt; review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;
using ktriage::test::read_file;
using ktriage::test::run_command;

const fs::path kDir = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "heavy" / "golden";

struct Case {
  const char* log;
  std::vector<const char*> must_contain;
};

const Case kCases[] = {
    {"uaf",
     {"Most likely: use-after-free: pointer read from the free-pointer slot of a freed slab object (rbx + 0x20) in "
      "zoo_uaf [use_after_free",
      "offset 0x20 is the free-pointer slot of a kmalloc-64 object",
      "rax = s->ops",
      "In the source the faulting access is `s->ops->get` (crashzoo.c:155)"}},
    {"uaf-poison", {"Most likely: use-after-free", "s->ops->get"}},
    {"nullderef", {"Most likely: NULL pointer dereference", "zoo_table[i]->next"}},
};

class LabGolden : public ::testing::TestWithParam<Case> {};

TEST_P(LabGolden, MatchesExpectedText) {
  const Case& c = GetParam();
  const ktriage::test::KernelLab lab = ktriage::test::kernel_lab();
  if (!lab.ok) GTEST_SKIP() << "kernel-lab logs or the -dbg download ($KLAB_CACHE) not found";
  // From the logs' directory, so the report names the log by its own name.
  const std::string got = run_command("cd '" + lab.dir + "/logs' && '" KTRIAGE_BINARY "' analyze --color never " +
                                      std::string(c.log) + ".log --vmlinux '" + lab.vmlinux + "' --modules '" +
                                      lab.crashzoo_dir + "' --modules '" + lab.cache +
                                      "/dbg/usr/lib/debug/lib/modules' 2>&1");
  for (const char* s : c.must_contain) EXPECT_NE(got.find(s), std::string::npos) << "missing: " << s << "\n" << got;
  const fs::path expected = kDir / (std::string(c.log) + ".txt");
  const char* update = std::getenv("KTRIAGE_UPDATE_GOLDEN");
  if (update && *update && std::string(update) != "0") {
    std::ofstream(expected, std::ios::binary) << got;
    return;
  }
  EXPECT_EQ(got, read_file(expected)) << "KTRIAGE_UPDATE_GOLDEN=1 rewrites " << expected;
}

INSTANTIATE_TEST_SUITE_P(Lab, LabGolden, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.log;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace

// The kernel lab's logs against the lab's own crashzoo.ko (shared/kernel-lab/
// logs/debug; no vmlinux needed): every report whose ip is in the module has
// its Code: bytes checked against the stored function as the same build
// (`match`, or `runtime_patched` at ftrace and return-thunk sites), never a
// different one. Half the module's functions live in .text.unlikely, whose
// relocations (calls, per-CPU and rodata references) are not .text's:
// issue 12.5, where a relocated field outside .text read as another build
// and disabled the source-level explanation. Skips without ../shared.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "ktriage/logparse.h"
#include "ktriage/triage.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

namespace fs = std::filesystem;

TEST(LabModuleCodeCheck, EveryModuleFaultIsTheSameBuild) {
  const fs::path logs = fs::path(KTRIAGE_SHARED_DIR) / "kernel-lab" / "logs";
  if (!fs::exists(logs / "debug" / "crashzoo.ko")) GTEST_SKIP() << "no shared kernel-lab logs";
  TriageOptions options;
  options.shipped_kb = false;
  options.debug.module_dirs = {logs / "debug"};
  std::set<std::string> checked;
  for (const auto& e : fs::directory_iterator(logs)) {
    if (e.path().extension() != ".log") continue;
    Expected<Analysis> a = triage(e.path().string(), parse_log(test::read_file(e.path())), options);
    ASSERT_TRUE(a) << e.path() << ": " << a.error().message;
    for (const ReportDetails& d : a->details) {
      if (!d.code_match) continue;
      SCOPED_TRACE(e.path().filename().string() + ": " + d.code_match->function);
      EXPECT_TRUE(d.code_match->verdict == CodeVerdict::match || d.code_match->verdict == CodeVerdict::runtime_patched)
          << code_comparison_text(*d.code_match);
      checked.insert(d.code_match->function);
    }
  }
  // In .text.unlikely: zoo_spin, zoo_timer_fn, zoo_warn, zoo_write_ro; in .text: zoo_uaf, zoo_put_session.
  for (const char* fn : {"zoo_spin", "zoo_timer_fn", "zoo_warn", "zoo_write_ro", "zoo_uaf", "zoo_put_session"})
    EXPECT_TRUE(checked.contains(fn)) << fn << " was not checked";
}

}  // namespace
}  // namespace ktriage

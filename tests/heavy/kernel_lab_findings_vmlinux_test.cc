// kernel_lab_findings_test with debug info: for every kernel-lab log with
// ground truth, `ktriage analyze LOG --json --vmlinux ... --modules ...`
// gives a headline finding whose cause equals truth's `kind`, every report
// with a trace carries a stack_usage estimate, and a stack-overflow log's
// headline cites the per-frame estimate. Prints one line per log with the
// estimate of its first report.
//
// Needs the lab's download (KLAB_CACHE, default ~/.cache/kernel-lab): ctest
// label `heavy`; skips without it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::run_command;

std::string quote(const std::string& s) { return "'" + s + "'"; }

TEST(KernelLabFindingsVmlinux, TopCauseMatchesTruthWithDebugInfo) {
  const test::KernelLab lab = test::kernel_lab();
  if (!lab.ok) GTEST_SKIP() << "kernel-lab logs or the -dbg download ($KLAB_CACHE) not found";
  const std::string& vmlinux = lab.vmlinux;
  const std::string modules = lab.cache + "/dbg/usr/lib/debug/lib/modules";
  const std::string& crashzoo = lab.crashzoo_dir;
  std::ifstream truth(lab.truth);

  size_t total = 0, matched = 0;
  std::string line;
  while (std::getline(truth, line)) {
    if (line.empty()) continue;
    nlohmann::json entry = nlohmann::json::parse(line);
    const std::string log = entry.at("log").get<std::string>();
    const std::string want = entry.at("kind").get<std::string>();
    const std::string out = run_command(std::string(KTRIAGE_BINARY) + " analyze " + quote(lab.dir + "/" + log) +
                                " --json --vmlinux " + quote(vmlinux) + " --modules " + quote(crashzoo) +
                                " --modules " + quote(modules) + " 2>/dev/null");
    nlohmann::json doc = nlohmann::json::parse(out, nullptr, false);
    ++total;
    if (doc.is_discarded() || !doc.contains("findings") || !doc.contains("reports")) {
      ADD_FAILURE() << log << ": no JSON document from ktriage";
      continue;
    }
    const nlohmann::json& findings = doc["findings"];
    std::string got = findings.empty() ? "(none)" : findings[0]["cause"].get<std::string>();
    bool ok = got == want;
    matched += ok;

    std::string estimate = "-";
    for (const nlohmann::json& r : doc["reports"]) {
      if (r["frames"].empty()) continue;
      const nlohmann::json& u = r["stack_usage"];
      EXPECT_TRUE(u.is_object()) << log << ": a report with a trace has no stack_usage";
      if (!u.is_object() || estimate != "-") continue;
      estimate = std::to_string(u["total"].get<uint64_t>()) + "/" +
                 (u["thread_size"].is_null() ? std::string("?") : std::to_string(u["thread_size"].get<uint64_t>())) +
                 " bytes, " + std::to_string(u["measured"].get<size_t>()) + " measured, " +
                 std::to_string(u["unmeasured"].get<size_t>()) + " not";
    }
    if (want == "stack_overflow" && ok) {
      bool cites = false;
      for (const nlohmann::json& e : findings[0]["evidence"])
        cites |= e["text"].get<std::string>().find("frames on the") != std::string::npos;
      EXPECT_TRUE(cites) << log << ": the stack-overflow finding does not cite the per-frame estimate";
    }
    std::printf("%-4s %-26s want %-24s got %-24s stack %s\n", ok ? "ok" : "FAIL", log.c_str(), want.c_str(),
                got.c_str(), estimate.c_str());
    EXPECT_EQ(got, want) << log;
  }
  std::printf("%zu/%zu logs: top finding cause matches truth (with vmlinux and modules)\n", matched, total);
  EXPECT_GT(total, 0u);
}

}  // namespace
}  // namespace ktriage

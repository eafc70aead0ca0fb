// The fault-address analysis reads the pipeline's explanation of the
// faulting instruction (DiagnoseOptions::details) when debug info gave one:
// its source expression leads the actions, instead of advice to go and get
// the debug info that was already used.
#include <gtest/gtest.h>

#include <algorithm>

#include "ktriage/diagnose.h"

namespace ktriage {
namespace {

Report null_deref() {
  Report r;
  r.kind = CrashKind::null_deref;
  r.header = "BUG: kernel NULL pointer dereference, address: 0000000000000018";
  r.title = "BUG: unable to handle kernel NULL pointer dereference in zoo_sum_ids";
  r.arch = Arch::x86_64;
  r.kernel_release = "6.1.0-56-cloud-amd64";
  r.fault_address = 0x18;
  r.ip = Symbol{};
  r.ip->function = "zoo_sum_ids";
  r.ip->offset = 0x18;
  r.span.first_line = 1;
  r.span.last_line = 20;
  return r;
}

bool mentions(const std::vector<std::string>& actions, std::string_view what) {
  return std::any_of(actions.begin(), actions.end(),
                     [&](const std::string& a) { return a.find(what) != std::string::npos; });
}

TEST(FaultDetails, SourceExpressionLeadsTheActions) {
  std::vector<Report> reports{null_deref()};
  std::vector<ReportDetails> details(1);
  FaultExplanation e;
  e.access = AccessKind::read;
  e.instruction.text = "movq 0x18(%rcx), %rcx";
  e.memory = MemoryOperand{};
  e.memory->base = "rcx";
  e.memory->displacement = 0x18;
  e.memory->size = 8;
  e.source_access = SourceExpression{};
  e.source_access->text = "n->next";
  e.source_location = SourceLocation{"crashzoo.c", 72, 0};
  details[0].fault = e;

  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> with = diagnose(reports, options);
  ASSERT_FALSE(with.empty());
  EXPECT_EQ(with[0].cause, "null_deref");
  ASSERT_FALSE(with[0].actions.empty());
  EXPECT_NE(with[0].actions[0].find("`n->next` (crashzoo.c:72)"), std::string::npos) << with[0].actions[0];
  EXPECT_FALSE(mentions(with[0].actions, "vmlinux"));
  EXPECT_TRUE(std::any_of(with[0].evidence.begin(), with[0].evidence.end(),
                          [](const Evidence& ev) { return ev.text.find("`n->next`") != std::string::npos; }));

  // Without debug info the same report still asks for it.
  std::vector<Finding> without = diagnose(reports);
  ASSERT_FALSE(without.empty());
  EXPECT_EQ(without[0].cause, "null_deref");
  EXPECT_TRUE(mentions(without[0].actions, "vmlinux"));
  EXPECT_FALSE(mentions(without[0].actions, "n->next"));
}

// An explanation with no instruction (no Code: line, no debug info) adds
// nothing: it is not evidence.
TEST(FaultDetails, EmptyExplanationIsIgnored) {
  std::vector<Report> reports{null_deref()};
  std::vector<ReportDetails> details(1);
  details[0].fault = FaultExplanation{};
  details[0].fault->code_missing = "Unable to access opcode bytes";
  details[0].fault->address = 0x18;
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> fs = diagnose(reports, options);
  ASSERT_FALSE(fs.empty());
  for (const Evidence& ev : fs[0].evidence) EXPECT_EQ(ev.text.find("not in the log"), std::string::npos);
}

}  // namespace
}  // namespace ktriage

// Source expressions of the faulting instruction in the kernel-lab logs
// (shared/kernel-lab/logs, Debian 6.1 kernel, crashzoo.ko with DWARF):
// the log's own Code: bytes give the memory operand (explain_report_fault),
// the Symbolizer gives the link-time PC, and source_expression() must name
// the field the ground truth's notes name ("read of n->next at 0x18",
// "s->ops read after kfree(s)").
//
// Needs the lab's download (KLAB_CACHE, default ~/.cache/kernel-lab):
// ctest label `heavy`; skips without it.
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/disasm.h"
#include "ktriage/logparse.h"
#include "ktriage/symbolize.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;
using ktriage::test::run_command;

namespace fs = std::filesystem;

struct ParsedOperand {
  std::string base, index;
  int64_t scale = 1;
  int64_t displacement = 0;
};

// The memory operand of an AT&T operand list ("0x20(%rbx), %rax").
std::optional<ParsedOperand> parse_att_operand(const std::string& operands) {
  static const RE2 operand(R"((-?0x[0-9a-f]+)?\((?:%([a-z0-9]+))?(?:, ?%([a-z0-9]+)(?:, ?([1248]))?)?\))");
  ParsedOperand out;
  std::string d, scale;  // "" when the operand has none
  if (!RE2::PartialMatch(operands, operand, &d, &out.base, &out.index, &scale)) return std::nullopt;
  if (!d.empty()) {
    out.displacement = d[0] == '-' ? -static_cast<int64_t>(std::stoull(d.substr(1), nullptr, 16))
                                   : static_cast<int64_t>(std::stoull(d, nullptr, 16));
  }
  if (!scale.empty()) out.scale = std::stoll(scale);
  return out;
}

TEST(SourceExpressionLab, FaultingLoadsNameTheFieldsOfTheNotes) {
  const test::KernelLab lab = test::kernel_lab();
  if (!lab.ok) GTEST_SKIP() << "kernel-lab cache not found (KLAB_CACHE=" << lab.cache << ")";
  const std::string &vmlinux = lab.vmlinux, &module_dbg = lab.module_dbg, &crashzoo_dir = lab.crashzoo_dir;
  DebugInfoOptions opts;
  opts.vmlinux = vmlinux;
  opts.module_dirs = {crashzoo_dir, module_dbg};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;

  // "n->next", "s->ops": the field a note names.
  static const RE2 field(R"(\b([a-z_][a-z0-9_]*->[a-z_][a-z0-9_]*)\b)");
  std::ifstream truth_in(lab.truth);
  std::string line;
  int checked = 0, explained = 0;
  while (std::getline(truth_in, line)) {
    if (line.empty()) continue;
    const nlohmann::json truth = nlohmann::json::parse(line);
    if (truth["ip"].is_null()) continue;
    const std::string log = truth["log"];
    SCOPED_TRACE(log);
    std::vector<Report> reports = parse_log(read_file(lab.dir + "/" + log));
    const Report* report = nullptr;
    for (const Report& r : reports) {
      if (r.ip && r.ip->function == truth["ip"]["function"]) {
        report = &r;
        break;
      }
    }
    ASSERT_TRUE(report) << "no report with RIP " << truth["ip"]["function"];
    auto faultOrErr = explain_report_fault(*report);
    if (!faultOrErr || !faultOrErr->memory || faultOrErr->memory->base == "rip" ||
        faultOrErr->memory->base == "rsp") {
      continue;  // not a memory access through a data pointer
    }
    Symbolization s = symOrErr->symbolize(*report);
    ASSERT_TRUE(s.ip && s.ip->ok() && s.ip->link_address) << (s.ip ? s.ip->symbolize_error : "");
    const MemoryOperand& m = *faultOrErr->memory;
    const FaultExplanation& f = *faultOrErr;
    // What B1's chain does: the load that last wrote the base register,
    // explained at its own PC, becomes what the base register holds.
    std::optional<SourceExpression> base_is;
    for (const ChainStep& step : f.chain) {
      if (step.register_name != m.base) continue;
      std::optional<ParsedOperand> op = parse_att_operand(step.instruction.operands);
      if (!op || f.instruction.address < step.instruction.address) break;
      const uint64_t pc = *s.ip->link_address - (f.instruction.address - step.instruction.address);
      base_is = symOrErr->source_expression(s.ip->object, pc, op->base, op->index, op->scale,
                                            op->displacement, 8);
      break;
    }
    std::optional<SourceExpression> e = symOrErr->source_expression(
        s.ip->object, *s.ip->link_address, m.base, m.index, m.scale, m.displacement, m.size,
        base_is ? &*base_is : nullptr);
    const std::string notes = truth["notes"];
    std::string want;  // the field the note names
    std::printf("%s: %s [%s] -> %s%s\n", log.c_str(), faultOrErr->instruction.text.c_str(),
                m.describe().c_str(), e ? e->text.c_str() : "(none)",
                e && e->inferred ? " (inferred)" : "");
    if (e) ++explained;
    if (!RE2::PartialMatch(notes, field, &want) || truth["ip"]["module"] != "crashzoo") continue;
    EXPECT_TRUE(e) << "no expression for " << faultOrErr->instruction.text;
    // The note names either the field read (n->next) or the field that
    // held the bad pointer (s->ops, for s->ops->get).
    if (e) {
      EXPECT_TRUE(e->text == want || e->text.starts_with(want + "->") ||
                  e->text.starts_with(want + "."))
          << e->text << " vs " << want << " " << e->note;
    }
    ++checked;
  }
  EXPECT_GE(checked, 2);  // nullderef (n->next), uaf-poison (s->ops)
  EXPECT_GE(explained, checked);
}

// The founding case on the lab's kernel: task_rq_lock() computes
// cpu_rq(task_cpu(p)), a __per_cpu_offset[] load indexed by the CPU number
// read from task_thread_info(p)->cpu (thread_info is embedded in
// task_struct on 6.1). The instructions come from objdump; the expected
// expressions from the kernel source.
TEST(SourceExpressionLab, TaskRqLockPerCpuOffsetOfThreadInfoCpu) {
  const test::KernelLab lab = test::kernel_lab();
  const std::string& vmlinux = lab.vmlinux;
  if (!fs::exists(vmlinux)) GTEST_SKIP() << "kernel-lab vmlinux not found";
  std::istringstream nm(run_command("nm -S '" + vmlinux + "'"));
  std::string line;
  uint64_t start = 0, size = 0;
  while (std::getline(nm, line)) {
    std::istringstream ls(line);
    std::string addr, sz, type, name;
    if (ls >> addr >> sz >> type >> name && name == "task_rq_lock") {
      start = std::stoull(addr, nullptr, 16);
      size = std::stoull(sz, nullptr, 16);
    }
  }
  ASSERT_NE(start, 0u);
  char range[128];
  std::snprintf(range, sizeof range, "--start-address=0x%llx --stop-address=0x%llx",
                static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + size));
  std::istringstream dis(run_command("objdump -d --no-show-raw-insn " + std::string(range) + " '" + vmlinux + "'"));
  struct Insn {
    uint64_t address;
    std::string text;
  };
  std::vector<Insn> insns;
  while (std::getline(dis, line)) {
    size_t colon = line.find(":\t");
    if (colon == std::string::npos || line.find(">:") != std::string::npos) continue;
    insns.push_back({std::stoull(line, nullptr, 16), line.substr(colon + 2)});
  }
  // The first __per_cpu_offset-style load: no base, an index scaled by 8.
  size_t at = insns.size();
  std::optional<ParsedOperand> table;
  for (size_t i = 0; i < insns.size(); ++i) {
    std::optional<ParsedOperand> op = parse_att_operand(insns[i].text);
    if (op && op->base.empty() && !op->index.empty() && op->scale == 8 && op->displacement < 0) {
      at = i;
      table = op;
      break;
    }
  }
  ASSERT_TRUE(table) << "no indexed table load in task_rq_lock";
  // The load before it that wrote the index register (or its 32-bit half).
  const std::string wide = "%" + table->index;
  const std::string narrow = "%e" + table->index.substr(1);
  std::optional<ParsedOperand> cpu_load;
  uint64_t cpu_pc = 0;
  for (size_t i = at; i-- > 0;) {
    const std::string& t = insns[i].text;
    if (!t.ends_with("," + wide) && !t.ends_with("," + narrow)) continue;
    cpu_load = parse_att_operand(t);
    cpu_pc = insns[i].address;
    break;
  }
  ASSERT_TRUE(cpu_load && !cpu_load->base.empty());

  DebugInfoOptions opts;
  opts.vmlinux = vmlinux;
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  Report report;
  Symbol ip;
  ip.function = "task_rq_lock";
  ip.offset = 0;
  report.ip = ip;
  Symbolization s = symOrErr->symbolize(report);
  ASSERT_TRUE(s.ip && s.ip->link_address);
  ASSERT_EQ(*s.ip->link_address, start);

  auto cpu = symOrErr->source_expression("vmlinux", cpu_pc, cpu_load->base, cpu_load->index,
                                         cpu_load->scale, cpu_load->displacement, 4);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->text, "p->thread_info.cpu");
  EXPECT_EQ(cpu->member, "cpu");
  auto offset = symOrErr->source_expression("vmlinux", insns[at].address, "", table->index, 8,
                                            table->displacement, 8, nullptr, &*cpu);
  ASSERT_TRUE(offset);
  EXPECT_EQ(offset->text, "__per_cpu_offset[p->thread_info.cpu]");
  EXPECT_EQ(offset->variable, "__per_cpu_offset");
}

}  // namespace
}  // namespace ktriage

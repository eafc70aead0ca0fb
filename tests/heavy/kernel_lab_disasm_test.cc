// For every kernel-lab log with a memory fault (truth.jsonl kinds null_deref,
// oops_paging, gpf, use_after_free, stack_overflow, with a kernel ip), the
// faulting instruction disassembled from Debian's -dbg vmlinux / modules or
// the lab's crashzoo.ko:
//  - is the instruction objdump shows at that offset of the function (bytes,
//    mnemonic, operands);
//  - is the instruction the log's own Code: bytes decode to at the marker;
//  - and the Code: bytes compare to the stored ones as `match` or
//    `runtime_patched` (the same build), never `different_build`.
//
// Needs the lab's download (KLAB_CACHE, default ~/.cache/kernel-lab):
// ctest label `heavy`; skips without it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/logparse.h"
#include "ktriage/triage.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;
using ktriage::test::run_command;

namespace fs = std::filesystem;

std::string squeeze(std::string s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t') out += c;
  }
  return out;
}

// Operands as both disassemblers would agree on them: no spaces, numbers
// in hex (capstone prints `-1(%rsi)` and `$8`, objdump `-0x1(%rsi)`,
// `$0x8`), no implicit `%es:` of string instructions.
std::string canonical_operands(const std::string& text) {
  std::string s = squeeze(text);
  for (size_t at; (at = s.find("%es:")) != std::string::npos;) s.erase(at, 4);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const bool starts_number = std::isdigit(static_cast<unsigned char>(s[i])) &&
                               (i == 0 || s[i - 1] == '-' || s[i - 1] == '$' || s[i - 1] == ',' || s[i - 1] == '(');
    if (!starts_number) {
      out += s[i++];
      continue;
    }
    if (s.compare(i, 2, "0x") == 0) {
      size_t j = i + 2;
      while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
      out += s.substr(i, j - i);
      i = j;
      continue;
    }
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", std::stoull(s.substr(i, j - i)));
    out += hex;
    i = j;
  }
  return out;
}

struct ObjInsn {
  std::vector<uint8_t> bytes;
  std::string mnemonic, operands;
};

// objdump's instruction at `offset` into `func` of `elf`; empty when none starts there.
ObjInsn objdump_at(const std::string& elf, const std::string& func, uint64_t offset) {
  std::istringstream in(run_command("objdump -d --disassemble='" + func + "' '" + elf + "' 2>/dev/null"));
  std::string line;
  std::optional<uint64_t> start;
  ObjInsn out;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("<" + func + ">:") != std::string::npos) {
      start = std::stoull(line, nullptr, 16);
      continue;
    }
    const size_t colon = line.find(":\t");
    if (!start || colon == std::string::npos) continue;
    const size_t tab2 = line.find('\t', colon + 2);
    if (tab2 != std::string::npos) {  // an instruction's first line
      if (inside) break;
      if (std::stoull(line, nullptr, 16) - *start != offset) continue;
      inside = true;
      std::istringstream text(line.substr(tab2 + 1));
      text >> out.mnemonic;
      for (const char* prefix : {"rep", "repz", "repe", "repnz", "repne", "lock", "notrack"}) {
        std::string next;
        if (out.mnemonic == prefix && text >> next) out.mnemonic += " " + next;
      }
      std::string rest;
      std::getline(text, rest);
      if (size_t hash = rest.find('#'); hash != std::string::npos) rest.resize(hash);
      out.operands = canonical_operands(rest);
    } else if (!inside) {
      continue;
    }
    std::istringstream hex(line.substr(colon + 2, tab2 == std::string::npos ? std::string::npos : tab2 - colon - 2));
    std::string b;
    while (hex >> b) out.bytes.push_back(static_cast<uint8_t>(std::stoul(b, nullptr, 16)));
  }
  return out;
}

TEST(KernelLabDisasm, FaultingInstructionFromDebugInfo) {
  const test::KernelLab lab = test::kernel_lab();
  if (!lab.ok) GTEST_SKIP() << "kernel-lab cache not found (KLAB_CACHE=" << lab.cache << ")";
  const std::string &vmlinux = lab.vmlinux, &module_dbg = lab.module_dbg, &crashzoo_dir = lab.crashzoo_dir;
  if (std::system("objdump --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "objdump not available";

  const std::set<std::string> memory_faults = {"null_deref", "oops_paging", "gpf", "use_after_free", "stack_overflow"};
  std::ifstream truth_in(lab.truth);
  std::string line;
  int checked = 0, with_code = 0;
  while (std::getline(truth_in, line)) {
    if (line.empty()) continue;
    const nlohmann::json truth = nlohmann::json::parse(line);
    if (!memory_faults.count(truth["kind"].get<std::string>()) || truth["ip"].is_null()) continue;
    const std::string log = truth["log"];
    SCOPED_TRACE(log);
    const std::string function = truth["ip"]["function"];
    const std::string module = truth["ip"]["module"];

    TriageOptions options;
    options.debug.vmlinux = vmlinux;
    options.debug.module_dirs = {crashzoo_dir, module_dbg};
    options.shipped_kb = false;
    Expected<Analysis> a = triage(log, parse_log(read_file(lab.dir + "/" + log)), options);
    ASSERT_TRUE(a) << a.error().message;
    size_t r = 0;
    while (r < a->reports.size() && !(a->reports[r].ip && a->reports[r].ip->function == function)) ++r;
    ASSERT_LT(r, a->reports.size()) << "no report with ip " << function;
    const Report& report = a->reports[r];
    const ReportDetails& d = a->details[r];

    const FunctionListing* listing = nullptr;
    for (const FunctionListing& l : d.disassembly) {
      if (l.frame == "ip") listing = &l;
    }
    ASSERT_NE(listing, nullptr);
    EXPECT_EQ(listing->function, function);
    EXPECT_EQ(listing->object, module.empty() ? "vmlinux" : module);
    ASSERT_TRUE(listing->marked);
    const ListingInstruction& mine = listing->instructions[*listing->marked];
    ASSERT_TRUE(report.ip->offset);
    EXPECT_EQ(mine.offset, *report.ip->offset);

    // objdump on the same file, at the same offset into the function.
    std::string elf = vmlinux;
    if (module == "crashzoo") elf = crashzoo_dir + "/crashzoo.ko";
    if (module == "crc_itu_t") elf = module_dbg + "/kernel/lib/crc-itu-t.ko";
    const ObjInsn want = objdump_at(elf, function, mine.offset);
    ASSERT_FALSE(want.mnemonic.empty()) << "objdump has no instruction at +" << mine.offset;
    EXPECT_EQ(mine.insn.bytes, want.bytes);
    EXPECT_EQ(mine.insn.mnemonic.rfind(want.mnemonic, 0), 0u) << mine.insn.mnemonic << " vs " << want.mnemonic;
    EXPECT_EQ(canonical_operands(mine.insn.operands), want.operands);

    // The log's own Code: bytes, when it printed them.
    if (d.code) {
      ++with_code;
      EXPECT_EQ(d.code->faulting().text, mine.insn.text);
      ASSERT_TRUE(d.code_match);
      EXPECT_NE(d.code_match->verdict, ktriage::CodeVerdict::different_build) << ktriage::code_comparison_text(*d.code_match);
    }
    // The explanation names the same instruction.
    ASSERT_TRUE(d.fault);
    EXPECT_EQ(d.fault->instruction.text, mine.insn.text);
    ++checked;
  }
  EXPECT_GE(checked, 5);
  EXPECT_GE(with_code, 4);
}

// --disasm all over every lab log: each reliable call-trace frame's listing
// marks the call its return address follows (the instruction ending exactly
// at the printed offset), and that call's target is named.
TEST(KernelLabDisasm, ReturnAddressFramesMarkTheirCall) {
  const test::KernelLab lab = test::kernel_lab();
  if (!lab.ok) GTEST_SKIP() << "kernel-lab cache not found (KLAB_CACHE=" << lab.cache << ")";
  const std::string &vmlinux = lab.vmlinux, &module_dbg = lab.module_dbg, &crashzoo_dir = lab.crashzoo_dir;
  int frames = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(lab.dir + "/logs")) {
    if (e.path().extension() != ".log") continue;
    SCOPED_TRACE(e.path().filename().string());
    TriageOptions options;
    options.debug.vmlinux = vmlinux;
    options.debug.module_dirs = {crashzoo_dir, module_dbg};
    options.shipped_kb = false;
    options.disasm = {"all"};
    Expected<Analysis> a = triage(e.path().string(), parse_log(read_file(e.path().string())), options);
    ASSERT_TRUE(a) << a.error().message;
    for (size_t r = 0; r < a->reports.size(); ++r) {
      for (const FunctionListing& l : a->details[r].disassembly) {
        if (l.frame == "ip") continue;
        const Frame& f = a->reports[r].frames.at(std::stoul(l.frame));
        SCOPED_TRACE(f.function);
        if (!f.offset || *f.offset == 0) continue;  // no call before offset 0
        // Entry code (entry_SYSCALL_64 and friends) returns to where no call is.
        if (f.function.rfind("entry_", 0) == 0 || f.function.rfind("asm_", 0) == 0 ||
            f.function.rfind("ret_from_fork", 0) == 0) {
          continue;
        }
        EXPECT_TRUE(l.return_address);
        ASSERT_TRUE(l.marked) << (l.warnings.empty() ? "" : l.warnings.front());
        const ListingInstruction& call = l.instructions[*l.marked];
        EXPECT_EQ(call.offset + call.insn.bytes.size(), *f.offset);
        EXPECT_EQ(call.insn.mnemonic.rfind("call", 0), 0u) << call.insn.text;
        ++frames;
      }
    }
  }
  EXPECT_GE(frames, 30);
}

}  // namespace
}  // namespace ktriage

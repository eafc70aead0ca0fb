// syzkaller's linux/decompile cases (shared/corpus/syzkaller/linux/decompile/
// {amd64,arm,arm64}/N.in|.out): where syzkaller's .out marks the trapping
// instruction ("* 2a:\t48 f7 f5 \tdiv %rbp <-- trapping instruction"),
// ktriage must name the same instruction: same bytes, same mnemonic and
// operands (modulo AT&T size suffixes and number formatting).
//
// The Code: line used is chosen the way the .out files were produced: the
// first kernel-mode Code: line (user-mode lines follow "RIP: 0033:") whose
// faulting instruction is not a deliberate trap (ud2, brk). Cases whose .out
// marks nothing (WARNINGs, BUG()s, stalls, unreadable code) have nothing to
// compare; for those we still require that every Code: line either decodes
// onto its marker or is rejected as undecodable by the parser, never crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/disasm.h"
#include "logparse/code.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

struct Expected_ {
  bool present = false;
  std::vector<uint8_t> bytes;  // memory order
  std::string text;            // "div    %rbp"
};

// Parses the "* off:\tbytes\ttext <-- trapping instruction" line.
Expected_ expected_from_out(const std::string& out_text, bool words) {
  Expected_ e;
  for (const std::string& line : lines_of(out_text)) {
    if (line.rfind("* ", 0) != 0 || line.find("<-- trapping instruction") == std::string::npos) continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, '\t');) fields.push_back(f);
    if (fields.size() < 3) continue;
    std::stringstream hex(fields[1]);
    for (std::string tok; hex >> tok;) {
      uint32_t v = static_cast<uint32_t>(std::stoul(tok, nullptr, 16));
      size_t n = words ? tok.size() / 2 : 1;
      for (size_t i = 0; i < n; ++i) e.bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::string text;  // arm listings put a tab between mnemonic and operands
    for (size_t i = 2; i < fields.size(); ++i) text += (i > 2 ? " " : "") + fields[i];
    e.text = text.substr(0, text.find("<--"));
    e.present = true;
  }
  return e;
}

// Canonical form for comparing objdump's and Capstone's text: lower case, no
// spaces, comments dropped, every number as decimal.
std::string canonical(std::string s) {
  for (const char* comment : {"//", "@", ";"}) {
    if (size_t p = s.find(comment); p != std::string::npos) s.erase(p);
  }
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    bool starts_number = std::isdigit(static_cast<unsigned char>(c)) &&
                         (out.empty() || !std::isalnum(static_cast<unsigned char>(out.back())));
    if (starts_number) {
      size_t end = i;
      long long v = 0;
      if (s.compare(i, 2, "0x") == 0) {
        end = i + 2;
        while (end < s.size() && std::isxdigit(static_cast<unsigned char>(s[end]))) ++end;
        v = static_cast<long long>(std::stoull(s.substr(i + 2, end - i - 2), nullptr, 16));
      } else {
        while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
        v = std::stoll(s.substr(i, end - i));
      }
      out += std::to_string(v);
      i = end;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    ++i;
  }
  return out;
}

// objdump prints "div %rbp", Capstone AT&T "divq %rbp": allow one size suffix.
bool same_instruction(const Instruction& ours, const std::string& theirs) {
  std::string t = theirs;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  std::string their_mnem = t.substr(0, t.find_first_of(" \t"));
  std::string their_ops = t.size() > their_mnem.size() ? t.substr(their_mnem.size()) : "";
  std::string m = ours.mnemonic;
  bool mnem_ok = m == their_mnem ||
                 (m.size() == their_mnem.size() + 1 && m.rfind(their_mnem, 0) == 0 && std::string("bwlq").find(m.back()) != std::string::npos);
  return mnem_ok && canonical(ours.operands) == canonical(their_ops);
}

Arch arch_of(const std::string& dir) {
  if (dir == "amd64") return Arch::x86_64;
  if (dir == "arm64") return Arch::arm64;
  if (dir == "arm") return Arch::arm;
  if (dir == "386") return Arch::i386;
  return Arch::unknown;
}

bool is_trap(const Instruction& i) {
  return i.mnemonic == "ud2" || i.mnemonic == "brk" || i.mnemonic.rfind("udf", 0) == 0;
}

TEST(DecompileCorpus, FaultingInstructionMatchesSyzkaller) {
  const fs::path root = fs::path(KTRIAGE_SHARED_DIR) / "corpus/syzkaller/linux/decompile";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no corpus at " << root;

  int marked = 0, matched = 0, unmarked = 0, code_lines = 0, decoded = 0, undecodable = 0;
  std::vector<fs::path> inputs;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.path().extension() == ".in") inputs.push_back(f.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  ASSERT_FALSE(inputs.empty());

  for (const fs::path& in : inputs) {
    const std::string dir = in.parent_path().filename().string();
    const Arch arch = arch_of(dir);
    SCOPED_TRACE(in.string());
    const std::vector<std::string> lines = lines_of(read_file(in));

    // Every Code: line: decodes onto its marker, or the parser rejects it.
    std::optional<CodeDecode> chosen;
    for (size_t i = 0; i < lines.size(); ++i) {
      size_t at = lines[i].find("Code: ");
      if (at == std::string::npos) continue;
      ++code_lines;
      CodeBytes code = logparse::parse_code_line(std::string_view(lines[i]).substr(at + 6));
      if (!code.decodable) {
        ++undecodable;
        EXPECT_FALSE(code.problem.empty());
        continue;
      }
      ktriage::Expected<CodeDecode> d = decode_code(code, arch);
      ASSERT_TRUE(d) << lines[i] << ": " << d.error().message;
      ++decoded;
      EXPECT_EQ(d->faulting().offset, *code.faulting_offset);
      const bool user_mode = i > 0 && lines[i - 1].find("RIP: 0033:") != std::string::npos;
      if (!chosen && !user_mode && !is_trap(d->faulting())) chosen = *d;
    }

    fs::path out = in;
    out.replace_extension(".out");
    Expected_ want = expected_from_out(read_file(out), arch != Arch::x86_64 && arch != Arch::i386);
    if (!want.present) {
      ++unmarked;
      continue;
    }
    ++marked;
    ASSERT_TRUE(chosen) << "no kernel Code: line decoded";
    const Instruction& got = chosen->faulting();
    EXPECT_EQ(got.bytes, want.bytes);
    EXPECT_TRUE(same_instruction(got, want.text)) << "ours: " << got.text << "  syzkaller: " << want.text;
    if (got.bytes == want.bytes && same_instruction(got, want.text)) ++matched;
  }

  std::printf("decompile corpus: %d/%d marked faulting instructions matched (%.0f%%); %d cases without a marked "
              "instruction; %d Code: lines, %d decoded onto the marker, %d rejected as undecodable\n",
              matched, marked, marked ? 100.0 * matched / marked : 0.0, unmarked, code_lines, decoded, undecodable);
  EXPECT_EQ(matched, marked);
}

TEST(DecompileCorpus, CanonicalTextComparison) {
  Instruction i;
  i.mnemonic = "divq";
  i.operands = "%rbp";
  EXPECT_TRUE(same_instruction(i, "div    %rbp "));
  i.mnemonic = "str";
  i.operands = "r4, [r3, #-0x20]";
  EXPECT_TRUE(same_instruction(i, "str\tr4, [r3, #-32]\t@ 0xffffffe0 "));
  i.mnemonic = "strb";
  i.operands = "w20, [x19]";
  EXPECT_FALSE(same_instruction(i, "strh\tw20, [x19]"));
  EXPECT_FALSE(same_instruction(i, "strb\tw21, [x19]"));
}

}  // namespace
}  // namespace ktriage

namespace ktriage {
namespace {

// The architecture a whole log comes from, by the register names it prints.
Arch guess_arch(const std::string& log, uint8_t unit) {
  auto has = [&](const char* s) { return log.find(s) != std::string::npos; };
  if (unit == 1) return has("EIP:") || has("EIP is at") ? Arch::i386 : Arch::x86_64;
  if (unit == 4) return has("x29") || has("pstate:") ? Arch::arm64 : has(" r10") || has("ARM") ? Arch::arm : Arch::unknown;
  if (unit == 2) return has(" r10") || has("ARM") ? Arch::arm : Arch::unknown;
  return Arch::unknown;
}

std::string objdump_first_instruction(const std::vector<uint8_t>& bytes, size_t from, Arch arch, std::string* mnemonic) {
  char path[] = "/tmp/ktriage-code-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "";
  std::string data(bytes.begin() + static_cast<std::ptrdiff_t>(from), bytes.end());
  bool wrote = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  std::string out;
  if (wrote) {
    std::string cmd = std::string("objdump -D -b binary -m ") + (arch == Arch::i386 ? "i386" : "i386:x86-64") + " " + path +
                      " 2>/dev/null";
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
  }
  unlink(path);
  // "   0:\t48 8b 40 18          \tmov    0x18(%rax),%rax"; instructions
  // longer than 7 bytes continue on lines with no mnemonic.
  std::string hex;
  bool in_first = false;
  for (const std::string& line : lines_of(out)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, '\t');) fields.push_back(f);
    if (line.find("   0:\t") == 0 && fields.size() >= 3) {
      in_first = true;
      hex = fields[1];
      std::stringstream m(fields[2]);
      m >> *mnemonic;
      // Prefixes print as part of the mnemonic: "rep stos", "lock xadd".
      while (*mnemonic == "rep" || *mnemonic == "repz" || *mnemonic == "repnz" || *mnemonic == "lock" ||
             *mnemonic == "data16" || *mnemonic == "notrack" || *mnemonic == "bnd") {
        if (!(m >> *mnemonic)) break;
      }
      continue;
    }
    if (in_first && fields.size() == 2) {
      hex += " " + fields[1];
      continue;
    }
    if (in_first) break;
  }
  return hex;
}

// Every Code: line in the shared corpus (syzbot reports and distribution
// logs): decodable lines must decode onto their marker or fail with a clear
// "could not decode"; on x86 the faulting instruction must be the one GNU
// objdump sees at the marker (same length, same mnemonic).
TEST(DecompileCorpus, EveryCodeLineInTheCorpus) {
  const fs::path root = fs::path(KTRIAGE_SHARED_DIR) / "corpus";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no corpus at " << root;
  const bool have_objdump = std::system("objdump --version >/dev/null 2>&1") == 0;

  int lines_seen = 0, undecodable = 0, decoded = 0, failed = 0, compared = 0, agreed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().string().find("/decompile/") != std::string::npos) continue;
    const std::string log = read_file(entry.path());
    if (log.find("Code: ") == std::string::npos) continue;
    for (const std::string& line : lines_of(log)) {
      size_t at = line.find("Code: ");
      if (at == std::string::npos || (at >= 5 && line.compare(at - 5, 5, "Krnl ") == 0)) continue;  // s390
      ++lines_seen;
      CodeBytes code = logparse::parse_code_line(std::string_view(line).substr(at + 6));
      if (!code.decodable) {
        ++undecodable;
        EXPECT_FALSE(code.problem.empty()) << line;
        continue;
      }
      const Arch arch = guess_arch(log, code.unit);
      ktriage::Expected<CodeDecode> d = decode_code(code, arch);
      if (!d) {
        ++failed;
        EXPECT_EQ(d.error().message.rfind("could not decode: ", 0), 0u) << d.error().message;
        std::printf("  could not decode %s: %s\n", entry.path().filename().c_str(), d.error().message.c_str());
        continue;
      }
      ++decoded;
      if (have_objdump && (arch == Arch::x86_64 || arch == Arch::i386)) {
        std::string mnem;
        std::string hex = objdump_first_instruction(code.bytes, *code.faulting_offset, arch, &mnem);
        if (hex.empty()) continue;
        ++compared;
        std::stringstream ss(hex);
        size_t n = 0;
        for (std::string t; ss >> t;) ++n;
        const Instruction& got = d->faulting();
        std::string ours = got.mnemonic.substr(got.mnemonic.rfind(' ') + 1);  // "rep stosb" -> "stosb"
        bool same_mnem = ours == mnem || (ours.size() == mnem.size() + 1 && ours.rfind(mnem, 0) == 0) ||
                         (mnem.size() == ours.size() + 1 && mnem.rfind(ours, 0) == 0);
        if (n == got.bytes.size() && same_mnem) {
          ++agreed;
        } else {
          std::printf("  objdump disagrees in %s: ours `%s` (%zu bytes), objdump `%s` (%zu bytes)\n",
                      entry.path().filename().c_str(), got.text.c_str(), got.bytes.size(), mnem.c_str(), n);
        }
      }
    }
  }
  std::printf("corpus Code: lines: %d seen, %d undecodable by the kernel's own account or damaged, %d decoded onto "
              "the marker, %d could not be decoded; x86 faulting instruction agrees with objdump in %d/%d\n",
              lines_seen, undecodable, decoded, failed, agreed, compared);
  ASSERT_GT(lines_seen, 0);
  // One syzbot log has RIP in the middle of an instruction (49 89 <c5>): no
  // instruction starts at the marker, and saying so is the right answer.
  EXPECT_LE(failed, 1);
  EXPECT_EQ(agreed, compared);
}

}  // namespace
}  // namespace ktriage

// Kernel-lab logs (Debian 6.1 crashing in QEMU, shared/kernel-lab/logs with
// truth.jsonl): for every memory fault with a known fault address, the
// explanation from the log alone must compute that address from the
// faulting instruction and the dumped registers, and name a bad register.
//
// Until the parser fills Report::code/registers this test reads the first
// kernel-mode register dump itself: the "Code:" line after the first
// "RIP: 0010:" and the "NAME: value" pairs up to the next "RIP:"/"Code:".
namespace ktriage {
namespace {

struct LabTruth {
  std::string log;
  std::string report_kind;
  std::optional<uint64_t> fault_address;
};

std::vector<LabTruth> lab_truth(const fs::path& file) {
  std::vector<LabTruth> out;
  for (const std::string& line : lines_of(read_file(file))) {
    auto field = [&](const std::string& key) -> std::string {
      std::string k = "\"" + key + "\": \"";
      size_t at = line.find(k);
      if (at == std::string::npos) return "";
      at += k.size();
      return line.substr(at, line.find('"', at) - at);
    };
    LabTruth t;
    t.log = field("log");
    t.report_kind = field("report_kind");
    std::string fa = field("fault_address");
    if (!fa.empty()) t.fault_address = std::stoull(fa, nullptr, 16);
    if (!t.log.empty()) out.push_back(t);
  }
  return out;
}

// The first kernel-mode oops dump of a log, as a Report.
std::optional<Report> first_kernel_dump(const std::string& log) {
  const std::vector<std::string> lines = lines_of(log);
  Report r;
  r.arch = Arch::x86_64;
  size_t i = 0;
  for (; i < lines.size() && lines[i].find("RIP: 0010:") == std::string::npos; ++i) {
    if (size_t at = lines[i].find("error_code(0x"); at != std::string::npos) {
      r.error_code = PageFaultError{static_cast<uint32_t>(std::stoul(lines[i].substr(at + 11), nullptr, 16))};
    }
  }
  if (i == lines.size()) return std::nullopt;
  RegisterSet regs;
  for (size_t j = i + 1; j < lines.size() && j < i + 16; ++j) {
    const std::string& l = lines[j];
    if (size_t at = l.find("Code: "); at != std::string::npos) {
      if (r.code) break;
      r.code = logparse::parse_code_line(std::string_view(l).substr(at + 6));
      continue;
    }
    if (l.find("RIP: ") != std::string::npos) break;
    // "RAX: 0000000000000000 RBX: ..." and "RSP: 0018:ffffc900003f7f58".
    for (size_t at = 0; (at = l.find(": ", at)) != std::string::npos; at += 2) {
      size_t name_start = at;
      while (name_start > 0 && std::isalnum(static_cast<unsigned char>(l[name_start - 1]))) --name_start;
      std::string name = l.substr(name_start, at - name_start);
      std::string value = l.substr(at + 2, 16 + 5);
      if (value.size() > 5 && value[4] == ':') value = value.substr(5);  // segment selector
      value = value.substr(0, 16);
      if (name.size() < 2 || name.size() > 3 || value.size() != 16 ||
          value.find_first_not_of("0123456789abcdef") != std::string::npos) {
        continue;
      }
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      regs.regs.push_back({name, std::stoull(value, nullptr, 16)});
    }
  }
  if (regs.regs.empty()) return std::nullopt;
  r.registers.push_back(regs);
  return r;
}

TEST(KernelLab, FaultAddressFromTheFaultingInstruction) {
  const fs::path root = fs::path(KTRIAGE_SHARED_DIR) / "kernel-lab";
  if (!fs::exists(root / "logs/truth.jsonl")) GTEST_SKIP() << "no kernel-lab logs at " << root;
  int faults = 0, explained = 0;
  for (const LabTruth& t : lab_truth(root / "logs/truth.jsonl")) {
    if (!t.fault_address) continue;  // no memory fault in this log
    SCOPED_TRACE(t.log);
    std::optional<Report> report = first_kernel_dump(read_file(root / t.log));
    ASSERT_TRUE(report);
    ++faults;
    report->fault_address = t.fault_address;
    report->kind = crash_kind_from_string(t.report_kind).value_or(CrashKind::other);
    ktriage::Expected<FaultExplanation> e = explain_report_fault(*report);
    ASSERT_TRUE(e) << e.error().message;
    std::printf("  %s:\n", t.log.c_str());
    for (const std::string& s : ktriage::fault_sentences(*e)) std::printf("    %s\n", s.c_str());
    if (!report->code || !report->code->decodable) {
      // No code bytes: the explanation can only work from the fault address.
      if (e->access != AccessKind::execute) {
        EXPECT_FALSE(e->bad_register.empty());
      }
      ++explained;
      continue;
    }
    ASSERT_TRUE(e->effective_address);
    // A guard-page hit reports where the CPU first touched the guard page
    // (here while pushing the exception frame), which is in the same page as
    // the faulting instruction's address, not equal to it.
    const bool guard_page = t.report_kind == "stack_overflow";
    if (guard_page) {
      EXPECT_EQ(*e->effective_address >> 12, *t.fault_address >> 12);
    } else {
      EXPECT_EQ(e->address_matches, true) << std::hex << *e->effective_address << " vs " << *t.fault_address;
    }
    EXPECT_FALSE(e->bad_register.empty());
    ++explained;
  }
  std::printf("kernel-lab: %d/%d memory faults explained (the fault address computed from the faulting instruction "
              "where the log has its bytes)\n",
              explained, faults);
  EXPECT_EQ(explained, faults);
  EXPECT_GT(faults, 0);
}

}  // namespace
}  // namespace ktriage

// The stack-trace grammar shared by every detector: where a stack starts,
// what a frame line is (frame_names(), matched by hand), what marks a
// corrupted trace, and the syscall-wrapper prefixes titles strip.
#include "logparse/detector_table.h"
#include "logparse/detectors.h"

namespace ktriage::logparse {

const StackGrammar& stack_grammar() {
  static const StackGrammar* g = [] {
    auto* out = new StackGrammar;
    // The last one is RISC-V: show_regs() dumps the stack without a heading.
    static constexpr std::string_view kStarts[] = {
        R"(Call (?:T|t)race)", "Allocated:", "Allocated by task [0-9]+:", "Freed:",
        "Freed by task [0-9]+:", R"([^k] backtrace(?: \(crc [[:xdigit:]]*\))?:)", "Backtrace:",
        "Uninit was stored to memory at",
        "status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}"};
    std::string any;
    for (std::string_view s : kStarts) {
      out->stack_start.push_back(compile_pattern(s));
      if (!any.empty()) any.push_back('|');
      any.append("(?:").append(s).append(")");
    }
    out->any_stack_start = compile_pattern(any);
    out->stack_start_literal = {"Call ", "Allocated", "Allocated by task ", "Freed", "Freed by task ",
                                " backtrace", "Backtrace:", "Uninit was stored to memory at", "status: "};
    out->riscv_stack_start = out->stack_start.back().get();
    out->corrupted_literal = "should_fail";
    out->frame.push_back(compile_pattern("^ *(?:{{PC}} ){0,2}{{FUNC}}"));
    // arm: "[<pc>] (func) from [<pc>] (caller+0x..)" names both frames.
    out->frame.push_back(
        compile_pattern(R"(^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}})"));
    // Fault-injection stacks interleave with reports.
    out->corrupted_line.push_back(
        compile_pattern(R"(^( \[\<?(?:0x)?[0-9a-f]+\>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x)"));
    out->strip_prefixes = {"SYSC_",     "SyS_",    "sys_",       "__x64_",   "__ia32_",
                           "__arm64_",  "____sys_", "___sys_",   "__sys_",   "__se_",
                           "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_"};
    return out;
  }();
  return *g;
}

namespace {
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// `{{PC}} ` at s[i] ("[<ffffffff81058e5d>] ", "[0x1f] "): its length, or 0.
// No backtracking is needed: none of '<', '>', ']' is a hex digit.
size_t pc_and_space(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = i + 1;
  if (j < s.size() && s[j] == '<') ++j;
  if (j + 2 < s.size() && s[j] == '0' && s[j + 1] == 'x' && is_lower_hex(s[j + 2])) j += 2;
  size_t digits = j;
  while (j < s.size() && is_lower_hex(s[j])) ++j;
  if (j == digits) return 0;
  if (j < s.size() && s[j] == '>') ++j;
  if (j + 1 >= s.size() || s[j] != ']' || s[j + 1] != ' ') return 0;
  return j + 2 - i;
}
}  // namespace

FrameNames frame_names(std::string_view line) {
  FrameNames out;
  // `^ *(?:{{PC}} ){0,2}{{FUNC}}`: a function name can never start with
  // '[', so taking every PC that matches is the regex's only way through.
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  for (int k = 0; k < 2; ++k) {
    size_t n = pc_and_space(line, i);
    if (n == 0) break;
    i += n;
  }
  size_t begin = i;
  while (i < line.size() && is_word_char(line[i])) ++i;
  if (i > begin && i < line.size() && (line[i] == '.' || line[i] == '+')) {
    out.name[out.count++] = line.substr(begin, i - begin);
    return out;
  }
  if (line.find(") from [") == std::string_view::npos) return out;
  re2::StringPiece groups[3];
  const RE2& arm = *stack_grammar().frame[1];
  if (!arm.Match(line, 0, line.size(), RE2::ANCHOR_START, groups, 3)) return out;
  for (int k = 1; k <= 2; ++k) out.name[out.count++] = std::string_view(groups[k].data(), groups[k].size());
  return out;
}

}  // namespace ktriage::logparse

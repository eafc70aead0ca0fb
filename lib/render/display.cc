#include "render/display.h"

#include "ktriage/render.h"

#include <fmt/format.h>

#include <algorithm>

namespace ktriage::render {

std::string symbol_text(const Symbol& s) {
  std::string out = s.function.empty() && s.address ? fmt::format("{:#x}", *s.address) : s.function;
  if (s.offset) out += fmt::format("+{:#x}", *s.offset);
  if (s.size) out += fmt::format("/{:#x}", *s.size);
  if (!s.module.empty()) out += fmt::format(" [{}]", s.module);
  return out;
}

std::string source_text(const SourceLocation& l) { return fmt::format("{}:{}", l.file, l.line); }

std::string inline_chain_text(const std::vector<InlineFrame>& inlined) {
  if (inlined.size() < 2) return "";
  std::string out;
  for (size_t i = 0; i + 1 < inlined.size(); ++i)
    out += fmt::format("{} ({}) -> ", inlined[i].function, source_text(inlined[i].location));
  return out + inlined.back().function;
}

std::string listing_location(const ListingInstruction& i) {
  if (!i.source) return "";
  std::string out = source_text(*i.source);
  if (i.inlined.size() > 1) {
    out += " (inlined";
    for (size_t k = 0; k + 1 < i.inlined.size(); ++k) out += (k == 0 ? " " : " <- ") + i.inlined[k].function;
    out += " <- " + i.inlined.back().function + ")";
  }
  return out;
}

std::string listing_target_text(const ListingInstruction& i) {
  if (i.target.empty()) return "";
  if (i.target.front() == '"') return fmt::format("  # {}", i.target);  // a string literal: what a printk/BUG prints
  if (i.insn.branch_target) return fmt::format(" <{}>", i.target);
  if (i.target_address) return fmt::format("  # {:#x} <{}>", *i.target_address, i.target);
  return fmt::format("  # <{}>", i.target);
}

std::string listing_frame_text(const FunctionListing& l) { return l.frame == "ip" ? "the ip" : "frame #" + l.frame; }

// Instructions shown around the marked one when the listing was not asked
// for whole.
constexpr size_t kCompactBefore = 16;
constexpr size_t kCompactAfter = 8;

ListingWindow listing_window(const FunctionListing& l) {
  ListingWindow w{0, l.instructions.size(), true};
  if (!l.requested && l.marked) {
    w.first = *l.marked > kCompactBefore ? *l.marked - kCompactBefore : 0;
    w.last = std::min(w.last, *l.marked + kCompactAfter + 1);
  }
  w.whole = w.first == 0 && w.last == l.instructions.size();
  return w;
}

std::optional<size_t> listing_index(const FunctionListing& l, const FaultExplanation& f, const Instruction& insn) {
  if (l.frame != "ip" || l.return_address || !l.marked || *l.marked >= l.instructions.size()) return std::nullopt;
  const ListingInstruction& marked = l.instructions[*l.marked];
  if (marked.insn.bytes.size() != f.instruction.bytes.size()) return std::nullopt;
  // Both explanations and listings number instructions in one address space
  // each; the distance from the faulting instruction is the same in both.
  const uint64_t want = marked.insn.address + (insn.address - f.instruction.address);
  for (size_t k = 0; k < l.instructions.size(); ++k) {
    const Instruction& i = l.instructions[k].insn;
    if (i.address == want) {
      // Relocated fields may differ; the length may not.
      if (i.bytes.size() != insn.bytes.size()) return std::nullopt;
      return k;
    }
  }
  return std::nullopt;
}

const FunctionListing* ip_listing(const ReportDetails& d) {
  for (const FunctionListing& l : d.disassembly) {
    if (l.frame == "ip") return &l;
  }
  return nullptr;
}

std::vector<std::string> fault_sentences(const FaultExplanation& f) { return ktriage::fault_sentences(f); }

ChainStepText chain_step_text(const ChainStep& step) {
  ChainStepText t;
  t.register_name = step.register_name;
  t.instruction = step.instruction.text;
  t.expression = step_expression(step);
  if (step.source) t.source = source_text(*step.source);
  if (step.value) t.value = fmt::format("{:#x}", *step.value);
  return t;
}

CodeCheckText code_check_text(const CodeComparison& c) {
  CodeCheckText t;
  t.label = c.verdict == CodeVerdict::match             ? "match"
            : c.verdict == CodeVerdict::runtime_patched ? "runtime-patched code"
                                                        : "different kernel build";
  t.explanation = code_comparison_text(c);
  t.alarming = c.verdict == CodeVerdict::different_build;
  return t;
}

std::string register_class_text(const ClassifiedRegister& r) {
  if (r.verdict.kind == PointerClass::plausible) return "";
  return r.verdict.description.empty() ? std::string(to_string(r.verdict.kind)) : r.verdict.description;
}

std::string bytes_text(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

std::string commit_url(const std::string& commit) {
  if (commit.size() < 7 || commit.size() > 40 ||
      commit.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return "";
  }
  return "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/?id=" + commit;
}

std::string link_url(const std::string& url) {
  const bool web = url.starts_with("https://") || url.starts_with("http://");
  // No whitespace or control characters: one address, nothing else.
  const bool clean = std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= ' '; });
  return web && clean ? url : "";
}

}  // namespace ktriage::render

namespace ktriage {

std::optional<ReportFormat> report_format_from_string(std::string_view name) {
  if (name == "text") return ReportFormat::text;
  if (name == "json") return ReportFormat::json;
  if (name == "markdown" || name == "md") return ReportFormat::markdown;
  if (name == "html") return ReportFormat::html;
  return std::nullopt;
}

}  // namespace ktriage

// Internal to the render stage: the one place that turns pieces of the model
// into the words and numbers a reader sees, shared by the text, Markdown and
// HTML renderers. When the model's types change (fault chain steps, code
// comparison verdicts), these functions change and the renderers do not.
// Nothing here computes a result: it picks, formats and joins model fields.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ktriage/analysis.h"

namespace ktriage::render {

// "task_rq_lock+0x4d/0xa8 [xfs]"; the printed address when there is no name.
std::string symbol_text(const Symbol& s);

// "mm/slub.c:337"
std::string source_text(const SourceLocation& l);

// The inline chain of a symbolized location, innermost first, ending with
// the function that contains it: "zoo_next_id (crashzoo.c:72) -> zoo_sum_ids";
// "" when nothing was inlined.
std::string inline_chain_text(const std::vector<InlineFrame>& inlined);

// A listing instruction's source: "crashzoo.c:72 (inlined zoo_next_id <- zoo_sum_ids)"; "" without DWARF.
std::string listing_location(const ListingInstruction& i);

// What follows the instruction text in a listing: " <mutex_lock>" for a
// branch, "  # 0xffffffff82a0b000 <__per_cpu_offset+0x8>" for an address
// operand, "  # \"fmt\"" for a string literal; "" when there is none.
std::string listing_target_text(const ListingInstruction& i);

// "the ip" or "frame #3".
std::string listing_frame_text(const FunctionListing& l);

// The instructions shown of a listing: around the marked one, or all of it
// when it was asked for (--disasm) or has no mark.
struct ListingWindow {
  size_t first = 0;
  size_t last = 0;  // one past
  bool whole = true;
};
ListingWindow listing_window(const FunctionListing& l);

// The index in `l` of `insn`, an instruction of the fault explanation `f`
// (its faulting instruction or a chain step's), matched by its distance from
// the faulting instruction and its bytes; nullopt when the listing is not of
// the faulting function or the instruction is not in it.
std::optional<size_t> listing_index(const FunctionListing& l, const FaultExplanation& f, const Instruction& insn);

// The faulting function's listing of a report, when it has one.
const FunctionListing* ip_listing(const ReportDetails& d);

// The fault explanation in plain sentences.
std::vector<std::string> fault_sentences(const FaultExplanation& f);

// One step of the backward chain, as the renderers show it.
struct ChainStepText {
  std::string register_name;  // the register this step wrote: "rcx"
  std::string instruction;    // "movq -0x3fdf5b40(, %rax, 8), %rcx"
  std::string expression;     // "rcx = *(u64 *)(rax*8 - 0x3fdf5b40)"
  std::string source;         // "crashzoo.c:72", "" without DWARF
  std::string value;          // "0x0", "" when unknown
};
ChainStepText chain_step_text(const ChainStep& step);

// The Code:-bytes check against the debug file: "match", "runtime-patched
// code" or "different kernel build", and whether it should alarm the reader.
struct CodeCheckText {
  std::string label;
  std::string explanation;
  bool alarming = false;
};
CodeCheckText code_check_text(const CodeComparison& c);

// A register's value read as a pointer: "NULL + 0x18", "user-space address";
// "" when it looks plausible.
std::string register_class_text(const ClassifiedRegister& r);

// Bytes for people: "216 bytes", "15.9 KiB".
std::string bytes_text(uint64_t bytes);

// A known-bug fix commit's web address (git.kernel.org), "" when `commit` is
// not a commit id.
std::string commit_url(const std::string& commit);

// `url` when it is an http(s) address that may be linked, else "".
std::string link_url(const std::string& url);

}  // namespace ktriage::render

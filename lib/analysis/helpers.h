// Internal to the analysis stage: helpers the analyses share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/context.h"

namespace ktriage::analysis {

// Evidence builders.
std::optional<uint32_t> header_line(const Report& r);
Evidence log_line(size_t report, const Report& r, std::string text);  // points at the report's header line
Evidence line_at(size_t report, uint32_t line, std::string text);      // a given input line; 0: none
Evidence figure(size_t report, std::string text);
Evidence kernel_fact(std::string text);
Finding make_finding(std::string id, std::string cause, std::string title, double confidence,
                     std::string reason, size_t report);

// Where the CPU was: the printed IP, else the first reliable frame ("" if unknown).
std::string where(const Report& r);
std::string in_where(const Report& r);  // " in func" or ""
std::string where(const Context& c, size_t i);
std::string in_where(const Context& c, size_t i);

// Fields with fallbacks to the header when the parser left them out.
std::optional<PageFaultError> page_fault_error(const Report& r, Arch arch);
// The same, judged with the architecture of the kernel as a whole.
std::optional<PageFaultError> page_fault_error_of(const Context& c, size_t i);
// The faulting function ("" when the report printed none).
std::string ip_function_of(const Report& r);
std::optional<uint64_t> leading_hex(std::string_view s);
std::optional<uint64_t> fault_address_of(const Report& r);
std::optional<uint64_t> preempt_count_of(const Report& r);
std::string atomic_task(const Report& r);  // "comm/pid" of a scheduling-while-atomic report
std::optional<uint64_t> reg(const Report& r, std::string_view name);

// The report's notes of one kind (Report::notes), in log order.
std::vector<const Note*> notes_of(const Report& r, NoteKind kind);
bool has_note(const Report& r, NoteKind kind);
// A note as evidence: the kernel's line, with its line number.
Evidence note_line(size_t report, const Note& n);

// Trace shape.
bool all_frames_unreliable(const Report& r);
std::pair<std::string, size_t> most_repeated(const Report& r);    // {function, count}
std::pair<std::string, size_t> dominant_module(const Report& r);  // {module, frames in it}
std::string chain(const Report& r, std::string_view module);      // "a → b → c", outermost first
bool io_completion_like(const Report& r, std::string_view module);
// Scheduler, sleep, free and reporting primitives: frames to look past.
bool is_core_primitive(std::string_view fn);
// The first reliable frame past the primitives: the code worth reading first.
const Frame* first_caller(const Report& r);

bool is_primary(const Context& c, size_t i);  // not a follow-on of an earlier report

}  // namespace ktriage::analysis

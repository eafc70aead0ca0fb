// Internal to the render stage: what the HTML renderer's files share.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "ktriage/analysis.h"

namespace ktriage::render {

// Text for HTML element content and double-quoted attribute values: & < > " '
// escaped, bytes that are not valid UTF-8 and control characters (a log's
// escape sequences, NULs) shown as U+FFFD.
std::string html_escape(std::string_view text);

// The picture of report `number`'s crashing stack (a <figure> with an inline
// SVG), or nothing when the report has no call trace. `id` is unique on the
// page. With a stack-usage estimate: one <rect class="kt-frame"> per
// measured frame, sized by its bytes, against THREAD_SIZE; without: one
// <rect class="kt-frame-unsized"> per frame, by depth.
void render_stack_figure(const Report& report, const ReportDetails& details, const StackLimit& limit,
                         size_t number, const std::string& id, std::ostream& out);

}  // namespace ktriage::render

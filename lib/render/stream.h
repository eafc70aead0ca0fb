// JSON's part of ReportStream (render.h). Internal to lib/render.
#pragma once

#include <cstddef>
#include <ostream>

#include "ktriage/analysis.h"
#include "support/spool.h"

namespace ktriage::render_stream {

// Appends the window's report elements to `spool`.
void json_window(const Analysis& window, size_t first, support::Spool& spool);
// The document around them.
void json_finish(const Analysis& head, size_t reports, const FindingSource& findings, const support::Spool& spool,
                 std::ostream& out);

}  // namespace ktriage::render_stream

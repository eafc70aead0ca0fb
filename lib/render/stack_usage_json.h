// Internal to the render stage: the `stack_usage` object of a report
// (docs/json.md), kept apart from json.cc so the estimate's shape lives in one place.
#pragma once

#include <nlohmann/json.hpp>

#include "ktriage/analysis.h"

namespace ktriage::render {

// {total, thread_size, thread_size_assumption, stack, measured, unmeasured,
//  skipped, frames: [{index, function, module, bytes, method, note}]},
// or null when the report has no estimate (no debug info given).
nlohmann::ordered_json stack_usage_json(const ReportDetails& details);

}  // namespace ktriage::render

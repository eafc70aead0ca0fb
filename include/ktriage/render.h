// Renderers: one model, many formats. A renderer formats what earlier stages
// computed and never computes anything itself.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "ktriage/analysis.h"

namespace ktriage {

struct RenderOptions {
  bool color = false;            // ANSI colour (only when writing to a terminal)
  bool verbose = false;
};

inline constexpr int kJsonSchemaVersion = 1;

void render_json(const Analysis& analysis, std::ostream& out);
void render_text(const Analysis& analysis, const RenderOptions& options, std::ostream& out);

}  // namespace ktriage

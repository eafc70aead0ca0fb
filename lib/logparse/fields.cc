#include "logparse/fields.h"

namespace ktriage::logparse {

void extract_fields(std::span<const LogLine> lines, Report& report) {
  (void)lines;
  (void)report;
}

}  // namespace ktriage::logparse

#include "logparse/lines.h"

namespace ktriage::logparse {

void clean_line(std::string_view raw, LogLine& out) {
  // Placeholder until the prefix table lands: drop \r only.
  while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  out.text.assign(raw);
}

}  // namespace ktriage::logparse

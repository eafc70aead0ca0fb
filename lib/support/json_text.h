// nlohmann's dump() throws on a string that is not UTF-8, and text from a
// console log, a request or a file name need not be: every document that may
// hold such text is written with its bytes that are not UTF-8 as U+FFFD.
#pragma once

#include <string>

namespace ktriage::support {

// `j` as JSON text; indent -1: compact.
template <typename BasicJson>
std::string json_text(const BasicJson& j, int indent = -1) {
  return j.dump(indent, ' ', false, BasicJson::error_handler_t::replace);
}

}  // namespace ktriage::support

// Parsing the text of a `Code:` line into bytes and the faulting unit.
#pragma once

#include <string_view>

#include "ktriage/report.h"

namespace ktriage::logparse {

// `text` is what follows "Code: ". x86 marks the faulting byte <xx>, arm64 and
// arm mark the faulting word (xxxxxxxx) or halfword (xxxx). Garbage gives
// decodable=false, never an exception.
CodeBytes parse_code_line(std::string_view text);

}  // namespace ktriage::logparse

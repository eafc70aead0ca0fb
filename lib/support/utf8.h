// Text from a console log is not always UTF-8: a serial line drops bytes, a
// pstore record is cut mid-character. What needs UTF-8 (a PostgreSQL text
// column, an HTML page) takes it through valid_utf8().
#pragma once

#include <string>
#include <string_view>

namespace ktriage::support {

// `text` with each byte that does not start a valid UTF-8 sequence (overlong
// forms, surrogates and values past U+10FFFF are invalid too) and each NUL
// replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

}  // namespace ktriage::support

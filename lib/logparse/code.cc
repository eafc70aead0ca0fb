#include "logparse/code.h"

namespace ktriage::logparse {

CodeBytes parse_code_line(std::string_view text) {
  CodeBytes code;
  code.text.assign(text);
  code.decodable = false;
  return code;
}

}  // namespace ktriage::logparse

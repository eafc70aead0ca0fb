// Reading input files and stdin.
#pragma once

#include <string>

#include "ktriage/error.h"

namespace ktriage::support {

// Reads a whole file ("-" = stdin). Errors name the path and the reason.
Expected<std::string> read_file(const std::string& path);

}  // namespace ktriage::support

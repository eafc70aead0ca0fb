// Addresses and symbols as the kernel prints them in frames and IP lines:
// `[<ffffffff81058e5d>]`, `func+0x4d/0xa8 [mod buildid]`, `:mod:func+0x1/0x2`.
// Damaged text is read as far as it goes; what was odd goes to `anomalies`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/report.h"

namespace ktriage::logparse {

// Records an anomaly once per line and message (at most 256 per report).
void note(std::vector<Anomaly>* anomalies, uint32_t line, std::string message);

// Kernel addresses are printed zero-padded to pointer width: 8 or 16 digits;
// other widths are read but noted.
std::optional<uint64_t> address_digits(std::string_view digits, std::vector<Anomaly>* anomalies, uint32_t line);

// "[<ffffffff81058e5d>]" at s[0]; returns bytes consumed (0: not one).
size_t bracket_address(std::string_view s, std::optional<uint64_t>& out, std::vector<Anomaly>* anomalies,
                       uint32_t line);

// "func+0x4d/0xa8 [mod buildid]" at the start of s. Returns bytes consumed,
// 0 when s does not start with a symbol.
size_t symbol_at(std::string_view s, Symbol& out, std::vector<Anomaly>* anomalies, uint32_t line);

}  // namespace ktriage::logparse

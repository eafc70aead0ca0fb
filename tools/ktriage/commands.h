// Subcommands: each registers its options on the CLI11 app and returns the
// function that runs it. Exit codes are grep's: 0 found, 1 none, 2 error.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace ktriage::cli {

enum ExitCode { kFound = 0, kNothingFound = 1, kError = 2 };

using Run = std::function<int()>;

Run add_analyze(CLI::App& app);

}  // namespace ktriage::cli

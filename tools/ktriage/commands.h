// Subcommands: each registers its options on the CLI11 app and returns the
// function that runs it. Exit codes are grep's: 0 found, 1 none, 2 error.
#pragma once

#include <functional>
#include <string>
#include <vector>
#include <string_view>

#include <CLI/CLI.hpp>

#include "ktriage/debuginfo.h"

namespace ktriage::cli {

enum ExitCode { kFound = 0, kNothingFound = 1, kError = 2 };

using Run = std::function<int()>;

Run add_analyze(CLI::App& app);
Run add_kb(CLI::App& app);
Run add_debuginfo(CLI::App& app);

// Fetch options shared by `analyze --fetch-debuginfo` and `debuginfo fetch`.
struct FetchCli {
  bool enabled = false;  // analyze: --fetch-debuginfo (or --debuginfod given)
  std::vector<std::string> debuginfod_urls;
  std::vector<std::string> rpm_urls;
  bool no_apt = false;
  std::string kernel_root = "/";
  std::string cache_dir;
  std::string cache_limit = "8G";
  unsigned timeout = 30;
  std::string ask_above = "100M";
  bool yes = false;
};
void add_fetch_options(CLI::App* cmd, FetchCli& fetch, bool for_analyze);
// With a progress bar on stderr (on a terminal) and a confirmation prompt
// on the terminal for big downloads unless --yes.
FetchOptions fetch_options(const FetchCli& fetch);
Run add_bucket(CLI::App& app);
Run add_ingest(CLI::App& app);
Run add_query(CLI::App& app);
Run add_serve(CLI::App& app);

// Refuses what classify_kernel_release() cannot read, naming the forms it can.
CLI::Validator kernel_release_validator();

// Standard output is a terminal that shows colour: not with NO_COLOR set,
// nor on TERM=dumb (Emacs shells, some serial consoles).
bool colour_terminal();

// The columns of the terminal standard output is; 0 when it is not one
// (a file or a pipe gets lines as long as they are).
size_t terminal_width();

// Prints "ktriage: MESSAGE" on stderr; returns kError.
int fail(std::string_view message);

// Flushes standard output; false (with a message on stderr) when anything
// written to it was lost (a full disk, /dev/full, an I/O error).
bool finish_stdout();

}  // namespace ktriage::cli

// `ktriage analyze`: parse a console log and report every crash in it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "support/io.h"

namespace ktriage::cli {
namespace {

struct AnalyzeOptions {
  std::string input = "-";
  bool json = false;
  std::string color = "auto";
};

bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
}

int run_analyze(const AnalyzeOptions& o) {
  Expected<std::string> textOrErr = support::read_file(o.input);
  if (!textOrErr) {
    std::fprintf(stderr, "ktriage: %s\n", textOrErr.error().message.c_str());
    return kError;
  }
  Analysis analysis;
  analysis.source = o.input;
  analysis.reports = parse_log(*textOrErr);
  if (o.json) {
    render_json(analysis, std::cout);
  } else {
    render_text(analysis, RenderOptions{.color = use_color(o.color)}, std::cout);
  }
  std::cout.flush();
  return analysis.reports.empty() ? kNothingFound : kFound;
}

}  // namespace

Run add_analyze(CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Find and parse every kernel crash report in a console log (dmesg, journalctl, serial,\n"
      "netconsole, pstore, vmcore-dmesg.txt, or a bug report's text).");
  cmd->add_option("input", o->input, "log file, or - for standard input")->capture_default_str();
  cmd->add_flag("--json", o->json, "print one JSON document (schema in docs/json.md)");
  cmd->add_option("--color", o->color, "colour the text report: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  return [o] { return run_analyze(*o); };
}

}  // namespace ktriage::cli

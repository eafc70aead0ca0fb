#include <cstdio>
#include <exception>
#include <map>

#include <fmt/format.h>

#include "commands.h"

int main(int argc, char** argv) {
  using namespace ktriage::cli;
  CLI::App app{
      "ktriage: triage Linux kernel crash reports (Oops, BUG, panic, WARNING, KASAN, lockdep,\n"
      "RCU stalls, hung tasks, ...) from console logs.\n\n"
      "Examples:\n"
      "  ktriage analyze dmesg.txt                 human summary of every crash report\n"
      "  journalctl -k -b -1 | ktriage analyze -   read standard input\n"
      "  ktriage analyze --json serial.log         machine-readable (docs/json.md)\n\n"
      "Exit status: 0 reports found, 1 none found, 2 error.",
      "ktriage"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ktriage 0.1.0");

  const std::map<std::string, Run> commands = {
      {"analyze", add_analyze(app)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ktriage: %s (see ktriage --help)\n", e.what());
    return kError;
  }
  try {
    for (const CLI::App* sub : app.get_subcommands()) return commands.at(sub->get_name())();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ktriage: %s\n", e.what());
    return kError;
  }
  return kError;
}

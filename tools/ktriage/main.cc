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
      "  ktriage analyze --json serial.log         machine-readable (docs/json.md)\n"
      "  ktriage analyze --fetch-debuginfo crash.log   fetch the kernel's debug info first\n"
      "  ktriage kb search nft_set_rbtree          look known bugs up (CVE records, data/kb)\n"
      "  ktriage bucket logs/*                     which reports are the same bug\n"
      "  ktriage ingest --host web7 dmesg.txt      store them (SQLite, or PostgreSQL with --db)\n"
      "  ktriage query buckets --since 7d          the top buckets of a fleet\n"
      "  ktriage serve --listen 127.0.0.1:8080     collect logs over HTTP, show buckets in a browser\n\n"
      "Exit status: 0 reports found, 1 none found, 2 error.",
      "ktriage"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ktriage 0.1.0");

  const std::map<std::string, Run> commands = {
      {"analyze", add_analyze(app)},
      {"debuginfo", add_debuginfo(app)},
      {"kb", add_kb(app)},
      {"bucket", add_bucket(app)},
      {"ingest", add_ingest(app)},
      {"query", add_query(app)},
      {"serve", add_serve(app)},
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
    for (const CLI::App* sub : app.get_subcommands()) {
      const int status = commands.at(sub->get_name())();
      // Output lost to a full disk is an error whatever the command found.
      return finish_stdout() ? status : kError;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ktriage: %s\n", e.what());
    return kError;
  }
  return kError;
}

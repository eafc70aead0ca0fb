#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <numeric>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The closest of `names` to `typed`, when close enough to be a typo.
std::string closest(std::string_view typed, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, typed.size() / 3) + 1;
  for (const std::string& n : names) {
    const size_t d = edit_distance(typed, n);
    if (d < best_distance) best = n, best_distance = d;
  }
  return best;
}

// The subcommand argv names (the first word that is one), or null.
CLI::App* subcommand_in(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[i]) return sub;
    }
    return nullptr;
  }
  return nullptr;
}

// What a user who typed something wrong needs: the option they meant, and
// the help of the command they were using.
std::string explain(const CLI::ParseError& e, CLI::App& app, int argc, char** argv) {
  CLI::App* sub = subcommand_in(app, argc, argv);
  const std::string where = sub ? "ktriage " + sub->get_name() : "ktriage";
  std::string message = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (!arg.starts_with("--") || message.find(std::string(arg)) == std::string::npos) continue;
      arg = arg.substr(0, arg.find('='));
      std::vector<std::string> names;
      for (const CLI::Option* o : (sub ? sub : &app)->get_options())
        for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
      if (arg == "--version" && sub) return fmt::format("{} has no --version; the version is `ktriage --version`", where);
      const std::string near = closest(arg, names);
      message = fmt::format("unknown option {}", arg);
      if (!near.empty()) message += fmt::format("; did you mean {}?", near);
      break;
    }
  }
  return fmt::format("{} (see {} --help)", message, where);
}

}  // namespace

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

  // `ktriage help [COMMAND]`, and a first word that is no command.
  if (argc >= 2 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const auto& [name, run] : commands) names.push_back(name);
    if (std::strcmp(argv[1], "help") == 0) {
      CLI::App* sub = argc >= 3 && commands.contains(argv[2]) ? app.get_subcommand(argv[2]) : &app;
      std::fputs(sub->help().c_str(), stdout);
      return finish_stdout() ? kFound : kError;
    }
    if (!commands.contains(argv[1])) {
      const std::string near = closest(argv[1], names);
      std::fprintf(stderr, "ktriage: unknown command '%s'%s (commands: %s; see ktriage --help)\n", argv[1],
                   near.empty() ? "" : fmt::format("; did you mean '{}'?", near).c_str(),
                   fmt::format("{}", fmt::join(names, ", ")).c_str());
      return kError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ktriage: %s\n", explain(e, app, argc, argv).c_str());
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

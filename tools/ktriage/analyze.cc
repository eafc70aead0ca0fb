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

// Progress on stderr for big inputs, only when a person is watching.
class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO)) {}
  ~Progress() {
    if (shown_) std::fputs("\r\033[K", stderr);
  }
  void update(const support::StreamProgress& p) {
    constexpr uint64_t kStep = 64ull << 20;
    if (!enabled_ || !p.total || *p.total < kStep || p.done < next_) return;
    next_ = p.done + kStep;
    shown_ = true;
    std::fprintf(stderr, "\rktriage: reading %llu / %llu MiB", static_cast<unsigned long long>(p.done >> 20),
                 static_cast<unsigned long long>(*p.total >> 20));
  }

 private:
  bool enabled_;
  bool shown_ = false;
  uint64_t next_ = 0;
};

int run_analyze(const AnalyzeOptions& o) {
  Analysis analysis;
  analysis.source = o.input;
  {
    LogParser parser;
    Progress progress;
    Expected<uint64_t> sizeOrErr = support::stream_file(
        o.input, 1 << 20, [&](std::string_view chunk, const support::StreamProgress& p) {
          parser.feed(chunk);
          progress.update(p);
        });
    if (!sizeOrErr) {
      std::fprintf(stderr, "ktriage: %s\n", sizeOrErr.error().message.c_str());
      return kError;
    }
    parser.finish();
    analysis.reports = parser.take_reports();
  }
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

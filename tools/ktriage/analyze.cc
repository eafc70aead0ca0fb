// `ktriage analyze`: parse a console log and report every crash in it.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"
#include "support/io.h"

namespace ktriage::cli {
namespace {

struct AnalyzeOptions {
  std::string input = "-";
  bool json = false;
  std::string color = "auto";
  std::string syntax = "att";
  bool no_shipped_kb = false;
  std::vector<std::string> kb_dirs;
  TriageOptions triage;
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

// Logs up to this size are also kept whole for the analyses that read lines
// outside the reports; bigger ones are only streamed, so memory stays bounded.
constexpr size_t kKeepTextLimit = 16u << 20;

int run_analyze(AnalyzeOptions& o) {
  std::vector<Report> reports;
  std::string text;
  bool keep_text = true;
  {
    LogParser parser;
    Progress progress;
    Expected<uint64_t> sizeOrErr = support::stream_file(
        o.input, 1 << 20, [&](std::string_view chunk, const support::StreamProgress& p) {
          parser.feed(chunk);
          progress.update(p);
          if (keep_text && text.size() + chunk.size() <= kKeepTextLimit) {
            text.append(chunk);
          } else if (keep_text) {
            keep_text = false;
            std::string().swap(text);
          }
        });
    if (!sizeOrErr) {
      std::fprintf(stderr, "ktriage: %s\n", sizeOrErr.error().message.c_str());
      return kError;
    }
    parser.finish();
    reports = parser.take_reports();
  }
  o.triage.syntax = o.syntax == "intel" ? AsmSyntax::intel : AsmSyntax::att;
  o.triage.shipped_kb = !o.no_shipped_kb;
  o.triage.kb_dirs.assign(o.kb_dirs.begin(), o.kb_dirs.end());
  o.triage.log_text = text;
  Expected<Analysis> analysisOrErr = triage(o.input, std::move(reports), o.triage);
  if (!analysisOrErr) {
    std::fprintf(stderr, "ktriage: %s\n", analysisOrErr.error().message.c_str());
    return kError;
  }
  const Analysis& analysis = *analysisOrErr;
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
  cmd->add_option("--kernel-version", o->triage.kernel_version,
                  "kernel release to judge known-bug fixes against (e.g. 2.6.32-431.el6.x86_64);\n"
                  "default: the release printed in the log")
      ->group("Diagnosis");
  cmd->add_option("--kb", o->kb_dirs, "extra knowledge-base directory of *.toml entries (docs/kb.md); repeatable")
      ->check(CLI::ExistingDirectory)
      ->group("Diagnosis");
  cmd->add_flag("--no-shipped-kb", o->no_shipped_kb, "do not load the knowledge base shipped in data/kb")
      ->group("Diagnosis");
  cmd->add_option("--vmlinux", o->triage.debug.vmlinux,
                  "vmlinux of the crashed kernel (DWARF gives file:line and inline chains;\n"
                  "without it, or a System.map/kallsyms file, symbols only)")
      ->check(CLI::ExistingFile)
      ->group("Debug info");
  cmd->add_option("--modules", o->triage.debug.module_dirs,
                  "directory searched recursively for <module>.ko[.debug|.xz|.zst]; repeatable")
      ->check(CLI::ExistingDirectory)
      ->group("Debug info");
  cmd->add_option("--debug-root", o->triage.debug.debug_root,
                  "debug root (/usr/lib/debug, an unpacked -dbg package): vmlinux and modules\n"
                  "found by kernel release or build-id")
      ->check(CLI::ExistingDirectory)
      ->group("Debug info");
  cmd->add_option("--source-root", o->triage.debug.source_root,
                  "kernel source tree: show source lines around each location")
      ->check(CLI::ExistingDirectory)
      ->group("Debug info");
  cmd->add_option("--symbol-cache", o->triage.debug.cache_dir,
                  "directory for a per-build-id lookup index: repeat runs skip reading DWARF")
      ->group("Debug info");
  cmd->add_option("--disasm", o->triage.disasm,
                  "with debug info, disassemble whole: ip (the faulting function; by default only the\n"
                  "instructions around the faulting one are shown), N (call-trace frame #N as the\n"
                  "text report numbers them), or all (ip and every reliable frame); repeatable, or\n"
                  "comma-separated: --disasm ip,2,3")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& v) {
            const bool number = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
            return v == "ip" || v == "all" || number ? std::string()
                                                     : "'" + v + "' is not ip, all or a call-trace frame number";
          },
          "ip|all|N"))
      ->group("Debug info");
  cmd->add_option("--syntax", o->syntax, "x86 disassembly syntax: att or intel")
      ->check(CLI::IsMember({"att", "intel"}))
      ->capture_default_str();
  cmd->add_option("--color", o->color, "colour the text report: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  return [o] { return run_analyze(*o); };
}

}  // namespace ktriage::cli

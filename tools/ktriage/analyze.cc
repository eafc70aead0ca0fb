// `ktriage analyze`: parse a console log and report every crash in it.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"
#include "support/io.h"
#include "support/log_input.h"
#include "support/spool.h"

namespace ktriage::cli {
namespace {

namespace fs = std::filesystem;

struct AnalyzeOptions {
  std::vector<std::string> inputs;
  bool recursive = false;
  bool json = false;
  std::string format = "text";
  std::string output;  // -o FILE; "" for standard output
  std::string color = "auto";
  std::string syntax = "att";
  bool no_shipped_kb = false;
  std::vector<std::string> kb_dirs;
  TriageOptions triage;
  FetchCli fetch;
};

bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  return colour_terminal();
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

// The files to read: each input as given, a directory's files (with -r)
// in name order. A directory without -r is an error: it is not a log.
Expected<std::vector<std::string>> expand_inputs(const AnalyzeOptions& o) {
  std::vector<std::string> out;
  for (const std::string& in : o.inputs) {
    std::error_code ec;
    if (in == "-" || !fs::is_directory(in, ec)) {
      out.push_back(in);
      continue;
    }
    if (!o.recursive) return Error{fmt::format("{}: is a directory (-r reads the files under it)", in)};
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(in, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) found.push_back(it->path().string());
    }
    if (ec) return Error{fmt::format("{}: {}", in, ec.message())};
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  if (std::count(out.begin(), out.end(), "-") > 1) return Error{"standard input (-) given more than once"};
  return out;
}

// The reports of every input, read in two passes when there are too many
// to hold: the first learns what the whole log says about its kernels (and
// keeps the reports while they are few), the second hands them on one at a
// time. Standard input is kept in a temporary file for the second pass.
class Inputs {
 public:
  // More reports than this are analysed in windows (TriageStream).
  static constexpr size_t kHeld = 256;

  explicit Inputs(std::vector<std::string> paths, std::string kernel_version) : paths_(std::move(paths)) {
    kernel_.release = kernel_version;
    kernel_.flag = !kernel_version.empty();
  }

  // The first pass; false when an input could not be read (reported).
  bool read_all() {
    bool ok = true;
    for (const std::string& path : paths_) {
      const bool from_stdin = path == "-";
      if (from_stdin) {
        Expected<support::Spool> spoolOrErr = support::Spool::file();
        if (spoolOrErr) stdin_ = std::move(*spoolOrErr);
        else stdin_error_ = spoolOrErr.error().message;
      }
      const bool read_ok = read(path, [&](Report&& r) {
        facts_.add(r);
        kernel_.see(r);
        if (held_.size() <= kHeld) held_.push_back(std::move(r));
      }, from_stdin && stdin_ ? &*stdin_ : nullptr);
      if (!read_ok) unreadable_.push_back(path);
      ok &= read_ok;
    }
    return ok;
  }

  bool fits() const { return held_.size() <= kHeld; }
  std::vector<Report>& held() { return held_; }
  const LogFacts& facts() const { return facts_; }
  const KbLogKernel& kernel() const { return kernel_; }

  // The second pass.
  bool replay(const std::function<void(Report&&)>& sink) {
    held_.clear();
    held_.shrink_to_fit();
    bool ok = true;
    for (const std::string& path : paths_) {
      // Said once, in the first pass.
      if (std::find(unreadable_.begin(), unreadable_.end(), path) != unreadable_.end()) continue;
      if (path != "-") {
        ok &= read(path, sink, nullptr);
        continue;
      }
      if (!stdin_ || !stdin_->error().empty()) {
        std::fprintf(stderr, "ktriage: standard input could not be kept for a second reading: %s\n",
                     stdin_ ? stdin_->error().c_str() : stdin_error_.c_str());
        ok = false;
        continue;
      }
      LogParser parser({}, [&](Report&& r) {
        r.source = path;
        sink(std::move(r));
      });
      constexpr uint64_t kChunk = 1 << 20;
      for (uint64_t at = 0; at < stdin_->size(); at += kChunk) parser.feed(stdin_->read(at, kChunk));
      parser.finish();
      if (!stdin_->error().empty()) {
        std::fprintf(stderr, "ktriage: %s\n", stdin_->error().c_str());
        ok = false;
      }
    }
    return ok;
  }

 private:
  // Parses one input; its reports name it as their source.
  static bool read(const std::string& path, const std::function<void(Report&&)>& sink, support::Spool* copy) {
    LogParser parser({}, [&](Report&& r) {
      r.source = path;
      sink(std::move(r));
    });
    Progress progress;
    Expected<support::LogStreamResult> readOrErr = support::stream_log(
        path, 1 << 20, [&](std::string_view chunk, const support::StreamProgress& p) {
          if (copy) copy->append(chunk);
          parser.feed(chunk);
          progress.update(p);
        });
    if (!readOrErr) {
      std::fprintf(stderr, "ktriage: %s\n", readOrErr.error().message.c_str());
      return false;
    }
    if (!readOrErr->problem.empty()) std::fprintf(stderr, "ktriage: %s: %s\n", path.c_str(), readOrErr->problem.c_str());
    parser.finish();
    return true;
  }

  std::vector<std::string> paths_;
  LogFacts facts_;
  KbLogKernel kernel_;
  std::vector<Report> held_;
  std::optional<support::Spool> stdin_;
  std::string stdin_error_;
  std::vector<std::string> unreadable_;
};

// Writes the document to -o FILE or standard output. A full disk or a
// closed pipe is an error, not a truncated report and success.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {}
  bool open() {
    if (path_.empty()) return true;
    file_.open(path_, std::ios::binary | std::ios::trunc);
    if (!file_) fail(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
    return static_cast<bool>(file_);
  }
  std::ostream& stream() { return path_.empty() ? std::cout : file_; }
  bool close() {
    if (path_.empty()) return true;
    file_.close();
    if (!file_) fail(fmt::format("writing {} failed (disk full?)", path_));
    return static_cast<bool>(file_);
  }

 private:
  std::string path_;
  std::ofstream file_;
};

// A log of more than Inputs::kHeld reports: analysed and rendered in windows.
int analyze_in_windows(AnalyzeOptions& o, Inputs& inputs, const std::string& source, ReportFormat format,
                       const RenderOptions& render, std::optional<FetchReport> fetched, bool failed) {
  Expected<ReportStream> outOrErr = ReportStream::open(format, render, o.inputs);
  if (!outOrErr) return fail(outOrErr.error().message);
  Expected<TriageStream> streamOrErr = TriageStream::open(
      source, o.triage, inputs.facts(), inputs.kernel(),
      [&](const Analysis& window, size_t first) { outOrErr->window(window, first); });
  if (!streamOrErr) return fail(streamOrErr.error().message);
  failed |= !inputs.replay([&](Report&& r) { streamOrErr->add(std::move(r)); });
  Expected<TriageTotals> totalsOrErr = streamOrErr->finish();
  if (!totalsOrErr) return fail(totalsOrErr.error().message);
  Analysis& head = totalsOrErr->summary;
  head.debuginfo_fetch = std::move(fetched);
  head.sources = o.inputs;
  for (const DebugInfoFile& f : totalsOrErr->refused_debuginfo) std::fprintf(stderr, "ktriage: %s\n", mismatch_text(f).c_str());
  Output out(o.output);
  if (!out.open()) return kError;
  Expected<bool> doneOrErr = outOrErr->finish(head, totalsOrErr->reports, *totalsOrErr->findings,
                                              totalsOrErr->used_debuginfo, totalsOrErr->refused_debuginfo, out.stream());
  if (!doneOrErr) return fail(doneOrErr.error().message);
  if (!out.close()) return kError;
  if (failed) return kError;
  return totalsOrErr->reports == 0 ? kNothingFound : kFound;
}

int run_analyze(AnalyzeOptions& o) {
  if (o.inputs.empty()) o.inputs.push_back("-");
  // Typed `ktriage analyze` and waiting: say what it waits for.
  if (std::find(o.inputs.begin(), o.inputs.end(), "-") != o.inputs.end() && isatty(STDIN_FILENO))
    std::fprintf(stderr, "ktriage: reading the log from standard input (end it with Ctrl-D; see ktriage analyze --help)\n");
  Expected<std::vector<std::string>> inputsOrErr = expand_inputs(o);
  if (!inputsOrErr) {
    std::fprintf(stderr, "ktriage: %s\n", inputsOrErr.error().message.c_str());
    return kError;
  }
  Inputs inputs(*inputsOrErr, o.triage.kernel_version);
  bool failed = !inputs.read_all();
  // One input: a broken one is the answer. Several: the others still count,
  // and the exit status says something went wrong.
  if (failed && inputsOrErr->size() == 1) return kError;
  // Debug info fetched before symbolization (for the first reports); what the user gave wins.
  std::optional<FetchReport> fetched;
  if ((o.fetch.enabled || !o.fetch.debuginfod_urls.empty() || !o.fetch.rpm_urls.empty()) && !inputs.held().empty()) {
    FetchResult got = fetch_debuginfo(inputs.held(), fetch_options(o.fetch));
    for (const std::string& p : got.report.problems) std::fprintf(stderr, "ktriage: debug info: %s\n", p.c_str());
    if (o.triage.debug.vmlinux.empty()) o.triage.debug.vmlinux = got.debug.vmlinux;
    o.triage.debug.module_dirs.insert(o.triage.debug.module_dirs.end(), got.debug.module_dirs.begin(),
                                      got.debug.module_dirs.end());
    fetched = std::move(got.report);
  }
  o.triage.syntax = o.syntax == "intel" ? AsmSyntax::intel : AsmSyntax::att;
  o.triage.shipped_kb = !o.no_shipped_kb;
  o.triage.kb_dirs.assign(o.kb_dirs.begin(), o.kb_dirs.end());
  std::string source = inputsOrErr->size() == 1 ? inputsOrErr->front() : o.inputs.front();
  const ReportFormat format = o.json ? ReportFormat::json : *report_format_from_string(o.format);
  // Colour only on a terminal, never into a file.
  const RenderOptions render{.color = o.output.empty() && use_color(o.color),
                             .width = o.output.empty() ? terminal_width() : 0};
  if (!inputs.fits() && (format == ReportFormat::text || format == ReportFormat::json)) {
    o.inputs = *inputsOrErr;
    return analyze_in_windows(o, inputs, source, format, render, std::move(fetched), failed);
  }
  if (!inputs.fits()) failed |= !inputs.replay([&](Report&& r) { inputs.held().push_back(std::move(r)); });

  Expected<Analysis> analysisOrErr = triage(source, std::move(inputs.held()), o.triage);
  if (!analysisOrErr) {
    std::fprintf(stderr, "ktriage: %s\n", analysisOrErr.error().message.c_str());
    return kError;
  }
  Analysis& analysis = *analysisOrErr;
  analysis.debuginfo_fetch = std::move(fetched);
  analysis.sources = *inputsOrErr;
  for (const DebugInfoFile& f : analysis.refused_debuginfo())
    std::fprintf(stderr, "ktriage: %s\n", mismatch_text(f).c_str());

  Output out(o.output);
  if (!out.open()) return kError;
  switch (format) {
    case ReportFormat::json: render_json(analysis, out.stream()); break;
    case ReportFormat::markdown: render_markdown(analysis, out.stream()); break;
    case ReportFormat::html: render_html(analysis, HtmlOptions{}, out.stream()); break;
    case ReportFormat::text: render_text(analysis, render, out.stream()); break;
  }
  if (!out.close()) return kError;
  if (failed) return kError;
  return analysis.reports.empty() ? kNothingFound : kFound;
}

}  // namespace

Run add_analyze(CLI::App& app) {
  auto o = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Find and parse every kernel crash report in a console log (dmesg, journalctl, serial,\n"
      "netconsole, pstore, vmcore-dmesg.txt, or a bug report's text).");
  cmd->add_option("input", o->inputs,
                  "log files (plain, or compressed with gzip, xz or zstd; UTF-8 or UTF-16), - for\n"
                  "standard input (the default), or directories with -r; every report names its input")
      ->type_name("FILE...");
  cmd->add_flag("-r,--recursive", o->recursive, "read every file under the directories given");
  cmd->add_option("--format", o->format,
                  "text (default), json (one document, schema in docs/json.md), markdown (GitHub-flavoured,\n"
                  "for bug trackers) or html (one self-contained page with the stack picture and listing)")
      ->check(CLI::IsMember({"text", "json", "markdown", "html"}))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "short for --format json");
  cmd->add_option("-o,--output", o->output, "write the report to FILE instead of standard output")
      ->option_text("FILE");
  cmd->add_option("--kernel-version", o->triage.kernel_version,
                  "kernel release to judge known-bug fixes against (e.g. 2.6.32-431.el6.x86_64);\n"
                  "default: the release printed in the log")
      ->check(kernel_release_validator())
      ->group("Diagnosis");
  cmd->add_option("--kb", o->kb_dirs, "extra knowledge-base directory of *.toml entries (docs/kb.md); repeatable")
      ->allow_extra_args(false)
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
      ->allow_extra_args(false)
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
      ->allow_extra_args(false)  // one value (or list) per --disasm: the inputs that follow stay inputs
      ->check(CLI::Validator(
          [](std::string& v) {
            const bool number = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
            return v == "ip" || v == "all" || number ? std::string()
                                                     : "'" + v + "' is not ip, all or a call-trace frame number";
          },
          "ip|all|N"))
      ->group("Debug info");
  add_fetch_options(cmd, o->fetch, true);
  cmd->add_option("--syntax", o->syntax, "x86 disassembly syntax: att or intel")
      ->check(CLI::IsMember({"att", "intel"}))
      ->capture_default_str();
  cmd->add_option("--color", o->color, "colour the text report: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  return [o] { return run_analyze(*o); };
}

}  // namespace ktriage::cli

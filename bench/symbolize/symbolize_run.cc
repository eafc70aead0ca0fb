// symbolize_run: parse a console log and symbolize its reports, the work
// `ktriage analyze --vmlinux` does, without rendering. Used by compare.sh
// to time ktriage against eu-addr2line, llvm-symbolizer and addr2line.
//
//   symbolize_run LOG --vmlinux PATH [--modules DIR]... [--cache DIR] [--quiet]
//   (KTRIAGE_TIMING=1: per-stage times on stderr)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ktriage/logparse.h"
#include "ktriage/symbolize.h"
#include "trace_lines.h"

int main(int argc, char** argv) {
  ktriage::DebugInfoOptions options;
  std::string log;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--vmlinux") options.vmlinux = next();
    else if (arg == "--modules") options.module_dirs.push_back(next());
    else if (arg == "--debug-root") options.debug_root = next();
    else if (arg == "--source-root") options.source_root = next();
    else if (arg == "--cache") options.cache_dir = next();
    else if (arg == "--quiet") quiet = true;
    else log = arg;
  }
  if (log.empty()) {
    std::fprintf(stderr, "usage: symbolize_run LOG --vmlinux PATH [--modules DIR]... [--quiet]\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const bool timing = std::getenv("KTRIAGE_TIMING") != nullptr;
  auto t0 = Clock::now();
  auto lap = [&](const char* what) {
    if (!timing) return;
    auto t1 = Clock::now();
    std::fprintf(stderr, "%-10s %.2f ms\n", what, std::chrono::duration<double, std::milli>(t1 - t0).count());
    t0 = t1;
  };
  std::ifstream in(log, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<ktriage::Report> reports = ktriage::parse_log(text);
  bool any_frames = false;
  for (const auto& r : reports) any_frames |= !r.frames.empty() || r.ip.has_value();
  if (!any_frames) reports = {ktriage::bench::first_trace(text)};

  lap("parse");
  auto symOrErr = ktriage::Symbolizer::open(options);
  lap("open");
  if (!symOrErr) {
    std::fprintf(stderr, "symbolize_run: %s\n", symOrErr.error().message.c_str());
    return 2;
  }
  auto print = [&](const std::string& label, const ktriage::Symbol& s,
                   const ktriage::FrameSymbolization& f) {
    if (quiet) return;
    fmt::print("{} {}+{:#x}{}{}\n", label, s.function, s.offset.value_or(0),
               s.module.empty() ? "" : " [" + s.module + "]",
               f.symbolize_error.empty() ? "" : "  ERROR: " + f.symbolize_error);
    if (f.source) fmt::print("    at {}:{}:{}\n", f.source->file, f.source->line, f.source->column);
    for (const auto& chain : f.inlined) {
      fmt::print("    {} {}:{}:{}\n", chain.function, chain.location.file, chain.location.line,
                 chain.location.column);
    }
    for (const auto& w : f.warnings) fmt::print("    warning: {}\n", w);
  };
  for (const ktriage::Report& r : reports) {
    ktriage::Symbolization s = symOrErr->symbolize(r);
    if (quiet) continue;
    fmt::print("report: {} ({} frames) kaslr={} {}\n", r.title, r.frames.size(),
               s.kaslr_offset_hex(), s.kaslr_source);
    if (s.ip) print("ip", *r.ip, *s.ip);
    for (size_t i = 0; i < r.frames.size(); ++i) print("  frame", r.frames[i], s.frames[i]);
    for (const auto& a : s.addresses) {
      fmt::print("  {}={:#x} -> {}+{:#x}\n", a.what, a.value, a.result.function, a.result.offset);
    }
    for (const auto& d : s.debuginfo) {
      fmt::print("  debuginfo {} {} build-id={} dwarf={} {} {}\n", d.role, d.path, d.build_id,
                 d.has_dwarf, to_string(d.match), to_string(d.confidence));
      for (const auto& e : d.evidence) fmt::print("      {}\n", e);
    }
    for (const auto& w : s.warnings) fmt::print("  warning: {}\n", w);
  }
  lap("symbolize");
  return 0;
}

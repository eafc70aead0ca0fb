// What `bucket`, `ingest` and `query` share: progress on a terminal, the
// signature rules they load, input checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ktriage/bucket.h"
#include "ktriage/error.h"
#include "ktriage/ingest.h"
#include "ktriage/kb.h"

namespace ktriage::cli {

// One status line on stderr, redrawn at most ten times a second, only when
// stderr is a terminal and the work has run for half a second.
class ScanProgressLine {
 public:
  explicit ScanProgressLine(std::string verb);
  ~ScanProgressLine();
  void update(const ScanProgress& p);

 private:
  std::string verb_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// The inputs exist and are not directories ("-" is standard input);
// otherwise the error names the first bad one.
std::optional<Error> check_inputs(const std::vector<std::string>& inputs);

// --signature-rules FILE, or the shipped rules.
void add_signature_rules_option(CLI::App& cmd, std::string& path);
Expected<SignatureRules> load_signature_rules(const std::string& path);

// The knowledge base for ingest and serve: --kb DIR (repeatable, one
// directory each) and --no-shipped-kb, and loading what they name.
struct KbOptions {
  std::vector<std::string> dirs;
  bool no_shipped = false;
};
void add_kb_options(CLI::App& cmd, KbOptions& kb);
Expected<KnowledgeBase> load_kb(const KbOptions& kb);

}  // namespace ktriage::cli

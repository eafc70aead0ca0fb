#include "fleet.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "commands.h"
#include "support/io.h"

namespace ktriage::cli {

int fail(std::string_view message) {
  std::fprintf(stderr, "ktriage: %.*s\n", static_cast<int>(message.size()), message.data());
  return kError;
}

bool colour_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr && !(term && std::string_view(term) == "dumb");
}

size_t terminal_width() {
  winsize ws{};
  if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
  // Too narrow to wrap into anything readable: as it is.
  return ws.ws_col < 40 ? 0 : ws.ws_col;
}

bool finish_stdout() {
  std::cout.flush();
  const bool lost = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout);
  if (lost) std::fprintf(stderr, "ktriage: writing standard output failed: %s\n", errno ? std::strerror(errno) : "I/O error");
  return !lost;
}

ScanProgressLine::ScanProgressLine(std::string verb)
    : verb_(std::move(verb)), enabled_(isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

ScanProgressLine::~ScanProgressLine() {
  if (shown_) std::fputs("\r\033[K", stderr);
}

void ScanProgressLine::update(const ScanProgress& p) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  using std::chrono::milliseconds;
  if (now - start_ < milliseconds(500) || (shown_ && now - last_ < milliseconds(100))) return;
  last_ = now;
  shown_ = true;
  constexpr int kWidth = 24;
  int filled = p.inputs ? static_cast<int>(kWidth * p.inputs_done / p.inputs) : 0;
  std::fprintf(stderr, "\r\033[Kktriage: %s [%s%s] %zu/%zu logs, %zu reports", verb_.c_str(),
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), p.inputs_done, p.inputs, p.reports);
  std::fflush(stderr);
}

std::optional<Error> check_inputs(const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) {
    if (in == "-") continue;
    struct stat st {};
    if (::stat(in.c_str(), &st) != 0) return Error{fmt::format("{}: {}", in, std::strerror(errno))};
    if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory", in)};
    if (::access(in.c_str(), R_OK) != 0) return Error{fmt::format("{}: {}", in, std::strerror(errno))};
  }
  return std::nullopt;
}

void add_signature_rules_option(CLI::App& cmd, std::string& path) {
  cmd.add_option("--signature-rules", path,
                 "TOML file of signature rules (frames that only report, compiler suffixes,\n"
                 "out-of-tree taint flags); default: the shipped data/signature-rules.toml")
      ->check(CLI::ExistingFile)
      ->group("Buckets");
}

CLI::Validator kernel_release_validator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (classify_kernel_release(v).known()) return {};
        return "'" + v +
               "' is not a kernel release: give uname -r (2.6.32-431.el6.x86_64, 6.1.0-13-amd64, 5.15.0-91-generic, "
               "6.8.0), the distribution's package version (\"Debian 6.1.192-2\", \"Ubuntu 5.15.0-91.101\") or "
               "LINE:VERSION (rhel6:2.6.32-431.el6, debian:6.1.192-2)";
      },
      "RELEASE");
}

void add_kb_options(CLI::App& cmd, KbOptions& kb) {
  cmd.add_option("--kb", kb.dirs, "extra knowledge-base directory of *.toml entries (docs/kb.md); repeatable")
      ->allow_extra_args(false)  // one directory per --kb: the inputs that follow stay inputs
      ->check(CLI::ExistingDirectory)
      ->group("Diagnosis");
  cmd.add_flag("--no-shipped-kb", kb.no_shipped, "do not load the knowledge base shipped in data/kb")->group("Diagnosis");
}

Expected<KnowledgeBase> load_kb(const KbOptions& kb) {
  std::vector<std::filesystem::path> dirs;
  if (!kb.no_shipped) dirs.push_back(default_kb_dir());
  dirs.insert(dirs.end(), kb.dirs.begin(), kb.dirs.end());
  return KnowledgeBase::load(dirs);
}

Expected<SignatureRules> load_signature_rules(const std::string& path) {
  const std::string file = path.empty() ? default_signature_rules_path().string() : path;
  Expected<std::string> text = support::read_file(file);
  if (!text) return text.error();
  return SignatureRules::parse(*text, file);
}

}  // namespace ktriage::cli

// `ktriage debuginfo fetch LOG|RELEASE`, `ktriage debuginfo cache [--prune]`,
// and the fetch options `analyze` shares (--fetch-debuginfo, --debuginfod).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ktriage/debuginfo.h"
#include "ktriage/logparse.h"
#include "support/io.h"
#include "support/json_text.h"

namespace ktriage::cli {
namespace {

// "8G", "500M", "1.5GiB", "123456": bytes (K/M/G/T powers of 1000 as apt
// counts, Ki/Mi/Gi/Ti powers of 1024).
std::optional<uint64_t> parse_size(std::string s) {
  if (s.empty()) return std::nullopt;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = s.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  double base = 1000;
  if (unit.ends_with("i")) {
    unit.pop_back();
    base = 1024;
  }
  const std::string units = "KMGT";
  double mult = 1;
  if (unit.size() == 1 && units.find(static_cast<char>(std::toupper(unit[0]))) != std::string::npos) {
    for (size_t i = 0; i <= units.find(static_cast<char>(std::toupper(unit[0]))); ++i) mult *= base;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v * mult);
}

// One line on stderr, redrawn in place, only on a terminal.
class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(STDERR_FILENO)) {}
  ~ProgressBar() { clear(); }

  void update(const FetchProgress& p) {
    if (!enabled_) return;
    if (p.finished) {
      clear();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.what == what_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    what_ = p.what;
    std::string line = fmt::format("ktriage: {}", p.what);
    if (p.total > 0) {
      const double f = std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total));
      const int width = 24, fill = static_cast<int>(f * width);
      line += fmt::format(" [{}{}] {:3.0f}% {} / {}", std::string(static_cast<size_t>(fill), '#'),
                          std::string(static_cast<size_t>(width - fill), '.'), f * 100, human_size(p.done),
                          human_size(p.total));
    } else if (p.done > 0) {
      line += " " + human_size(p.done);
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    shown_ = true;
  }

  void clear() {
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
    what_.clear();
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point last_{};
};

// Asks on the terminal (not stdin: it may be the log).
bool ask_on_terminal(const std::string& what, uint64_t bytes) {
  if (!isatty(STDERR_FILENO)) return false;
  int fd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::fprintf(stderr, "\r\033[Kktriage: download %s (%s)? [y/N] ", what.c_str(), human_size(bytes).c_str());
  std::fflush(stderr);
  char buf[16] = {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && (buf[0] == 'y' || buf[0] == 'Y');
}

struct FetchCommand {
  std::string target;         // log file, "-", or a release
  std::string version;        // with a release: its version string
  bool json = false;
  FetchCli fetch;
};

struct CacheCommand {
  bool prune = false;
  bool json = false;
  FetchCli fetch;
};

std::string when(int64_t t) {
  if (t == 0) return "never";
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&tt));
  return buf;
}

bool looks_like_release(const std::string& s) {
  return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && s.find('/') == std::string::npos &&
         s.find(' ') == std::string::npos;
}

nlohmann::json report_json(const FetchReport& r) {
  nlohmann::json files = nlohmann::json::array();
  for (const FetchedFile& f : r.files) {
    files.push_back({{"role", f.role}, {"name", f.name}, {"path", f.path}, {"build_id", f.build_id},
                     {"size", f.size}, {"source", f.source}});
  }
  return {{"release", r.kernel.release}, {"version", r.kernel.version}, {"files", files},
          {"modules_dir", r.modules_dir}, {"module_files", r.module_files}, {"downloaded", r.downloaded},
          {"problems", r.problems}, {"notes", r.notes}};
}

int run_fetch(FetchCommand& c) {
  std::vector<Report> reports;
  std::error_code ec;
  if (c.target == "-" || std::filesystem::is_regular_file(c.target, ec)) {
    Expected<std::string> textOrErr = support::read_file(c.target);
    if (!textOrErr) {
      std::fprintf(stderr, "ktriage: %s\n", textOrErr.error().message.c_str());
      return kError;
    }
    reports = parse_log(*textOrErr);
    if (reports.empty()) {
      std::fprintf(stderr, "ktriage: %s: no crash report names a kernel\n", c.target.c_str());
      return kNothingFound;
    }
  } else if (looks_like_release(c.target)) {
    Report r;
    r.kernel_release = c.target;
    r.kernel_version = c.version;
    reports.push_back(std::move(r));
  } else {
    std::fprintf(stderr, "ktriage: %s: no such file, and not a kernel release\n", c.target.c_str());
    return kError;
  }
  FetchResult got = fetch_debuginfo(reports, fetch_options(c.fetch));
  const FetchReport& r = got.report;
  if (c.json) {
    std::cout << support::json_text(report_json(r), 2) << '\n';
  } else {
    std::cout << fmt::format("kernel {}{}\n", r.kernel.release.empty() ? "(release not printed)" : r.kernel.release,
                             r.kernel.version.empty() ? "" : " " + r.kernel.version);
    for (const FetchedFile& f : r.files) {
      std::cout << fmt::format("{:<8} {}\n         {}, build-id {}, from {}\n",
                               f.role == "vmlinux" ? "vmlinux" : f.name, f.path, human_size(f.size),
                               f.build_id.empty() ? "none" : f.build_id, f.source);
    }
    if (!r.modules_dir.empty()) {
      std::cout << fmt::format("modules  {} ({} file{})\n", r.modules_dir, r.module_files, r.module_files == 1 ? "" : "s");
    }
    if (r.downloaded) std::cout << fmt::format("downloaded {}\n", human_size(r.downloaded));
    for (const std::string& n : r.notes) std::cout << fmt::format("note: {}\n", n);
  }
  for (const std::string& p : r.problems) std::fprintf(stderr, "ktriage: %s\n", p.c_str());
  return got.debug.vmlinux.empty() && got.debug.module_dirs.empty() ? kNothingFound : kFound;
}

int run_cache(CacheCommand& c) {
  std::optional<uint64_t> limit = parse_size(c.fetch.cache_limit);
  Expected<CacheState> stateOrErr = debuginfo_cache(c.fetch.cache_dir, c.prune, limit.value_or(0));
  if (!stateOrErr) {
    std::fprintf(stderr, "ktriage: %s\n", stateOrErr.error().message.c_str());
    return kError;
  }
  const CacheState& s = *stateOrErr;
  if (c.json) {
    nlohmann::json kernels = nlohmann::json::array();
    for (const CachedKernel& k : s.kernels) {
      kernels.push_back({{"release", k.release}, {"source", k.source}, {"bytes", k.bytes}, {"last_used", k.last_used},
                         {"has_vmlinux", k.has_vmlinux}, {"module_files", k.module_files}});
    }
    std::cout << support::json_text(nlohmann::json{{"dir", s.dir}, {"bytes", s.bytes}, {"limit", *limit},
                                                   {"kernels", kernels}, {"removed", s.removed}},
                                    2)
              << '\n';
  } else {
    std::cout << fmt::format("{}: {} (limit {})\n", s.dir, human_size(s.bytes), human_size(*limit));
    for (const CachedKernel& k : s.kernels) {
      std::cout << fmt::format("  {:<28} {:>8}  used {}  {}{} module files  {}\n", k.release, human_size(k.bytes),
                               when(k.last_used), k.has_vmlinux ? "vmlinux, " : "", k.module_files, k.source);
    }
    for (const std::string& r : s.removed) std::cout << fmt::format("removed {}\n", r);
  }
  return s.kernels.empty() ? kNothingFound : kFound;
}

}  // namespace

void add_fetch_options(CLI::App* cmd, FetchCli& f, bool for_analyze) {
  const std::string group = "Fetching debug info";
  if (for_analyze) {
    cmd->add_flag("--fetch-debuginfo", f.enabled,
                  "find the crashed kernel's vmlinux and modules with DWARF by themselves: the cache,\n"
                  "debuginfod (DEBUGINFOD_URLS, --debuginfod), Debian/Ubuntu -dbg packages (apt),\n"
                  "Fedora/RHEL kernel-debuginfo RPMs (--rpm-url); see `ktriage debuginfo --help`")
        ->group(group);
  }
  cmd->add_option("--debuginfod", f.debuginfod_urls,
                  "debuginfod server URL, tried after DEBUGINFOD_URLS; repeatable" +
                      std::string(for_analyze ? " (implies --fetch-debuginfo)" : ""))
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--rpm-url", f.rpm_urls,
                  "base URL of kernel-debuginfo RPMs ({version} {release} {arch} are replaced, the file\n"
                  "name appended), also KTRIAGE_RPM_URLS; repeatable" +
                      std::string(for_analyze ? " (implies --fetch-debuginfo)" : ""))
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_flag("--no-apt", f.no_apt, "do not download Debian/Ubuntu packages with apt-get")->group(group);
  cmd->add_option("--kernel-root", f.kernel_root,
                  "where the crashed kernel is installed or unpacked: its boot/vmlinuz-RELEASE and\n"
                  "lib/modules/RELEASE give debuginfod the build-ids a log does not print")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory)
      ->group(group);
  cmd->add_option("--debuginfo-cache", f.cache_dir,
                  "cache directory (default $KTRIAGE_DEBUGINFO_CACHE, else ~/.cache/ktriage/debuginfo)")
      ->group(group);
  cmd->add_option("--cache-limit", f.cache_limit, "cache size limit; least recently used kernels go first")
      ->capture_default_str()
      ->check(CLI::Validator([](std::string& v) { return parse_size(v) ? "" : "'" + v + "' is not a size (8G, 500M)"; },
                             "SIZE"))
      ->group(group);
  cmd->add_option("--timeout", f.timeout, "seconds without progress before a server counts as stalled")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->group(group);
  cmd->add_flag("-y,--yes", f.yes, "download big packages without asking (default: ask on a terminal, refuse\n"
                                   "otherwise)")
      ->group(group);
  cmd->add_option("--ask-above", f.ask_above, "what counts as big")
      ->capture_default_str()
      ->check(CLI::Validator([](std::string& v) { return parse_size(v) ? "" : "'" + v + "' is not a size (8G, 500M)"; },
                             "SIZE"))
      ->group(group);
}

FetchOptions fetch_options(const FetchCli& f) {
  FetchOptions o;
  o.debuginfod_urls = f.debuginfod_urls;
  o.rpm_urls = f.rpm_urls;
  o.use_apt = !f.no_apt;
  o.kernel_root = f.kernel_root;
  o.cache_dir = f.cache_dir;
  o.cache_limit = parse_size(f.cache_limit).value_or(o.cache_limit);
  o.timeout_seconds = f.timeout;
  o.confirm_above = parse_size(f.ask_above).value_or(o.confirm_above);
  const bool yes = f.yes;
  o.confirm = [yes](const std::string& what, uint64_t bytes) { return yes || ask_on_terminal(what, bytes); };
  auto bar = std::make_shared<ProgressBar>();
  o.progress = [bar](const FetchProgress& p) { bar->update(p); };
  return o;
}

Run add_debuginfo(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "debuginfo",
      "Fetch and cache debug info (vmlinux and modules with DWARF) for a crashed kernel.\n\n"
      "Sources, in order: the cache; debuginfod by build-id (DEBUGINFOD_URLS or --debuginfod;\n"
      "build-ids from the log, or from the kernel's installed files, see --kernel-root); the\n"
      "distribution's debug package for the release and version the log prints:\n"
      "  6.1.0-56-cloud-amd64 #1 SMP Debian 6.1.192-2  ->  apt: linux-image-6.1.0-56-cloud-amd64-dbg=6.1.192-2\n"
      "  5.15.0-91-generic #101-Ubuntu                 ->  apt: linux-image-unsigned-5.15.0-91-generic-dbgsym\n"
      "  5.14.0-362.el9.x86_64                         ->  --rpm-url BASE: kernel-debuginfo-5.14.0-362.el9.x86_64.rpm\n"
      "Every file is checked against the log (build-id, linux_banner, printed symbol sizes)\n"
      "before use; the cache keeps files by build-id, one view per release.\n\n"
      "Examples:\n"
      "  ktriage debuginfo fetch crash.log\n"
      "  ktriage debuginfo fetch 6.1.0-56-cloud-amd64 --version 'Debian 6.1.192-2' --yes\n"
      "  ktriage analyze --fetch-debuginfo crash.log\n"
      "  ktriage debuginfo cache --prune --cache-limit 4G");
  cmd->require_subcommand(1);

  auto f = std::make_shared<FetchCommand>();
  CLI::App* fetch = cmd->add_subcommand("fetch", "fetch debug info for the kernel of a log, or for a release");
  fetch->add_option("target", f->target, "console log (or - for standard input), or a kernel release")->required();
  fetch->add_option("--version", f->version,
                    "with a release: the version string the kernel prints after it\n"
                    "('#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2'); picks the exact package");
  fetch->add_flag("--json", f->json, "print what was found as JSON");
  add_fetch_options(fetch, f->fetch, false);

  auto c = std::make_shared<CacheCommand>();
  CLI::App* cache = cmd->add_subcommand("cache", "show the debug-info cache; --prune shrinks it to its limit");
  cache->add_flag("--prune", c->prune, "remove least recently used kernels until the cache fits --cache-limit,\n"
                                       "and files left by unfinished downloads");
  cache->add_flag("--json", c->json, "print the cache as JSON");
  cache->add_option("--debuginfo-cache", c->fetch.cache_dir, "cache directory");
  cache->add_option("--cache-limit", c->fetch.cache_limit, "size limit for --prune")
      ->capture_default_str()
      ->check(CLI::Validator([](std::string& v) { return parse_size(v) ? "" : "'" + v + "' is not a size (8G, 500M)"; },
                             "SIZE"));

  return [cmd, fetch, f, c] { return cmd->got_subcommand(fetch) ? run_fetch(*f) : run_cache(*c); };
}

}  // namespace ktriage::cli

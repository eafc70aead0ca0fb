// The fetch: cache, then debuginfod by build-id, then the distribution's
// package; everything checked against the log before it is used.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "debuginfo/cache.h"
#include "debuginfo/download.h"
#include "debuginfo/elf_id.h"
#include "debuginfo/identity.h"
#include "debuginfo/unpack.h"
#include "ktriage/debuginfo.h"
#include "ktriage/symbolize.h"

namespace ktriage {
namespace fs = std::filesystem;
using debuginfo::module_key;

namespace {

// How bad a check result is, for keeping the worst one per file.
int severity(const DebugInfoFile& f) {
  if (f.match != DebugMatch::mismatch) return f.match == DebugMatch::match ? 0 : 1;
  return 1 + static_cast<int>(f.confidence);
}

// A certain or likely mismatch: the file is another build than the log's.
bool rejected(const DebugInfoFile& f) { return f.refused(); }

// "vmlinux", "module crashzoo".
std::string who(const DebugInfoFile& f) { return f.role == f.name ? f.role : f.role + " " + f.name; }

std::string evidence_text(const DebugInfoFile& f) {
  std::string out;
  for (const std::string& e : f.evidence) out += (out.empty() ? "" : "; ") + e;
  return out.empty() ? std::string(to_string(f.confidence)) : out;
}

// The symbolizer's own check of `files` against the log (release and version
// in linux_banner, printed build-ids, printed symbol sizes), on a few reports
// of the release: the worst result per file.
std::vector<DebugInfoFile> check_against_log(const std::vector<Report>& reports, const std::string& release,
                                             const DebugInfoOptions& files) {
  std::vector<DebugInfoFile> out;
  Expected<Symbolizer> symOrErr = Symbolizer::open(files);
  if (!symOrErr) {
    DebugInfoFile bad;
    bad.role = "vmlinux";
    bad.name = "vmlinux";
    bad.path = files.vmlinux;
    bad.match = DebugMatch::mismatch;
    bad.confidence = MatchConfidence::certain;
    bad.evidence = {symOrErr.error().message};
    return {bad};
  }
  constexpr int kReportsChecked = 8;
  int used = 0;
  for (const Report& r : reports) {
    if (!release.empty() && r.kernel_release != release) continue;
    if (used++ == kReportsChecked) break;
    for (DebugInfoFile& f : symOrErr->symbolize(r, r.kernel_offset).debuginfo) {
      auto it = std::find_if(out.begin(), out.end(), [&](const DebugInfoFile& o) { return o.path == f.path; });
      if (it == out.end()) out.push_back(std::move(f));
      else if (severity(f) > severity(*it)) *it = std::move(f);
    }
  }
  return out;
}

uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const uint64_t n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// Module files of a view or an unpacked package, by module name.
std::map<std::string, std::string> modules_by_name(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    for (std::string_view suffix : {".ko.debug", ".ko"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        out.emplace(module_key(name.substr(0, name.size() - suffix.size())), it->path().string());
        break;
      }
    }
  }
  return out;
}

// One fetch, with its state.
class Fetch {
 public:
  Fetch(const std::vector<Report>& reports, const FetchOptions& options) : reports_(reports), o_(options) {}

  FetchResult run();

 private:
  void from_cache();
  void from_debuginfod();
  void from_packages();
  std::optional<Error> install_package(const DebugPackage& p, const std::string& file, const std::string& origin);
  void verify_and_report();

  std::string view_name() const {
    if (!k().release.empty()) return k().release;
    return "build-id-" + k().vmlinux_build_id;
  }
  KernelIdentity& k() { return result_.report.kernel; }
  const KernelIdentity& k() const { return result_.report.kernel; }
  void problem(std::string s) { result_.report.problems.push_back(std::move(s)); }
  void note(std::string s) { result_.report.notes.push_back(std::move(s)); }
  bool module_known(const KernelIdentity::Module& m) const {
    auto it = found_modules_.find(module_key(m.name));
    return it != found_modules_.end() && (m.build_id.empty() || it->second.second == m.build_id);
  }

  const std::vector<Report>& reports_;
  const FetchOptions& o_;
  std::optional<debuginfo::Cache> cache_;
  FetchResult result_;
  std::string vmlinux_source_;
  // Found so far: module key -> (path, build-id), with where from.
  std::map<std::string, std::pair<std::string, std::string>> found_modules_;
  std::map<std::string, std::string> module_source_;
};

void Fetch::from_cache() {
  std::optional<debuginfo::ViewInfo> view = cache_->view(view_name());
  if (!view) return;
  if (!view->vmlinux.empty()) {
    Expected<std::string> idOrErr = debuginfo::build_id_of(view->vmlinux);
    if (idOrErr && (k().vmlinux_build_id.empty() || *idOrErr == k().vmlinux_build_id)) {
      result_.debug.vmlinux = view->vmlinux;
      vmlinux_source_ = "cache: " + view->source;
      if (k().vmlinux_build_id.empty()) k().vmlinux_build_id = *idOrErr;
    } else if (idOrErr) {
      note(fmt::format("the cached vmlinux of {} is build {}, the log's is {}", view_name(), *idOrErr,
                       k().vmlinux_build_id));
    }
  }
  if (view->modules_dir.empty()) return;
  const std::map<std::string, std::string> have = modules_by_name(view->modules_dir);
  for (const KernelIdentity::Module& m : k().modules) {
    auto it = have.find(module_key(m.name));
    if (it == have.end() || !fs::exists(it->second)) continue;
    Expected<std::string> idOrErr = debuginfo::build_id_of(it->second);
    if (!idOrErr || (!m.build_id.empty() && *idOrErr != m.build_id)) continue;
    found_modules_[module_key(m.name)] = {it->second, *idOrErr};
    module_source_[module_key(m.name)] = "cache";
  }
  result_.report.modules_dir = view->modules_dir;
  result_.report.module_files = view->module_files;
}

void Fetch::from_debuginfod() {
  const bool want_vmlinux = result_.debug.vmlinux.empty() && !k().vmlinux_build_id.empty();
  bool want_module = false;
  for (const KernelIdentity::Module& m : k().modules) want_module |= !m.build_id.empty() && !module_known(m);
  if (!want_vmlinux && !want_module) return;
  const std::string servers = debuginfo::debuginfod_servers(o_);
  if (servers.empty()) {
    note("debuginfod: no server (DEBUGINFOD_URLS, --debuginfod URL)");
    return;
  }
  std::vector<debuginfo::ViewEntry> links;
  std::vector<std::string> link_keys;  // parallel to links: "" for vmlinux, else the module key
  std::string origin;
  // A server that timed out or refused once is not asked again in this run.
  bool down = false;
  if (want_vmlinux) {
    Expected<debuginfo::Downloaded> gotOrErr = debuginfo::debuginfod_fetch(k().vmlinux_build_id, "vmlinux", o_, &down);
    if (gotOrErr) {
      links.push_back({"vmlinux", gotOrErr->path});
      link_keys.push_back("");
      result_.report.downloaded += gotOrErr->bytes;
      origin = gotOrErr->origin;
      vmlinux_source_ = "debuginfod " + gotOrErr->origin;
    } else {
      problem(gotOrErr.error().message);
    }
  }
  for (const KernelIdentity::Module& m : k().modules) {
    if (m.build_id.empty() || module_known(m)) continue;
    if (down) {
      note(fmt::format("module {}: debuginfod not asked (the server failed above)", m.name));
      continue;
    }
    Expected<debuginfo::Downloaded> gotOrErr = debuginfo::debuginfod_fetch(m.build_id, "module " + m.name, o_, &down);
    if (!gotOrErr) {
      problem(gotOrErr.error().message);
      continue;
    }
    links.push_back({"modules/" + m.name + ".ko.debug", gotOrErr->path});
    link_keys.push_back(module_key(m.name));
    result_.report.downloaded += gotOrErr->bytes;
    found_modules_[module_key(m.name)] = {gotOrErr->path, m.build_id};
    module_source_[module_key(m.name)] = "debuginfod " + gotOrErr->origin;
    if (origin.empty()) origin = gotOrErr->origin;
  }
  if (links.empty()) return;
  // The cache view names them for the symbolizer; the files stay in
  // debuginfod's own cache.
  if (auto err = cache_->add_to_view(view_name(), links, "debuginfod " + origin)) {
    problem(err->message);
    return;
  }
  std::optional<debuginfo::ViewInfo> view = cache_->view(view_name());
  if (!view) return;
  for (size_t i = 0; i < links.size(); ++i) {
    const std::string in_view = view->dir + "/" + links[i].name;
    if (link_keys[i].empty()) result_.debug.vmlinux = in_view;
    else found_modules_[link_keys[i]].first = in_view;
  }
  result_.report.modules_dir = view->modules_dir;
  result_.report.module_files = view->module_files;
}

std::optional<Error> Fetch::install_package(const DebugPackage& p, const std::string& file, const std::string& origin) {
  Expected<debuginfo::TempDir> dirOrErr = cache_->temp_dir();
  if (!dirOrErr) return dirOrErr.error();
  const std::string label = "unpacking " + fs::path(file).filename().string();
  Expected<std::vector<debuginfo::UnpackedFile>> filesOrErr =
      debuginfo::unpack_debug_files(file, dirOrErr->path(), [&](uint64_t done, uint64_t total) {
        if (o_.progress) o_.progress(FetchProgress{label, done, total, false});
      });
  if (o_.progress) o_.progress(FetchProgress{label, 1, 1, true});
  if (!filesOrErr) return Error{fmt::format("{} from {}: {}", fs::path(file).filename().string(), origin, filesOrErr.error().message)};
  // Which one is vmlinux: Debian's boot/vmlinux-R, Fedora's lib/modules/R/vmlinux.
  const debuginfo::UnpackedFile* vmlinux = nullptr;
  for (const debuginfo::UnpackedFile& f : *filesOrErr) {
    const std::string& a = f.archive_path;
    const bool named = k().release.empty() ? fs::path(a).filename().string().starts_with("vmlinux")
                                           : a.ends_with("/boot/vmlinux-" + k().release) ||
                                                 a.ends_with("/lib/modules/" + k().release + "/vmlinux");
    if (named) vmlinux = &f;
  }
  if (!vmlinux) return Error{fmt::format("{} holds no vmlinux for {}", p.name, k().release)};
  // Checked before anything enters the cache.
  DebugInfoOptions staged;
  staged.vmlinux = vmlinux->path;
  staged.module_dirs = {dirOrErr->path()};
  for (const DebugInfoFile& f : check_against_log(reports_, k().release, staged)) {
    if (rejected(f)) {
      return Error{fmt::format("{} from {} {} does not match the log ({}: {}); not used", who(f), p.name, p.version,
                               to_string(f.confidence), evidence_text(f))};
    }
  }
  Expected<std::string> vmlinuxIdOrErr = debuginfo::build_id_of(vmlinux->path);
  if (!vmlinuxIdOrErr || vmlinuxIdOrErr->empty()) return Error{fmt::format("{}: vmlinux has no build-id", p.name)};
  if (!k().vmlinux_build_id.empty() && *vmlinuxIdOrErr != k().vmlinux_build_id) {
    return Error{fmt::format("{}: vmlinux has build-id {}, the log's kernel {}; not used", p.name, *vmlinuxIdOrErr,
                             k().vmlinux_build_id)};
  }
  std::vector<debuginfo::ViewEntry> entries;
  for (const debuginfo::UnpackedFile& f : *filesOrErr) {
    Expected<std::string> idOrErr = debuginfo::build_id_of(f.path);
    if (!idOrErr || idOrErr->empty()) continue;  // nothing to key it by
    if (&f == vmlinux) {
      entries.push_back({"vmlinux", f.path, *idOrErr});
      continue;
    }
    // "usr/lib/debug/lib/modules/R/kernel/lib/crc-itu-t.ko" -> "modules/kernel/lib/crc-itu-t.ko"
    std::string rel = f.archive_path;
    if (const size_t at = rel.find("/lib/modules/"); at != std::string::npos) {
      rel = rel.substr(at + 13);
      rel = rel.substr(rel.find('/') == std::string::npos ? 0 : rel.find('/') + 1);
    } else {
      rel = fs::path(rel).filename().string();
    }
    if (rel.find("..") != std::string::npos) rel = fs::path(rel).filename().string();
    entries.push_back({"modules/" + rel, f.path, *idOrErr});
  }
  const std::string source = fmt::format("{} {} {} from {}", p.format, p.name, p.version, origin);
  const size_t count = entries.size();
  if (auto err = cache_->install(view_name(), std::move(entries), source)) return err;
  note(fmt::format("{} unpacked into the cache: {} files", p.name, count));
  return std::nullopt;
}

void Fetch::from_packages() {
  if (!result_.debug.vmlinux.empty() || k().release.empty()) return;
  const std::vector<DebugPackage> packages = debug_packages(k().release, k().version);
  if (packages.empty()) {
    problem(fmt::format("no distribution naming known for release {} ({}): give --vmlinux, or a debuginfod server",
                        k().release, k().version.empty() ? "no version string" : k().version));
    return;
  }
  std::vector<std::string> rpm_bases = o_.rpm_urls;
  if (o_.use_rpm_env) {
    if (const char* env = std::getenv("KTRIAGE_RPM_URLS")) {
      std::istringstream in(env);
      for (std::string u; in >> u;) rpm_bases.push_back(u);
    }
  }
  std::vector<std::string> failures;
  for (const DebugPackage& p : packages) {
    Expected<debuginfo::TempDir> dirOrErr = cache_->temp_dir();
    if (!dirOrErr) {
      problem(dirOrErr.error().message);
      return;
    }
    Expected<debuginfo::Downloaded> got = Error{"not tried"};
    if (p.format == "deb") {
      if (!o_.use_apt) continue;
      got = debuginfo::apt_download(p, dirOrErr->path(), o_);
      if (!got) failures.push_back(got.error().message);
    } else if (rpm_bases.empty()) {
      failures.push_back(fmt::format("{}: no RPM base URL (--rpm-url, KTRIAGE_RPM_URLS)", p.file));
    } else {
      for (const std::string& base : rpm_bases) {
        got = debuginfo::http_download(rpm_url(base, p), dirOrErr->path(), o_);
        if (got) break;
        failures.push_back(got.error().message);
      }
    }
    if (!got) continue;
    result_.report.downloaded += got->bytes;
    if (auto err = install_package(p, got->path, got->origin)) {
      failures.push_back(err->message);
      continue;
    }
    std::optional<debuginfo::ViewInfo> view = cache_->view(view_name());
    if (!view || view->vmlinux.empty()) continue;
    result_.debug.vmlinux = view->vmlinux;
    vmlinux_source_ = fmt::format("{} {} {}", p.format, p.name, p.version);
    const std::map<std::string, std::string> have = modules_by_name(view->modules_dir);
    for (const KernelIdentity::Module& m : k().modules) {
      if (module_known(m)) continue;
      if (auto it = have.find(module_key(m.name)); it != have.end()) {
        found_modules_[module_key(m.name)] = {it->second, ""};
        module_source_[module_key(m.name)] = vmlinux_source_;
      }
    }
    result_.report.modules_dir = view->modules_dir;
    result_.report.module_files = view->module_files;
    return;
  }
  for (std::string& f : failures) problem(std::move(f));
}

void Fetch::verify_and_report() {
  FetchReport& rep = result_.report;
  if (!rep.modules_dir.empty()) result_.debug.module_dirs = {rep.modules_dir};
  if (result_.debug.vmlinux.empty() && result_.debug.module_dirs.empty()) return;
  std::vector<DebugInfoFile> checks = check_against_log(reports_, k().release, result_.debug);
  for (const DebugInfoFile& f : checks) {
    if (!rejected(f)) {
      if (f.match == DebugMatch::match) {
        note(fmt::format("{} checked against the log: {}", who(f), evidence_text(f)));
      }
      continue;
    }
    problem(fmt::format("{} ({}) does not match the log ({}: {}); not used", who(f), f.path, to_string(f.confidence),
                        evidence_text(f)));
    // Out of the view, so the symbolizer never sees it.
    const std::string view_dir = cache_->dir() + "/kernels/" + view_name() + "/";
    if (f.path.starts_with(view_dir)) cache_->remove_from_view(view_name(), f.path.substr(view_dir.size()));
    if (f.role == "vmlinux" || f.role == "system_map") {
      result_.debug.vmlinux.clear();
    } else {
      found_modules_.erase(module_key(f.name));
    }
  }
  if (!result_.debug.vmlinux.empty()) {
    rep.files.push_back(FetchedFile{"vmlinux", "vmlinux", result_.debug.vmlinux, k().vmlinux_build_id,
                                    file_size(result_.debug.vmlinux), vmlinux_source_});
    if (rep.files.back().build_id.empty()) {
      if (auto id = debuginfo::build_id_of(result_.debug.vmlinux)) rep.files.back().build_id = *id;
    }
  }
  for (const KernelIdentity::Module& m : k().modules) {
    auto it = found_modules_.find(module_key(m.name));
    if (it == found_modules_.end()) {
      note(fmt::format("module {}: no debug file found{}", m.name, m.build_id.empty() ? "" : " for build-id " + m.build_id));
      continue;
    }
    std::string id = it->second.second;
    if (id.empty()) {
      if (auto got = debuginfo::build_id_of(it->second.first)) id = *got;
    }
    rep.files.push_back(FetchedFile{"module", m.name, it->second.first, id, file_size(it->second.first),
                                    module_source_[module_key(m.name)]});
  }
  if (result_.debug.vmlinux.empty() && found_modules_.empty()) result_.debug = {};
}

FetchResult Fetch::run() {
  result_.report.kernel = kernel_identity(reports_);
  bool any_id = !k().vmlinux_build_id.empty();
  for (const KernelIdentity::Module& m : k().modules) any_id |= !m.build_id.empty();
  if (k().release.empty() && !any_id) {
    problem("the log names no kernel release and prints no build-id: nothing to fetch by");
    return std::move(result_);
  }
  Expected<debuginfo::Cache> cacheOrErr =
      debuginfo::Cache::open(o_.cache_dir.empty() ? default_debuginfo_cache_dir() : o_.cache_dir);
  if (!cacheOrErr) {
    problem(cacheOrErr.error().message);
    return std::move(result_);
  }
  cache_.emplace(std::move(*cacheOrErr));
  debuginfo::find_installed_build_ids(k(), o_.kernel_root, result_.report.notes);
  from_cache();
  from_debuginfod();
  from_packages();
  verify_and_report();
  cache_->touch(view_name());
  CacheState after = cache_->state(true, o_.cache_limit, view_name());
  for (const std::string& r : after.removed) note(fmt::format("cache over {}: removed {}", human_size(o_.cache_limit), r));
  return std::move(result_);
}

}  // namespace

FetchResult fetch_debuginfo(const std::vector<Report>& reports, const FetchOptions& options) {
  return Fetch(reports, options).run();
}

std::string default_debuginfo_cache_dir() {
  if (const char* d = std::getenv("KTRIAGE_DEBUGINFO_CACHE"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/ktriage/debuginfo";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/ktriage/debuginfo";
  return "/tmp/ktriage-debuginfo";
}

Expected<CacheState> debuginfo_cache(const std::string& dir, bool prune, uint64_t limit) {
  Expected<debuginfo::Cache> cacheOrErr = debuginfo::Cache::open(dir.empty() ? default_debuginfo_cache_dir() : dir);
  if (!cacheOrErr) return cacheOrErr.error();
  return cacheOrErr->state(prune, limit);
}

std::string human_size(uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return v < 10 ? fmt::format("{:.1f} {}", v, kUnits[u]) : fmt::format("{:.0f} {}", v, kUnits[u]);
}

}  // namespace ktriage

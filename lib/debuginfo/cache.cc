#include "debuginfo/cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/json_text.h"

namespace ktriage::debuginfo {
namespace fs = std::filesystem;
namespace {

// Exclusive lock on <dir>/.lock while the cache changes.
class Lock {
 public:
  explicit Lock(const std::string& dir) {
    fd_ = ::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~Lock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  int fd_ = -1;
};

uint64_t disk_bytes(const fs::path& p) {
  struct stat st {};
  if (lstat(p.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 0;
  return st.st_mtim.tv_sec;
}

std::string err_text(const std::error_code& ec) { return ec.message(); }

// Is tmp/<pid>-... still being written by a live process?
bool owner_alive(const std::string& name) {
  const int pid = std::atoi(name.c_str());
  if (pid <= 0) return false;
  if (pid == getpid()) return true;
  return kill(pid, 0) == 0 || errno == EPERM;
}

// Release names become directory names: no separators, no dot-dot.
bool safe_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

// Creates `link` -> `target` atomically (temporary name, then rename).
std::optional<Error> place_link(const fs::path& link, const std::string& target) {
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  const fs::path tmp = link.parent_path() / fmt::format(".{}.{}", link.filename().string(), getpid());
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) return Error{fmt::format("{}: {}", tmp.string(), err_text(ec))};
  fs::rename(tmp, link, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Error{fmt::format("{}: {}", link.string(), err_text(ec))};
  }
  return std::nullopt;
}

std::optional<Error> write_json(const fs::path& file, const nlohmann::json& j) {
  const fs::path tmp = file.string() + fmt::format(".{}", getpid());
  {
    std::ofstream out(tmp);
    out << support::json_text(j, 2) << '\n';
    if (!out.flush()) return Error{fmt::format("{}: {}", tmp.string(), std::strerror(errno))};
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return Error{fmt::format("{}: {}", file.string(), err_text(ec))};
  return std::nullopt;
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

void remove_stale_temps(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir + "/tmp", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (!owner_alive(it->path().filename().string())) fs::remove_all(it->path(), ec);
  }
}

}  // namespace

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

Expected<Cache> Cache::open(const std::string& dir) {
  if (dir.empty()) return Error{"no cache directory"};
  std::error_code ec;
  for (const char* sub : {"", "/.build-id", "/kernels", "/tmp"}) {
    fs::create_directories(dir + sub, ec);
    if (ec) return Error{fmt::format("cache {}: {}", dir + sub, err_text(ec))};
  }
  if (access(dir.c_str(), W_OK) != 0) return Error{fmt::format("cache {}: {}", dir, std::strerror(errno))};
  return Cache(fs::absolute(dir).lexically_normal().string());
}

Expected<TempDir> Cache::temp_dir() const {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  const std::string path = fmt::format("{}/tmp/{}-{}-{:08x}", dir_, getpid(), counter++, rd());
  if (mkdir(path.c_str(), 0700) != 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  return TempDir(path);
}

std::optional<ViewInfo> Cache::view(const std::string& release) const {
  if (!safe_name(release)) return std::nullopt;
  const fs::path dir = fs::path(dir_) / "kernels" / release;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  ViewInfo v;
  v.release = release;
  v.dir = dir.string();
  if (fs::is_regular_file(dir / "vmlinux", ec)) v.vmlinux = (dir / "vmlinux").string();  // follows the link
  if (fs::is_directory(dir / "modules", ec)) {
    v.modules_dir = (dir / "modules").string();
    for (fs::recursive_directory_iterator it(dir / "modules", ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_symlink(ec) || it->is_regular_file(ec)) ++v.module_files;
    }
  }
  v.source = read_json(dir / "kernel.json").value("source", "");
  return v;
}

namespace {

// Moves a verified file into .build-id/ (an existing copy wins); its path there.
Expected<std::string> store(const std::string& dir, const std::string& file, const std::string& build_id) {
  if (build_id.size() < 3 || build_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Error{fmt::format("{}: no usable build-id", file)};
  }
  const fs::path dest = fs::path(dir) / ".build-id" / build_id.substr(0, 2) / (build_id.substr(2) + ".debug");
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (fs::exists(dest, ec)) {
    fs::remove(file, ec);
    return dest.string();
  }
  fs::rename(file, dest, ec);
  if (ec) return Error{fmt::format("{}: {}", dest.string(), err_text(ec))};
  return dest.string();
}

}  // namespace

std::optional<Error> Cache::install(const std::string& release, std::vector<ViewEntry> entries,
                                    const std::string& source) const {
  if (!safe_name(release)) return Error{fmt::format("'{}' cannot name a cache directory", release)};
  Expected<TempDir> stageOrErr = temp_dir();
  if (!stageOrErr) return stageOrErr.error();
  Lock lock(dir_);
  const fs::path stage = fs::path(stageOrErr->path()) / "view";
  for (ViewEntry& e : entries) {
    if (!e.build_id.empty()) {
      Expected<std::string> storedOrErr = store(dir_, e.target, e.build_id);
      if (!storedOrErr) return storedOrErr.error();
      e.target = *storedOrErr;
    }
    if (auto err = place_link(stage / e.name, e.target)) return err;
  }
  nlohmann::json meta{{"release", release}, {"source", source},
                      {"fetched", std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch()).count()}};
  std::error_code ec;
  fs::create_directories(stage, ec);
  if (auto err = write_json(stage / "kernel.json", meta)) return err;
  std::ofstream(stage / ".used").flush();
  const fs::path live = fs::path(dir_) / "kernels" / release;
  const fs::path old = fs::path(stageOrErr->path()) / "old";
  if (fs::exists(live, ec)) fs::rename(live, old, ec);
  if (ec) return Error{fmt::format("{}: {}", live.string(), err_text(ec))};
  fs::rename(stage, live, ec);
  if (ec) return Error{fmt::format("{}: {}", live.string(), err_text(ec))};
  return std::nullopt;  // the old view goes with the temporary directory
}

std::optional<Error> Cache::add_to_view(const std::string& release, const std::vector<ViewEntry>& entries,
                                        const std::string& source) const {
  if (!safe_name(release)) return Error{fmt::format("'{}' cannot name a cache directory", release)};
  Lock lock(dir_);
  const fs::path live = fs::path(dir_) / "kernels" / release;
  std::error_code ec;
  fs::create_directories(live, ec);
  if (ec) return Error{fmt::format("{}: {}", live.string(), err_text(ec))};
  for (const ViewEntry& e : entries) {
    if (auto err = place_link(live / e.name, e.target)) return err;
  }
  nlohmann::json meta = read_json(live / "kernel.json");
  std::string sources = meta.value("source", "");
  if (sources.find(source) == std::string::npos) sources += sources.empty() ? source : "; " + source;
  meta["release"] = release;
  meta["source"] = sources;
  if (auto err = write_json(live / "kernel.json", meta)) return err;
  std::ofstream(live / ".used").flush();
  return std::nullopt;
}

void Cache::remove_from_view(const std::string& release, const std::string& name) const {
  if (!safe_name(release)) return;
  Lock lock(dir_);
  std::error_code ec;
  fs::remove(fs::path(dir_) / "kernels" / release / name, ec);
}

void Cache::touch(const std::string& release) const {
  if (!safe_name(release)) return;
  const fs::path used = fs::path(dir_) / "kernels" / release / ".used";
  std::error_code ec;
  if (!fs::is_directory(used.parent_path(), ec)) return;
  std::ofstream(used, std::ios::app).flush();
  utimensat(AT_FDCWD, used.c_str(), nullptr, 0);
}

CacheState Cache::state(bool prune, uint64_t limit, const std::string& keep) const {
  Lock lock(dir_);
  remove_stale_temps(dir_);
  const fs::path store = fs::path(dir_) / ".build-id";
  std::error_code ec;

  struct Kernel {
    CachedKernel info;
    std::set<std::string> files;  // in-cache targets
  };
  auto scan = [&] {
    std::vector<Kernel> kernels;
    for (fs::directory_iterator it(fs::path(dir_) / "kernels", ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      Kernel k;
      k.info.release = it->path().filename().string();
      k.info.source = read_json(it->path() / "kernel.json").value("source", "");
      k.info.last_used = mtime_of(it->path() / ".used");
      std::error_code ec2;
      for (fs::recursive_directory_iterator f(it->path(), ec2); !ec2 && f != fs::recursive_directory_iterator();
           f.increment(ec2)) {
        if (!f->is_symlink(ec2)) continue;
        const fs::path target = fs::read_symlink(f->path(), ec2);
        if (ec2) break;
        const bool is_vmlinux = f->path().filename() == "vmlinux" && f->path().parent_path() == it->path();
        if (fs::exists(f->path(), ec2)) {
          if (is_vmlinux) k.info.has_vmlinux = true;
          else ++k.info.module_files;
        }
        if (target.string().starts_with(store.string() + "/")) k.files.insert(target.string());
      }
      for (const std::string& f : k.files) k.info.bytes += disk_bytes(f);
      kernels.push_back(std::move(k));
    }
    std::sort(kernels.begin(), kernels.end(),
              [](const Kernel& a, const Kernel& b) { return a.info.last_used > b.info.last_used; });
    return kernels;
  };
  auto total_bytes = [&] {
    uint64_t total = 0;
    for (fs::recursive_directory_iterator f(dir_, ec); !ec && f != fs::recursive_directory_iterator(); f.increment(ec)) {
      if (f->is_regular_file(ec) && !f->is_symlink(ec)) total += disk_bytes(f->path());
    }
    return total;
  };
  // Files of .build-id/ that no kernel links to (left by a removed kernel).
  auto collect_garbage = [&](const std::vector<Kernel>& kernels) {
    std::set<std::string> used;
    for (const Kernel& k : kernels) used.insert(k.files.begin(), k.files.end());
    for (fs::recursive_directory_iterator f(store, ec); !ec && f != fs::recursive_directory_iterator(); f.increment(ec)) {
      if (f->is_regular_file(ec) && !used.count(f->path().string())) fs::remove(f->path(), ec);
    }
  };

  CacheState out;
  out.dir = dir_;
  std::vector<Kernel> kernels = scan();
  out.bytes = total_bytes();
  if (prune) {
    collect_garbage(kernels);
    out.bytes = total_bytes();
    while (out.bytes > limit) {
      auto victim = std::find_if(kernels.rbegin(), kernels.rend(), [&](const Kernel& k) { return k.info.release != keep; });
      if (victim == kernels.rend()) break;
      fs::remove_all(fs::path(dir_) / "kernels" / victim->info.release, ec);
      out.removed.push_back(victim->info.release);
      kernels.erase(std::next(victim).base());
      collect_garbage(kernels);
      out.bytes = total_bytes();
    }
  }
  for (Kernel& k : kernels) out.kernels.push_back(std::move(k.info));
  return out;
}

}  // namespace ktriage::debuginfo

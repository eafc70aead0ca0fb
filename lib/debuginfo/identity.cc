#include "debuginfo/identity.h"

#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "debuginfo/elf_id.h"
#include "support/io.h"

namespace ktriage {
namespace fs = std::filesystem;

KernelIdentity kernel_identity(const std::vector<Report>& reports) {
  KernelIdentity k;
  std::map<std::string, int> votes;
  for (const Report& r : reports) {
    if (!r.kernel_release.empty()) ++votes[r.kernel_release];
  }
  for (const auto& [release, n] : votes) {
    if (k.release.empty() || n > votes[k.release]) k.release = release;
  }
  std::map<std::string, size_t> module_at;
  auto add_module = [&](const Symbol& s) {
    if (s.module.empty()) return;
    const std::string key = debuginfo::module_key(s.module);
    auto [it, fresh] = module_at.emplace(key, k.modules.size());
    if (fresh) k.modules.push_back({s.module, s.module_build_id});
    if (k.modules[it->second].build_id.empty()) k.modules[it->second].build_id = s.module_build_id;
  };
  for (const Report& r : reports) {
    if (!r.kernel_release.empty() && r.kernel_release != k.release) continue;
    if (k.version.empty()) k.version = r.kernel_version;
    if (k.vmlinux_build_id.empty()) k.vmlinux_build_id = r.kernel_build_id;
    if (k.arch == Arch::unknown) k.arch = r.arch;
    if (r.ip) add_module(*r.ip);
    for (const Frame& f : r.frames) add_module(f);
  }
  return k;
}

namespace debuginfo {
namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Raw ELF notes (/sys/kernel/notes, /sys/module/M/notes/.note.gnu.build-id):
// the GNU build-id among them.
std::string build_id_in_raw_notes(const std::string& b) {
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
    return v;
  };
  auto align4 = [](size_t n) { return (n + 3) & ~size_t{3}; };
  size_t at = 0;
  while (at + 12 <= b.size()) {
    const size_t namesz = u32(at), descsz = u32(at + 4), type = u32(at + 8);
    const size_t name = at + 12, desc = name + align4(namesz);
    if (namesz > b.size() || descsz > b.size() || desc + descsz > b.size()) break;
    if (type == 3 && namesz == 4 && b.compare(name, 4, std::string("GNU\0", 4)) == 0) {
      std::string out;
      for (size_t i = 0; i < descsz; ++i) out += fmt::format("{:02x}", static_cast<unsigned char>(b[desc + i]));
      return out;
    }
    at = desc + align4(descsz);
  }
  return {};
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Every word of the log's version string is in the banner (the check the
// symbolizer makes against linux_banner).
bool banner_has_version(const std::string& banner, const std::string& version) {
  const std::vector<std::string> have = words(banner);
  for (const std::string& w : words(version)) {
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  }
  return true;
}

bool running_kernel(const KernelIdentity& k) {
  utsname u{};
  if (uname(&u) != 0 || k.release != u.release) return false;
  const auto banner = support::read_file("/proc/version");
  return !k.version.empty() && banner && banner_has_version(*banner, k.version);
}

}  // namespace

std::string module_key(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

void find_installed_build_ids(KernelIdentity& k, const std::string& root, std::vector<std::string>& notes) {
  if (k.release.empty() || root.empty()) return;
  const bool live = root == "/" && running_kernel(k);
  if (live && k.vmlinux_build_id.empty()) {
    if (auto notes_bytes = support::read_file("/sys/kernel/notes")) {
      k.vmlinux_build_id = build_id_in_raw_notes(*notes_bytes);
      if (!k.vmlinux_build_id.empty()) notes.push_back("vmlinux build-id from /sys/kernel/notes (the running kernel)");
    }
  }
  const fs::path r(root);
  if (k.vmlinux_build_id.empty()) {
    for (const fs::path& p : {r / "boot" / ("vmlinux-" + k.release), r / "boot" / ("vmlinuz-" + k.release),
                              r / "lib/modules" / k.release / "vmlinuz",
                              r / "usr/lib/modules" / k.release / "vmlinuz"}) {
      if (!is_file(p)) continue;
      std::vector<std::string> banners;
      Expected<std::string> idOrErr = build_id_of(p.string(), &banners);
      const bool same_build = std::any_of(banners.begin(), banners.end(),
                                          [&](const std::string& b) { return banner_has_version(b, k.version); });
      if (idOrErr && !banners.empty() && !k.version.empty() && !same_build) {
        // Same release, another build (Debian keeps the ABI name across uploads):
        // nothing installed here belongs to the crashed kernel.
        notes.push_back(fmt::format("{} is another build of {} ({}): its build-ids are not used", p.string(),
                                    k.release, banners.back()));
        return;
      }
      if (idOrErr && !idOrErr->empty()) {
        k.vmlinux_build_id = *idOrErr;
        notes.push_back(fmt::format("vmlinux build-id {} from {}", k.vmlinux_build_id, p.string()));
        break;
      }
      notes.push_back(idOrErr ? fmt::format("{}: no build-id", p.string()) : idOrErr.error().message);
    }
  }
  // Modules: /sys for the running kernel, else the installed tree.
  std::map<std::string, fs::path> installed;
  bool scanned = false;
  for (KernelIdentity::Module& m : k.modules) {
    if (!m.build_id.empty()) continue;
    if (live) {
      if (auto b = support::read_file("/sys/module/" + module_key(m.name) + "/notes/.note.gnu.build-id")) {
        m.build_id = build_id_in_raw_notes(*b);
        if (!m.build_id.empty()) continue;
      }
    }
    if (!scanned) {
      scanned = true;
      for (const fs::path& dir : {r / "lib/modules" / k.release, r / "usr/lib/modules" / k.release}) {
        std::error_code ec;
        fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
        for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          const std::string name = it->path().filename().string();
          const size_t ko = name.find(".ko");
          if (ko == std::string::npos || ko == 0 || !it->is_regular_file(ec)) continue;
          const std::string rest = name.substr(ko);
          if (rest != ".ko" && rest != ".ko.xz" && rest != ".ko.zst" && rest != ".ko.gz") continue;
          installed.emplace(module_key(name.substr(0, ko)), it->path());
        }
      }
    }
    auto it = installed.find(module_key(m.name));
    if (it == installed.end()) continue;
    if (Expected<std::string> idOrErr = build_id_of(it->second.string()); idOrErr && !idOrErr->empty()) {
      m.build_id = *idOrErr;
      notes.push_back(fmt::format("{} build-id {} from {}", m.name, m.build_id, it->second.string()));
    }
  }
}

}  // namespace debuginfo
}  // namespace ktriage

// DWARF file names -> kernel-relative paths.
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/symbolize.h"

namespace ktriage {
namespace {

// Collapses "//", "/./" and "dir/.." without touching the file system.
std::string normalize(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

bool strip_dir_prefix(std::string& path, std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.empty() || path.size() <= prefix.size() + 1) return false;
  if (path.compare(0, prefix.size(), prefix) != 0 || path[prefix.size()] != '/') return false;
  path.erase(0, prefix.size() + 1);
  return true;
}

// Directory names that stand for the root of a kernel tree; the part of the
// path after "<marker><anything>/" is kernel-relative. The last match wins,
// so a build tree inside a source tree resolves to the inner one.
struct TreeMarker {
  std::string_view text;     // matched at a path-component start
  bool then_one_component;   // followed by one more component ("build_amd64_...")
};
constexpr TreeMarker kTreeMarkers[] = {
    {"debian/build/build_", true},  // Debian kernel packages
    {"linux-headers-", true},       // /usr/src/linux-headers-<release>/
    {"linux-source-", true},        // Debian linux-source tree
    {"usr/src/kernels/", true},     // Fedora / RHEL kernel-devel
    {"lib/modules/", false},        // /lib/modules/<release>/build/ handled below
};

// "linux-6.1.192/", "linux-5.15/": an unpacked kernel source tree
// (Debian builds assembler files from /build/reproducible-path/linux-6.1.192/).
size_t versioned_tree_end(const std::string& path) {
  size_t best = std::string::npos, from = 0;
  while ((from = path.find("linux-", from)) != std::string::npos) {
    size_t at = from;
    from += 6;
    if ((at != 0 && path[at - 1] != '/') || from >= path.size() || !std::isdigit(static_cast<unsigned char>(path[from]))) {
      continue;
    }
    size_t slash = path.find('/', from);
    if (slash != std::string::npos && slash + 1 < path.size()) best = slash + 1;
  }
  return best;
}

bool strip_tree_marker(std::string& path) {
  size_t best_end = versioned_tree_end(path);
  for (const TreeMarker& m : kTreeMarkers) {
    size_t from = 0;
    while (true) {
      size_t at = path.find(m.text, from);
      if (at == std::string::npos) break;
      from = at + 1;
      if (at != 0 && path[at - 1] != '/') continue;
      size_t end = at + m.text.size();
      if (m.text == "lib/modules/") {
        // lib/modules/<release>/{build,source}/
        size_t rel_end = path.find('/', end);
        if (rel_end == std::string::npos) continue;
        for (std::string_view sub : {"build/", "source/"}) {
          if (path.compare(rel_end + 1, sub.size(), sub) == 0) {
            size_t e = rel_end + 1 + sub.size();
            if (best_end == std::string::npos || e > best_end) best_end = e;
          }
        }
        continue;
      }
      if (m.then_one_component) {
        size_t slash = path.find('/', end);
        if (slash == std::string::npos) continue;
        end = slash + 1;
      }
      if (end < path.size() && (best_end == std::string::npos || end > best_end)) best_end = end;
    }
  }
  if (best_end == std::string::npos || best_end >= path.size()) return false;
  path.erase(0, best_end);
  return true;
}

}  // namespace

std::string kernel_relative_path(std::string_view raw,
                                 const std::vector<std::string>& extra_prefixes,
                                 std::string_view module_dir) {
  std::string path = normalize(raw);
  for (const std::string& prefix : extra_prefixes) {
    if (strip_dir_prefix(path, normalize(prefix))) return path;
  }
  if (strip_tree_marker(path)) return path;
  if (!module_dir.empty() && strip_dir_prefix(path, normalize(module_dir))) return path;
  return path;
}

bool printed_size_matches(uint64_t printed, uint64_t elf_size, uint64_t gap) {
  if (printed == elf_size || (gap != 0 && printed == gap)) return true;
  // kallsyms measures up to the next symbol it knows, so padding (and
  // symbols it omits) make the printed size larger than st_size, never
  // smaller, and never past the next ELF symbol in the same section.
  if (elf_size == 0 && gap == 0) return true;  // nothing to compare against
  if (printed < elf_size) return false;
  if (gap != 0) return printed <= gap;
  // Unknown gap (last symbol of a section): allow alignment padding only.
  return printed - elf_size < 64;
}

}  // namespace ktriage

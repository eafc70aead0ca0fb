// Version orderings (upstream, rpmvercmp, dpkg) and kernel release
// classification. The rpm and dpkg orderings follow the rules those tools
// document (rpm's rpmvercmp, Debian policy 5.6.12); they are written here
// from those rules over string_views, bounds-checked.
#include "ktriage/version.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace ktriage {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
int sign(int v) { return (v > 0) - (v < 0); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Compares two digit strings as numbers of any length.
int compare_digits(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

// Leading "X.Y[.Z...]" and an optional "-rcN" of an upstream release.
struct UpstreamParts {
  std::vector<std::string_view> numbers;
  std::optional<std::string_view> rc;
};

UpstreamParts parse_upstream(std::string_view s) {
  UpstreamParts parts;
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) {
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    parts.numbers.push_back(s.substr(start, i - start));
    if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
      ++i;
      continue;
    }
    break;
  }
  if (!parts.numbers.empty() && s.substr(i).starts_with("-rc")) {
    size_t start = i + 3, j = start;
    while (j < s.size() && is_digit(s[j])) ++j;
    if (j > start) parts.rc = s.substr(start, j - start);
  }
  return parts;
}

// "epoch:version-release", the shape of an RPM EVR and of a Debian version
// (epoch:upstream-revision): epoch "" when absent, release "" without a dash.
struct Evr {
  std::string_view epoch, version, release;
};

Evr split_evr(std::string_view s) {
  Evr evr;
  if (size_t colon = s.find(':'); colon != std::string_view::npos &&
      std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(colon), is_digit)) {
    evr.epoch = s.substr(0, colon);
    s.remove_prefix(colon + 1);
  }
  if (size_t dash = s.rfind('-'); dash != std::string_view::npos) {
    evr.version = s.substr(0, dash);
    evr.release = s.substr(dash + 1);
  } else {
    evr.version = s;
  }
  return evr;
}

constexpr std::array<std::string_view, 14> kRpmArches = {
    ".x86_64", ".i686", ".i586", ".i386", ".aarch64", ".ppc64le", ".ppc64",
    ".s390x", ".armv7hl", ".noarch", ".ia64", ".ppc", ".src", ".riscv64"};
constexpr std::array<std::string_view, 4> kRpmFlavours = {".debug", ".PAE", ".xen", ".rt"};

// "2.6.32-431.el6.x86_64" -> "2.6.32-431.el6"; "5.14.0-70.el9.x86_64+debug"
// -> "5.14.0-70.el9". Returns the removed flavour/arch words in `removed`.
std::string_view strip_rpm_suffixes(std::string_view s, std::string* removed = nullptr) {
  if (size_t plus = s.find('+'); plus != std::string_view::npos) {
    if (removed) *removed = std::string(s.substr(plus + 1));
    s = s.substr(0, plus);
  }
  auto strip_one = [&](std::string_view suffix) {
    if (s.size() <= suffix.size() || !s.ends_with(suffix)) return false;
    if (removed) *removed = std::string(suffix.substr(1)) + (removed->empty() ? "" : "+" + *removed);
    s.remove_suffix(suffix.size());
    return true;
  };
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view suffix : kRpmArches) stripped |= strip_one(suffix);
    for (std::string_view suffix : kRpmFlavours) stripped |= strip_one(suffix);
  }
  return s;
}

int dpkg_order(char c) {
  if (is_digit(c)) return 0;
  if (is_alpha(c)) return static_cast<unsigned char>(c);
  if (c == '~') return -1;
  return static_cast<unsigned char>(c) + 256;
}

// Debian policy 5.6.12: alternate non-digit parts (letters before
// non-letters, '~' before everything, even the end) and digit parts (numeric).
int dpkg_verrevcmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int ac = i < a.size() ? dpkg_order(a[i]) : 0;
      int bc = j < b.size() ? dpkg_order(b[j]) : 0;
      if (ac != bc) return sign(ac - bc);
      ++i;
      ++j;
    }
    size_t ai = i, bj = j;
    while (i < a.size() && is_digit(a[i])) ++i;
    while (j < b.size() && is_digit(b[j])) ++j;
    if (int c = compare_digits(a.substr(ai, i - ai), b.substr(bj, j - bj))) return c;
  }
  return 0;
}

// Debian kernel flavours (the last words of `uname -r` on Debian); any
// other "X.Y.Z-N-flavour" release is Ubuntu's ("generic", "aws", ...).
constexpr std::array<std::string_view, 19> kDebianFlavours = {
    "amd64", "arm64", "686", "686-pae", "armmp", "armmp-lpae", "marvell", "rpi", "powerpc64le", "s390x",
    "4kc-malta", "5kc-malta", "octeon", "loongson-3", "mips64r2el", "mips32r2el", "mips64r6el", "riscv64",
    "i386"};

bool is_debian_flavour(std::string_view flavour) {
  return std::any_of(kDebianFlavours.begin(), kDebianFlavours.end(), [&](std::string_view f) {
    return flavour == f || (flavour.size() > f.size() && flavour.ends_with(f) && flavour[flavour.size() - f.size() - 1] == '-');
  });
}

std::string upstream_base(std::string_view s) {
  UpstreamParts p = parse_upstream(s);
  std::string out;
  for (size_t i = 0; i < p.numbers.size(); ++i) {
    if (i) out += '.';
    out += p.numbers[i];
  }
  return out;
}

std::string after_word(std::string_view text, const RE2& re) {
  std::string value;
  if (RE2::PartialMatch(text, re, &value)) return value;
  return {};
}

std::string ubuntu_upload(std::string_view uname_version) {
  static const RE2 re(R"(#(\d+(?:~[0-9.]+)?)-Ubuntu)");
  return after_word(uname_version, re);
}

std::string debian_package(std::string_view uname_version) {
  static const RE2 re(R"(Debian (\d[A-Za-z0-9.+~:-]*))");
  return after_word(uname_version, re);
}

KernelRelease classify_explicit(std::string_view line, std::string_view version, std::string_view text) {
  KernelRelease k;
  k.text = std::string(text);
  k.line = std::string(line);
  k.scheme = scheme_of_line(line);
  if (k.scheme == VersionScheme::rpm) {
    k.version = std::string(strip_rpm_suffixes(version, &k.flavour));
  } else if (line == "ubuntu") {
    // "5.15.0-91-generic" or "5.15.0-91.101"
    static const RE2 re(R"((\d+\.\d+(?:\.\d+)*-\d+)(\.[0-9~.]+)?(?:-([a-z][a-z0-9-]*))?)");
    std::string abi, upload, flavour;
    if (RE2::FullMatch(version, re, &abi, &upload, &flavour)) {
      k.abi = abi;
      k.version = abi + upload;
      k.flavour = flavour;
    } else {
      k.version = std::string(version);
    }
  } else {
    k.version = std::string(version);
  }
  k.base = upstream_base(version);
  return k;
}

}  // namespace

std::string_view to_string(VersionScheme scheme) {
  switch (scheme) {
    case VersionScheme::upstream: return "upstream";
    case VersionScheme::rpm: return "rpm";
    case VersionScheme::dpkg: return "dpkg";
  }
  return "upstream";
}

int compare_upstream_versions(std::string_view a, std::string_view b) {
  UpstreamParts pa = parse_upstream(trim(a)), pb = parse_upstream(trim(b));
  size_t n = std::max(pa.numbers.size(), pb.numbers.size());
  for (size_t i = 0; i < n; ++i) {
    std::string_view x = i < pa.numbers.size() ? pa.numbers[i] : "0";
    std::string_view y = i < pb.numbers.size() ? pb.numbers[i] : "0";
    if (int c = compare_digits(x, y)) return c;
  }
  if (pa.numbers.empty() != pb.numbers.empty()) return pa.numbers.empty() ? -1 : 1;
  if (pa.rc && pb.rc) return compare_digits(*pa.rc, *pb.rc);
  if (pa.rc) return -1;  // 3.15-rc8 < 3.15
  if (pb.rc) return 1;
  return 0;
}

std::string stable_branch(std::string_view v) {
  UpstreamParts p = parse_upstream(trim(v));
  size_t n = !p.numbers.empty() && p.numbers[0] == "2" ? 3 : 2;  // 2.6.32.y, then X.Y.z
  if (p.numbers.size() < n) return {};
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "." : "") + std::string(p.numbers[i]);
  return out;
}

int rpmvercmp(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t i = 0, j = 0;
  auto separator = [](char c) { return !is_alnum(c) && c != '~' && c != '^'; };
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && separator(a[i])) ++i;
    while (j < b.size() && separator(b[j])) ++j;
    bool ai = i < a.size(), bj = j < b.size();
    // '~' sorts before everything, the end included.
    if ((ai && a[i] == '~') || (bj && b[j] == '~')) {
      if (!ai || a[i] != '~') return 1;
      if (!bj || b[j] != '~') return -1;
      ++i;
      ++j;
      continue;
    }
    // '^' sorts after the end but before any further segment.
    if ((ai && a[i] == '^') || (bj && b[j] == '^')) {
      if (!ai) return -1;
      if (!bj) return 1;
      if (a[i] != '^') return 1;
      if (b[j] != '^') return -1;
      ++i;
      ++j;
      continue;
    }
    if (!ai || !bj) break;
    size_t si = i, sj = j;
    bool numeric = is_digit(a[i]);
    auto same_class = [numeric](char c) { return numeric ? is_digit(c) : is_alpha(c); };
    while (i < a.size() && same_class(a[i])) ++i;
    while (j < b.size() && same_class(b[j])) ++j;
    std::string_view x = a.substr(si, i - si), y = b.substr(sj, j - sj);
    // A numeric segment is newer than an alphabetic one.
    if (y.empty()) return numeric ? 1 : -1;
    if (int c = numeric ? compare_digits(x, y) : sign(x.compare(y))) return c;
  }
  bool ai = i < a.size(), bj = j < b.size();
  if (!ai && !bj) return 0;
  return ai ? 1 : -1;  // whichever has characters left is newer
}

int compare_rpm_versions(std::string_view a, std::string_view b) {
  Evr x = split_evr(strip_rpm_suffixes(trim(a))), y = split_evr(strip_rpm_suffixes(trim(b)));
  if (int c = compare_digits(x.epoch, y.epoch)) return c;
  if (int c = rpmvercmp(x.version, y.version)) return c;
  // rpm itself treats a missing release as "any release" (a dependency
  // wildcard), which is not transitive; a kernel without a release sorts
  // before every release of the same version instead.
  if (x.release.empty() != y.release.empty()) return x.release.empty() ? -1 : 1;
  return rpmvercmp(x.release, y.release);
}

int compare_dpkg_versions(std::string_view a, std::string_view b) {
  Evr x = split_evr(trim(a)), y = split_evr(trim(b));
  if (int c = compare_digits(x.epoch, y.epoch)) return c;
  if (int c = dpkg_verrevcmp(x.version, y.version)) return c;
  return dpkg_verrevcmp(x.release, y.release);
}

int compare_versions(VersionScheme scheme, std::string_view a, std::string_view b) {
  switch (scheme) {
    case VersionScheme::rpm: return compare_rpm_versions(a, b);
    case VersionScheme::dpkg: return compare_dpkg_versions(a, b);
    case VersionScheme::upstream: break;
  }
  return compare_upstream_versions(a, b);
}

bool is_known_kernel_line(std::string_view line) {
  static const RE2 re(R"((?:rhel|uek|amzn)\d+|fedora|suse|debian|ubuntu|upstream)");
  return RE2::FullMatch(line, re);
}

VersionScheme scheme_of_line(std::string_view line) {
  if (line == "debian" || line == "ubuntu") return VersionScheme::dpkg;
  if (line == "upstream" || line.empty()) return VersionScheme::upstream;
  return VersionScheme::rpm;
}

std::string KernelRelease::display() const {
  if (line == "debian" && !version.empty() && version != text) return "Debian " + version;
  if (!version.empty()) return version;
  return text;
}

KernelRelease classify_kernel_release(std::string_view release, std::string_view uname_version) {
  std::string_view text = trim(release);
  if (text.size() > 256) text = text.substr(0, 256);  // no real release is longer
  if (uname_version.size() > 512) uname_version = uname_version.substr(0, 512);
  KernelRelease k;
  k.text = std::string(text);
  if (text.empty()) return k;

  // "debian:6.1.192-2", "rhel6:2.6.32-431.el6"
  static const RE2 explicit_re(R"(([a-z]+\d*):(\S+))");
  std::string line, version;
  if (RE2::FullMatch(text, explicit_re, &line, &version) && is_known_kernel_line(line))
    return classify_explicit(line, version, text);
  // "Debian 6.1.192-2", "Ubuntu 5.15.0-91.101"
  static const RE2 named_re(R"((?i)(debian|ubuntu)\s+(\S+))");
  if (RE2::FullMatch(text, named_re, &line, &version)) {
    std::transform(line.begin(), line.end(), line.begin(), [](char c) { return c | 0x20; });
    return classify_explicit(line, version, text);
  }

  // RPM dist tags: .el6 (RHEL, CentOS), .el7uek (Oracle UEK), .fc39, .amzn2.
  static const RE2 rpm_re(R"((\d+\.\d+(?:\.\d+)*)-(\S*?)\.((el|fc|amzn)(\d+)(?:_\d+)?(uek)?)((?:[.+]|[A-Za-z]).*)?)");
  std::string base, rel, dist, family, number, uek, rest;
  if (RE2::FullMatch(text, rpm_re, &base, &rel, &dist, &family, &number, &uek, &rest)) {
    k.line = family == "el" ? (uek.empty() ? "rhel" : "uek") + number : family == "fc" ? "fedora" : "amzn" + number;
    k.scheme = VersionScheme::rpm;
    k.base = base;
    k.version = base + "-" + rel + "." + dist;
    std::string removed;
    strip_rpm_suffixes(text, &removed);
    k.flavour = removed.empty() ? rest : removed;
    if (!k.flavour.empty() && (k.flavour[0] == '.' || k.flavour[0] == '+')) k.flavour.erase(0, 1);
    return k;
  }

  // An upstream tree built from git: "3.4.0-00009-g3e96082-dirty" (git describe).
  static const RE2 git_re(R"(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?-\d+-g[0-9a-f]{7,40}\b.*)");
  if (RE2::FullMatch(text, git_re)) {
    UpstreamParts parts = parse_upstream(text);
    k.line = "upstream";
    k.base = upstream_base(text);
    k.version = k.base + (parts.rc ? "-rc" + std::string(*parts.rc) : "");
    return k;
  }

  // SUSE: "5.14.21-150500.55.19-default", "2.6.27.56-0.1-default" (a dotted
  // release before the flavour).
  static const RE2 suse_re(R"((\d+\.\d+(?:\.\d+)+)-(\d+(?:\.\d+)+)-([a-z][a-z0-9_-]*))");
  std::string flavour;
  if (RE2::FullMatch(text, suse_re, &base, &rel, &flavour)) {
    k.line = "suse";
    k.scheme = VersionScheme::rpm;
    k.base = base;
    k.version = base + "-" + rel;
    k.flavour = flavour;
    return k;
  }

  // Debian and Ubuntu ABI names: "6.1.0-56-cloud-amd64", "6.1.0-0.deb11.17-amd64",
  // "5.15.0-91-generic".
  // Debian's experimental "3.12-trunk-amd64" names no ABI number.
  static const RE2 abi_re(R"((\d+\.\d+(?:\.\d+)?)-(\d+(?:\.deb\d+\.\d+)?|trunk)-([a-z0-9][a-z0-9-]*))");
  std::string abi_number;
  if (RE2::FullMatch(text, abi_re, &base, &abi_number, &flavour)) {
    bool says_debian = uname_version.find("Debian") != std::string_view::npos;
    bool says_ubuntu = uname_version.find("Ubuntu") != std::string_view::npos;
    bool debian = says_debian || abi_number == "trunk" || (!says_ubuntu && is_debian_flavour(flavour));
    k.scheme = VersionScheme::dpkg;
    k.abi = base + "-" + abi_number;
    k.flavour = flavour;
    if (debian) {
      k.line = "debian";
      k.version = debian_package(uname_version);  // "" when the log does not say
      k.base = k.version.empty() ? base : upstream_base(k.version);
    } else {
      k.line = "ubuntu";
      std::string upload = ubuntu_upload(uname_version);
      k.version = upload.empty() ? k.abi : k.abi + "." + upload;
      k.base = base;
    }
    return k;
  }

  // Upstream (and anything else that starts like a Linux release).
  UpstreamParts parts = parse_upstream(text);
  if (parts.numbers.size() >= 2) {
    k.line = "upstream";
    k.scheme = VersionScheme::upstream;
    k.base = upstream_base(text);
    k.version = k.base + (parts.rc ? "-rc" + std::string(*parts.rc) : "");
    return k;
  }
  return k;
}

std::optional<int> compare_with_line_version(const KernelRelease& kernel, std::string_view line_version) {
  if (kernel.version.empty()) return std::nullopt;
  if (kernel.line == "ubuntu") {
    // An ABI-only kernel ("5.15.0-91") against a package version
    // ("5.15.0-91.101"): only the ABIs can be ordered.
    bool kernel_has_upload = kernel.version.size() > kernel.abi.size();
    size_t dash = line_version.rfind('-');
    size_t dot = dash == std::string_view::npos ? std::string_view::npos : line_version.find('.', dash);
    if (!kernel_has_upload && dot != std::string_view::npos) {
      int c = compare_dpkg_versions(kernel.version, line_version.substr(0, dot));
      if (c == 0) return std::nullopt;
      return c;
    }
  }
  return compare_versions(kernel.scheme, kernel.version, line_version);
}

}  // namespace ktriage

// Distribution naming: the debug package that carries a kernel's vmlinux and
// modules, from the release and version strings the kernel prints.
#include <re2/re2.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/debuginfo.h"

namespace ktriage {
namespace {

// Release flavours (the part after "<abi>-") each distribution builds, for a
// release given without the version string that names the distribution.
constexpr std::string_view kDebianFlavours[] = {
    "amd64", "cloud-amd64", "rt-amd64", "arm64", "cloud-arm64", "rt-arm64", "686", "686-pae",
    "rt-686-pae", "armmp", "armmp-lpae", "rpi", "marvell", "powerpc64le", "s390x", "riscv64",
    "loong64", "mips64r2el", "octeon", "4kc-malta", "5kc-malta", "m68k", "alpha-generic", "parisc64"};
constexpr std::string_view kUbuntuFlavours[] = {
    "generic", "generic-64k", "generic-lpae", "lowlatency", "lowlatency-64k", "aws", "azure", "gcp",
    "gke", "kvm", "oracle", "ibm", "raspi", "nvidia", "oem", "intel-iotg", "realtime"};

// RPM-family kernel variants: suffix of the release -> package infix.
struct RpmVariant {
  std::string_view suffix;  // ".debug", "+debug", ...
  std::string_view infix;   // kernel-<infix>-debuginfo
};
constexpr RpmVariant kRpmVariants[] = {
    {".debug", "debug"}, {"+debug", "debug"}, {".PAE", "PAE"}, {"+PAE", "PAE"},
    {"+rt", "rt"},       {"+64k", "64k"},     {"+16k", "16k"}, {".xen", "xen"}};

bool flavour_in(std::string_view release, const std::string_view* begin, const std::string_view* end) {
  // <major>.<minor>.<patch>-<abi>-<flavour>
  static const RE2 kAbi(R"(^\d+\.\d+\.\d+-\d+-([a-z0-9][a-z0-9-]*)$)");
  std::string flavour;
  if (!RE2::FullMatch(release, kAbi, &flavour)) return false;
  return std::find(begin, end, flavour) != end;
}

void debian(const std::string& release, const std::string& version, std::vector<DebugPackage>& out) {
  static const RE2 kDebian(R"((?:^|\s)Debian\s+(\d[A-Za-z0-9.+~:-]*))");
  std::string pkg_version;
  const bool named = RE2::PartialMatch(version, kDebian, &pkg_version);
  if (!named && !(version.empty() && flavour_in(release, std::begin(kDebianFlavours), std::end(kDebianFlavours)))) {
    return;
  }
  out.push_back(DebugPackage{.format = "deb", .distro = "Debian", .name = "linux-image-" + release + "-dbg",
                             .version = pkg_version});
}

void ubuntu(const std::string& release, const std::string& version, std::vector<DebugPackage>& out) {
  // "#101-Ubuntu SMP ...", HWE "#101~20.04.1-Ubuntu": the upload number.
  static const RE2 kUpload(R"(#(\d+(?:~[0-9.]+)?)-Ubuntu)");
  static const RE2 kAbi(R"(^(\d+\.\d+\.\d+-\d+)-[a-z0-9-]+$)");
  std::string upload, abi, pkg_version;
  const bool named = RE2::PartialMatch(version, kUpload, &upload);
  if (!named && !(version.empty() && flavour_in(release, std::begin(kUbuntuFlavours), std::end(kUbuntuFlavours)))) {
    return;
  }
  if (named && RE2::FullMatch(release, kAbi, &abi)) pkg_version = abi + "." + upload;
  // Signed kernels (4.15 and later) put the debug symbols under -unsigned.
  for (const char* prefix : {"linux-image-unsigned-", "linux-image-"}) {
    out.push_back(DebugPackage{.format = "deb", .distro = "Ubuntu", .name = prefix + release + "-dbgsym",
                               .version = pkg_version});
  }
}

void rpm(const std::string& release, std::vector<DebugPackage>& out) {
  static const RE2 kRpm(R"(^(\d+\.\d+(?:\.\d+)*)-([0-9][A-Za-z0-9._~]*)\.(x86_64|aarch64|ppc64le|ppc64|s390x|i686|i586|i386|armv7hl)$)");
  std::string base = release, infix;
  for (const RpmVariant& v : kRpmVariants) {
    if (base.size() > v.suffix.size() && base.ends_with(v.suffix)) {
      base.resize(base.size() - v.suffix.size());
      infix = v.infix;
      break;
    }
  }
  DebugPackage p{.format = "rpm", .distro = "Fedora/RHEL"};
  if (!RE2::FullMatch(base, kRpm, &p.version, &p.release, &p.arch)) return;
  // RHEL 8 real-time kernels say so in the release: 4.18.0-305.rt7.77.el8.
  if (infix.empty() && p.release.find(".rt") != std::string::npos) infix = "rt";
  p.name = infix.empty() ? "kernel-debuginfo" : "kernel-" + infix + "-debuginfo";
  p.file = p.name + "-" + p.version + "-" + p.release + "." + p.arch + ".rpm";
  out.push_back(std::move(p));
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (size_t at = 0; (at = s.find(what, at)) != std::string::npos; at += with.size()) s.replace(at, what.size(), with);
}

}  // namespace

std::vector<DebugPackage> debug_packages(const std::string& release, const std::string& version) {
  std::vector<DebugPackage> out;
  if (release.empty()) return out;
  debian(release, version, out);
  ubuntu(release, version, out);
  rpm(release, out);
  return out;
}

std::string rpm_url(const std::string& base, const DebugPackage& p) {
  std::string url = base;
  replace_all(url, "{name}", p.name);
  replace_all(url, "{version}", p.version);
  replace_all(url, "{release}", p.release);
  replace_all(url, "{arch}", p.arch);
  if (url.ends_with(".rpm")) return url;
  if (!url.ends_with("/")) url += '/';
  return url + p.file;
}

}  // namespace ktriage

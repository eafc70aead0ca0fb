// Kernel version comparison the way each distribution orders its kernels,
// and classification of a kernel release string into the line ("rhel6",
// "debian", "upstream", ...) whose ordering applies.
//
//   KernelRelease k = classify_kernel_release("2.6.32-431.el6.x86_64");
//   // k.line == "rhel6", k.scheme == VersionScheme::rpm,
//   // k.version == "2.6.32-431.el6", k.base == "2.6.32"
//   compare_versions(k.scheme, k.version, "2.6.32-520.el6");   // < 0
//
// Orderings:
//   upstream  numeric components ("3.15" > "3.4", "3.15" == "3.15.0"),
//             "-rcN" sorts before the release ("3.15-rc8" < "3.15").
//   rpm       rpmvercmp() on [epoch:]version-release ("2.6.32-573.el6" >
//             "2.6.32-520.el6" > "2.6.32-95.el6"); '~' sorts before
//             anything (pre-releases), '^' after the end but before any
//             further segment (post-release snapshots).
//   dpkg      Debian policy 5.6.12: [epoch:]upstream[-revision]; '~' sorts
//             before anything, even the end ("6.1~rc1" < "6.1").
// All comparisons return <0, 0, >0 and never fail: any text has an order.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ktriage {

enum class VersionScheme { upstream, rpm, dpkg };

std::string_view to_string(VersionScheme scheme);

// Linux release numbers: "2.6.32", "3.15-rc8", "6.1.0-syzkaller-00123-gabc".
// Only the leading X.Y[.Z...][-rcN] counts; a local version suffix is ignored.
int compare_upstream_versions(std::string_view a, std::string_view b);

// The stable branch an upstream version belongs to: "6.1" for "6.1.78" and
// "6.1", "2.6.32" for "2.6.32.27"; "" when unreadable.
std::string stable_branch(std::string_view upstream_version);

// rpm's segment comparison (rpmvercmp) of one version or release field.
int rpmvercmp(std::string_view a, std::string_view b);

// Full RPM EVR: "[epoch:]version-release", with a trailing architecture
// (".x86_64", ".i686", ...) and "+debug"/".debug" flavour stripped first.
// Unlike rpm's dependency matching, a missing release is not a wildcard:
// "2.6.32" sorts before "2.6.32-1", so the order stays transitive.
int compare_rpm_versions(std::string_view a, std::string_view b);

// Full Debian version: "[epoch:]upstream[-revision]".
int compare_dpkg_versions(std::string_view a, std::string_view b);

int compare_versions(VersionScheme scheme, std::string_view a, std::string_view b);

// A kernel release (uname -r), optionally with the build string (uname -v,
// "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2"), sorted into its line.
struct KernelRelease {
  std::string text;         // as given, trimmed
  // "rhel6", "rhel7", ... (.elN, CentOS too), "uek7" (Oracle UEK, .el7uek),
  // "fedora", "amzn2", "suse", "debian", "ubuntu", "upstream";
  // "" when nothing was given or nothing could be read.
  std::string line;
  VersionScheme scheme = VersionScheme::upstream;
  // The comparable form in the line's scheme: "2.6.32-431.el6" (arch
  // stripped), "5.15.0-91" (Ubuntu ABI) or "5.15.0-91.101" (Ubuntu package),
  // "6.1.192-2" (Debian package, from uname -v), "3.15.0-rc8" (upstream).
  // "" when the release does not say (a Debian ABI name like
  // "6.1.0-56-cloud-amd64" without the package version).
  std::string version;
  std::string base;         // upstream base, "2.6.32"; "" when unreadable
  std::string abi;          // Debian/Ubuntu ABI "6.1.0-56"; "" otherwise
  std::string flavour;      // "generic", "cloud-amd64", "x86_64", "debug"...

  bool known() const { return !line.empty(); }
  // Printable form for messages: "2.6.32-431.el6", "debian 6.1.192-2".
  std::string display() const;
};

// Accepts what a log prints (uname -r, "Linux version ..." field) and what a
// user types: "2.6.32-431.el6.x86_64", "5.15.0-91-generic", "6.1.0-56-cloud-amd64",
// "3.10.0", "Debian 6.1.192-2", "Ubuntu 5.15.0-91.101", or an explicit
// "LINE:VERSION" ("debian:6.1.192-2", "rhel6:2.6.32-431.el6").
// `uname_version` (Report::kernel_version) supplies the Debian package
// version and tells Debian from Ubuntu when it names either.
KernelRelease classify_kernel_release(std::string_view release, std::string_view uname_version = {});

// Is `line` a name classify_kernel_release() can produce?
bool is_known_kernel_line(std::string_view line);

// The scheme a line's versions are compared in.
VersionScheme scheme_of_line(std::string_view line);

// Compare the kernel with a version written for its line (a KB's
// carried_by value). nullopt when the two cannot be ordered (no package
// version for a Debian ABI name; an Ubuntu ABI equal to the package's ABI).
std::optional<int> compare_with_line_version(const KernelRelease& kernel, std::string_view line_version);

}  // namespace ktriage

// Version orderings (upstream, rpmvercmp, dpkg) and kernel release
// classification, table-driven.
#include "ktriage/version.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ktriage {
namespace {

struct Order {
  const char* a;
  const char* b;
  int expected;  // sign of compare(a, b)
};

int sgn(int v) { return (v > 0) - (v < 0); }

void check(const char* what, int (*compare)(std::string_view, std::string_view), std::initializer_list<Order> table) {
  for (const Order& o : table) {
    SCOPED_TRACE(std::string(what) + ": " + o.a + " vs " + o.b);
    EXPECT_EQ(sgn(compare(o.a, o.b)), o.expected);
    EXPECT_EQ(sgn(compare(o.b, o.a)), -o.expected);  // antisymmetric
  }
}

TEST(Version, Upstream) {
  check("upstream", compare_upstream_versions,
        {
            {"3.10.0", "3.10.0", 0},
            {"3.15", "3.4", 1},          // numeric, not lexical
            {"3.15", "3.15.0", 0},       // a missing component is 0
            {"3.15.0", "3.14.79", 1},
            {"2.6.32", "3.0", -1},
            {"2.6.32.27", "2.6.32", 1},
            {"3.15-rc8", "3.15", -1},    // release candidates come before the release
            {"3.15.0-rc1", "3.15-rc8", -1},
            {"3.15-rc8", "3.14.79", 1},
            {"3.16-rc1", "3.15", 1},
            {"6.1.0-syzkaller-00123-gabcdef", "6.1", 0},  // local version ignored
            {"6.10", "6.9", 1},
            {"4.19.300", "4.19.3", 1},
            {"99999999999999999999999.1", "1.1", 1},  // no overflow
            {"", "1.0", -1},
            {"garbage", "2.6", -1},
        });
}

TEST(Version, Rpmvercmp) {
  check("rpmvercmp", rpmvercmp,
        {
            {"573.el6", "520.el6", 1},
            {"520.el6", "95.el6", 1},    // numeric segments compare as numbers
            {"1.0", "1.0", 0},
            {"1.0", "1.0.1", -1},
            {"1.0a", "1.0", 1},          // extra characters win
            {"1.0", "1.a", 1},           // a numeric segment beats an alphabetic one
            {"2.0.1a", "2.0.1", 1},
            {"5.5p1", "5.5p2", -1},
            {"5.5p10", "5.5p1", 1},
            {"010", "10", 0},            // leading zeros do not count
            {"1.0", "1_0", 0},           // separators are equal
            {"1.0~rc1", "1.0", -1},      // tilde sorts before the end
            {"1.0~rc1", "1.0~rc2", -1},
            {"1.0~rc1~git1", "1.0~rc1", -1},
            {"1.0^", "1.0", 1},          // caret sorts after the end ...
            {"1.0^git1", "1.0.1", -1},   // ... but before a further segment
            {"1.0^git1", "1.0^git2", -1},
            {"1.0^git1", "1.0~rc1", 1},
            {"431.3.1.el6", "431.el6", 1},
            {"a", "b", -1},
        });
}

TEST(Version, RpmKernels) {
  check("rpm", compare_rpm_versions,
        {
            {"2.6.32-573.el6", "2.6.32-520.el6", 1},
            {"2.6.32-520.el6", "2.6.32-95.el6", 1},
            {"2.6.32-573.el6", "2.6.32-95.el6", 1},
            {"2.6.32-431.el6.x86_64", "2.6.32-520.el6", -1},  // arch suffix stripped
            {"2.6.32-520.el6.x86_64", "2.6.32-520.el6", 0},
            {"2.6.32-431.el6.i686", "2.6.32-431.el6.x86_64", 0},
            {"2.6.32-431.3.1.el6.x86_64", "2.6.32-431.el6", 1},  // z-stream update
            {"2.6.32-754.35.1.el6", "2.6.32-520.el6", 1},
            {"3.10.0-1160.el7.x86_64", "3.10.0-957.el7", 1},
            {"5.14.0-70.el9.x86_64+debug", "5.14.0-70.el9", 0},
            {"4.18.0-305.25.1.el8_4.x86_64", "4.18.0-305.el8", 1},
            {"1:2.6.32-95.el6", "2.6.32-573.el6", 1},  // epoch first
            {"3.10.0-1160.el7", "2.6.32-999.el6", 1},  // version before release
        });
}

TEST(Version, Dpkg) {
  check("dpkg", compare_dpkg_versions,
        {
            {"6.1.192-2", "6.1.192-1", 1},
            {"6.1.192-1", "6.1.99-1", 1},
            {"6.1.192-2", "6.1.192-2", 0},
            {"6.1~rc1-1", "6.1-1", -1},        // tilde before the end
            {"6.1-1~bpo11+1", "6.1-1", -1},    // backports sort before the release
            {"6.1-1+deb12u1", "6.1-1", 1},
            {"5.15.0-91.101", "5.15.0-91.99", 1},
            {"5.15.0-91.101", "5.15.0-100.110", -1},
            {"5.15.0-91", "5.15.0-91.101", -1},
            {"1:4.19.0-1", "6.1.0-1", 1},      // epoch wins
            {"0:6.1.192-2", "6.1.192-2", 0},
            {"1.0a", "1.0", 1},
            {"1.0a", "1.0+", -1},              // letters before other characters
            {"1.0", "1.00", 0},
            {"4.19.304-1", "4.19.98-1", 1},
            {"3.16.56-1+deb8u1", "3.16.56-1", 1},
        });
}

struct Classified {
  const char* release;
  const char* uname_version;
  const char* line;
  VersionScheme scheme;
  const char* version;
  const char* base;
};

TEST(Version, ClassifyKernelRelease) {
  const Classified table[] = {
      {"2.6.32-431.el6.x86_64", "", "rhel6", VersionScheme::rpm, "2.6.32-431.el6", "2.6.32"},
      {"2.6.32-573.el6.x86_64", "", "rhel6", VersionScheme::rpm, "2.6.32-573.el6", "2.6.32"},
      {"2.6.32-754.35.1.el6.i686", "", "rhel6", VersionScheme::rpm, "2.6.32-754.35.1.el6", "2.6.32"},
      {"3.10.0-1160.el7.x86_64", "", "rhel7", VersionScheme::rpm, "3.10.0-1160.el7", "3.10.0"},
      {"4.18.0-305.25.1.el8_4.x86_64", "", "rhel8", VersionScheme::rpm, "4.18.0-305.25.1.el8_4", "4.18.0"},
      {"5.14.0-70.el9.x86_64+debug", "", "rhel9", VersionScheme::rpm, "5.14.0-70.el9", "5.14.0"},
      {"2.6.18-398.el5xen", "", "rhel5", VersionScheme::rpm, "2.6.18-398.el5", "2.6.18"},
      {"4.14.35-2047.510.5.el7uek.x86_64", "", "uek7", VersionScheme::rpm, "4.14.35-2047.510.5.el7uek", "4.14.35"},
      {"6.5.6-300.fc39.x86_64", "", "fedora", VersionScheme::rpm, "6.5.6-300.fc39", "6.5.6"},
      {"4.14.355-271.569.amzn2.x86_64", "", "amzn2", VersionScheme::rpm, "4.14.355-271.569.amzn2", "4.14.355"},
      {"5.14.21-150500.55.19-default", "", "suse", VersionScheme::rpm, "5.14.21-150500.55.19", "5.14.21"},
      // Debian: the release is the ABI; the package version is in uname -v.
      {"6.1.0-56-cloud-amd64", "", "debian", VersionScheme::dpkg, "", "6.1.0"},
      {"6.1.0-56-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-01-01)", "debian", VersionScheme::dpkg,
       "6.1.192-2", "6.1.192"},
      {"4.19.0-27-amd64", "#1 SMP Debian 4.19.316-1 (2024-06-25)", "debian", VersionScheme::dpkg, "4.19.316-1",
       "4.19.316"},
      {"6.1.0-0.deb11.17-arm64", "", "debian", VersionScheme::dpkg, "", "6.1.0"},
      {"3.2.0-4-686-pae", "", "debian", VersionScheme::dpkg, "", "3.2.0"},
      // Ubuntu: ABI in the release, upload number in uname -v.
      {"5.15.0-91-generic", "", "ubuntu", VersionScheme::dpkg, "5.15.0-91", "5.15.0"},
      {"5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", "ubuntu", VersionScheme::dpkg,
       "5.15.0-91.101", "5.15.0"},
      {"5.4.0-150-generic", "#167~18.04.1-Ubuntu SMP", "ubuntu", VersionScheme::dpkg, "5.4.0-150.167~18.04.1", "5.4.0"},
      {"6.8.0-1017-aws", "", "ubuntu", VersionScheme::dpkg, "6.8.0-1017", "6.8.0"},
      // Upstream and what people type.
      {"3.10.0", "", "upstream", VersionScheme::upstream, "3.10.0", "3.10.0"},
      {"3.15-rc8", "", "upstream", VersionScheme::upstream, "3.15-rc8", "3.15"},
      {"6.1.0-syzkaller-00123-gabcdef", "", "upstream", VersionScheme::upstream, "6.1.0", "6.1.0"},
      {"5.10.0-rc3+", "", "upstream", VersionScheme::upstream, "5.10.0-rc3", "5.10.0"},
      {"Debian 6.1.192-2", "", "debian", VersionScheme::dpkg, "6.1.192-2", "6.1.192"},
      {"debian:6.1.192-2", "", "debian", VersionScheme::dpkg, "6.1.192-2", "6.1.192"},
      {"Ubuntu 5.15.0-91.101", "", "ubuntu", VersionScheme::dpkg, "5.15.0-91.101", "5.15.0"},
      {"rhel6:2.6.32-431.el6.x86_64", "", "rhel6", VersionScheme::rpm, "2.6.32-431.el6", "2.6.32"},
      {"  2.6.32-431.el6.x86_64\n", "", "rhel6", VersionScheme::rpm, "2.6.32-431.el6", "2.6.32"},
      // Seen in distro bug reports (abrt/satyr, node-problem-detector).
      {"2.6.27.56-0.1-default", "", "suse", VersionScheme::rpm, "2.6.27.56-0.1", "2.6.27.56"},
      {"3.12-trunk-amd64", "", "debian", VersionScheme::dpkg, "", "3.12"},
      {"3.4.0-00009-g3e96082-dirty", "", "upstream", VersionScheme::upstream, "3.4.0", "3.4.0"},
      {"3.0.21-00021-g8b33780-dirty", "", "upstream", VersionScheme::upstream, "3.0.21", "3.0.21"},
      {"3.5.0-rc1-10292-g3701f94-dirty", "", "upstream", VersionScheme::upstream, "3.5.0-rc1", "3.5.0"},
      {"2.6.24-0.77.rc4.git4.fc9", "", "fedora", VersionScheme::rpm, "2.6.24-0.77.rc4.git4.fc9", "2.6.24"},
      {"3.15.10-201.fc20.i686+PAE", "", "fedora", VersionScheme::rpm, "3.15.10-201.fc20", "3.15.10"},
      {"3.10.0-54.0.1.el7.s390x", "", "rhel7", VersionScheme::rpm, "3.10.0-54.0.1.el7", "3.10.0"},
      {"2.6.32.53-bigmem-5-openvz", "", "upstream", VersionScheme::upstream, "2.6.32.53", "2.6.32.53"},
      {"<KERNEL_VERSION>", "", "", VersionScheme::upstream, "", ""},
      // Nothing to read.
      {"", "", "", VersionScheme::upstream, "", ""},
      {"unknown", "", "", VersionScheme::upstream, "", ""},
      {"7", "", "", VersionScheme::upstream, "", ""},
  };
  for (const Classified& c : table) {
    SCOPED_TRACE(std::string(c.release) + " / " + c.uname_version);
    KernelRelease k = classify_kernel_release(c.release, c.uname_version);
    EXPECT_EQ(k.line, c.line);
    EXPECT_EQ(k.scheme, c.scheme);
    EXPECT_EQ(k.version, c.version);
    EXPECT_EQ(k.base, c.base);
  }
}

TEST(Version, DebianAndUbuntuToldApartByBuildString) {
  // A custom flavour reads as Ubuntu unless uname -v names Debian.
  EXPECT_EQ(classify_kernel_release("6.1.0-9-custom").line, "ubuntu");
  EXPECT_EQ(classify_kernel_release("6.1.0-9-custom", "#1 SMP Debian 6.1.27-1").line, "debian");
  EXPECT_EQ(classify_kernel_release("6.1.0-9-amd64", "#10-Ubuntu SMP").line, "ubuntu");
}

TEST(Version, CompareWithLineVersion) {
  KernelRelease rhel = classify_kernel_release("2.6.32-431.el6.x86_64");
  EXPECT_LT(*compare_with_line_version(rhel, "2.6.32-520.el6"), 0);
  EXPECT_GT(*compare_with_line_version(rhel, "2.6.32-95.el6"), 0);
  EXPECT_EQ(*compare_with_line_version(classify_kernel_release("2.6.32-520.el6.x86_64"), "2.6.32-520.el6"), 0);

  // Debian ABI name without the package version cannot be ordered.
  EXPECT_FALSE(compare_with_line_version(classify_kernel_release("6.1.0-56-cloud-amd64"), "6.1.192-2"));
  KernelRelease deb = classify_kernel_release("6.1.0-56-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1");
  EXPECT_LT(*compare_with_line_version(deb, "6.1.192-2"), 0);

  // Ubuntu ABI only: ordered by ABI; equal ABIs cannot be ordered by upload.
  KernelRelease ubuntu = classify_kernel_release("5.15.0-91-generic");
  EXPECT_LT(*compare_with_line_version(ubuntu, "5.15.0-100.110"), 0);
  EXPECT_GT(*compare_with_line_version(ubuntu, "5.15.0-88.98"), 0);
  EXPECT_FALSE(compare_with_line_version(ubuntu, "5.15.0-91.101"));
  EXPECT_EQ(*compare_with_line_version(ubuntu, "5.15.0-91"), 0);
  KernelRelease ubuntu_full = classify_kernel_release("5.15.0-91-generic", "#101-Ubuntu SMP");
  EXPECT_EQ(*compare_with_line_version(ubuntu_full, "5.15.0-91.101"), 0);
  EXPECT_LT(*compare_with_line_version(ubuntu_full, "5.15.0-91.102"), 0);
}

// max() over carried_by versions and sorting need a consistent order:
// antisymmetric and transitive on any input, including odd punctuation.
TEST(Version, OrderingsAreConsistentOnRandomInput) {
  std::mt19937 rng(12345);
  const std::string alphabet = "0123456789..--~~^+:abzel";
  auto random_version = [&] {
    std::string v;
    size_t n = 1 + rng() % 10;
    for (size_t i = 0; i < n; ++i) v += alphabet[rng() % alphabet.size()];
    return v;
  };
  std::vector<std::string> versions(120);
  for (std::string& v : versions) v = random_version();
  for (auto compare : {compare_upstream_versions, rpmvercmp, compare_dpkg_versions, compare_rpm_versions}) {
    for (const std::string& a : versions)
      for (const std::string& b : versions) {
        int ab = sgn(compare(a, b));
        ASSERT_EQ(ab, -sgn(compare(b, a))) << a << " vs " << b;
        if (ab > 0) continue;
        for (size_t k = 0; k < 15; ++k) {
          const std::string& c = versions[rng() % versions.size()];
          if (sgn(compare(b, c)) <= 0) {
            ASSERT_LE(sgn(compare(a, c)), 0) << a << " <= " << b << " <= " << c;
          }
        }
      }
  }
}

TEST(Version, HostileInputIsBoundedAndTotal) {
  std::string long_text(1 << 20, '9');
  KernelRelease k = classify_kernel_release(long_text + ".1");
  EXPECT_LE(k.text.size(), 256u);
  std::string dots(100000, '.');
  EXPECT_EQ(rpmvercmp(dots, dots + "~"), 1);
  EXPECT_EQ(compare_dpkg_versions(dots, dots), 0);
  EXPECT_EQ(compare_upstream_versions(long_text, long_text), 0);
  std::string nul("1.0\0x", 5);
  EXPECT_EQ(sgn(rpmvercmp(nul, "1.0")), 1);
}

}  // namespace
}  // namespace ktriage

// The version orderings of lib/kb/version.cc against the real
// implementations, on generated pairs (issue 14): dpkg's own comparison
// (libdpkg, the code behind `dpkg --compare-versions`, itself checked against
// the command on a sample) and librpm's rpmvercmp()/rpmverCmp(). The upstream
// ordering is checked against dpkg on the same releases written the Debian
// way ("3.15-rc8" as "3.15~rc8", "3.15.0" as "3.15").
#define LIBDPKG_VOLATILE_API 1
extern "C" {
#include <dpkg/dpkg-db.h>
#include <dpkg/dpkg.h>
#include <dpkg/version.h>
#include <rpm/rpmver.h>
}

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/test_util.h"
#include "ktriage/version.h"

namespace ktriage {
namespace {

constexpr int kPairs = 20000;

int sign(int v) { return (v > 0) - (v < 0); }

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string from(std::string_view chars, int min, int max) {
    std::string s;
    for (int n = min + pick(max - min + 1); n > 0; --n)
      s += chars[static_cast<size_t>(pick(static_cast<int>(chars.size())))];
    return s;
  }
  std::string number() {
    static const char* kNumbers[] = {"0", "1", "2", "6", "9", "10", "32", "78", "192", "520", "00", "007", "1000"};
    return kNumbers[pick(13)];
  }
  // Segments that stress the orderings: numbers with leading zeros, letters,
  // '~' and '^', '+' and '.', runs of separators.
  std::string rpm_segmented() {
    std::string s;
    for (int n = 1 + pick(5); n > 0; --n) {
      switch (pick(7)) {
        case 0:
        case 1:
          s += number();
          break;
        case 2:
          s += from("abcxyzAEL", 1, 3);
          break;
        case 3:
          s += "~";
          break;
        case 4:
          s += "^";
          break;
        case 5:
          s += from("._+", 1, 2);
          break;
        default:
          s += "el" + number();
          break;
      }
    }
    return s;
  }
  std::string rpm_evr() {
    std::string e = pick(4) == 0 ? number() + ":" : "";
    std::string v =
        number() + "." + number() + (pick(2) ? "." + number() : "") + (pick(5) == 0 ? "~rc" + number() : "");
    std::string r = number() + (pick(2) ? ".el" + number() : "") + (pick(3) == 0 ? "_" + number() : "") +
                    (pick(4) == 0 ? "." + from("abc", 1, 2) + number() : "");
    return e + v + "-" + r;
  }
  // A valid Debian version: [epoch:]upstream[-revision], upstream starting
  // with a digit, no '-' in it when there is no revision.
  std::string deb() {
    std::string e = pick(5) == 0 ? number() + ":" : "";
    std::string up = number();
    for (int n = pick(4); n > 0; --n) {
      switch (pick(6)) {
        case 0:
          up += "." + number();
          break;
        case 1:
          up += "~" + from("abcrz", 1, 3) + number();
          break;
        case 2:
          up += "+" + from("abdeb", 1, 4) + number();
          break;
        case 3:
          up += from("abz", 1, 2);
          break;
        case 4:
          up += "~";
          break;
        default:
          up += "." + number();
          break;
      }
    }
    if (pick(4) == 0) return e + up;
    std::string rev = number();
    for (int n = pick(3); n > 0; --n) rev += pick(2) ? "~bpo" + number() + "+" + number() : "." + number();
    if (pick(6) == 0) return e + up + "-" + number() + "-" + rev;  // a '-' inside upstream
    return e + up + "-" + rev;
  }
  std::string upstream() {
    std::string s = std::to_string(2 + pick(6)) + "." + number();
    for (int n = pick(3); n > 0; --n) s += "." + number();
    if (pick(4) == 0) s += "-rc" + std::to_string(1 + pick(9));
    return s;
  }

 private:
  std::mt19937 rng_;
};

int dpkg_reference(const std::string& a, const std::string& b) {
  dpkg_version va, vb;
  dpkg_error err{};
  EXPECT_EQ(parseversion(&va, a.c_str(), &err), 0) << a;
  dpkg_error_destroy(&err);
  EXPECT_EQ(parseversion(&vb, b.c_str(), &err), 0) << b;
  dpkg_error_destroy(&err);
  return sign(dpkg_version_compare(&va, &vb));
}

TEST(VersionReference, DpkgLibraryAgreesWithTheDpkgCommand) {
  Gen gen(7);
  for (int i = 0; i < 100; ++i) {
    std::string a = gen.deb(), b = gen.deb();
    int lib = dpkg_reference(a, b);
    std::string cmd = "dpkg --compare-versions '" + a + "' lt '" + b + "' && echo lt; dpkg --compare-versions '" + a +
                      "' eq '" + b + "' && echo eq";
    std::string out = test::run_command(cmd);
    int cli = out.find("lt") != std::string::npos ? -1 : out.find("eq") != std::string::npos ? 0 : 1;
    EXPECT_EQ(lib, cli) << a << " vs " << b;
  }
}

TEST(VersionReference, DpkgOrderingOnGeneratedPairs) {
  Gen gen(1);
  int checked = 0;
  for (int i = 0; i < kPairs; ++i) {
    std::string a = gen.deb(), b = i % 10 == 0 ? a : gen.deb();
    ASSERT_EQ(sign(compare_dpkg_versions(a, b)), dpkg_reference(a, b)) << a << " vs " << b;
    ++checked;
  }
  EXPECT_EQ(checked, kPairs);
}

TEST(VersionReference, RpmvercmpOnGeneratedPairs) {
  Gen gen(2);
  for (int i = 0; i < kPairs; ++i) {
    std::string a = gen.rpm_segmented(), b = i % 10 == 0 ? a : gen.rpm_segmented();
    ASSERT_EQ(sign(rpmvercmp(a, b)), sign(::rpmvercmp(a.c_str(), b.c_str()))) << "'" << a << "' vs '" << b << "'";
  }
}

TEST(VersionReference, RpmEvrOnGeneratedPairs) {
  Gen gen(3);
  for (int i = 0; i < kPairs; ++i) {
    std::string a = gen.rpm_evr(), b = i % 10 == 0 ? a : gen.rpm_evr();
    rpmver va = rpmverParse(a.c_str()), vb = rpmverParse(b.c_str());
    ASSERT_TRUE(va && vb) << a << " " << b;
    int want = sign(rpmverCmp(va, vb));
    rpmverFree(va);
    rpmverFree(vb);
    ASSERT_EQ(sign(compare_rpm_versions(a, b)), want) << a << " vs " << b;
  }
  // A missing release: rpm's dependency ranges read it as "any release",
  // but the EVR ordering, like ours, sorts it first.
  rpmver v = rpmverParse("2.6.32"), r = rpmverParse("2.6.32-1");
  EXPECT_LT(rpmverCmp(v, r), 0);
  EXPECT_LT(compare_rpm_versions("2.6.32", "2.6.32-1"), 0);
  rpmverFree(v);
  rpmverFree(r);
}

// "3.15-rc8" -> "3.15~rc8", "3.15.0.0" -> "3.15": how Debian writes them.
std::string debian_spelling(std::string v) {
  std::string rc;
  if (size_t at = v.find("-rc"); at != std::string::npos) {
    rc = "~" + v.substr(at + 1);
    v.resize(at);
  }
  auto zero = [](std::string_view c) { return c.find_first_not_of('0') == std::string_view::npos; };
  while (true) {
    size_t dot = v.rfind('.');
    if (dot == std::string::npos || dot < v.find('.') + 1 || !zero(std::string_view(v).substr(dot + 1))) break;
    v.resize(dot);
  }
  // Leading zeros compare equal in both; keep the text.
  return v + rc;
}

TEST(VersionReference, UpstreamOrderingAgainstDpkg) {
  Gen gen(4);
  for (int i = 0; i < kPairs; ++i) {
    std::string a = gen.upstream(), b = i % 10 == 0 ? a : gen.upstream();
    ASSERT_EQ(sign(compare_upstream_versions(a, b)), dpkg_reference(debian_spelling(a), debian_spelling(b)))
        << a << " vs " << b << " (" << debian_spelling(a) << ", " << debian_spelling(b) << ")";
  }
}

}  // namespace
}  // namespace ktriage

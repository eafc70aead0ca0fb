// lib/debuginfo's parts: distribution package naming (table-driven), RPM
// URLs, the kernel a set of reports names, sizes, build-ids read from ELF,
// compressed ELF and x86 bzImage files, and unpacking a .deb (built here with
// dpkg-deb, xz as Debian's are). The whole fetch against real servers is in
// tests/cli/debuginfo_fetch_test.cc.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "debuginfo/elf_id.h"
#include "debuginfo/unpack.h"
#include "ktriage/debuginfo.h"

namespace ktriage {
namespace {

struct NamingCase {
  const char* name;
  const char* release;
  const char* version;
  std::vector<std::string> packages;  // "format name version"
};

void PrintTo(const NamingCase& c, std::ostream* os) { *os << c.name; }

class Naming : public testing::TestWithParam<NamingCase> {};

TEST_P(Naming, PackagesForTheRelease) {
  std::vector<std::string> got;
  for (const DebugPackage& p : debug_packages(GetParam().release, GetParam().version)) {
    got.push_back(p.format + " " + p.name + " " + p.version + (p.file.empty() ? "" : " " + p.file));
  }
  EXPECT_EQ(got, GetParam().packages);
}

const NamingCase kNaming[] = {
    {"debian_cloud", "6.1.0-56-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2",
     {"deb linux-image-6.1.0-56-cloud-amd64-dbg 6.1.192-2"}},
    {"debian_cpu_line", "6.1.0-56-cloud-amd64", "#1  Debian 6.1.192-2", {"deb linux-image-6.1.0-56-cloud-amd64-dbg 6.1.192-2"}},
    {"debian_jessie", "3.16.0-4-amd64", "#1 SMP Debian 3.16.7-ckt20-1+deb8u3",
     {"deb linux-image-3.16.0-4-amd64-dbg 3.16.7-ckt20-1+deb8u3"}},
    {"debian_release_only", "6.1.0-56-amd64", "", {"deb linux-image-6.1.0-56-amd64-dbg "}},
    {"ubuntu", "5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
     {"deb linux-image-unsigned-5.15.0-91-generic-dbgsym 5.15.0-91.101", "deb linux-image-5.15.0-91-generic-dbgsym 5.15.0-91.101"}},
    {"ubuntu_hwe", "5.15.0-91-generic", "#101~20.04.1-Ubuntu SMP",
     {"deb linux-image-unsigned-5.15.0-91-generic-dbgsym 5.15.0-91.101~20.04.1",
      "deb linux-image-5.15.0-91-generic-dbgsym 5.15.0-91.101~20.04.1"}},
    {"rhel6", "2.6.32-431.el6.x86_64", "#1 SMP Fri Nov 22 03:15:09 UTC 2013",
     {"rpm kernel-debuginfo 2.6.32 kernel-debuginfo-2.6.32-431.el6.x86_64.rpm"}},
    {"rhel9_zstream", "5.14.0-362.8.1.el9_3.x86_64", "",
     {"rpm kernel-debuginfo 5.14.0 kernel-debuginfo-5.14.0-362.8.1.el9_3.x86_64.rpm"}},
    {"rhel9_debug_variant", "5.14.0-362.el9.x86_64+debug", "",
     {"rpm kernel-debug-debuginfo 5.14.0 kernel-debug-debuginfo-5.14.0-362.el9.x86_64.rpm"}},
    {"rhel8_rt", "4.18.0-305.rt7.77.el8.x86_64", "",
     {"rpm kernel-rt-debuginfo 4.18.0 kernel-rt-debuginfo-4.18.0-305.rt7.77.el8.x86_64.rpm"}},
    {"fedora_aarch64", "6.5.6-300.fc39.aarch64", "", {"rpm kernel-debuginfo 6.5.6 kernel-debuginfo-6.5.6-300.fc39.aarch64.rpm"}},
    {"upstream_build", "6.12.0-rc4", "#1 SMP", {}},
    {"syzkaller", "6.1.0-syzkaller-00001-gabcdef", "#0 SMP PREEMPT", {}},
    {"hostile", "../../etc", "Debian ../../x", {}},
};

INSTANTIATE_TEST_SUITE_P(All, Naming, testing::ValuesIn(kNaming),
                         [](const testing::TestParamInfo<NamingCase>& i) { return std::string(i.param.name); });

TEST(RpmUrl, PlaceholdersAndFileName) {
  const DebugPackage p = debug_packages("6.5.6-300.fc39.x86_64", "")[0];
  EXPECT_EQ(rpm_url("https://kojipkgs.fedoraproject.org/packages/kernel/{version}/{release}/{arch}/", p),
            "https://kojipkgs.fedoraproject.org/packages/kernel/6.5.6/300.fc39/x86_64/kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm");
  EXPECT_EQ(rpm_url("http://debuginfo.centos.org/7/x86_64", p),
            "http://debuginfo.centos.org/7/x86_64/kernel-debuginfo-6.5.6-300.fc39.x86_64.rpm");
  EXPECT_EQ(rpm_url("http://mirror/{name}.rpm", p), "http://mirror/kernel-debuginfo.rpm");
}

TEST(KernelIdentity, MostReportsReleaseAndTheModulesInTheirTraces) {
  std::vector<Report> reports(3);
  reports[0].kernel_release = "6.1.0-1-amd64";
  reports[1].kernel_release = "6.1.0-2-amd64";
  reports[1].kernel_version = "#1 Debian 6.1.2-1";
  reports[1].kernel_build_id = std::string(40, 'a');
  reports[2].kernel_release = "6.1.0-2-amd64";
  Frame f;
  f.function = "zoo_put";
  f.module = "crash-zoo";
  reports[2].frames.push_back(f);
  f.module = "crash_zoo";
  f.module_build_id = std::string(40, 'c');
  reports[2].frames.push_back(f);
  f.module = "ext4";
  f.module_build_id = "";
  reports[0].frames.push_back(f);  // another kernel's report
  const KernelIdentity k = kernel_identity(reports);
  EXPECT_EQ(k.release, "6.1.0-2-amd64");
  EXPECT_EQ(k.version, "#1 Debian 6.1.2-1");
  EXPECT_EQ(k.vmlinux_build_id, std::string(40, 'a'));
  ASSERT_EQ(k.modules.size(), 1u);  // '-' and '_' alike, the printed build-id kept
  EXPECT_EQ(k.modules[0].name, "crash-zoo");
  EXPECT_EQ(k.modules[0].build_id, std::string(40, 'c'));
}

TEST(HumanSize, AsAptWritesThem) {
  EXPECT_EQ(human_size(999), "999 B");
  EXPECT_EQ(human_size(283308068), "283 MB");
  EXPECT_EQ(human_size(1700000000), "1.7 GB");
}

// Build-ids of what a kernel installs: ELF, a compressed module, a bzImage.
TEST(BuildId, ElfCompressedAndKernelImage) {
  test::ScratchDir dir("ktriage-elf-id");
  const std::string src = KTRIAGE_SOURCE_DIR "/tests/cli/data/debuginfo/module.c";
  const std::string ko = (dir / "m.ko").string();
  ASSERT_EQ(std::system(("gcc -O2 -c -o '" + (dir / "m.o").string() + "' '" + src + "' && ld -r --build-id=sha1 -o '" + ko +
                         "' '" + (dir / "m.o").string() + "'").c_str()), 0);
  const std::string notes = test::run_command("readelf -n '" + ko + "'");
  const size_t at = notes.find("Build ID: ");
  ASSERT_NE(at, std::string::npos);
  const std::string id = notes.substr(at + 10, 40);

  Expected<std::string> idOrErr = debuginfo::build_id_of(ko);
  ASSERT_TRUE(idOrErr) << idOrErr.error().message;
  EXPECT_EQ(*idOrErr, id);
  ASSERT_EQ(std::system(("gzip -k '" + ko + "'").c_str()), 0);
  idOrErr = debuginfo::build_id_of(ko + ".gz");
  ASSERT_TRUE(idOrErr) << idOrErr.error().message;
  EXPECT_EQ(*idOrErr, id);

  // A bzImage: boot sector, one setup sector, "HdrS", payload (gzip) right after.
  const std::string payload = test::run_command("gzip -c '" + ko + "'");
  std::string image(1024, '\0');
  image[0x1f1] = 1;
  image.replace(0x202, 4, "HdrS");
  for (int i = 0; i < 4; ++i) image[0x24c + static_cast<size_t>(i)] = static_cast<char>(payload.size() >> (8 * i));
  std::ofstream(dir / "vmlinuz", std::ios::binary) << image << payload;
  idOrErr = debuginfo::build_id_of((dir / "vmlinuz").string());
  ASSERT_TRUE(idOrErr) << idOrErr.error().message;
  EXPECT_EQ(*idOrErr, id);

  // Neither: a clear error. A payload length past the end: not trusted.
  std::ofstream(dir / "text") << "not an image\n";
  EXPECT_FALSE(debuginfo::build_id_of((dir / "text").string()));
  image[0x24f] = 0x7f;
  std::ofstream(dir / "bad", std::ios::binary) << image << payload;
  EXPECT_FALSE(debuginfo::build_id_of((dir / "bad").string()));
  EXPECT_FALSE(debuginfo::build_id_of((dir / "missing").string()));
}

// A .deb as Debian's -dbg packages are: ar, data.tar.xz, vmlinux under
// boot/, modules under lib/modules/, .build-id/ symlinks. Only vmlinux and
// the modules come out, byte for byte; a cut copy is an error.
TEST(Unpack, DebianDbgPackage) {
  test::ScratchDir dir("ktriage-unpack");
  const std::string src = KTRIAGE_SOURCE_DIR "/tests/cli/data/debuginfo";
  const std::string root = (dir / "pkg").string();
  const std::string build =
      "mkdir -p '" + root + "/DEBIAN' '" + root + "/usr/lib/debug/boot' '" + root + "/usr/lib/debug/lib/modules/9.9.9/kernel/extra' '" +
      root + "/usr/lib/debug/.build-id/ab' '" + root + "/usr/share/doc/x'" +
      " && printf 'Package: x-dbg\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' > '" + root + "/DEBIAN/control'" +
      " && gcc -g -O2 -o '" + root + "/usr/lib/debug/boot/vmlinux-9.9.9' '" + src + "/kernel.c'" +
      " && gcc -g -O2 -c -o '" + root + "/usr/lib/debug/lib/modules/9.9.9/kernel/extra/m.ko' '" + src + "/module.c'" +
      " && ln -s ../../boot/vmlinux-9.9.9 '" + root + "/usr/lib/debug/.build-id/ab/cdef.debug'" +
      " && echo doc > '" + root + "/usr/share/doc/x/README'" +
      " && dpkg-deb -Zxz --root-owner-group --build '" + root + "' '" + (dir / "x.deb").string() + "' > /dev/null";
  ASSERT_EQ(std::system(build.c_str()), 0);
  std::filesystem::create_directories(dir / "out");
  uint64_t last_done = 0, total = 0;
  Expected<std::vector<debuginfo::UnpackedFile>> filesOrErr =
      debuginfo::unpack_debug_files((dir / "x.deb").string(), (dir / "out").string(), [&](uint64_t done, uint64_t all) {
        last_done = done;
        total = all;
      });
  ASSERT_TRUE(filesOrErr) << filesOrErr.error().message;
  ASSERT_EQ(filesOrErr->size(), 2u);
  EXPECT_EQ(total, std::filesystem::file_size(dir / "x.deb"));
  EXPECT_EQ(last_done, total);
  for (const debuginfo::UnpackedFile& f : *filesOrErr) {
    EXPECT_TRUE(f.archive_path == "usr/lib/debug/boot/vmlinux-9.9.9" ||
                f.archive_path == "usr/lib/debug/lib/modules/9.9.9/kernel/extra/m.ko")
        << f.archive_path;
    EXPECT_EQ(test::read_file(f.path), test::read_file(dir / "pkg" / f.archive_path)) << f.archive_path;
    EXPECT_EQ(f.size, std::filesystem::file_size(dir / "pkg" / f.archive_path));
  }
  const std::string deb = test::read_file(dir / "x.deb");
  std::ofstream(dir / "cut.deb", std::ios::binary) << deb.substr(0, deb.size() * 2 / 3);
  std::filesystem::create_directories(dir / "out2");
  filesOrErr = debuginfo::unpack_debug_files((dir / "cut.deb").string(), (dir / "out2").string(), {});
  ASSERT_FALSE(filesOrErr);
  EXPECT_NE(filesOrErr.error().message.find("corrupt or truncated package"), std::string::npos) << filesOrErr.error().message;
}

}  // namespace
}  // namespace ktriage

// Fetching debug info as a user does, against real servers started here on
// 127.0.0.1: Debian's `debuginfod` indexing ELF files built with gcc, and an
// HTTP server (tests/cli/data/debuginfo/serve.py) serving a kernel-debuginfo
// RPM built with rpmbuild. The symbolized output with fetched files must
// equal the output with the same files given by hand; every fault (404, no
// server, a stalled server, a truncated or corrupt package, a full disk, a
// file that is not the log's kernel) gives a clear message, an analysis that
// goes on without debug info, and a cache with nothing half-written in it.
//
// Everything used here is installed by scripts/install-deps.sh: when a
// server or tool cannot start, the tests FAIL (CI must not skip silently).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/services.h"
#include "common/json_compare.h"
#include "common/test_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using ktriage::test::first_difference;
using ktriage::test::symbolized;
using ktriage::test::read_file;
using ktriage::test::run_command;
using ktriage::test::Service;
using ktriage::test::free_port;
using ktriage::test::http_status;

const std::string kData = KTRIAGE_SOURCE_DIR "/tests/cli/data/debuginfo";
const std::string kRelease = "9.9.9-1.fc99.x86_64";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void spit(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// The GNU build-id readelf prints for a file.
std::string build_id(const fs::path& file) {
  const std::string notes = run_command("readelf -n " + quote(file.string()) + " 2>/dev/null");
  const size_t at = notes.find("Build ID: ");
  return at == std::string::npos ? "" : notes.substr(at + 10, 40);
}

// st_size of a symbol, from nm.
uint64_t symbol_size(const fs::path& elf, const std::string& name) {
  std::istringstream in(run_command("nm -S " + quote(elf.string())));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string addr, size, type, sym;
    if (w >> addr >> size >> type >> sym && sym == name) return std::stoull(size, nullptr, 16);
  }
  return 0;
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
  Json json() const { return Json::parse(out, nullptr, false); }
};


class DebuginfoFetch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ktriage::test::ScratchDir("ktriage-debuginfo");
    setup_error_ = setup();
  }
  static void TearDownTestSuite() {
    debuginfod_.stop();
    http_.stop();
    stall_.stop();
    dir_ = {};
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    // A fresh cache per test: each starts cold.
    fs::remove_all(cache());
    fs::remove_all(client_cache());
  }

  static std::string setup() {
    const fs::path d = dir_.path();
    // The "kernel": vmlinux-like executable and a module, with DWARF.
    const std::string build = "cd " + quote(kData) + " && gcc -g -O2 -no-pie -Wl,--build-id=sha1 -DKT_RELEASE='\"" +
                              kRelease + "\"' -o " + quote((d / "files/vmlinux").string()) + " kernel.c" +
                              " && gcc -g -O2 -c -o " + quote((d / "module.o").string()) + " module.c && ld -r --build-id=sha1 -o " +
                              quote((d / "files/fixture_mod.ko").string()) + " " + quote((d / "module.o").string());
    fs::create_directories(d / "files");
    if (std::system(build.c_str()) != 0) return "gcc/ld could not build the fixtures (scripts/install-deps.sh)";
    vmlinux_id_ = build_id(d / "files/vmlinux");
    module_id_ = build_id(d / "files/fixture_mod.ko");
    if (vmlinux_id_.size() != 40 || module_id_.size() != 40) return "fixtures have no build-id";

    // A kernel-debuginfo RPM of it, laid out as Fedora's.
    const std::string spec = R"(Name: kernel-debuginfo
Version: 9.9.9
Release: 1.fc99
Summary: ktriage test fixture
License: MIT
BuildArch: x86_64
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%description
A vmlinux-like ELF and a module, for ktriage's tests.
%install
mkdir -p %{buildroot}/usr/lib/debug/lib/modules/)" + kRelease + R"(/kernel/extra
cp %{src}/vmlinux %{buildroot}/usr/lib/debug/lib/modules/)" + kRelease + R"(/vmlinux
cp %{src}/fixture_mod.ko %{buildroot}/usr/lib/debug/lib/modules/)" + kRelease + R"(/kernel/extra/fixture_mod.ko.debug
%files
/usr/lib/debug/lib/modules/)" + kRelease + "\n";
    spit(d / "kernel.spec", spec);
    const std::string rpmbuild = "rpmbuild -bb --nodeps --define " + quote("_topdir " + (d / "rpmtop").string()) +
                                 " --define " + quote("_rpmdir " + (d / "www").string()) + " --define " +
                                 quote("src " + (d / "files").string()) + " " + quote((d / "kernel.spec").string()) +
                                 " > " + quote((d / "rpmbuild.log").string()) + " 2>&1";
    if (std::system(rpmbuild.c_str()) != 0) return "rpmbuild failed: " + read_file(d / "rpmbuild.log");
    rpm_ = d / "www/x86_64/kernel-debuginfo-9.9.9-1.fc99.x86_64.rpm";
    if (!fs::exists(rpm_)) return "rpmbuild left no " + rpm_.string();
    // Damaged copies: cut in half, and bytes flipped inside the payload.
    const std::string bytes = read_file(rpm_);
    spit(d / "www/truncated/kernel-debuginfo-9.9.9-1.fc99.x86_64.rpm", bytes.substr(0, bytes.size() / 2));
    std::string flipped = bytes;
    for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
    spit(d / "www/corrupt/kernel-debuginfo-9.9.9-1.fc99.x86_64.rpm", flipped);
    // A "debuginfod" that answers with the wrong file for vmlinux's build-id.
    fs::create_directories(d / "www/liar/buildid" / vmlinux_id_);
    fs::copy_file(d / "files/fixture_mod.ko", d / "www/liar/buildid" / vmlinux_id_ / "debuginfo");

    // The servers.
    if (!http_.start({"python3", kData + "/serve.py", (d / "www").string()}, d / "http.log")) return "python3 did not start";
    http_port_ = std::atoi(http_.first_line(20).c_str());
    if (http_port_ <= 0) return "the fixture HTTP server did not start: " + read_file(d / "http.log");
    if (!stall_.start({"python3", kData + "/serve.py", "--stall"}, d / "stall.log")) return "python3 did not start";
    stall_port_ = std::atoi(stall_.first_line(20).c_str());
    if (stall_port_ <= 0) return "the stalling server did not start: " + read_file(d / "stall.log");

    // debuginfod runs as root too; it listens on every interface (0.188 has
    // no bind-address option), the tests use 127.0.0.1.
    for (int attempt = 0; attempt < 3 && debuginfod_port_ == 0; ++attempt) {
      const int port = free_port();
      debuginfod_.stop();
      if (!debuginfod_.start({"debuginfod", "-F", "-p", std::to_string(port), "-d", (d / "debuginfod.sqlite").string(),
                              "-t", "0", "-g", "0", "-c", "1", (d / "files").string()},
                             d / "debuginfod.log")) {
        return "debuginfod could not be started (scripts/install-deps.sh installs it)";
      }
      // Up, and done indexing both files.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < deadline && debuginfod_.running()) {
        if (http_status(port, "/buildid/" + vmlinux_id_ + "/debuginfo") == 200 &&
            http_status(port, "/buildid/" + module_id_ + "/debuginfo") == 200) {
          debuginfod_port_ = port;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    if (debuginfod_port_ == 0) return "debuginfod did not serve the fixtures within 60 s: " + read_file(d / "debuginfod.log");
    return "";
  }

  static fs::path cache() { return dir_ / "cache"; }
  static fs::path client_cache() { return dir_ / "debuginfod-client"; }
  static std::string url(int port, const std::string& path = "") {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }

  // A console log of a crash in the fixture kernel: the ip in kt_fault, a
  // frame in kt_caller and one in the module; with build-ids printed (as
  // CONFIG_STACKTRACE_BUILD_ID does) or not.
  static fs::path log(bool with_ids, const std::string& version = "#1") {
    const fs::path v = dir_ / "files/vmlinux", m = dir_ / "files/fixture_mod.ko";
    auto sym = [](const std::string& name, uint64_t off, uint64_t size) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "%s+0x%llx/0x%llx", name.c_str(), static_cast<unsigned long long>(off),
                    static_cast<unsigned long long>(size));
      return std::string(buf);
    };
    const uint64_t fault = symbol_size(v, "kt_fault"), caller = symbol_size(v, "kt_caller"),
                   work = symbol_size(m, "mod_work");
    std::string text =
        "[    1.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
        "[    1.000001] #PF: supervisor read access in kernel mode\n"
        "[    1.000002] #PF: error_code(0x0000) - not-present page\n"
        "[    1.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[    1.000004] CPU: 0 PID: 1 Comm: init Tainted: G           O       " + kRelease + " " + version +
        (with_ids ? " " + vmlinux_id_ : "") + "\n" +
        "[    1.000005] RIP: 0010:" + sym("kt_fault", 2, fault) + "\n" +
        "[    1.000006] Call Trace:\n"
        "[    1.000007]  <TASK>\n"
        "[    1.000008]  " + sym("kt_caller", caller / 2, caller) + "\n" +
        "[    1.000009]  " + sym("mod_work", work / 2, work) + " [fixture_mod" + (with_ids ? " " + module_id_ : "") + "]\n" +
        "[    1.000010]  </TASK>\n"
        "[    1.000011] Modules linked in: fixture_mod(O)\n";
    const fs::path p = dir_ / ("crash-" + std::string(with_ids ? "ids" : "noids") + (version == "#1" ? "" : "-other") + ".log");
    spit(p, text);
    return p;
  }

  // ktriage ARGS with the test's environment: no outside debuginfod or RPM
  // servers, caches in the scratch directory. `prefix` runs before it in sh.
  Result run(std::initializer_list<std::string> args, const std::string& prefix = "") {
    std::string cmd = prefix + " env -u DEBUGINFOD_URLS -u KTRIAGE_RPM_URLS -u DEBUGINFOD_TIMEOUT DEBUGINFOD_CACHE_PATH=" +
                      quote(client_cache().string()) + " KTRIAGE_DEBUGINFO_CACHE=" + quote(cache().string()) + " " +
                      quote(KTRIAGE_BINARY);
    for (const std::string& a : args) cmd += " " + quote(a);
    cmd += " </dev/null >" + quote((dir_ / "out").string()) + " 2>" + quote((dir_ / "err").string());
    const int raw = std::system(("sh -c " + quote(cmd)).c_str());
    Result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = read_file(dir_ / "out");
    r.err = read_file(dir_ / "err");
    return r;
  }

  // analyze --json with the fixture files given by hand.
  Json by_hand(const fs::path& log_file) {
    Result r = run({"analyze", "--json", "--no-shipped-kb", "--vmlinux", (dir_ / "files/vmlinux").string(), "--modules",
                    (dir_ / "files").string(), log_file.string()});
    EXPECT_EQ(r.status, 0) << r.err;
    Json j = r.json();
    // Guard against comparing two empty results: the by-hand run symbolizes.
    EXPECT_FALSE(j["reports"][0]["ip"]["source"].is_null());
    for (const Json& f : j["reports"][0]["frames"]) EXPECT_FALSE(f["source"].is_null()) << f.dump();
    return j;
  }

  // Nothing half-written: no temporary files, and (when `empty`) no kernel
  // and no file in the cache.
  void expect_clean_cache(bool empty) {
    std::error_code ec;
    if (fs::exists(cache() / "tmp")) {
      EXPECT_TRUE(fs::is_empty(cache() / "tmp", ec)) << "temporary files left";
    }
    if (!empty) return;
    size_t files = 0;
    for (const char* sub : {".build-id", "kernels"}) {
      if (!fs::exists(cache() / sub)) continue;
      for (auto it = fs::recursive_directory_iterator(cache() / sub); it != fs::recursive_directory_iterator(); ++it) {
        files += !it->is_directory();
      }
    }
    EXPECT_EQ(files, 0u) << "the cache kept files of a failed fetch";
  }

  // A failed fetch: exit 0 (reports found), the reason on stderr, the
  // report saying it has no debug info.
  void expect_no_debuginfo(const Result& r, const std::string& why) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr(why));
    EXPECT_THAT(r.out, HasSubstr("debug info: none could be fetched; the analysis below has no source lines"));
    EXPECT_THAT(r.out, HasSubstr("Report 1:"));
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline std::string setup_error_;
  static inline std::string vmlinux_id_, module_id_;
  static inline fs::path rpm_;
  static inline Service debuginfod_, http_, stall_;
  static inline int debuginfod_port_ = 0, http_port_ = 0, stall_port_ = 0;
};

TEST_F(DebuginfoFetch, DebuginfodByPrintedBuildIdsSymbolizesAsByHand) {
  const fs::path l = log(true);
  const Json expected = symbolized(by_hand(l));
  Result r = run({"analyze", "--json", "--no-shipped-kb", "--debuginfod", url(debuginfod_port_), l.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json doc = r.json();
  const Json fetch = doc["debuginfo_fetch"];
  ASSERT_EQ(fetch["files"].size(), 2u) << fetch.dump(2);
  EXPECT_EQ(fetch["files"][0]["role"], "vmlinux");
  EXPECT_EQ(fetch["files"][0]["build_id"], vmlinux_id_);
  EXPECT_THAT(fetch["files"][0]["source"].get<std::string>(), HasSubstr("debuginfod " + url(debuginfod_port_)));
  EXPECT_EQ(fetch["files"][1]["name"], "fixture_mod");
  EXPECT_EQ(fetch["files"][1]["build_id"], module_id_);
  EXPECT_GT(fetch["downloaded"].get<uint64_t>(), 0u);
  EXPECT_TRUE(fetch["problems"].empty()) << fetch.dump(2);
  EXPECT_EQ(first_difference(symbolized(doc), expected), "");
  for (const Json& f : doc["reports"][0]["debuginfo"]) EXPECT_EQ(f["match"], "match") << f.dump();
  // debuginfod's own cache holds them; the second run downloads nothing.
  EXPECT_TRUE(fs::exists(client_cache() / vmlinux_id_ / "debuginfo"));
  r = run({"analyze", "--json", "--no-shipped-kb", "--debuginfod", url(debuginfod_port_), l.string()});
  doc = r.json();
  EXPECT_EQ(doc["debuginfo_fetch"]["downloaded"], 0u);
  EXPECT_EQ(first_difference(symbolized(doc), expected), "");
  expect_clean_cache(false);
}

// No build-id in the log: the installed kernel gives them, from a bzImage
// (boot/vmlinuz-RELEASE, the payload a gzip'd ELF) and lib/modules.
TEST_F(DebuginfoFetch, BuildIdsFromTheInstalledKernel) {
  const fs::path root = dir_ / "root";
  fs::create_directories(root / "boot");
  fs::create_directories(root / "lib/modules" / kRelease / "extra");
  fs::copy_file(dir_ / "files/fixture_mod.ko", root / "lib/modules" / kRelease / "extra/fixture_mod.ko",
                fs::copy_options::overwrite_existing);
  const std::string payload = run_command("gzip -c " + quote((dir_ / "files/vmlinux").string()));
  ASSERT_FALSE(payload.empty());
  // x86 boot protocol: one setup sector after the boot sector, "HdrS",
  // payload_offset 0 and payload_length at 0x248/0x24c.
  std::string image(1024, '\0');
  image[0x1f1] = 1;
  image.replace(0x202, 4, "HdrS");
  const uint32_t length = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) image[0x24c + static_cast<size_t>(i)] = static_cast<char>(length >> (8 * i));
  spit(root / "boot" / ("vmlinuz-" + kRelease), image + payload);

  const fs::path l = log(false);
  const Json expected = symbolized(by_hand(l));
  Result r = run({"analyze", "--json", "--no-shipped-kb", "--no-apt", "--debuginfod", url(debuginfod_port_),
                  "--kernel-root", root.string(), l.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json doc = r.json();
  ASSERT_EQ(doc["debuginfo_fetch"]["files"].size(), 2u) << doc["debuginfo_fetch"].dump(2);
  EXPECT_EQ(doc["debuginfo_fetch"]["files"][0]["build_id"], vmlinux_id_);
  EXPECT_EQ(first_difference(symbolized(doc), expected), "");

  // A log of another build of the same release: the installed files are
  // not its kernel's, so they give no build-ids and nothing is fetched.
  fs::remove_all(client_cache());
  r = run({"analyze", "--json", "--no-shipped-kb", "--no-apt", "--debuginfod", url(debuginfod_port_), "--kernel-root",
           root.string(), log(false, "#2").string()});
  doc = r.json();
  EXPECT_TRUE(doc["debuginfo_fetch"]["files"].empty()) << doc["debuginfo_fetch"].dump(2);
  EXPECT_THAT(doc["debuginfo_fetch"]["notes"].dump(), HasSubstr("is another build of " + kRelease));
}

TEST_F(DebuginfoFetch, RpmFromABaseUrlSymbolizesAsByHand) {
  const fs::path l = log(false);
  const Json expected = symbolized(by_hand(l));
  // {arch} expands; the file name is appended.
  Result r = run({"analyze", "--json", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/{arch}/"), l.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json doc = r.json();
  const Json fetch = doc["debuginfo_fetch"];
  ASSERT_EQ(fetch["files"].size(), 2u) << fetch.dump(2);
  EXPECT_THAT(fetch["files"][0]["source"].get<std::string>(), HasSubstr("rpm kernel-debuginfo 9.9.9"));
  EXPECT_EQ(fetch["module_files"], 1u);
  EXPECT_EQ(first_difference(symbolized(doc), expected), "");
  expect_clean_cache(false);

  // Warm: the cache, nothing downloaded; `debuginfo fetch` says where.
  r = run({"debuginfo", "fetch", "--json", "--no-apt", l.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  Json again = r.json();
  EXPECT_EQ(again["downloaded"], 0u);
  EXPECT_THAT(again["files"][0]["source"].get<std::string>(), HasSubstr("cache: rpm kernel-debuginfo"));
  EXPECT_EQ(again["files"][0]["path"], (cache() / "kernels" / kRelease / "vmlinux").string());

  // The cache lists it; pruning to 1 byte removes it and its files.
  r = run({"debuginfo", "cache", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  Json state = r.json();
  ASSERT_EQ(state["kernels"].size(), 1u);
  EXPECT_EQ(state["kernels"][0]["release"], kRelease);
  EXPECT_GT(state["kernels"][0]["bytes"].get<uint64_t>(), 4u << 20);  // vmlinux carries 4 MiB of padding
  r = run({"debuginfo", "cache", "--prune", "--cache-limit", "1", "--json"});
  state = r.json();
  EXPECT_EQ(state["removed"], Json::array({kRelease}));
  EXPECT_TRUE(state["kernels"].empty());
  expect_clean_cache(true);
}

// A release given by hand (no log): the package is checked against it.
TEST_F(DebuginfoFetch, FetchByRelease) {
  Result r = run({"debuginfo", "fetch", "--no-apt", "--rpm-url", url(http_port_, "/x86_64"), kRelease});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("vmlinux  " + (cache() / "kernels" / kRelease / "vmlinux").string()));
  EXPECT_THAT(r.out, HasSubstr("release " + kRelease + " matches linux_banner"));
  EXPECT_THAT(r.out, HasSubstr("modules  " + (cache() / "kernels" / kRelease / "modules").string() + " (1 file)"));
}

TEST_F(DebuginfoFetch, NotFoundIsAClearMessage) {
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/nothing-here/"),
                  log(false).string()});
  expect_no_debuginfo(r, "HTTP 404");
  expect_clean_cache(true);
}

TEST_F(DebuginfoFetch, NoServerIsAClearMessage) {
  const int closed = free_port();
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(closed, "/"), "--debuginfod", url(closed),
                  log(true).string()});
  expect_no_debuginfo(r, "Connection refused");
  EXPECT_THAT(r.err, HasSubstr("debuginfod " + vmlinux_id_ + " for vmlinux"));
  expect_clean_cache(true);
}

TEST_F(DebuginfoFetch, StalledServerTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--timeout", "2", "--rpm-url", url(stall_port_, "/"),
                  "--debuginfod", url(stall_port_), log(true).string()});
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count();
  expect_no_debuginfo(r, "timed out");
  EXPECT_LT(seconds, 40) << "three requests with a 2 s timeout";
  expect_clean_cache(true);
}

TEST_F(DebuginfoFetch, TruncatedPackageIsRejected) {
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/truncated/"), log(false).string()});
  expect_no_debuginfo(r, "corrupt or truncated package");
  expect_clean_cache(true);
}

TEST_F(DebuginfoFetch, CorruptPackageIsRejected) {
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/corrupt/"), log(false).string()});
  // Told by the payload's SHA-256 in the RPM header, whatever the damage
  // does to the gzip stream (it once read as a package without vmlinux).
  expect_no_debuginfo(r, "corrupt or truncated package: its payload does not match the SHA-256 digest in its header");
  expect_clean_cache(true);
}

// A full disk, as a write limit: the download fits, unpacking the 4 MiB
// vmlinux does not (EFBIG instead of ENOSPC: the same failed write).
TEST_F(DebuginfoFetch, FullDiskLeavesNothingBehind) {
  ASSERT_LT(fs::file_size(rpm_), 1u << 20);
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/x86_64/"), log(false).string()},
                 "ulimit -f 2048; trap '' XFSZ;");
  expect_no_debuginfo(r, "File too large");
  expect_clean_cache(true);
}

TEST_F(DebuginfoFetch, BigDownloadsNeedYes) {
  const fs::path l = log(false);
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--ask-above", "1k", "--rpm-url", url(http_port_, "/x86_64/"),
                  l.string()});
  expect_no_debuginfo(r, "not downloaded without confirmation (--yes)");
  expect_clean_cache(true);
  r = run({"analyze", "--json", "--no-shipped-kb", "--no-apt", "--ask-above", "1k", "--yes", "--rpm-url",
           url(http_port_, "/x86_64/"), l.string()});
  EXPECT_EQ(r.json()["debuginfo_fetch"]["files"].size(), 2u) << r.err;
}

// A server that answers a build-id with another file: rejected, and removed
// from debuginfod's cache so no other tool trusts it either.
TEST_F(DebuginfoFetch, WrongFileFromDebuginfodIsRejected) {
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--debuginfod", url(http_port_, "/liar"), log(true).string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("sent a file with build-id " + module_id_ + " for " + vmlinux_id_));
  EXPECT_FALSE(fs::exists(client_cache() / vmlinux_id_ / "debuginfo"));
  expect_clean_cache(true);
}

// The package is another build than the log's kernel (its version string
// differs from linux_banner's): not used, not cached.
TEST_F(DebuginfoFetch, PackageOfAnotherBuildIsRejected) {
  Result r = run({"analyze", "--no-shipped-kb", "--no-apt", "--rpm-url", url(http_port_, "/x86_64/"),
                  log(false, "#2").string()});
  expect_no_debuginfo(r, "does not match the log");
  EXPECT_THAT(r.err, HasSubstr("linux_banner does not"));
  expect_clean_cache(true);
}

}  // namespace

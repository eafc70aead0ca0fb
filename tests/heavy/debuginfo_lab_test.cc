// Fetched debug info on the kernel lab's real Debian kernel: every lab log
// (shared/kernel-lab/logs) analysed with fetched files symbolizes exactly as
// with --vmlinux/--modules given by hand.
//  - debuginfod: a local debuginfod indexing the lab's unpacked -dbg tree;
//    the logs print no build-id, so they come from the installed kernel
//    ($KLAB_CACHE/root: boot/vmlinuz-R, an LZ4 bzImage, and lib/modules/R).
//  - apt: `ktriage debuginfo fetch` downloads the real -dbg package from the
//    Debian archive (283 MB; skipped when the archive is unreachable).
//
// Needs the lab's download (`run-crash.sh setup`, KLAB_CACHE): ctest label
// `heavy`; skips without it. crashzoo.ko is out of tree: no server has it,
// both sides get it by hand (logs/debug).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/services.h"
#include "common/json_compare.h"
#include "common/test_util.h"
#include "debuginfo/elf_id.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ktriage::test::first_difference;
using ktriage::test::symbolized;
using ktriage::test::read_file;

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}


class DebuginfoLab : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = ktriage::test::kernel_lab();
    if (!lab_.ok) GTEST_SKIP() << "kernel-lab cache not found (KLAB_CACHE=" << lab_.cache << ")";
    scratch_ = ktriage::test::ScratchDir("ktriage-debuginfo-lab");
    for (const auto& e : fs::directory_iterator(lab_.dir + "/logs")) {
      if (e.path().extension() == ".log") logs_.push_back(e.path().string());
    }
    std::sort(logs_.begin(), logs_.end());
  }

  // ktriage ARGS, stdout as JSON; the test's caches, no outside servers.
  Json run(const std::string& args) {
    const std::string cmd = "env -u DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH=" + quote((scratch_ / "client").string()) +
                            " KTRIAGE_DEBUGINFO_CACHE=" + quote((scratch_ / "cache").string()) + " " +
                            quote(KTRIAGE_BINARY) + " " + args + " 2>" + quote((scratch_ / "err").string());
    Json j = Json::parse(ktriage::test::run_command(cmd), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << cmd << "\n" << read_file(scratch_ / "err");
    return j;
  }

  Json by_hand(const std::string& log) {
    return run("analyze --json --vmlinux " + quote(lab_.vmlinux) + " --modules " + quote(lab_.crashzoo_dir) +
               " --modules " + quote(lab_.module_dbg) + " " + quote(log));
  }

  // Every log: fetched == by hand, and the fetch found vmlinux.
  void expect_every_log_as_by_hand(const std::string& fetch_args) {
    int compared = 0;
    for (const std::string& log : logs_) {
      SCOPED_TRACE(log);
      const Json expected = by_hand(log);
      const Json got = run("analyze --json --fetch-debuginfo --modules " + quote(lab_.crashzoo_dir) + " " + fetch_args +
                           " " + quote(log));
      if (expected.is_discarded() || got.is_discarded()) continue;
      ASSERT_FALSE(got["debuginfo_fetch"]["files"].empty()) << got["debuginfo_fetch"].dump(2);
      EXPECT_EQ(got["debuginfo_fetch"]["files"][0]["role"], "vmlinux");
      EXPECT_TRUE(got["debuginfo_fetch"]["problems"].empty()) << got["debuginfo_fetch"].dump(2);
      EXPECT_EQ(first_difference(symbolized(got), symbolized(expected)), "");
      ++compared;
    }
    EXPECT_EQ(compared, static_cast<int>(logs_.size()));
    EXPECT_GE(compared, 10);
  }

  ktriage::test::KernelLab lab_;
  ktriage::test::ScratchDir scratch_;
  std::vector<std::string> logs_;
};

TEST_F(DebuginfoLab, DebuginfodOverTheDbgTreeSymbolizesEveryLogAsByHand) {
  const std::string root = lab_.cache + "/root";
  ASSERT_TRUE(fs::exists(root + "/boot/vmlinuz-" + lab_.release)) << "the lab's unpacked image (run-crash.sh setup)";
  // The vmlinuz (LZ4 bzImage) gives the -dbg vmlinux's build-id.
  auto idOrErr = ktriage::debuginfo::build_id_of(root + "/boot/vmlinuz-" + lab_.release);
  ASSERT_TRUE(idOrErr) << idOrErr.error().message;
  const std::string vmlinux_id = *idOrErr;
  idOrErr = ktriage::debuginfo::build_id_of(lab_.vmlinux);
  ASSERT_TRUE(idOrErr);
  ASSERT_EQ(vmlinux_id, *idOrErr);

  ktriage::test::Service server;
  int port = 0;
  for (int attempt = 0; attempt < 3 && port == 0; ++attempt) {
    const int p = ktriage::test::free_port();
    server.stop();
    ASSERT_TRUE(server.start({"debuginfod", "-F", "-p", std::to_string(p), "-d", (scratch_ / "db.sqlite").string(), "-t",
                              "0", "-g", "0", "--disable-source-scan", lab_.cache + "/dbg"},
                             scratch_ / "debuginfod.log"));
    // Indexing 1.7 GB of -dbg files takes a while.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (std::chrono::steady_clock::now() < deadline && server.running()) {
      if (ktriage::test::http_status(p, "/buildid/" + vmlinux_id + "/debuginfo") == 200) {
        port = p;
        break;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  ASSERT_NE(port, 0) << "debuginfod did not serve the lab's vmlinux: " << read_file(scratch_ / "debuginfod.log");
  // Modules may be indexed after vmlinux: wait for the scan to end.
  for (int i = 0; i < 600; ++i) {
    const std::string metrics = ktriage::test::http_get(port, "/metrics");
    if (metrics.find("thread_work_pending{role=\"scan\"} 0") != std::string::npos &&
        metrics.find("thread_busy{role=\"scan\"} 0") != std::string::npos &&
        metrics.find("thread_busy{role=\"traverse\"} 0") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  expect_every_log_as_by_hand("--yes --no-apt --debuginfod http://127.0.0.1:" + std::to_string(port) + " --kernel-root " +
                              quote(root));
}

TEST_F(DebuginfoLab, AptFetchOfTheRealDbgPackageSymbolizesEveryLogAsByHand) {
  const std::string pkg = "linux-image-" + lab_.release + "-dbg=6.1.192-2";
  if (std::system(("cd /tmp && apt-get download --print-uris " + pkg + " > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "apt cannot reach " << pkg;
  }
  const Json fetched = run("debuginfo fetch --json --yes " + quote(logs_.front()));
  ASSERT_FALSE(fetched.is_discarded());
  ASSERT_FALSE(fetched["files"].empty()) << fetched.dump(2) << read_file(scratch_ / "err");
  EXPECT_EQ(fetched["files"][0]["source"], "deb linux-image-" + lab_.release + "-dbg 6.1.192-2");
  EXPECT_GT(fetched["downloaded"].get<uint64_t>(), 200'000'000u);
  EXPECT_GT(fetched["module_files"].get<uint64_t>(), 1000u);
  // From the cache now; same answers as the lab's own unpacked tree.
  expect_every_log_as_by_hand("--no-apt");
}

}  // namespace

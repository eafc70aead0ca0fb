// The HTML report in a real browser: headless Chromium (Debian's, installed
// by scripts/install-deps.sh; the test fails, never skips, when it cannot
// start) loads what `ktriage analyze --format html` wrote, with the page's
// own JavaScript disabled, and the test checks the DOM against the same
// analysis's JSON: the headline finding comes first, the stack picture has
// one rect per measured frame, the faulting instruction is marked, log text
// is inert text, and no request leaves the page. Screenshots (light, dark,
// print) go to <build>/screenshots/.
//
// Pages: the founding case (examples/xfs-panic.log, no debug info: frames by
// depth, "size unknown"), a NULL dereference in a "vmlinux" built with gcc
// at test time (listing, fault chain, measured frames; report_fixture.h),
// and a log whose text is HTML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/report_fixture.h"
#include "common/browser.h"
#include "common/cli_run.h"
#include "common/test_util.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const fs::path kShots = fs::path(KTRIAGE_BUILD_DIR) / "screenshots";

struct Page {
  std::string url;
  Json analysis;  // the same run's --json
  std::vector<std::string> requests;  // every URL the page requested, the page first
};

class ReportBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ScratchDir("ktriage-report-browser");
    fs::create_directories(kShots);
    Expected<std::unique_ptr<Browser>> b = Browser::start();
    if (!b) {
      start_error_ = b.error().message;
      return;
    }
    browser_ = std::move(*b);
    // No script of the page runs: everything checked here works without one.
    if (Expected<Json> off = browser_->call("Emulation.setScriptExecutionDisabled", {{"value", true}}); !off)
      start_error_ = off.error().message;
  }
  static void TearDownTestSuite() {
    browser_.reset();
    dir_ = {};
  }
  void SetUp() override { ASSERT_EQ(start_error_, "") << "headless Chromium is required for this test"; }

  // Renders `log` (with `args`) as HTML and JSON, loads the HTML.
  static Page load(const std::string& name, const std::string& log, const std::vector<std::string>& args = {}) {
    Page p;
    const fs::path html = dir_ / (name + ".html");
    std::vector<std::string> run = {"analyze", "--format", "html", "-o", html.string()};
    run.insert(run.end(), args.begin(), args.end());
    run.push_back(log);
    CliResult r = run_ktriage(run);
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<std::string> json = {"analyze", "--json"};
    json.insert(json.end(), args.begin(), args.end());
    json.push_back(log);
    p.analysis = Json::parse(run_ktriage(json).out, nullptr, false);
    p.url = "file://" + html.string();
    Expected<PageLoad> loaded = browser_->load(p.url);
    EXPECT_TRUE(loaded) << loaded.error().message;
    if (loaded) p.requests = loaded->requests;
    return p;
  }

  static Json js(const std::string& expression) {
    Expected<std::string> v = browser_->evaluate(expression);
    EXPECT_TRUE(v) << v.error().message;
    return v ? Json::parse(*v) : Json();
  }
  static void call(const std::string& method, const Json& params) {
    Expected<Json> r = browser_->call(method, params);
    EXPECT_TRUE(r) << r.error().message;
  }
  static void screenshot(const fs::path& png) {
    Expected<bool> shot = browser_->screenshot(png);
    EXPECT_TRUE(shot) << shot.error().message;
  }
  static int count(const std::string& selector) {
    return js("document.querySelectorAll(" + Json(selector).dump() + ").length").get<int>();
  }

  // Light, dark and print renderings of the loaded page.
  static void screenshots(const std::string& name) {
    call("Emulation.setEmulatedMedia", {{"media", ""}, {"features", Json::array()}});
    screenshot(kShots / (name + ".png"));
    call("Emulation.setEmulatedMedia",
                   {{"media", ""}, {"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}});
    screenshot(kShots / (name + "-dark.png"));
    call("Emulation.setEmulatedMedia", {{"media", "print"}, {"features", Json::array()}});
    screenshot(kShots / (name + "-print.png"));
    call("Emulation.setEmulatedMedia", {{"media", ""}, {"features", Json::array()}});
  }

  // Every request the page made is the page itself.
  static void expect_no_request_leaves(const Page& p) {
    EXPECT_FALSE(p.requests.empty());
    for (const std::string& url : p.requests) EXPECT_EQ(url, p.url) << "the page requested " << url;
  }

  static inline ScratchDir dir_;
  static inline std::unique_ptr<Browser> browser_;
  static inline std::string start_error_;
};

TEST_F(ReportBrowser, SeedShowsTheFindingFirstAndFramesOfUnknownSize) {
  const Page p = load("xfs-panic", KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log");
  ASSERT_TRUE(p.analysis.is_object());
  expect_no_request_leaves(p);
  // The first thing in the page after its header is the headline finding, as JSON's findings[0].
  EXPECT_EQ(js("document.querySelector('main > :not(header)').className").get<std::string>(), "kt-finding kt-headline");
  EXPECT_EQ(js("document.querySelector('.kt-headline h2').textContent").get<std::string>(),
            "Most likely: " + p.analysis["findings"][0]["title"].get<std::string>());
  EXPECT_TRUE(js("!!(document.querySelector('.kt-headline').compareDocumentPosition("
                 "document.querySelector('.kt-report')) & Node.DOCUMENT_POSITION_FOLLOWING)")
                  .get<bool>());
  // No vmlinux: no measured frame, report 2's 16 frames by depth, all unreliable, "size unknown".
  EXPECT_EQ(count("svg rect.kt-frame"), 0);
  EXPECT_EQ(count("#r2-stack rect.kt-frame-unsized"), static_cast<int>(p.analysis["reports"][1]["frames"].size()));
  EXPECT_EQ(count("#r2-stack rect.kt-frame-unsized.kt-unreliable"), 16);
  EXPECT_THAT(js("document.querySelector('#r2-stack').textContent").get<std::string>(), HasSubstr("size unknown"));
  EXPECT_THAT(js("document.querySelector('#r2-stack rect.kt-frame-unsized title').textContent").get<std::string>(),
              HasSubstr("frame #15: xfs_buf_iodone_work+0x26/0x50 [xfs] (unreliable, printed with '?'): size unknown"));
  // This kernel keeps thread_info at the stack bottom (JSON's stack_limit says so).
  ASSERT_EQ(p.analysis["stack_limit"]["thread_info_on_stack"], true);
  EXPECT_EQ(count("#r2-stack rect.kt-thread-info"), 1);
  // Unreliable frames are dimmed in the trace.
  EXPECT_EQ(count("#r2 table.kt-trace tr.kt-unreliable"), 16);
  EXPECT_LT(std::stod(js("getComputedStyle(document.querySelector('#r2 tr.kt-unreliable td')).opacity").get<std::string>()), 1.0);
  // Known bugs link to their fixes.
  EXPECT_GE(count(".kt-kb a.kt-fix[href^='https://git.kernel.org/']"), 2);
  EXPECT_EQ(count("script"), 0);
  screenshots("xfs-panic");
}

TEST_F(ReportBrowser, DebugInfoGivesFramesBySizeAndTheMarkedListing) {
  const FixtureKernel k = build_fixture_kernel(dir_ / "kernel");
  ASSERT_EQ(k.error, "");
  const Page p = load("fixture", k.log, {"--vmlinux", k.vmlinux});
  ASSERT_TRUE(p.analysis.is_object());
  expect_no_request_leaves(p);
  const Json& report = p.analysis["reports"][0];
  const Json& usage = report["stack_usage"];
  ASSERT_TRUE(usage.is_object());
  ASSERT_GE(usage["measured"].get<int>(), 8);  // sum_ids, 6x fill, big_frame, entry (one may be unmeasured)

  // One rect per measured frame, each as many bytes as JSON says, in order (outermost at the top).
  EXPECT_EQ(count("#r1-stack svg rect.kt-frame"), usage["measured"].get<int>());
  Json bytes = js("[...document.querySelectorAll('#r1-stack rect.kt-frame')].map(r => +r.dataset.bytes)");
  std::vector<uint64_t> want;
  for (const Json& f : usage["frames"])
    if (!f["bytes"].is_null()) want.insert(want.begin(), f["bytes"].get<uint64_t>());
  EXPECT_EQ(bytes.get<std::vector<uint64_t>>(), want);
  // Taller frames are drawn taller: big_frame's 1 KiB buffer against fill's 200 bytes.
  EXPECT_GT(js("Math.max(...[...document.querySelectorAll('#r1-stack rect.kt-frame')].map(r => r.height.baseVal.value))").get<double>(),
            3 * js("Math.min(...[...document.querySelectorAll('#r1-stack rect.kt-frame')].map(r => r.height.baseVal.value))").get<double>());
  EXPECT_EQ(count("#r1-stack rect.kt-frame-ip"), 1);
  EXPECT_EQ(count("#r1-stack rect.kt-stack-outline"), 1);  // THREAD_SIZE
  EXPECT_EQ(count("#r1-stack rect.kt-overflow"), 1);
  EXPECT_EQ(count("#r1-stack rect.kt-thread-info"), 1);  // 4.4 keeps it on the stack

  // The listing marks the faulting instruction (JSON's fault.instruction) once, the chain's steps, and the registers.
  EXPECT_EQ(count("#r1 table.kt-listing tr.kt-faulting"), 1);
  EXPECT_THAT(js("document.querySelector('#r1 table.kt-listing tr.kt-faulting').textContent").get<std::string>(),
              HasSubstr(report["fault"]["instruction"]["text"].get<std::string>()));
  EXPECT_EQ(count("#r1 table.kt-listing tr.kt-chain"), static_cast<int>(report["fault"]["chain"].size()));
  EXPECT_EQ(js("document.querySelector('#r1 tr.kt-faulting mark.kt-reg').textContent").get<std::string>(),
            "%" + k.bad_register);
  // The fault section links to the marked row.
  EXPECT_EQ(js("document.querySelector(document.querySelector('.kt-fault a').hash).className").get<std::string>(),
            "kt-faulting");
  // Registers with their values read as pointers: the bad one is NULL, poison is named.
  EXPECT_EQ(js("[...document.querySelectorAll('#r1 .kt-reg-row')].find(r => r.querySelector('.kt-reg-name').textContent == '" +
               k.bad_register + "').dataset.class").get<std::string>(),
            "null");
  EXPECT_EQ(count("#r1 .kt-reg-row[data-class='poison']"), 1);  // r9: LIST_POISON1
  EXPECT_EQ(count("#r1 .kt-reg-row[data-class='non_canonical']"), 1);  // r11
  EXPECT_EQ(count("#r1 .kt-reg-row[data-class='user_space']"), 1);  // r10
  EXPECT_EQ(count("#r1 .kt-reg-row.kt-named"), 1);  // the bad register, which the chain's one step wrote
  // Call trace: source lines, the one '?' frame dimmed.
  EXPECT_EQ(count("#r1 table.kt-trace tr.kt-unreliable"), 1);
  EXPECT_THAT(js("document.querySelector('#r1 table.kt-trace').textContent").get<std::string>(), HasSubstr("kernel.c:"));
  screenshots("fixture");
}

TEST_F(ReportBrowser, LogTextIsInertAndColoursFollowTheReader) {
  const fs::path log = dir_ / "hostile.log";
  std::ofstream(log) << hostile_log();
  const Page p = load("hostile", log.string());
  expect_no_request_leaves(p);
  EXPECT_EQ(count("script, img, iframe, object, embed, b, [onerror], [onload]"), 0);
  EXPECT_THAT(js("document.title").get<std::string>(), ::testing::Not(HasSubstr("pwned")));
  EXPECT_THAT(js("document.body.innerText").get<std::string>(), HasSubstr(kHostilePayload));
  // Dark mode and print change the colours, not the content.
  call("Emulation.setEmulatedMedia", {{"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}});
  EXPECT_EQ(js("getComputedStyle(document.querySelector('.ktriage')).backgroundColor").get<std::string>(), "rgb(13, 17, 23)");
  call("Emulation.setEmulatedMedia", {{"media", "print"}, {"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}});
  EXPECT_EQ(js("getComputedStyle(document.querySelector('.ktriage')).backgroundColor").get<std::string>(), "rgb(255, 255, 255)");
  call("Emulation.setEmulatedMedia", {{"media", ""}, {"features", Json::array()}});
  EXPECT_EQ(js("getComputedStyle(document.querySelector('.ktriage')).backgroundColor").get<std::string>(), "rgb(255, 255, 255)");
  screenshots("hostile");
}

}  // namespace
}  // namespace ktriage::test

// The HTML report of real kernel-lab crashes with Debian's debug info, in
// headless Chromium (report_browser_test.cc does the same in CI on a
// gcc-built fixture): stackoverflow.log's stack picture has one rect per
// measured frame and fills THREAD_SIZE; nullderef.log's listing marks the
// faulting `mov 0x18(%rcx),%rcx` in the module. Screenshots go to
// <build>/screenshots/lab-*.png.
//
// Needs the lab's download (KLAB_CACHE): ctest label `heavy`; skips without it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/browser.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string quote(const std::string& s) { return "'" + s + "'"; }

class ReportBrowserLab : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = test::kernel_lab();
    if (!lab_.ok) GTEST_SKIP() << "kernel-lab logs or the -dbg download ($KLAB_CACHE) not found";
    dir_ = test::ScratchDir("ktriage-report-lab");
    Expected<std::unique_ptr<test::Browser>> b = test::Browser::start();
    ASSERT_TRUE(b) << b.error().message;
    browser_ = std::move(*b);
    ASSERT_TRUE(browser_->call("Emulation.setScriptExecutionDisabled", {{"value", true}}));
  }

  // Renders the lab log as HTML and JSON with its debug info, loads the HTML.
  Json load(const std::string& log) {
    const std::string args = " --vmlinux " + quote(lab_.vmlinux) + " --modules " + quote(lab_.crashzoo_dir) +
                             " --modules " + quote(lab_.module_dbg) + " " + quote(lab_.dir + "/logs/" + log);
    const fs::path html = dir_ / (log + ".html");
    EXPECT_EQ(std::system((std::string(KTRIAGE_BINARY) + " analyze --format html -o " + quote(html.string()) + args).c_str()), 0);
    Json doc = Json::parse(test::run_command(std::string(KTRIAGE_BINARY) + " analyze --json" + args), nullptr, false);
    url_ = "file://" + html.string();
    Expected<test::PageLoad> page = browser_->load(url_);
    EXPECT_TRUE(page) << page.error().message;
    if (page) {
      for (const std::string& url : page->requests) EXPECT_EQ(url, url_);
    }
    return doc;
  }
  Json evaluate(const std::string& expression) {
    Expected<std::string> v = browser_->evaluate(expression);
    EXPECT_TRUE(v) << v.error().message;
    return v ? Json::parse(*v) : Json();
  }
  int count(const std::string& selector) {
    return evaluate("document.querySelectorAll(" + Json(selector).dump() + ").length").get<int>();
  }
  void shoot(const std::string& name) {
    const fs::path shots = fs::path(KTRIAGE_BUILD_DIR) / "screenshots";
    fs::create_directories(shots);
    EXPECT_TRUE(browser_->screenshot(shots / (name + ".png")));
    EXPECT_TRUE(browser_->call("Emulation.setEmulatedMedia",
                               {{"features", {{{"name", "prefers-color-scheme"}, {"value", "dark"}}}}}));
    EXPECT_TRUE(browser_->screenshot(shots / (name + "-dark.png")));
    EXPECT_TRUE(browser_->call("Emulation.setEmulatedMedia", {{"features", Json::array()}}));
  }

  test::KernelLab lab_;
  test::ScratchDir dir_;
  std::unique_ptr<test::Browser> browser_;
  std::string url_;
};

TEST_F(ReportBrowserLab, StackOverflowFillsThreadSize) {
  const Json doc = load("stackoverflow.log");
  ASSERT_TRUE(doc.is_object());
  const Json& usage = doc["reports"][0]["stack_usage"];
  ASSERT_TRUE(usage.is_object());
  EXPECT_EQ(evaluate("document.querySelector('main > :not(header)').className").get<std::string>(),
            "kt-finding kt-headline");
  EXPECT_EQ(count("#r1-stack rect.kt-frame"), usage["measured"].get<int>());
  EXPECT_GT(usage["measured"].get<int>(), 70);
  EXPECT_EQ(usage["thread_size"], 16384);
  // Drawn: the frames reach (nearly) the bottom of the THREAD_SIZE box.
  const double bottom = evaluate(
      "(() => { const r = document.querySelector('#r1-stack rect.kt-stack-outline'); return r.y.baseVal.value + r.height.baseVal.value; })()").get<double>();
  const double deepest = evaluate(
      "Math.max(...[...document.querySelectorAll('#r1-stack rect.kt-frame')].map(r => r.y.baseVal.value + r.height.baseVal.value))").get<double>();
  EXPECT_GT(deepest, bottom * 0.95);
  EXPECT_THAT(evaluate("document.querySelector('#r1-stack').textContent").get<std::string>(), HasSubstr("zoo_recurse"));
  EXPECT_EQ(count("#r1-stack rect.kt-thread-info"), 0);  // 6.1: thread_info lives in task_struct
  EXPECT_EQ(count("#r1 table.kt-listing tr.kt-faulting"), 1);
  shoot("lab-stackoverflow");
}

TEST_F(ReportBrowserLab, NullDerefMarksTheFaultingInstructionAndChain) {
  const Json doc = load("nullderef.log");
  ASSERT_TRUE(doc.is_object());
  const Json& fault = doc["reports"][0]["fault"];
  ASSERT_TRUE(fault.is_object());
  EXPECT_EQ(count("#r1 table.kt-listing tr.kt-faulting"), 1);
  EXPECT_THAT(evaluate("document.querySelector('#r1 tr.kt-faulting').textContent").get<std::string>(),
              HasSubstr("movq 0x18(%rcx), %rcx"));
  EXPECT_EQ(count("#r1 table.kt-listing tr.kt-chain"), static_cast<int>(fault["chain"].size()));
  EXPECT_EQ(evaluate("document.querySelector('#r1 tr.kt-faulting mark.kt-reg').textContent").get<std::string>(), "%rcx");
  EXPECT_GT(count("#r1 table.kt-trace tr.kt-unreliable"), 0);
  EXPECT_EQ(count("#r1-stack rect.kt-frame"), doc["reports"][0]["stack_usage"]["measured"].get<int>());
  shoot("lab-nullderef");
}

}  // namespace
}  // namespace ktriage

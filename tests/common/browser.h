// A real browser for tests: headless Chromium (Debian's `chromium`, from
// scripts/install-deps.sh) driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages on fds 3 and 4, no WebSocket, no
// port). One page; load a URL and get what the page did, evaluate an
// expression, take a screenshot.
//
//   Expected<std::unique_ptr<Browser>> b = Browser::start();
//   if (!b) FAIL() << b.error().message;          // never skip: CI must see it
//   Expected<PageLoad> p = (*b)->load("http://127.0.0.1:8080/");
//   ASSERT_TRUE(p) << p.error().message;
//   EXPECT_THAT(p->dom, HasSubstr("<table"));
//   EXPECT_TRUE(p->dialogs.empty());              // no alert() ran: an XSS check
//   Expected<std::string> n = (*b)->evaluate("document.querySelectorAll('tr').length");  // "12"
//   (*b)->screenshot(dir / "page.png");           // the whole page, PNG
//   (*b)->call("Emulation.setScriptExecutionDisabled", {{"value", true}});  // any DevTools command
//
// Chromium runs --headless --no-sandbox --disable-gpu with no background
// networking and a fresh profile directory removed at the end. Offline by
// default: a request to anything but 127.0.0.1 (where tests start their
// servers) fails by construction (an unreachable proxy, no name resolution)
// and is still listed in PageLoad::requests. When the test process dies,
// Chromium gets SIGKILL (PR_SET_PDEATHSIG). Its own output goes to a log
// file named in errors.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ktriage/error.h"

namespace ktriage::test {

// What one navigation showed and did, recorded from the DevTools events
// between the start of the navigation and the DOM read after `load`.
struct PageLoad {
  std::string url;
  int status = 0;                     // HTTP status of the main document, 0 if unknown
  std::string dom;                    // document.documentElement.outerHTML after the load event
  std::vector<std::string> dialogs;   // "alert: 1" for each JavaScript dialog opened (accepted at once)
  std::vector<std::string> console;   // console.* calls and uncaught exceptions: evidence that script ran
  std::vector<std::string> log;       // browser log entries, "error security: Refused to ..." (CSP violations)
  std::vector<std::string> requests;  // every URL the page requested, the document first
};

class Browser {
 public:
  struct Options {
    int width = 1280;
    int height = 900;
    std::chrono::seconds timeout{30};  // for starting and for each command
    std::string executable;            // default: $KTRIAGE_CHROMIUM, else chromium on PATH
    bool offline = true;               // only 127.0.0.1 is reachable (see above)
  };

  static Expected<std::unique_ptr<Browser>> start(Options options);
  static Expected<std::unique_ptr<Browser>> start() { return start(Options{}); }
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // Navigates and waits for the load event.
  Expected<PageLoad> load(const std::string& url);
  // A JavaScript expression in the page (run by DevTools, not by the page,
  // so a Content-Security-Policy does not stop it); its value as JSON text.
  Expected<std::string> evaluate(const std::string& expression);
  // Any DevTools command to the page (Emulation.setEmulatedMedia, ...): its result.
  Expected<nlohmann::json> call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  // A PNG of the current page: the whole document, or the viewport.
  Expected<bool> screenshot(const std::filesystem::path& png, bool full_page = true);

  const std::filesystem::path& log_file() const { return log_; }

 private:
  Browser() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path log_;
};

// The Chromium executable: $KTRIAGE_CHROMIUM, else chromium or
// chromium-browser on PATH; nullopt when none.
std::optional<std::string> chromium_executable();

}  // namespace ktriage::test

// The dashboard in a real browser: headless Chromium (tests/common/
// browser.h) loads the pages of a `ktriage serve` started here on a seeded
// store (uploads over HTTP, and older reports written straight to the store
// so that trends have days), checks the DOM against the JSON API, follows
// links, takes screenshots (${build}/screenshots: buckets.png, bucket.png,
// report.png, xss-report.png), and checks that a log full of markup runs
// nothing anywhere it is shown. The browser helper's own detectors are
// tested first on pages that do run script.
#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/browser.h"
#include "common/serve_process.h"
#include "ktriage/bucket.h"
#include "ktriage/ingest.h"
#include "ktriage/store.h"
#include "serve/helpers.h"
#include "support/io.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

// A log whose every printed field is markup: the crash title, the task's
// name, frames, module names; the upload's host and source headers too.
const std::string kXssLog =
    "[  100.000001] ------------[ cut here ]------------\n"
    "[  100.000002] kernel BUG at fs/\"><img src=x onerror=alert(1)>.c:42!\n"
    "[  100.000003] invalid opcode: 0000 [#1] SMP PTI\n"
    "[  100.000004] CPU: 1 PID: 4242 Comm: <script>alert(2)</script> Tainted: G           OE      6.1.0-13-amd64 #1\n"
    "[  100.000006] RIP: 0010:xss_probe<svg/onload=alert(3)>+0x12/0x40 [evil<img src=x onerror=alert(4)>]\n"
    "[  100.000009] Call Trace:\n"
    "[  100.000010]  <TASK>\n"
    "[  100.000012]  \"><script>alert(5)</script>+0x1/0x2 [evil]\n"
    "[  100.000013]  do_one_initcall+0x41/0x200\n"
    "[  100.000014]  </TASK>\n"
    "[  100.000015] Modules linked in: evil(OE) <script>alert(6)</script>\n"
    "[  100.000016] ---[ end trace 0000000000000000 ]---\n"
    "[  101.000001] Kernel panic - not syncing: \"><img src=x onerror=alert(7)><script>alert(8)</script>\n"
    "[  101.000002] CPU: 1 PID: 4242 Comm: x Tainted: G      D    OE      6.1.0-13-amd64 #1\n"
    "[  101.000003] Call Trace:\n"
    "[  101.000004]  <TASK>\n"
    "[  101.000005]  panic+0x10/0x300\n"
    "[  101.000006]  </TASK>\n";
const char* kXssHost = "\"><img src=x onerror=alert(9)>";
const char* kXssSource = "<svg onload=alert(10)>";

// The biggest bucket with guilty frames and no markup: the one the bucket
// and report screenshots show.
const Json& showcase(const Json& buckets) {
  for (const Json& b : buckets)
    if (b["signature"].get<std::string>().find(" | ") != std::string::npos &&
        b["signature"].get<std::string>().find("alert") == std::string::npos)
      return b;
  return buckets[0];
}

// One server, one store, one browser for the whole suite.
struct Dashboard {
  ScratchDir dir{"kt-dashboard"};
  ServeProcess server;
  std::unique_ptr<Browser> browser;
  std::string base;
  Json buckets;            // GET /api/v1/buckets?limit=1000
  std::string xss_bucket;  // the panic's bucket
  int64_t xss_report = 0;
  std::string error;  // why the set-up failed

  static constexpr int kPageSize = 5;
};

Dashboard* dashboard() {
  static Dashboard* shared = [] {
    auto* d = new Dashboard();
    const std::string db = "sqlite:" + (d->dir / "ktriage.db").string();
    // Older reports, written as ingest would have on earlier days: the
    // same logs from other hosts, 1 to 20 days ago.
    {
      Expected<std::string> rules_text = support::read_file(default_signature_rules_path());
      Expected<SignatureRules> rules = SignatureRules::parse(*rules_text, "rules");
      Expected<std::unique_ptr<store::Store>> s = store::Store::open(db);
      if (!rules || !s) {
        d->error = "cannot seed the store";
        return d;
      }
      const int64_t now = static_cast<int64_t>(std::time(nullptr));
      const std::vector<std::string> logs = make_logs(8, 100);
      for (size_t i = 0; i < logs.size(); ++i) {
        IngestOptions o;
        o.rules = &*rules;
        o.host = "old-" + std::to_string(i % 5);
        const int64_t when = now - static_cast<int64_t>(1 + (i * 7) % 20) * 86400;
        Expected<std::vector<store::NewReport>> rows = prepare_log(logs[i], "/var/log/kern.log", o, when);
        if (!rows || !(*s)->put(*rows)) {
          d->error = "cannot seed the store";
          return d;
        }
      }
    }
    if (!d->server.start(KTRIAGE_BINARY, {"--db", db, "--page-size", std::to_string(Dashboard::kPageSize)},
                         d->dir / "serve.log")) {
      d->error = "ktriage serve did not start: " + d->server.log();
      return d;
    }
    d->base = d->server.url();
    httplib::Client c("127.0.0.1", d->server.port());
    c.set_read_timeout(60);
    int n = 0;
    for (const std::string& log : make_logs(3)) {
      httplib::Result r =
          c.Post("/api/v1/logs", {{"X-Ktriage-Host", "web" + std::to_string(n++ % 3)}}, log, "text/plain");
      if (!r || r->status != 201) {
        d->error = "upload failed";
        return d;
      }
    }
    httplib::Result x =
        c.Post("/api/v1/logs", {{"X-Ktriage-Host", kXssHost}, {"X-Ktriage-Source", kXssSource}}, kXssLog, "text/plain");
    if (!x || x->status != 201) {
      d->error = "the markup upload failed: " + (x ? x->body : std::string("no answer"));
      return d;
    }
    const Json uploaded = Json::parse(x->body);
    for (const Json& r : uploaded["reports"])
      if (r["title"].get<std::string>().starts_with("kernel panic")) {
        d->xss_bucket = r["bucket"].get<std::string>();
        d->xss_report = r["id"].get<int64_t>();
      }
    httplib::Result b = c.Get("/api/v1/buckets?limit=1000");
    d->buckets = Json::parse(b->body)["buckets"];
    Expected<std::unique_ptr<Browser>> browser = Browser::start();
    if (!browser) {
      d->error = browser.error().message;
      return d;
    }
    d->browser = std::move(*browser);
    return d;
  }();
  return shared;
}

#define DASHBOARD()                        \
  Dashboard& d = *dashboard();             \
  ASSERT_TRUE(d.error.empty()) << d.error; \
  Browser& browser = *d.browser

// Nothing ran, nothing was refused by the page's policy, nothing was
// fetched from elsewhere.
void expect_inert(const PageLoad& p, const std::string& base) {
  EXPECT_TRUE(p.dialogs.empty()) << p.url << ": " << ::testing::PrintToString(p.dialogs);
  EXPECT_TRUE(p.console.empty()) << p.url << ": " << ::testing::PrintToString(p.console);
  for (const std::string& l : p.log) EXPECT_THAT(l, Not(HasSubstr("Content Security Policy"))) << p.url;
  for (const std::string& r : p.requests) EXPECT_TRUE(r.starts_with(base + "/")) << p.url << " requested " << r;
}

Json eval(Browser& b, const std::string& js) {
  Expected<std::string> v = b.evaluate(js);
  EXPECT_TRUE(v) << v.error().message;
  return v ? Json::parse(*v) : Json();
}

fs::path screenshots() { return KTRIAGE_SCREENSHOT_DIR; }

// The detectors the XSS checks rely on see script that does run.
TEST(Browser, SeesDialogsConsoleCallsAndPolicyViolations) {
  DASHBOARD();
  Expected<PageLoad> p = browser.load("data:text/html,<title>t</title><script>console.log('ran');alert('x')</script>");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->dialogs, std::vector<std::string>{"alert: x"});
  EXPECT_EQ(p->console, std::vector<std::string>{"log: ran"});
  Expected<PageLoad> csp = browser.load(
      "data:text/html,<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">"
      "<img src=x onerror=alert(1)><script>alert(2)</script>");
  ASSERT_TRUE(csp) << csp.error().message;
  EXPECT_TRUE(csp->dialogs.empty());
  EXPECT_TRUE(std::any_of(csp->log.begin(), csp->log.end(), [](const std::string& l) {
    return l.find("Content Security Policy") != std::string::npos;
  })) << ::testing::PrintToString(csp->log);
  EXPECT_EQ(eval(browser, "1 + 2"), 3);
  // Offline: a request off the machine fails, and is listed.
  Expected<PageLoad> away = browser.load(
      "data:text/html,<img src=\"http://example.com/x.png\" onerror=\"document.title='failed'\">");
  ASSERT_TRUE(away) << away.error().message;
  EXPECT_THAT(away->requests, ::testing::Contains("http://example.com/x.png"));
  EXPECT_EQ(eval(browser, "document.title"), "failed");
}

TEST(Dashboard, BucketListMatchesTheApiWithTrendsLinksAndPages) {
  DASHBOARD();
  ASSERT_GT(d.buckets.size(), static_cast<size_t>(Dashboard::kPageSize));  // so that there are pages
  std::vector<Json> seen;
  int64_t reports = 0;
  for (const Json& b : d.buckets) reports += b["count"].get<int64_t>();
  std::string url = d.base + "/";
  for (int page = 1; page <= 10 && !url.empty(); ++page) {
    Expected<PageLoad> p = browser.load(url);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->status, 200);
    expect_inert(*p, d.base);
    if (page == 1) {
      ASSERT_TRUE(browser.screenshot(screenshots() / "buckets.png"));
      EXPECT_EQ(eval(browser, "document.querySelector('#totals').dataset.reports"), std::to_string(reports));
    }
    Json rows = eval(browser, R"(JSON.stringify([...document.querySelectorAll('#buckets tbody tr')].map(r => ({
        id: r.dataset.bucket, count: +r.dataset.count, href: r.querySelector('td.sig a').getAttribute('href'),
        title: r.querySelector('td.sig a').textContent, spark: r.querySelector('svg.spark').dataset.counts,
        kernels: [...r.querySelectorAll('td:nth-child(6) .tag')].map(t => t.textContent)}))))");
    rows = Json::parse(rows.get<std::string>());
    EXPECT_LE(rows.size(), static_cast<size_t>(Dashboard::kPageSize));
    for (const Json& r : rows) seen.push_back(r);
    Json next =
        eval(browser, "document.querySelector('a[rel=next]') ? document.querySelector('a[rel=next]').href : ''");
    url = next.get<std::string>();
  }
  // Every bucket once, in the API's order, with its count, title, link,
  // kernels and a 30-day trend that adds up to its reports of those days.
  ASSERT_EQ(seen.size(), d.buckets.size());
  bool some_trend_has_days = false;
  for (size_t i = 0; i < seen.size(); ++i) {
    const Json& b = d.buckets[i];
    EXPECT_EQ(seen[i]["id"], b["id"]);
    EXPECT_EQ(seen[i]["count"], b["count"]);
    EXPECT_EQ(seen[i]["title"], b["title"]);
    EXPECT_EQ(seen[i]["href"], "/buckets/" + b["id"].get<std::string>());
    std::vector<std::string> kernels = b["kernels"];
    kernels.resize(std::min<size_t>(kernels.size(), 3));
    EXPECT_EQ(seen[i]["kernels"].get<std::vector<std::string>>(), kernels);
    std::istringstream in(seen[i]["spark"].get<std::string>());
    int64_t sum = 0, days = 0, c = 0;
    for (int k = 0; in >> c; ++k) {
      sum += c;
      days += c > 0;
    }
    EXPECT_EQ(sum, b["count"].get<int64_t>()) << "every report is from the last 30 days";
    some_trend_has_days |= days > 1;
  }
  EXPECT_TRUE(some_trend_has_days);

  // Search by a function of a signature, and by kernel release.
  const Json& first = d.buckets[0];
  Expected<PageLoad> q = browser.load(d.base + "/?q=" + url_encode(first["title"].get<std::string>()));
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_THAT(q->dom, HasSubstr("data-bucket=\"" + first["id"].get<std::string>() + "\""));
  Expected<PageLoad> none = browser.load(d.base + "/?q=no-such-function-anywhere");
  ASSERT_TRUE(none);
  EXPECT_THAT(none->dom, HasSubstr("No bucket matches"));
  // Sorting is a link, and works without script.
  Expected<PageLoad> sorted = browser.load(d.base + "/?sort=last");
  ASSERT_TRUE(sorted);
  EXPECT_THAT(sorted->dom, HasSubstr("aria-sort=\"descending\""));
}

TEST(Dashboard, BucketPageSaysWhyAndListsEveryReport) {
  DASHBOARD();
  const Json& b = showcase(d.buckets);
  const std::string id = b["id"];
  Expected<PageLoad> p = browser.load(d.base + "/buckets/" + id);
  ASSERT_TRUE(p) << p.error().message;
  expect_inert(*p, d.base);
  ASSERT_TRUE(browser.screenshot(screenshots() / "bucket.png"));
  EXPECT_EQ(eval(browser, "document.querySelector('#count').textContent"), std::to_string(b["count"].get<int64_t>()));
  EXPECT_EQ(eval(browser, "document.querySelector('#title').textContent"), b["title"]);
  EXPECT_THAT(eval(browser, "document.querySelector('#why').textContent").get<std::string>(),
              HasSubstr(b["signature"].get<std::string>()));
  EXPECT_EQ(eval(browser, "!!document.querySelector('#representative > div.ktriage table.kt-trace')"), true);
  // Pages of reports, newest first, each a link to its page; together
  // they are the bucket.
  std::set<int64_t> reports;
  std::string url = d.base + "/buckets/" + id;
  for (int page = 0; page < 50 && !url.empty(); ++page) {
    ASSERT_TRUE(browser.load(url));
    Json ids = eval(browser, R"(JSON.stringify([...document.querySelectorAll('#reports tbody tr')].map(r =>
        [+r.dataset.report, r.querySelector('a').getAttribute('href')])))");
    const Json rows = Json::parse(ids.get<std::string>());
    for (const Json& r : rows) {
      EXPECT_EQ(r[1], "/reports/" + std::to_string(r[0].get<int64_t>()));
      EXPECT_TRUE(reports.insert(r[0].get<int64_t>()).second);
    }
    url = eval(browser, "document.querySelector('a[rel=next]') ? document.querySelector('a[rel=next]').href : ''");
  }
  EXPECT_EQ(static_cast<int64_t>(reports.size()), b["count"].get<int64_t>());
  // The kernels and hosts tables add up to the count.
  for (const char* table : {"kernels", "hosts"}) {
    Json sum = eval(browser, std::string("[...document.querySelectorAll('#") + table +
                                 " td.n')].reduce((a, td) => a + +td.textContent, 0)");
    if (b["count"].get<int64_t>() <= 10 || std::string(table) == "kernels") {
      EXPECT_EQ(sum, b["count"]) << table;
    }
  }
  Expected<PageLoad> missing = browser.load(d.base + "/buckets/ffffffffffffffff");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(Dashboard, ReportPageShowsTheAnalysisAndTheConsoleText) {
  DASHBOARD();
  httplib::Client c("127.0.0.1", d.server.port());
  httplib::Result detail = c.Get("/api/v1/buckets/" + showcase(d.buckets)["id"].get<std::string>());
  ASSERT_TRUE(detail);
  const int64_t id = Json::parse(detail->body)["bucket"]["recent_reports"][0]["id"];
  httplib::Result api = c.Get("/api/v1/reports/" + std::to_string(id));
  ASSERT_TRUE(api);
  const Json r = Json::parse(api->body)["report"];
  Expected<PageLoad> p = browser.load(d.base + "/reports/" + std::to_string(id));
  ASSERT_TRUE(p) << p.error().message;
  expect_inert(*p, d.base);
  ASSERT_TRUE(browser.screenshot(screenshots() / "report.png"));
  EXPECT_EQ(eval(browser, "document.querySelector('#raw').textContent"), r["raw"]);
  EXPECT_EQ(eval(browser, "document.querySelector('#title').textContent"), r["title"]);
  EXPECT_THAT(eval(browser, "document.querySelector('#meta').textContent").get<std::string>(),
              HasSubstr(r["host"].get<std::string>()));
  // The analysis is the HTML report renderer's fragment (as in `analyze --format html`), its stylesheet in <head>.
  EXPECT_EQ(eval(browser, "!!document.querySelector('#analysis > div.ktriage table.kt-trace')"), true);
  EXPECT_EQ(eval(browser, "document.querySelectorAll('#analysis .ktriage style').length"), 0);
  EXPECT_EQ(eval(browser, "getComputedStyle(document.querySelector('#analysis .ktriage')).backgroundColor"),
            "rgb(255, 255, 255)");
  EXPECT_EQ(
      eval(browser, "document.querySelector('a[href=\"/buckets/" + r["bucket"].get<std::string>() + "\"]') !== null"),
      true);
}

// The markup of kXssLog, its host and source headers, and a search for
// markup, on every page that shows them: shown as text, nothing executes,
// no element or attribute comes from it.
TEST(Dashboard, MarkupInLogsHeadersAndSearchesIsInertText) {
  DASHBOARD();
  ASSERT_FALSE(d.xss_bucket.empty());
  const std::vector<std::string> pages = {
      "/",
      "/?q=" + url_encode("<script>alert(11)</script>") + "&kernel=" + url_encode("\"><img src=x onerror=alert(12)>"),
      "/?q=kernel+panic",
      "/buckets/" + d.xss_bucket,
      "/reports/" + std::to_string(d.xss_report),
  };
  for (const std::string& path : pages) {
    Expected<PageLoad> p = browser.load(d.base + path);
    ASSERT_TRUE(p) << p.error().message;
    expect_inert(*p, d.base);
    // Elements that could carry script: none but the page's sparklines and the report renderer's stack pictures.
    EXPECT_EQ(eval(browser,
                   "[...document.querySelectorAll('script, img, iframe, object, embed, svg')].filter(e => "
                   "!e.matches('svg.spark, .ktriage svg')).length"),
              0)
        << path;
    EXPECT_EQ(eval(browser,
                   "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => "
                   "a.name.startsWith('on'))).length"),
              0)
        << path;
  }
  // Shown as text where it belongs.
  ASSERT_TRUE(browser.load(d.base + "/reports/" + std::to_string(d.xss_report)));
  ASSERT_TRUE(browser.screenshot(screenshots() / "xss-report.png"));
  const std::string text = eval(browser, "document.body.innerText").get<std::string>();
  EXPECT_THAT(text, HasSubstr("<script>alert(8)</script>"));
  EXPECT_THAT(text, HasSubstr(kXssHost));
  EXPECT_THAT(text, HasSubstr(kXssSource));
  ASSERT_TRUE(browser.load(d.base + "/?q=" + url_encode("<script>alert(11)</script>")));
  EXPECT_EQ(eval(browser, "document.querySelector('input[name=q]').value"), "<script>alert(11)</script>");
}

}  // namespace
}  // namespace ktriage::test

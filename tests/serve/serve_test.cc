// `ktriage serve` as a process, on both backends, through a real HTTP
// client: uploads answered only after their commit and idempotent retries,
// gzip bodies, the read API, tokens, limits and bad input (4xx with a JSON
// error, the server keeps serving), ids that cannot traverse paths,
// metrics, kill -9 during concurrent uploads, and two servers on one
// database giving what one gives.
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <zlib.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/cli_run.h"
#include "common/serve_process.h"
#include "common/services.h"
#include "ktriage/store.h"
#include "serve/helpers.h"
#include "store/backend.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

std::string gzip(std::string_view text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Answer {
  int status = -1;  // -1: no answer (connection refused, reset, timed out)
  Json body;
  httplib::Headers headers;
};

Answer to_answer(const httplib::Result& r) {
  Answer a;
  if (!r) return a;
  a.status = r->status;
  a.body = Json::parse(r->body, nullptr, false);
  a.headers = r->headers;
  return a;
}

std::unique_ptr<httplib::Client> client(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_connection_timeout(5);
  c->set_read_timeout(60);
  c->set_write_timeout(30);
  return c;
}

Answer post(int port, const std::string& body, httplib::Headers headers = {},
            const std::string& content_type = "text/plain") {
  return to_answer(client(port)->Post("/api/v1/logs", headers, body, content_type));
}

Answer get(int port, const std::string& path, httplib::Headers headers = {}) {
  return to_answer(client(port)->Get(path, headers));
}

std::vector<int64_t> ids_of(const Answer& a) {
  std::vector<int64_t> ids;
  if (a.body.is_object() && a.body.contains("reports"))
    for (const Json& r : a.body["reports"]) ids.push_back(r["id"].get<int64_t>());
  return ids;
}

void expect_json_error(const Answer& a, int status, const std::string& mentions = "") {
  EXPECT_EQ(a.status, status) << a.body.dump();
  ASSERT_TRUE(a.body.is_object()) << "not JSON";
  ASSERT_TRUE(a.body.contains("error")) << a.body.dump();
  EXPECT_THAT(a.body["error"].get<std::string>(), HasSubstr(mentions));
}

// Sends `request` as is; the answer's headers and body (read up to its
// Content-Length, not to the end of a kept-alive connection).
std::string raw_request(int port, const std::string& request) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(s, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(s, buf, sizeof buf, 0)) > 0;) {
      out.append(buf, static_cast<size_t>(n));
      const size_t end = out.find("\r\n\r\n");
      const size_t len = out.find("Content-Length: ");
      if (end != std::string::npos && len != std::string::npos &&
          out.size() >= end + 4 + std::stoul(out.substr(len + 16)))
        break;
    }
  }
  ::close(s);
  return out;
}

class ServeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(db_.create(GetParam())); }

  // A server on the test's database; extra arguments after --db.
  void start(ServeProcess& p, const std::vector<std::string>& extra = {}, int port = 0, const std::string& url = "") {
    std::vector<std::string> args = {"--db", url.empty() ? db_.url() : url};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(p.start(KTRIAGE_BINARY, args, scratch_ / "serve.log", port)) << p.log();
  }

  size_t stored_reports(const std::string& url = "") {
    Expected<std::unique_ptr<store::Store>> s = store::Store::open(url.empty() ? db_.url() : url);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) return 0;
    Expected<std::vector<std::pair<std::string, std::string>>> keys = (*s)->report_keys();
    std::set<std::string> unique;
    for (const auto& [hash, bucket] : *keys) unique.insert(hash);
    EXPECT_EQ(unique.size(), keys->size());
    return keys->size();
  }

  FreshDatabase db_;
  ScratchDir scratch_{"kt-serve"};
};

TEST_P(ServeTest, UploadIs201AfterCommitAndARetryIs200WithTheSameIds) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server));
  const std::string log = make_logs(1)[0];
  Answer first =
      post(server.port(), log, {{"X-Ktriage-Host", "web7"}, {"X-Ktriage-Source", "/var/lib/systemd/pstore"}});
  ASSERT_EQ(first.status, 201) << first.body.dump();
  ASSERT_EQ(first.body["reports"].size(), 2u);
  EXPECT_EQ(first.body["host"], "web7");
  for (const Json& r : first.body["reports"]) {
    EXPECT_TRUE(r["stored"].get<bool>());
    EXPECT_EQ(r["bucket"].get<std::string>().size(), 16u);
    EXPECT_FALSE(r["title"].get<std::string>().empty());
  }
  // Committed before the answer: another connection to the database sees it.
  EXPECT_EQ(stored_reports(), 2u);

  Answer again = post(server.port(), log, {{"X-Ktriage-Host", "web7"}});
  ASSERT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(ids_of(again), ids_of(first));
  for (const Json& r : again.body["reports"]) EXPECT_FALSE(r["stored"].get<bool>());
  // The same log from another machine is new.
  EXPECT_EQ(post(server.port(), log, {{"X-Ktriage-Host", "web8"}}).status, 201);
  EXPECT_EQ(stored_reports(), 4u);

  // gzip: the same bytes, so the same reports.
  Answer zipped = post(server.port(), gzip(log), {{"X-Ktriage-Host", "web7"}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(zipped.status, 200) << zipped.body.dump();
  EXPECT_EQ(ids_of(zipped), ids_of(first));
  Answer zipped_new =
      post(server.port(), gzip(make_logs(1)[1]), {{"X-Ktriage-Host", "web7"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(zipped_new.status, 201) << zipped_new.body.dump();

  // A log without a crash stores nothing and says so.
  Answer quiet = post(server.port(), "[    0.000000] Linux version 6.1.0-13-amd64\n[    1.0] all is well\n");
  EXPECT_EQ(quiet.status, 200);
  EXPECT_TRUE(quiet.body["reports"].empty());
}

TEST_P(ServeTest, ReadApiHasTheShapesOfQueryJson) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server));
  std::vector<std::string> logs = make_logs(2);
  for (const std::string& l : logs) ASSERT_EQ(post(server.port(), l, {{"X-Ktriage-Host", "web1"}}).status, 201);

  Answer buckets = get(server.port(), "/api/v1/buckets");
  ASSERT_EQ(buckets.status, 200);
  EXPECT_EQ(buckets.body["schema_version"], 1);
  ASSERT_FALSE(buckets.body["buckets"].empty());
  int64_t total = 0;
  for (const Json& b : buckets.body["buckets"]) {
    total += b["count"].get<int64_t>();
    for (const char* key : {"id", "signature", "title", "count", "hosts", "kernels", "first_seen", "last_seen"})
      EXPECT_TRUE(b.contains(key)) << key;
  }
  EXPECT_EQ(total, 12);
  const std::string id = buckets.body["buckets"][0]["id"];

  Answer one = get(server.port(), "/api/v1/buckets/" + id);
  ASSERT_EQ(one.status, 200) << one.body.dump();
  EXPECT_EQ(one.body["bucket"]["id"], id);
  EXPECT_EQ(one.body["bucket"]["count"], buckets.body["buckets"][0]["count"]);
  ASSERT_FALSE(one.body["bucket"]["recent_reports"].empty());
  EXPECT_EQ(get(server.port(), "/api/v1/buckets/" + id.substr(0, 6)).body["bucket"]["id"], id);  // a prefix

  const int64_t report = one.body["bucket"]["recent_reports"][0]["id"];
  Answer rep = get(server.port(), "/api/v1/reports/" + std::to_string(report));
  ASSERT_EQ(rep.status, 200);
  EXPECT_EQ(rep.body["report"]["bucket"], id);
  EXPECT_EQ(rep.body["report"]["host"], "web1");
  // Stored as parsed; the analysis is analyze --json's document of this
  // report alone, made on read.
  EXPECT_EQ(rep.body["report"]["parsed"]["title"], rep.body["report"]["title"]);
  EXPECT_EQ(rep.body["report"]["analysis"]["schema_version"], 1);
  EXPECT_EQ(rep.body["report"]["analysis"]["reports"].size(), 1u);

  // Filters: search, kernel, host, paging.
  const std::string title = buckets.body["buckets"][0]["title"];
  Answer searched = get(server.port(), "/api/v1/buckets?q=" + url_encode(title));
  ASSERT_EQ(searched.status, 200);
  ASSERT_GE(searched.body["buckets"].size(), 1u);
  EXPECT_EQ(searched.body["buckets"][0]["id"], id);
  EXPECT_TRUE(get(server.port(), "/api/v1/buckets?host=nobody").body["buckets"].empty());
  EXPECT_EQ(get(server.port(), "/api/v1/buckets?limit=1").body["buckets"].size(), 1u);
  EXPECT_EQ(get(server.port(), "/api/v1/buckets?limit=1&offset=1").body["buckets"][0]["id"],
            buckets.body["buckets"][1]["id"]);
  expect_json_error(get(server.port(), "/api/v1/buckets?since=yesterday"), 400, "since");
  // http_fuzz: the error quotes the value; a byte that is not UTF-8 there made it a 500.
  expect_json_error(get(server.port(), "/api/v1/buckets?since=2024-05-%F81"), 400, "'2024-05-\uFFFD1'");
  expect_json_error(get(server.port(), "/api/v1/buckets?limit=-1"), 400, "limit");
  expect_json_error(get(server.port(), "/api/v1/buckets/ffffffffffffffff"), 404, "no bucket");
  expect_json_error(get(server.port(), "/api/v1/reports/999999"), 404, "no report");

  Answer health = get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");
  EXPECT_EQ(health.body["schema_version"], store::kSchemaVersion);
}

TEST_P(ServeTest, TokensGuardWritesAndReadsUnlessPublicRead) {
  const fs::path token = scratch_ / "token";
  std::ofstream(token) << "s3cret-token-0123456789\n";
  const std::string log = make_logs(1)[0];
  const httplib::Headers good = {{"Authorization", "Bearer s3cret-token-0123456789"}};
  const httplib::Headers basic = {{"Authorization", "Basic " + base64("me:s3cret-token-0123456789")}};
  {
    ServeProcess server;
    ASSERT_NO_FATAL_FAILURE(start(server, {"--token-file", token.string()}));
    expect_json_error(post(server.port(), log), 401, "Bearer");
    expect_json_error(post(server.port(), log, {{"Authorization", "Bearer s3cret-token-012345678"}}), 401);
    expect_json_error(post(server.port(), log, {{"Authorization", "Bearer s3cret-token-0123456789x"}}), 401);
    Answer ok = post(server.port(), log, good);
    EXPECT_EQ(ok.status, 201) << ok.body.dump();
    Answer denied = get(server.port(), "/api/v1/buckets");
    expect_json_error(denied, 401, "public-read");
    EXPECT_EQ(get(server.port(), "/api/v1/buckets", good).status, 200);
    EXPECT_EQ(get(server.port(), "/", basic).status, 200);  // what a browser sends after asking
    Answer page = get(server.port(), "/");
    EXPECT_EQ(page.status, 401);
    auto www = page.headers.find("WWW-Authenticate");
    ASSERT_NE(www, page.headers.end());
    EXPECT_THAT(www->second, HasSubstr("Basic"));
    EXPECT_EQ(get(server.port(), "/healthz").status, 200);  // load balancers probe without one
    EXPECT_EQ(get(server.port(), "/metrics").status, 401);
  }
  {
    ServeProcess server;
    ASSERT_NO_FATAL_FAILURE(start(server, {"--token-file", token.string(), "--public-read"}));
    EXPECT_EQ(get(server.port(), "/api/v1/buckets").status, 200);
    EXPECT_EQ(get(server.port(), "/").status, 200);
    expect_json_error(post(server.port(), log), 401);
  }
  // Without a token file, only loopback: refused, with the reason.
  CliResult open = run_ktriage({"serve", "--db", db_.url(), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(open.status, 2);
  EXPECT_THAT(open.err, HasSubstr("without --token-file"));
  std::ofstream(scratch_ / "short") << "abc\n";
  CliResult weak = run_ktriage({"serve", "--db", db_.url(), "--token-file", (scratch_ / "short").string()});
  EXPECT_EQ(weak.status, 2);
  EXPECT_THAT(weak.err, HasSubstr("at least 16 characters"));
}

TEST_P(ServeTest, BadUploadsGet4xxWithAJsonErrorAndTheServerKeepsServing) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server, {"--max-body", "64K"}));
  const int port = server.port();
  const std::string log = make_logs(1)[0];
  // Oversize, as sent and once decompressed (a small gzip bomb of text).
  expect_json_error(post(port, std::string(70 * 1024, 'a') + "\n"), 413, "limit of 65536 bytes");
  const std::string bomb = gzip(std::string(10 << 20, 'a'));
  ASSERT_LT(bomb.size(), 64u * 1024);
  expect_json_error(post(port, bomb, {{"Content-Encoding", "gzip"}}), 413, "once decompressed");
  // Malformed gzip, binary garbage, a form, empty, nonsense headers.
  expect_json_error(post(port, "this is not gzip at all", {{"Content-Encoding", "gzip"}}), 400, "not valid gzip");
  std::string garbage(8192, '\0');
  std::mt19937 rng(7);
  for (char& c : garbage) c = static_cast<char>(rng());
  expect_json_error(post(port, garbage), 415, "not console text");
  expect_json_error(post(port, gzip(log)), 415, "Content-Encoding: gzip");  // compressed, unsaid
  expect_json_error(post(port, log, {}, "multipart/form-data; boundary=x"), 415, "--data-binary");
  expect_json_error(post(port, ""), 400, "empty body");
  expect_json_error(post(port, log, {{"X-Ktriage-Host", std::string(300, 'h')}}), 400, "X-Ktriage-Host");
  expect_json_error(post(port, log, {{"Content-Encoding", "zstd"}}), 415);
  expect_json_error(get(port, "/no/such/thing"), 404);
  // A request line cpp-httplib cannot parse, on a raw socket.
  std::string raw = raw_request(port, "GET / bogus HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(raw, HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(raw, HasSubstr("\"error\""));
  // Still serving.
  EXPECT_EQ(post(port, log).status, 201);
  EXPECT_EQ(get(port, "/healthz").status, 200);
  EXPECT_EQ(stored_reports(), 2u);
}

// A sender that trickles its body past --request-timeout is cut off with
// 408; nothing is stored.
TEST_P(ServeTest, ASlowUploadIsCutOffAtTheTimeLimit) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server, {"--request-timeout", "1"}));
  const std::string log = make_logs(1)[0];
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(server.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string head =
      "POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(log.size()) + "\r\n\r\n";
  ASSERT_EQ(::send(s, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string answer;
  for (size_t at = 0; at < log.size() && answer.empty(); at += 64) {
    if (::send(s, log.data() + at, std::min<size_t>(64, log.size() - at), MSG_NOSIGNAL) <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    char buf[4096];
    ssize_t n = ::recv(s, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) answer.assign(buf, static_cast<size_t>(n));
  }
  ::close(s);
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 408"));
  EXPECT_THAT(answer, HasSubstr("time limit"));
  EXPECT_EQ(stored_reports(), 0u);
  EXPECT_EQ(get(server.port(), "/healthz").status, 200);
}

TEST_P(ServeTest, IdsCannotTraversePaths) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server));
  ASSERT_EQ(post(server.port(), make_logs(1)[0]).status, 201);
  for (const char* path :
       {"/api/v1/reports/..%2F..%2F..%2Fetc%2Fpasswd", "/api/v1/reports/../../etc/passwd", "/reports/1%2F..%2F..",
        "/buckets/..%2F..%2Fetc%2Fpasswd", "/buckets/....", "/api/v1/buckets/%2e%2e", "/api/v1/buckets/ABCDEF",
        "/api/v1/reports/-1", "/api/v1/reports/0", "/api/v1/reports/1e3", "/api/v1/reports/99999999999999999999",
        "/reports/1;cat%20/etc/passwd", "/buckets/abcd'--", "/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/../../etc/passwd"}) {
    Answer a = get(server.port(), path);
    EXPECT_TRUE(a.status == 400 || a.status == 404) << path << ": " << a.status;
    EXPECT_THAT(a.body.dump(), Not(HasSubstr("root:"))) << path;
  }
}

TEST_P(ServeTest, MetricsCountRequestsReportsAndLatencies) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server));
  const std::string log = make_logs(1)[0];
  ASSERT_EQ(post(server.port(), log).status, 201);
  ASSERT_EQ(post(server.port(), log).status, 200);
  ASSERT_EQ(get(server.port(), "/api/v1/buckets").status, 200);
  ASSERT_EQ(get(server.port(), "/nope").status, 404);
  httplib::Result m = client(server.port())->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(m->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  const std::string& t = m->body;
  EXPECT_THAT(t, HasSubstr("ktriage_ingested_reports_total{result=\"stored\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_ingested_reports_total{result=\"duplicate\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_http_requests_total{route=\"/api/v1/logs\",method=\"POST\",code=\"201\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_http_requests_total{route=\"/api/v1/logs\",method=\"POST\",code=\"200\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_http_requests_total{route=\"other\",method=\"GET\",code=\"404\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_http_request_duration_seconds_count{route=\"/api/v1/logs\"} 2\n"));
  EXPECT_THAT(t, HasSubstr("ktriage_http_request_duration_seconds_bucket{route=\"/api/v1/logs\",le=\"+Inf\"} 2\n"));
  // Every sample line is NAME{labels} VALUE or NAME VALUE.
  const std::regex sample(R"(^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$)");
  std::istringstream lines(t);
  for (std::string line; std::getline(lines, line);)
    if (!line.starts_with("#")) {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
    }
}

// Many clients at once on a few connection threads: all answered, in order.
TEST_P(ServeTest, MoreClientsThanConnectionThreadsAreAllServed) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server, {"--max-connections", "2"}));
  std::vector<std::string> logs = make_logs(4);
  std::atomic<int> created{0}, failed{0};
  {
    std::vector<std::jthread> clients;
    for (size_t i = 0; i < logs.size(); ++i)
      clients.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", server.port());
        c.set_keep_alive(false);  // so that the two threads are not held by idle connections
        c.set_read_timeout(180);  // the last of 12 waits for 5 rounds of two analyses (slow under ASan)
        httplib::Result r = c.Post("/api/v1/logs", logs[i], "text/plain");
        (r && r->status == 201 ? created : failed)++;
      });
  }
  EXPECT_EQ(created.load(), static_cast<int>(logs.size()));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored_reports(), 24u);
}

// Clients post concurrently; the server is killed with SIGKILL and
// restarted on the same port. Clients retry what got no answer. Every
// report that was answered is stored, the retries stored nothing twice.
TEST_P(ServeTest, KillNineDuringConcurrentUploadsLosesNothingAndDuplicatesNothing) {
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server));
  const int port = server.port();
  const std::vector<std::string> logs = make_logs(12);  // 36 logs, 72 reports
  constexpr int kClients = 8;
  std::mutex mu;
  std::map<size_t, std::vector<Json>> answered;  // log -> its reports as answered
  std::atomic<int> done{0}, unanswered{0}, retried_ok{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < kClients; ++c)
      clients.emplace_back([&, c] {
        for (size_t i = static_cast<size_t>(c); i < logs.size(); i += kClients) {
          bool retry = false;
          while (std::chrono::steady_clock::now() < deadline) {
            httplib::Client cl("127.0.0.1", port);
            cl.set_connection_timeout(2);
            cl.set_read_timeout(30);
            httplib::Result r =
                cl.Post("/api/v1/logs", {{"X-Ktriage-Host", "web" + std::to_string(c)}}, logs[i], "text/plain");
            if (r && (r->status == 201 || r->status == 200)) {
              if (retry) ++retried_ok;
              std::lock_guard lock(mu);
              answered[i] = Json::parse(r->body)["reports"].get<std::vector<Json>>();
              ++done;
              break;
            }
            ++unanswered;
            retry = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }
      });
    // Kill in the middle of the uploads, then restart on the same port.
    while (done.load() < 6 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ServeProcess restarted;
    ASSERT_NO_FATAL_FAILURE(start(restarted, {}, port));
    clients.clear();  // joins: every client got an answer for every log, or the deadline passed
    EXPECT_GT(unanswered.load(), 0) << "the kill hit no upload: nothing was tested";
    EXPECT_GT(retried_ok.load(), 0);
    ASSERT_EQ(answered.size(), logs.size());

    // Every answered report is stored with the hash it was answered with,
    // and there is nothing else: no loss, no duplicate.
    size_t reports = 0;
    for (const auto& [log, list] : answered) {
      for (const Json& r : list) {
        ++reports;
        Answer rep = get(port, "/api/v1/reports/" + std::to_string(r["id"].get<int64_t>()));
        ASSERT_EQ(rep.status, 200);
        EXPECT_EQ(rep.body["report"]["content_hash"], r["content_hash"]);
      }
    }
    EXPECT_EQ(reports, 72u);
    EXPECT_EQ(stored_reports(), 72u);
  }
}

// The same uploads through one server, and spread over two servers on one
// database: the same buckets (ids, signatures, counts, hosts, kernels).
TEST_P(ServeTest, TwoServersOnOneDatabaseGiveTheBucketsOfOne) {
  const std::vector<std::string> logs = make_logs(6);
  auto upload = [&](const std::vector<int>& ports) {
    std::vector<std::jthread> clients;
    std::atomic<int> ok{0};
    for (int c = 0; c < 6; ++c)
      clients.emplace_back([&, c] {
        for (size_t i = static_cast<size_t>(c); i < logs.size(); i += 6) {
          const int port = ports[i % ports.size()];
          if (post(port, logs[i], {{"X-Ktriage-Host", "web" + std::to_string(i % 4)}}).status == 201) ++ok;
        }
      });
    clients.clear();
    return ok.load();
  };
  auto buckets = [&](int port) {
    Answer a = get(port, "/api/v1/buckets?limit=1000");
    EXPECT_EQ(a.status, 200);
    Json out = Json::array();
    for (Json b : a.body["buckets"]) {
      b.erase("first_seen");  // times of receipt differ between the runs
      b.erase("last_seen");
      out.push_back(b);
    }
    return out;
  };

  ServeProcess single;
  ASSERT_NO_FATAL_FAILURE(start(single));
  ASSERT_EQ(upload({single.port()}), static_cast<int>(logs.size()));
  const Json one = buckets(single.port());

  FreshDatabase other;
  ASSERT_NO_FATAL_FAILURE(other.create(GetParam()));
  ServeProcess a, b;
  ASSERT_NO_FATAL_FAILURE(start(a, {}, 0, other.url()));
  ASSERT_NO_FATAL_FAILURE(start(b, {}, 0, other.url()));
  ASSERT_EQ(upload({a.port(), b.port()}), static_cast<int>(logs.size()));
  EXPECT_EQ(buckets(a.port()), one);
  EXPECT_EQ(buckets(b.port()), one);
  EXPECT_EQ(stored_reports(other.url()), 36u);
}

// examples/uploader/ktriage-upload.sh posts files (gzip, token, host)
// and, run again, stores nothing twice.
TEST_P(ServeTest, TheUploaderExamplePostsFilesOnce) {
  const fs::path token = scratch_ / "token";
  std::ofstream(token) << "uploader-token-0123456789\n";
  ServeProcess server;
  ASSERT_NO_FATAL_FAILURE(start(server, {"--token-file", token.string()}));
  std::vector<std::string> logs = make_logs(1);
  const fs::path a = scratch_ / "vmcore-dmesg.txt", b = scratch_ / "dmesg-efi-1";
  std::ofstream(a) << logs[0];
  std::ofstream(b) << logs[1];
  const std::string cmd = "KTRIAGE_URL=" + server.url() + " KTRIAGE_TOKEN_FILE=" + token.string() +
                          " KTRIAGE_HOST=db3 sh " KTRIAGE_SOURCE_DIR "/examples/uploader/ktriage-upload.sh " +
                          a.string() + " " + b.string() + " 2>&1";
  const std::string first = run_command(cmd);
  // One answer a line: every report of both files stored, under the host given.
  size_t answered = 0, answers = 0;
  std::istringstream lines(first);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const Json answer = Json::parse(line, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << first;
    EXPECT_EQ(answer["host"], "db3");
    for (const Json& r : answer["reports"]) EXPECT_TRUE(r["stored"].get<bool>()) << line;
    answered += answer["reports"].size();
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << first;
  EXPECT_EQ(answered, 5u) << first;  // xfs-panic.log has 2 reports, arm-ppc-s390-mixed.log 3
  const size_t stored = stored_reports();
  EXPECT_EQ(stored, answered);
  const std::string again = run_command(cmd);
  EXPECT_THAT(again, Not(HasSubstr("\"stored\":true"))) << again;
  EXPECT_EQ(stored_reports(), stored);
  // Without the token: curl fails, the script says so.
  const std::string denied = run_command("KTRIAGE_URL=" + server.url() + " KTRIAGE_TOKEN_FILE=/nonexistent sh " +
                                         KTRIAGE_SOURCE_DIR "/examples/uploader/ktriage-upload.sh " + a.string() +
                                         " 2>&1; echo status=$?");
  EXPECT_THAT(denied, HasSubstr("401"));
  EXPECT_THAT(denied, HasSubstr("status=1"));
}

INSTANTIATE_TEST_SUITE_P(Backends, ServeTest, ::testing::Values(Backend::sqlite, Backend::postgresql), backend_name);

}  // namespace
}  // namespace ktriage::test

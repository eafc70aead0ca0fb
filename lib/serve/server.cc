// The HTTP side of `ktriage serve` on cpp-httplib: limits, access checks,
// routes, JSON errors, metrics, and a bounded pool of connection threads.
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ktriage/serve.h"
#include "serve/service.h"
#include "support/json_text.h"

namespace ktriage::serve {

// ---- store connections -------------------------------------------------

Expected<StorePool::Lease> StorePool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<store::Store> s = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(s));
    }
  }
  Expected<std::unique_ptr<store::Store>> s = store::Store::open(url_, store::OpenMode::existing);
  if (!s) return s.error();
  return Lease(*this, std::move(*s));
}

void StorePool::give_back(std::unique_ptr<store::Store> s) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(s));
}

// ---- metrics -------------------------------------------------------------

void Metrics::request(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), std::string(method), status}];
  if (seconds < 0) return;
  Histogram& h = latency_[std::string(route)];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::ingested(size_t stored, size_t duplicates, size_t bytes) {
  std::lock_guard lock(mu_);
  stored_ += stored;
  duplicates_ += duplicates;
  bytes_ += bytes;
}

std::string Metrics::text() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP ktriage_http_requests_total HTTP requests answered, by route template, method and status.\n"
      "# TYPE ktriage_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("ktriage_http_requests_total{{route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n", std::get<0>(key),
                       std::get<1>(key), std::get<2>(key), n);
  out +=
      "# HELP ktriage_http_request_duration_seconds Time from the request's headers to its answer, by route.\n"
      "# TYPE ktriage_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("ktriage_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBuckets[i], h.counts[i]);
    out += fmt::format("ktriage_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route, h.count);
    out += fmt::format("ktriage_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    out += fmt::format("ktriage_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out += fmt::format(
      "# HELP ktriage_ingested_reports_total Reports received in uploads: new to the store, or already there.\n"
      "# TYPE ktriage_ingested_reports_total counter\n"
      "ktriage_ingested_reports_total{{result=\"stored\"}} {}\n"
      "ktriage_ingested_reports_total{{result=\"duplicate\"}} {}\n"
      "# HELP ktriage_ingested_bytes_total Bytes of uploaded logs, after decompression.\n"
      "# TYPE ktriage_ingested_bytes_total counter\n"
      "ktriage_ingested_bytes_total {}\n"
      "# HELP ktriage_http_connections Connections being served now.\n"
      "# TYPE ktriage_http_connections gauge\n"
      "ktriage_http_connections {}\n",
      stored_, duplicates_, bytes_, connections_.load());
  return out;
}

// ---- shared pieces -------------------------------------------------------

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md.data(), &len, EVP_sha256(), nullptr);
  return md;
}

}  // namespace

Service::Service(Options o) : options(std::move(o)), stores(options.database), token_digest(sha256(options.token)) {}

void json_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(support::json_text(nlohmann::json{{"error", message}}) + "\n", "application/json");
}

bool valid_bucket_id(std::string_view id) {
  return id.size() >= 4 && id.size() <= 16 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::optional<int64_t> parse_report_id(std::string_view id) {
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  const int64_t n = std::stoll(std::string(id));
  return n > 0 ? std::optional<int64_t>(n) : std::nullopt;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

namespace {

// ---- access --------------------------------------------------------------

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && len > 0; --i) --len;  // padding decoded as zeros
  out.resize(len);
  return out;
}

// The token of "Bearer TOKEN", or the password of "Basic base64(user:TOKEN)"
// (what a browser sends after asking).
std::optional<std::string> presented_token(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.starts_with("Bearer ")) return auth.substr(7);
  if (auth.starts_with("Basic ")) {
    std::optional<std::string> pair = base64_decode(auth.substr(6));
    if (!pair) return std::nullopt;
    const size_t colon = pair->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return pair->substr(colon + 1);
  }
  return std::nullopt;
}

// Digests of equal size compared in constant time: neither the token's
// length nor its first differing byte shows in the time taken.
bool token_ok(const Service& s, const httplib::Request& req) {
  std::optional<std::string> given = presented_token(req);
  if (!given) return false;
  const std::array<unsigned char, 32> d = sha256(*given);
  return CRYPTO_memcmp(d.data(), s.token_digest.data(), d.size()) == 0;
}

enum class Access { open, read, write };

Access access_of(const httplib::Request& req) {
  if (req.path == "/healthz") return Access::open;
  if (req.method == "POST" || req.method == "PUT" || req.method == "DELETE" || req.method == "PATCH")
    return Access::write;
  return Access::read;
}

bool allowed(const Service& s, const httplib::Request& req) {
  if (s.options.token.empty()) return true;  // loopback only, checked at start
  switch (access_of(req)) {
    case Access::open: return true;
    case Access::read: return s.options.public_read || token_ok(s, req);
    case Access::write: return token_ok(s, req);
  }
  return false;
}

void deny(httplib::Response& res, const httplib::Request& req) {
  // Browsers ask for the token as a password on pages; API clients see Bearer.
  const bool page = !req.path.starts_with("/api/") && req.path != "/metrics";
  res.set_header("WWW-Authenticate", page ? R"(Basic realm="ktriage", charset="UTF-8")" : R"(Bearer realm="ktriage")");
  json_error(res, 401,
             access_of(req) == Access::write
                 ? "uploads need 'Authorization: Bearer TOKEN' with the server's --token-file token"
                 : "reading needs 'Authorization: Bearer TOKEN' (the server was started without --public-read)");
}

// The route a request is counted under, and when it started (one request
// at a time per thread, so thread-local).
thread_local const char* t_route = nullptr;
thread_local std::chrono::steady_clock::time_point t_start;
thread_local bool t_started = false;

using Handler = void (*)(Service&, const httplib::Request&, httplib::Response&);

httplib::Server::Handler route(Service& s, const char* name, Handler h) {
  return [&s, name, h](const httplib::Request& req, httplib::Response& res) {
    t_route = name;
    h(s, req, res);
  };
}

void security_headers(httplib::Response& res) {
  // No script, no external resource: even markup that slipped through
  // escaping could not run or load anything.
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
                 "base-uri 'none'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

// What cpp-httplib's own error statuses mean, for their JSON body.
std::string status_text(int status) {
  switch (status) {
    case 400: return "malformed request";
    case 404: return "no such page or API";
    case 405: return "method not allowed";
    case 413: return "the request is larger than the server accepts";
    case 414: return "the request's URI is too long";
    case 415: return "unsupported Content-Encoding (gzip, deflate and br are accepted)";
    case 416: return "unsatisfiable range";
    default: return fmt::format("HTTP status {}", status);
  }
}

}  // namespace

void install_routes(httplib::Server& http, Service& s) {
  const Limits& l = s.options.limits;
  http.set_payload_max_length(l.max_body_bytes);
  http.set_read_timeout(l.io_timeout);
  http.set_write_timeout(l.io_timeout);
  http.set_keep_alive_timeout(l.keep_alive.count());
  http.set_keep_alive_max_count(1000);
  // cpp-httplib writes a response's headers and body separately: with Nagle
  // on, the body waits for the client's delayed ACK (40 ms on Linux).
  http.set_tcp_nodelay(true);

  http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    t_start = std::chrono::steady_clock::now();
    t_started = true;
    t_route = nullptr;
    security_headers(res);
    if (allowed(s, req)) return httplib::Server::HandlerResponse::Unhandled;
    t_route = "denied";
    deny(res, req);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A client that waits for "100 Continue" before sending a body learns of
  // a missing token or an oversize body before sending it.
  http.set_expect_100_continue_handler([&s](const httplib::Request& req, httplib::Response& res) {
    if (!allowed(s, req)) {
      deny(res, req);
      return 401;
    }
    uint64_t length = 0;
    const std::string declared = req.get_header_value("Content-Length");
    std::from_chars(declared.data(), declared.data() + declared.size(), length);
    if (length > s.options.limits.max_body_bytes) {
      json_error(res, 413,
                 fmt::format("the body is larger than the limit of {} bytes", s.options.limits.max_body_bytes));
      return 413;
    }
    return 100;
  });

  http.Post("/api/v1/logs",
            [&s](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
              t_route = "/api/v1/logs";
              handle_upload(s, req, res, reader);
            });
  http.Get("/api/v1/buckets", route(s, "/api/v1/buckets", handle_api_buckets));
  http.Get(R"(/api/v1/buckets/([^/]*))", route(s, "/api/v1/buckets/{id}", handle_api_bucket));
  http.Get(R"(/api/v1/reports/([^/]*))", route(s, "/api/v1/reports/{id}", handle_api_report));
  http.Get("/healthz", route(s, "/healthz", handle_healthz));
  http.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    t_route = "/metrics";
    res.set_content(s.metrics.text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/", route(s, "/", handle_page_buckets));
  http.Get(R"(/buckets/([^/]*))", route(s, "/buckets/{id}", handle_page_bucket));
  http.Get(R"(/reports/([^/]*))", route(s, "/reports/{id}", handle_page_report));

  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) json_error(res, res.status, status_text(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
    std::string what = "unknown exception";
    try {
      if (e) std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    std::fprintf(stderr, "ktriage serve: %s %s: internal error: %s\n", req.method.c_str(), req.path.c_str(),
                 what.c_str());
    json_error(res, 500, "internal error");
  });
  // Counted before the response is written (cpp-httplib calls the logger
  // after): a client that reads /metrics right after an answer sees it counted.
  http.set_post_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    double seconds = -1;
    if (t_started) seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    s.metrics.request(t_route ? t_route : "other", req.method, res.status, seconds);
    t_route = nullptr;
    t_started = false;
  });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (res.status >= 500)
      std::fprintf(stderr, "ktriage serve: %s %s: %d\n", req.method.c_str(), req.path.c_str(), res.status);
  });
}

namespace {

// Connection threads: `threads` serve connections, at most `queue` more
// wait; then the accept loop waits too, leaving new connections in the
// kernel's backlog. (cpp-httplib's own pool queues without bound; its listen
// backlog is 5, and a connection the full backlog drops gets no answer, so
// the queue, not the backlog, holds the waiting clients.)
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t queue, Metrics& metrics) : queue_(queue), metrics_(metrics) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return jobs_.size() < queue_ || stopping_; });
    jobs_.push_back(std::move(fn));  // even when stopping: the job closes its socket
    not_empty_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && workers_.empty()) return;
      stopping_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping, and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      metrics_.connection(+1);
      job();
      metrics_.connection(-1);
    }
  }

  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  size_t queue_;
  bool stopping_ = false;
  Metrics& metrics_;
};

}  // namespace

struct Server::Impl {
  explicit Impl(Options o) : service(std::move(o)) {}
  Service service;
  httplib::Server http;
  bool bound = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

Expected<std::unique_ptr<Server>> Server::create(Options options) {
  if (!options.rules) return Error{"serve: no signature rules"};
  if (options.token.empty() && !is_loopback(options.host))
    return Error{
        fmt::format("refusing to listen on {} without --token-file: anyone who can reach it could post "
                    "and read crash logs (use 127.0.0.1, or give a token file)",
                    options.host)};
  if (options.limits.max_connections == 0 || options.limits.max_body_bytes == 0)
    return Error{"--max-connections and --max-body must be positive"};
  Expected<std::unique_ptr<store::Store>> db = store::Store::open(options.database);
  if (!db) return db.error();
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->service.serialize_writes = (*db)->backend() == "sqlite";
  impl->service.stores.add(std::move(*db));
  Service& s = impl->service;
  const size_t threads = s.options.limits.max_connections;
  // Waiting connections cost a descriptor each: 256 stay well within the
  // usual limit of 1024 next to the default 64 threads.
  const size_t waiting = std::max<size_t>(threads, 256);
  impl->http.new_task_queue = [&s, threads, waiting] { return new BoundedPool(threads, waiting, s.metrics); };
  install_routes(impl->http, s);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Expected<int> Server::bind() {
  const Options& o = impl_->service.options;
  int port = o.port;
  errno = 0;
  if (o.port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
    if (port < 0) port = 0;
  } else if (!impl_->http.bind_to_port(o.host, o.port)) {
    port = 0;
  }
  if (port == 0)
    return Error{
        fmt::format("cannot listen on {}:{}: {}", o.host, o.port, errno ? std::strerror(errno) : "address not usable")};
  impl_->bound = true;
  return port;
}

void Server::run() {
  if (impl_->bound) impl_->http.listen_after_bind();
}

void Server::stop() { impl_->http.stop(); }

}  // namespace ktriage::serve

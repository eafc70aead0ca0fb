// libFuzzer target for the HTTP request handling of `ktriage serve`
// (fuzz-link: ktriage_serve).
//
// The input goes through cpp-httplib's request parsing and every route of
// lib/serve (uploads into a scratch SQLite store, the read API, the
// dashboard pages) as bytes from a socket would, via Server::process_request
// on an in-memory stream. The first byte picks the framing, so that logs
// and short strings are useful seeds:
//   0: the bytes are the whole request stream (up to 3 kept-alive requests)
//   1: the bytes are the body of POST /api/v1/logs
//   2: the same with Content-Encoding: gzip (so: mostly malformed gzip)
//   3: the bytes are the path and query of a GET (API and pages)
// Any bytes must be answered without a crash or sanitizer report, and:
//  - every request gets one answer (after any 1xx) with a status line and a
//    body of its Content-Length (none to a HEAD), and none is a 500 (an
//    exception that escaped a handler);
//  - every JSON error answer is an object with an "error" string;
//  - no HTML page holds markup that came from the input: our pages have no
//    <script>, <img> or <iframe>, so none may appear.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ktriage/bucket.h"
#include "ktriage/store.h"
#include "serve/service.h"
#include "support/io.h"

namespace {

#define CHECK(cond, what)                                                                   \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "http_fuzz: property failed: %s: %.*s\n", #cond,                \
                   static_cast<int>(std::min<size_t>((what).size(), 2000)), (what).data()); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

// A connection whose peer sent `in` and reads what we write.
class MemoryStream final : public httplib::Stream {
 public:
  MemoryStream(std::string_view in, std::string& out) : in_(in), out_(out) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* p, size_t n) override {
    const size_t k = std::min(n, in_.size() - at_);
    std::copy_n(in_.data() + at_, k, p);
    at_ += k;
    return static_cast<ssize_t>(k);
  }
  ssize_t write(const char* p, size_t n) override {
    out_.append(p, n);
    return static_cast<ssize_t>(n);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return 0; }
  bool done() const { return at_ >= in_.size(); }

 private:
  std::string_view in_;
  size_t at_ = 0;
  std::string& out_;
};

class FuzzServer : public httplib::Server {
 public:
  using httplib::Server::process_request;
};

// One store and server per process, renewed now and then so that the
// store stays small.
struct Fixture {
  std::filesystem::path dir;
  ktriage::SignatureRules rules;
  std::unique_ptr<ktriage::serve::Service> service;
  FuzzServer server;
};

std::unique_ptr<Fixture> make_fixture() {
  auto f = std::make_unique<Fixture>();
  const char* shm = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  f->dir = std::filesystem::path(shm) / ("ktriage-http-fuzz-" + std::to_string(::getpid()));
  std::filesystem::remove_all(f->dir);
  ktriage::Expected<std::string> text = ktriage::support::read_file(ktriage::default_signature_rules_path());
  if (!text) std::abort();
  ktriage::Expected<ktriage::SignatureRules> rules = ktriage::SignatureRules::parse(*text, "rules");
  if (!rules) std::abort();
  f->rules = std::move(*rules);
  ktriage::serve::Options o;
  o.database = "sqlite:" + (f->dir / "fuzz.db").string();
  o.rules = &f->rules;
  o.page_size = 5;
  o.limits.max_body_bytes = 256 << 10;
  o.limits.request_timeout = std::chrono::seconds(5);
  ktriage::Expected<std::unique_ptr<ktriage::store::Store>> db = ktriage::store::Store::open(o.database);
  if (!db) std::abort();
  f->service = std::make_unique<ktriage::serve::Service>(std::move(o));
  f->service->stores.add(std::move(*db));
  ktriage::serve::install_routes(f->server, *f->service);
  return f;
}

// The answers to one request: interim 1xx answers, then the final one with
// a body of its Content-Length, or none when the request was, or may have
// been, a HEAD (httplib answers a request line it refuses before it hands
// us the request).
void check_answers(std::string_view out, bool may_be_head) {
  size_t at = 0;
  while (at < out.size()) {
    std::string_view rest = out.substr(at);
    CHECK(rest.starts_with("HTTP/1.1 "), rest);
    const int status = std::atoi(std::string(rest.substr(9, 3)).c_str());
    CHECK(status >= 100 && status < 600 && status != 500, rest);
    const size_t end = rest.find("\r\n\r\n");
    CHECK(end != std::string_view::npos, rest);
    const std::string_view head = rest.substr(0, end);
    size_t length = 0;
    if (size_t cl = head.find("\r\nContent-Length: "); cl != std::string_view::npos)
      length = std::strtoull(std::string(head.substr(cl + 18, 20)).c_str(), nullptr, 10);
    at += end + 4;
    if (status < 200) continue;
    const std::string_view body = rest.substr(end + 4);
    CHECK(body.size() == length || (may_be_head && body.empty()), rest);
    if (!body.empty() && head.find("\r\nContent-Type: application/json") != std::string_view::npos && status >= 400) {
      nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
      CHECK(j.is_object() && j.contains("error") && j["error"].is_string(), body);
    }
    if (head.find("\r\nContent-Type: text/html") != std::string_view::npos) {
      for (std::string_view tag : {"<script", "<img", "<iframe", "<SCRIPT", "<IMG"})
        CHECK(body.find(tag) == std::string_view::npos, body);
    }
    return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Fixture> fixture;
  static size_t runs = 0;
  if (!fixture || ++runs % 4096 == 0) {
    if (fixture) std::filesystem::remove_all(fixture->dir);
    fixture.reset();
    fixture = make_fixture();
  }
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string request;
  switch (data[0] % 4) {
    case 0: request = bytes; break;
    case 1:
    case 2:
      request = "POST /api/v1/logs HTTP/1.1\r\nHost: fuzz\r\nX-Ktriage-Host: fuzz\r\n";
      if (data[0] % 4 == 2) request += "Content-Encoding: gzip\r\n";
      request += "Content-Length: " + std::to_string(bytes.size()) + "\r\n\r\n";
      request += bytes;
      break;
    case 3: request = "GET /" + std::string(bytes.substr(0, bytes.find_first_of("\r\n "))) + " HTTP/1.1\r\n\r\n"; break;
  }
  std::string out;
  MemoryStream stream(request, out);
  for (int i = 0; i < 3 && !stream.done(); ++i) {
    bool closed = false;
    std::optional<std::string> method;
    const size_t from = out.size();
    fixture->server.process_request(stream, false, closed, [&](httplib::Request& req) { method = req.method; });
    check_answers(std::string_view(out).substr(from), !method || *method == "HEAD");
    if (closed) break;
  }
  return 0;
}

// `ktriage serve`: crash collection over HTTP and a dashboard, in one
// process that keeps no state of its own: every report, bucket and count is
// read from and written to the store (lib/store), so several processes on
// one PostgreSQL database serve the same fleet behind any load balancer.
//
//   serve::Options o;
//   o.database = "postgresql://ktriage@db.example/crashes";
//   o.rules = &rules;                        // signature rules, required
//   o.kb = &kb;                              // known bugs, optional
//   Expected<std::unique_ptr<serve::Server>> s = serve::Server::create(o);
//   Expected<int> port = (*s)->bind();       // o.port 0: any free port
//   (*s)->run();                             // until stop(), from another thread
//
// HTTP interface (docs/serve.md):
//   POST /api/v1/logs              a console log as the body (gzip accepted);
//                                  201 {"reports":[{id,bucket,title,...}]} once
//                                  committed, 200 with the same ids when every
//                                  report was already stored
//   GET  /api/v1/buckets           ?since=&kernel=&host=&q=&limit=&offset=
//   GET  /api/v1/buckets/{id}      GET /api/v1/reports/{id}
//   GET  /healthz, /metrics        liveness and the database; Prometheus text
//   GET  /, /buckets/{id}, /reports/{id}   the dashboard (HTML, no JavaScript)
// Errors are JSON: {"error": "one line"} with a 4xx or 5xx status.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "ktriage/bucket.h"
#include "ktriage/error.h"
#include "ktriage/kb.h"

namespace ktriage::serve {

struct Limits {
  size_t max_body_bytes = 16 << 20;  // an upload, after gzip decoding too: larger is 413
  // Receiving, analysing and storing one request; slower is 408/503 and
  // stores nothing. Reads and writes on a socket that stall for
  // `io_timeout` end the connection.
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds io_timeout{10};
  // Connections served at once (one thread each); as many more wait to be
  // served, the rest wait in the kernel's listen backlog.
  size_t max_connections = 64;
  std::chrono::seconds keep_alive{5};  // an idle kept-alive connection is closed after this
};

struct Options {
  std::string database;            // as for `ktriage ingest --db`
  std::string host = "127.0.0.1";  // address to listen on
  int port = 8080;                 // 0: any free port (bind() says which)
  // Uploads need "Authorization: Bearer TOKEN" (or HTTP Basic auth with
  // TOKEN as the password, which browsers ask for). Empty: no token; then
  // only a loopback address may be listened on, and anyone who can connect
  // may post and read.
  std::string token;
  bool public_read = false;  // with a token: reads (API and dashboard) need none
  Limits limits;
  size_t page_size = 50;                  // dashboard rows per page
  const SignatureRules* rules = nullptr;  // required
  const KnowledgeBase* kb = nullptr;      // optional: known-bug matches of uploads
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

class Server {
 public:
  // Opens the database once (applying its migrations) and checks the
  // options: a missing rules pointer, a non-loopback address without a
  // token, an unusable database are errors.
  static Expected<std::unique_ptr<Server>> create(Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns its port.
  Expected<int> bind();
  // Serves until stop(); connections in progress are finished first.
  void run();
  // From any thread (a signal-handling thread, say).
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktriage::serve

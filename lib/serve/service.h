// What the request handlers of `ktriage serve` share (lib/serve internal):
// the options, a pool of store connections, the metrics, and the routes
// installed on a cpp-httplib server. The fuzz target (tests/fuzz/http_fuzz.cc)
// installs the same routes and feeds requests through process_request.
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/serve.h"
#include "ktriage/store.h"

namespace ktriage::serve {

// Store connections, one per request in flight, opened on demand and kept
// for the next request. A connection that failed is dropped, not reused, so
// a restarted database is reconnected to.
class StorePool {
 public:
  explicit StorePool(std::string url) : url_(std::move(url)) {}

  class Lease {
   public:
    Lease(StorePool& pool, std::unique_ptr<store::Store> s) : pool_(&pool), store_(std::move(s)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (store_ && !failed_) pool_->give_back(std::move(store_));
    }
    store::Store& operator*() { return *store_; }
    store::Store* operator->() { return store_.get(); }
    void failed() { failed_ = true; }

   private:
    StorePool* pool_;
    std::unique_ptr<store::Store> store_;
    bool failed_ = false;
  };

  Expected<Lease> acquire();
  void add(std::unique_ptr<store::Store> s) { give_back(std::move(s)); }

 private:
  void give_back(std::unique_ptr<store::Store> s);
  std::string url_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::Store>> idle_;
};

// Prometheus metrics of this process (each process of a scaled-out service
// is scraped on its own).
class Metrics {
 public:
  // The route's template ("/api/v1/buckets/{id}"), never the raw path, so
  // the label set stays small.
  void request(std::string_view route, std::string_view method, int status, double seconds);
  void ingested(size_t stored, size_t duplicates, size_t bytes);
  void connection(int delta) { connections_ += delta; }
  std::string text() const;

  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  uint64_t stored_ = 0, duplicates_ = 0, bytes_ = 0;
  std::atomic<int64_t> connections_{0};
};

struct Service {
  explicit Service(Options o);

  Options options;
  StorePool stores;
  Metrics metrics;
  // SQLite has one writer at a time; writers of this process take turns
  // here instead of sleeping in SQLite's busy handler (other processes
  // still wait there).
  bool serialize_writes = false;
  std::mutex writer;
  std::array<unsigned char, 32> token_digest{};  // SHA-256 of options.token
};

// Every route, the access checks and the JSON error bodies.
void install_routes(httplib::Server& http, Service& service);

// Request handlers, by kind (api.cc, pages.cc).
void handle_upload(Service& s, const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader);
void handle_api_buckets(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_api_bucket(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_api_report(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_healthz(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_page_buckets(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_page_bucket(Service& s, const httplib::Request& req, httplib::Response& res);
void handle_page_report(Service& s, const httplib::Request& req, httplib::Response& res);

// {"error": message} with `status`.
void json_error(httplib::Response& res, int status, std::string_view message);

// Ids in paths and queries, checked before anything else sees them: a
// bucket id is 4 to 16 lower-case hex digits, a report id a positive number.
bool valid_bucket_id(std::string_view id);
std::optional<int64_t> parse_report_id(std::string_view id);

// The filter of ?since=&kernel=&host=&q=&limit=&offset=&sort=; an error
// names the bad parameter.
Expected<store::Filter> filter_from_query(const httplib::Request& req, size_t default_limit, size_t max_limit);

}  // namespace ktriage::serve

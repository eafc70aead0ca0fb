// `ktriage serve` under load on 127.0.0.1, against `ktriage ingest` of the
// same logs, in one run, on a fresh database each time:
//
//   serve_bench [--copies N] [--corpus DIR] [--clients 1,8,32] [--backends sqlite,postgresql]
//               [--dashboard REPORTS]
//
//   ingest       `ktriage ingest --db URL LOG...` (a process: start-up, the
//                knowledge base load and every report included)
//   serve xC     `ktriage serve`, C clients (threads, each its own kept-alive
//                connection) posting the logs round-robin, one log per
//                request; reports/s over the wall time of all uploads, and
//                p50/p99 of the request latencies
// Input: the repository's crash logs made unique N times (default 100:
// 300 logs, 600 reports), or every console log of a syzkaller corpus
// (--corpus, e.g. ../shared/corpus/syzkaller). PostgreSQL is a server
// started here (tests/common/postgres_server, durable: fsync on).
//
// --dashboard R: also seeds a store with R reports (the input's reports
// cloned over 2,000 buckets, 30% of them in one, 500 hosts and 30 days,
// written in batches) and times the dashboard's pages and the read API on it
// (p50/p99 of 20 loads each, one client).
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/postgres_server.h"
#include "common/serve_process.h"
#include "common/syzkaller_corpus.h"
#include "ktriage/bucket.h"
#include "ktriage/ingest.h"
#include "ktriage/store.h"
#include "serve/helpers.h"
#include "support/io.h"

namespace fs = std::filesystem;
using namespace ktriage;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "serve_bench: %s\n", message.c_str());
  std::exit(2);
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string x; std::getline(in, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

struct Row {
  std::string backend, mode;
  size_t reports = 0;
  double seconds = 0;
  double p50 = -1, p99 = -1;  // ms, per request
};

// A fresh database on the backend: an SQLite file, or a new PostgreSQL database.
struct Databases {
  fs::path dir;
  test::PostgresServer* pg = nullptr;
  int serial = 0;
  std::string fresh(const std::string& backend) {
    const std::string name = "bench" + std::to_string(serial++);
    if (backend == "sqlite") return "sqlite:" + (dir / (name + ".db")).string();
    Expected<std::string> url = pg->create_database(name);
    if (!url) die(url.error().message);
    return *url;
  }
};

Row run_ingest(const std::string& backend, const std::string& url, const std::vector<std::string>& files) {
  std::vector<std::string> argv = {KTRIAGE_BINARY, "ingest", "--db", url, "--host", "bench"};
  argv.insert(argv.end(), files.begin(), files.end());
  const Clock::time_point t0 = Clock::now();
  std::fflush(stdout);  // or the child's freopen prints what this process buffered
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    if (FILE* f = std::freopen("/dev/null", "w", stdout); !f) _exit(126);
    ::execv(a[0], a.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds = since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("ktriage ingest failed");
  Expected<std::unique_ptr<store::Store>> s = store::Store::open(url);
  if (!s) die(s.error().message);
  return {backend, "ktriage ingest", (*s)->report_keys()->size(), seconds};
}

Row run_serve(const std::string& backend, const std::string& url, int clients, const std::vector<std::string>& logs,
              const fs::path& dir) {
  test::ServeProcess server;
  if (!server.start(KTRIAGE_BINARY, {"--db", url, "--max-connections", "64"}, dir / "serve.log"))
    die("ktriage serve did not start: " + server.log());
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<size_t> reports{0}, failures{0};
  const Clock::time_point t0 = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&, c] {
        httplib::Client cl("127.0.0.1", server.port());
        cl.set_keep_alive(true);
        cl.set_tcp_nodelay(true);  // as curl does by default: a request's headers and body are separate writes
        cl.set_read_timeout(120);
        for (size_t i = static_cast<size_t>(c); i < logs.size(); i += static_cast<size_t>(clients)) {
          const Clock::time_point r0 = Clock::now();
          httplib::Result r = cl.Post("/api/v1/logs", {{"X-Ktriage-Host", "bench"}}, logs[i], "text/plain");
          latencies[static_cast<size_t>(c)].push_back(since(r0) * 1000);
          if (!r || r->status != 201) {
            ++failures;
            std::fprintf(stderr, "serve_bench: upload %zu: %s\n", i,
                         r ? fmt::format("{} {}", r->status, r->body).c_str() : httplib::to_string(r.error()).c_str());
            continue;
          }
          const std::string& body = r->body;
          for (size_t at = 0; (at = body.find("\"id\":", at)) != std::string::npos; ++at) ++reports;
        }
      });
  }
  const double seconds = since(t0);
  if (failures) die(std::to_string(failures.load()) + " uploads failed; " + server.log());
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  return {backend, "serve x" + std::to_string(clients), reports.load(), seconds, percentile(all, 0.5),
          percentile(all, 0.99)};
}

// R reports cloned from `base` over 2,000 buckets, 500 hosts, 30 days.
void seed(const std::string& url, const std::vector<store::NewReport>& base, size_t count) {
  Expected<std::unique_ptr<store::Store>> s = store::Store::open(url);
  if (!s) die(s.error().message);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<store::NewReport> batch;
  for (size_t i = 0; i < count; ++i) {
    store::NewReport r = base[i % base.size()];
    // Skewed like a fleet's: bucket 0 gets 30% of the reports.
    const size_t bucket = i % 10 < 3 ? 0 : (i * 7919) % 2000;
    r.signature += " #" + std::to_string(bucket);
    r.title += " #" + std::to_string(bucket);
    r.bucket_id = sha256_hex(r.signature).substr(0, 16);
    r.host = "host-" + std::to_string(i % 500);
    r.received_at = now - static_cast<int64_t>((i * 104729) % (30 * 86400));
    r.content_hash = sha256_hex("seed" + std::to_string(i));
    batch.push_back(std::move(r));
    if (batch.size() == 1000 || i + 1 == count) {
      if (Expected<std::vector<store::PutResult>> ok = (*s)->put(batch); !ok) die(ok.error().message);
      batch.clear();
    }
  }
}

void run_dashboard(const std::string& backend, const std::string& url, size_t count,
                   const std::vector<store::NewReport>& base, const fs::path& dir) {
  const Clock::time_point t0 = Clock::now();
  seed(url, base, count);
  std::printf("\n%s: %zu reports seeded in %.1f s\n", backend.c_str(), count, since(t0));
  test::ServeProcess server;
  if (!server.start(KTRIAGE_BINARY, {"--db", url}, dir / "serve.log")) die("ktriage serve did not start");
  httplib::Client cl("127.0.0.1", server.port());
  cl.set_read_timeout(120);
  httplib::Result top = cl.Get("/api/v1/buckets?limit=1");
  if (!top || top->status != 200) die("no buckets");
  const std::string bucket = top->body.substr(top->body.find("\"id\": \"") + 7, 16);
  httplib::Result detail = cl.Get("/api/v1/buckets/" + bucket + "?limit=1");
  const size_t at = detail->body.find("\"recent_reports\"");
  const size_t id_at = detail->body.find("\"id\": ", at) + 6;
  const std::string report = detail->body.substr(id_at, detail->body.find_first_of(",\n", id_at) - id_at);
  std::printf("| %s, %zu reports | p50 ms | p99 ms |\n| --- | --- | --- |\n", backend.c_str(), count);
  const std::vector<std::pair<std::string, std::string>> pages = {
      {"GET / (bucket table, 50 rows)", "/"},
      {"GET /?page=20", "/?page=20"},
      {"GET /?q=paging (search)", "/?q=paging"},
      {"GET /?sort=last&since=7d", "/?sort=last&since=7d"},
      {"GET /buckets/ID (biggest)", "/buckets/" + bucket},
      {"GET /buckets/ID?page=10", "/buckets/" + bucket + "?page=10"},
      {"GET /reports/ID", "/reports/" + report},
      {"GET /api/v1/buckets", "/api/v1/buckets"},
      {"GET /api/v1/buckets/ID", "/api/v1/buckets/" + bucket},
  };
  for (const auto& [name, path] : pages) {
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
      const Clock::time_point r0 = Clock::now();
      httplib::Result r = cl.Get(path);
      ms.push_back(since(r0) * 1000);
      if (!r || r->status != 200) die(path + ": failed");
    }
    std::printf("| %s | %.1f | %.1f |\n", name.c_str(), percentile(ms, 0.5), percentile(ms, 0.99));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int copies = 100;
  fs::path corpus;
  std::vector<int> clients = {1, 8, 32};
  std::vector<std::string> backends = {"sqlite", "postgresql"};
  size_t dashboard = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--copies" && i + 1 < argc) {
      copies = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--corpus" && i + 1 < argc) {
      corpus = argv[++i];
    } else if (a == "--clients" && i + 1 < argc) {
      clients.clear();
      for (const std::string& c : split(argv[++i])) clients.push_back(std::max(1, std::atoi(c.c_str())));
    } else if (a == "--backends" && i + 1 < argc) {
      backends = split(argv[++i]);
    } else if (a == "--dashboard" && i + 1 < argc) {
      dashboard = std::strtoull(argv[++i], nullptr, 10);
    } else {
      die("usage: serve_bench [--copies N] [--corpus DIR] [--clients 1,8,32] [--backends sqlite,postgresql] "
          "[--dashboard REPORTS]");
    }
  }

  std::vector<std::string> logs;
  if (!corpus.empty()) {
    for (const test::Case& c : test::load_cases(corpus)) logs.push_back(c.log);
    if (logs.empty()) die("no syzkaller corpus at " + corpus.string());
  } else {
    logs = test::make_logs(copies);
  }
  char tmpl[] = "/tmp/ktriage-serve-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) die("mkdtemp failed");
  Databases dbs{tmpl};
  std::vector<std::string> files;
  size_t bytes = 0;
  for (size_t i = 0; i < logs.size(); ++i) {
    const fs::path p = dbs.dir / ("log-" + std::to_string(i) + ".txt");
    std::ofstream(p, std::ios::binary) << logs[i];
    files.push_back(p.string());
    bytes += logs[i].size();
  }
  std::unique_ptr<test::PostgresServer> pg;
  if (std::find(backends.begin(), backends.end(), "postgresql") != backends.end()) {
    Expected<std::unique_ptr<test::PostgresServer>> started = test::PostgresServer::start({.durable = true});
    if (!started) die(started.error().message);
    pg = std::move(*started);
    dbs.pg = pg.get();
  }
  std::printf("input: %zu logs (%.1f MiB), %u cores; every run on a fresh database\n\n", logs.size(),
              static_cast<double>(bytes) / (1 << 20), std::thread::hardware_concurrency());
  std::printf("| backend | mode | reports | seconds | reports/s | p50 ms | p99 ms | vs ingest |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const std::string& backend : backends) {
    const Row ingest = run_ingest(backend, dbs.fresh(backend), files);
    const double ingest_rate = static_cast<double>(ingest.reports) / ingest.seconds;
    auto print = [&](const Row& r) {
      const double rate = static_cast<double>(r.reports) / r.seconds;
      std::printf("| %s | %s | %zu | %.2f | %.0f | %s | %s | %.2f |\n", r.backend.c_str(), r.mode.c_str(), r.reports,
                  r.seconds, rate, r.p50 < 0 ? "" : fmt::format("{:.1f}", r.p50).c_str(),
                  r.p99 < 0 ? "" : fmt::format("{:.1f}", r.p99).c_str(), rate / ingest_rate);
      std::fflush(stdout);
    };
    print(ingest);
    for (int c : clients) {
      const Row r = run_serve(backend, dbs.fresh(backend), c, logs, dbs.dir);
      if (r.reports != ingest.reports)
        die(fmt::format("serve stored {} reports, ingest {}", r.reports, ingest.reports));
      print(r);
    }
  }

  if (dashboard) {
    Expected<std::string> rules_text = support::read_file(default_signature_rules_path().string());
    Expected<SignatureRules> rules = SignatureRules::parse(*rules_text, "signature-rules.toml");
    if (!rules) die("cannot load the shipped signature rules");
    IngestOptions o;
    o.rules = &*rules;
    o.host = "seed";
    std::vector<store::NewReport> base;
    for (size_t i = 0; i < std::min<size_t>(logs.size(), 30); ++i) {
      Expected<std::vector<store::NewReport>> rows = prepare_log(logs[i], "seed.log", o, 0);
      if (rows) base.insert(base.end(), rows->begin(), rows->end());
    }
    if (base.empty()) die("no reports to seed with");
    for (const std::string& backend : backends) run_dashboard(backend, dbs.fresh(backend), dashboard, base, dbs.dir);
  }
  std::error_code ec;
  fs::remove_all(dbs.dir, ec);
  return 0;
}

// Ingest throughput against parsing, in one run on the same input: the
// syzkaller corpus uploaded R times (default 100) by R different hosts, so
// every upload is new to the store.
//
//   ingest_bench [--replicas R] [--corpus DIR] [--only parse,prepare,read,sqlite,postgresql]
//
// Modes, each on a fresh database:
//   parse         scan_logs: LogParser over every log, reports counted
//   prepare       ingest's per-report work without a database: signature,
//                 diagnosis and known bugs of the report, its parsed JSON,
//                 raw bytes and content hash
//   read          not ingest's: what reading a report back costs, its
//                 analysis and analyze --json (analyze_report, render_json);
//                 until schema 3 ingest did this for every report
//   sqlite x1/x2  ingest_logs into SQLite (WAL, synchronous=FULL), one
//                 ingester, then two at once (each half the uploads, own
//                 connection)
//   postgresql    the same into a PostgreSQL server started here
//   x1/x2         (tests/common/postgres_server, fsync on)
// Prints reports/s and time relative to parse (the target: storing
// costs at most 2x parsing).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/postgres_server.h"
#include "common/syzkaller_corpus.h"
#include "ktriage/ingest.h"
#include "ktriage/kb.h"
#include "ktriage/render.h"
#include "ktriage/store.h"
#include "support/io.h"

namespace fs = std::filesystem;
using namespace ktriage;

namespace {

struct Run {
  std::string mode;
  size_t reports = 0;
  double seconds = 0;
  double cpu = 0;  // CPU seconds of this process and, for PostgreSQL, of the server
};

// CPU seconds used so far by this process (all threads).
double self_cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of a process and its waited-for children (PostgreSQL's
// postmaster: a backend's time is added when its connection closes).
double process_cpu(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 17 && fields >> f; ++i)
    if (i >= 14) ticks += std::stod(f);  // utime, stime, cutime, cstime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "ingest_bench: %s\n", message.c_str());
  std::exit(2);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `ingesters` at once, each with its own connection to `url`, splitting the
// uploads between them.
Run ingest(const std::string& mode, const std::string& url, int ingesters, int replicas,
           const std::vector<std::string>& logs, const SignatureRules& rules, const KnowledgeBase& kb,
           pid_t server = -1) {
  std::atomic<size_t> reports{0};
  std::vector<std::string> errors(static_cast<size_t>(ingesters));
  std::vector<std::unique_ptr<store::Store>> stores;
  for (int i = 0; i < ingesters; ++i) {
    Expected<std::unique_ptr<store::Store>> s = store::Store::open(url);
    if (!s) die(s.error().message);
    stores.push_back(std::move(*s));
  }
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = self_cpu() + process_cpu(server);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < ingesters; ++i) {
      threads.emplace_back([&, i] {
        for (int r = i; r < replicas; r += ingesters) {
          IngestOptions o;
          o.host = "bench-host-" + std::to_string(r);
          o.rules = &rules;
          o.kb = &kb;
          Expected<IngestSummary> s = ingest_logs(*stores[static_cast<size_t>(i)], logs, o);
          if (!s) return void(errors[static_cast<size_t>(i)] = s.error().message);
          reports += s->stored;
        }
      });
    }
  }
  const double seconds = since(t0);
  stores.clear();  // closes the connections: the server's backends exit and count
  Run run{mode, reports, seconds, self_cpu() + process_cpu(server) - cpu0};
  for (const std::string& e : errors)
    if (!e.empty()) die(mode + ": " + e);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int replicas = 100;
  fs::path corpus = fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller";
  std::string only = "parse,prepare,read,sqlite,postgresql";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--replicas" && i + 1 < argc) replicas = std::max(1, std::atoi(argv[++i]));
    else if (a == "--corpus" && i + 1 < argc) corpus = argv[++i];
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else die("usage: ingest_bench [--replicas R] [--corpus DIR] [--only parse,prepare,read,sqlite,postgresql]");
  }
  auto wanted = [&](const char* m) { return ("," + only + ",").find(std::string(",") + m + ",") != std::string::npos; };

  // The corpus's console logs, one file each (the case headers stripped).
  std::vector<test::Case> cases = test::load_cases(corpus);
  if (cases.empty()) die("no syzkaller corpus at " + corpus.string());
  char tmpl[] = "/tmp/ktriage-bench-XXXXXX";
  if (!mkdtemp(tmpl)) die("mkdtemp failed");
  const fs::path dir = tmpl;
  std::vector<std::string> logs;
  uint64_t bytes = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    fs::path p = dir / ("log-" + std::to_string(i) + ".txt");
    std::ofstream(p, std::ios::binary) << cases[i].log;
    logs.push_back(p.string());
    bytes += cases[i].log.size();
  }
  Expected<std::string> rules_text = support::read_file(default_signature_rules_path().string());
  if (!rules_text) die(rules_text.error().message);
  Expected<SignatureRules> rules = SignatureRules::parse(*rules_text, "signature-rules.toml");
  Expected<KnowledgeBase> kb = KnowledgeBase::load({default_kb_dir()});
  if (!rules || !kb) die("cannot load the shipped rules or knowledge base");
  std::printf("input: %zu syzkaller logs (%.1f MiB) x %d uploads = %.0f MiB, %u cores\n", logs.size(),
              static_cast<double>(bytes) / (1 << 20), replicas,
              static_cast<double>(bytes) * replicas / (1 << 20), std::thread::hardware_concurrency());

  std::vector<Run> runs;
  if (wanted("parse")) {
    std::atomic<size_t> n{0};
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = self_cpu();
    for (int r = 0; r < replicas; ++r) {
      Expected<ScanStats> s = scan_logs(logs, {}, [&](ScannedReport&&) { ++n; });
      if (!s) die(s.error().message);
    }
    runs.push_back({"parse only", n, since(t0), self_cpu() - cpu0});
  }
  if (wanted("prepare")) {
    std::atomic<size_t> n{0};
    IngestOptions o;
    o.rules = &*rules;
    o.kb = &*kb;
    ScanOptions scan;
    scan.raw = true;
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = self_cpu();
    for (int r = 0; r < replicas; ++r) {
      o.host = "bench-host-" + std::to_string(r);
      Expected<ScanStats> s = scan_logs(logs, scan, [&](ScannedReport&& sr) {
        std::string source = logs[sr.source];
        store::NewReport row = prepare_report(std::move(sr), source, o, 0);
        if (!row.content_hash.empty()) ++n;
      });
      if (!s) die(s.error().message);
    }
    runs.push_back({"prepare (no database)", n, since(t0), self_cpu() - cpu0});
  }
  if (wanted("read")) {
    std::atomic<size_t> n{0};
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = self_cpu();
    for (int r = 0; r < replicas; ++r) {
      Expected<ScanStats> s = scan_logs(logs, {}, [&](ScannedReport&& sr) {
        Expected<Analysis> a = analyze_report(std::move(sr.report), logs[sr.source], &*kb);
        if (!a) die(a.error().message);
        std::ostringstream json;
        render_json(*a, json);
        if (json.tellp() > 0) ++n;
      });
      if (!s) die(s.error().message);
    }
    runs.push_back({"analysis (on read)", n, since(t0), self_cpu() - cpu0});
  }
  if (wanted("sqlite")) {
    for (int ingesters : {1, 2}) {
      fs::path db = dir / ("sqlite-" + std::to_string(ingesters) + ".db");
      runs.push_back(ingest("sqlite x" + std::to_string(ingesters), "sqlite:" + db.string(), ingesters, replicas,
                            logs, *rules, *kb));
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
    }
  }
  if (wanted("postgresql")) {
    Expected<std::unique_ptr<test::PostgresServer>> pg = test::PostgresServer::start({.durable = true});
    if (!pg) die(pg.error().message);
    for (int ingesters : {1, 2}) {
      Expected<std::string> url = (*pg)->create_database("bench" + std::to_string(ingesters));
      if (!url) die(url.error().message);
      runs.push_back(ingest("postgresql x" + std::to_string(ingesters), *url, ingesters, replicas, logs, *rules, *kb,
                            (*pg)->pid()));
    }
  }
  fs::remove_all(dir);

  // Wall time on a shared machine moves with everyone else's load; CPU time
  // per report much less. Both, as multiples of parsing's.
  auto find = [&](std::string_view prefix) -> const Run* {
    for (const Run& r : runs)
      if (r.mode.starts_with(prefix)) return &r;
    return nullptr;
  };
  const Run* parse = find("parse");
  const Run* prepare = find("prepare");
  auto per_report = [](const Run& r, bool cpu) { return (cpu ? r.cpu : r.seconds) / static_cast<double>(r.reports); };
  std::printf("\n%-22s %8s %8s %10s %8s %10s %10s %10s\n", "mode", "reports", "wall s", "reports/s", "cpu s",
              "wall/parse", "cpu/parse", "cpu/prepare");
  for (const Run& r : runs) {
    auto ratio = [&](const Run* base, bool cpu) { return base ? per_report(r, cpu) / per_report(*base, cpu) : 0.0; };
    std::printf("%-22s %8zu %8.2f %10.0f %8.2f %9.2fx %9.2fx %10.2fx\n", r.mode.c_str(), r.reports, r.seconds,
                r.reports / r.seconds, r.cpu, ratio(parse, false), ratio(parse, true), ratio(prepare, true));
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("\npeak RSS of this process: %ld MiB\n", ru.ru_maxrss / 1024);
  return 0;
}

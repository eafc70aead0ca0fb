// `ktriage query`: read buckets, reports and hosts back from the store.
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.h"
#include "fleet.h"
#include "ktriage/render_fleet.h"
#include "ktriage/store.h"

namespace ktriage::cli {
namespace {

struct QueryOptions {
  std::string db;
  bool json = false;
  std::string since;
  std::string kernel;
  std::string host;
  size_t limit = 0;
  std::string id;
  KbOptions kb;  // report --json: its analysis, computed now, names known bugs
};

enum class What { buckets, bucket, report, hosts };

int run_query(const QueryOptions& o, What what) {
  store::Filter filter;
  filter.kernel = o.kernel;
  filter.host = o.host;
  filter.limit = o.limit;
  if (!o.since.empty()) {
    Expected<int64_t> since = store::parse_since(o.since, static_cast<int64_t>(std::time(nullptr)));
    if (!since) return fail(since.error().message);
    filter.since = *since;
  }
  int64_t report_id = 0;
  if (what == What::report) {
    auto [end, ec] = std::from_chars(o.id.data(), o.id.data() + o.id.size(), report_id);
    if (ec != std::errc() || end != o.id.data() + o.id.size() || report_id <= 0)
      return fail("'" + o.id + "' is not a report id (a positive number, as ingest and query print them)");
  }
  Expected<std::unique_ptr<store::Store>> db =
      store::Store::open(o.db.empty() ? store::default_database() : o.db, store::OpenMode::existing);
  if (!db) return fail(db.error().message);
  store::Store& s = **db;
  RenderOptions r;
  r.color = colour_terminal();
  bool found = false;
  switch (what) {
    case What::buckets: {
      Expected<std::vector<store::BucketSummary>> b = s.buckets(filter);
      if (!b) return fail(b.error().message);
      o.json ? render_stored_buckets_json(*b, std::cout) : render_stored_buckets_text(*b, r, std::cout);
      found = !b->empty();
      break;
    }
    case What::bucket: {
      Expected<std::optional<store::BucketDetail>> b = s.bucket(o.id, filter);
      if (!b) return fail(b.error().message);
      if (!*b) return std::fprintf(stderr, "ktriage: no bucket %s\n", o.id.c_str()), kNothingFound;
      o.json ? render_bucket_detail_json(**b, std::cout) : render_bucket_detail_text(**b, r, std::cout);
      found = true;
      break;
    }
    case What::report: {
      Expected<std::optional<store::ReportRecord>> rep = s.report(report_id);
      if (!rep) return fail(rep.error().message);
      if (!*rep) return std::fprintf(stderr, "ktriage: no report %s\n", o.id.c_str()), kNothingFound;
      if (o.json) {
        // Ingest stores the report as parsed; its analysis is made here.
        Expected<KnowledgeBase> kb = load_kb(o.kb);
        if (!kb) return fail(kb.error().message);
        const std::optional<Analysis> analysis = analyze_stored(**rep, &*kb);
        render_report_record_json(**rep, analysis ? &*analysis : nullptr, std::cout);
      } else {
        render_report_record_text(**rep, r, std::cout);
      }
      found = true;
      break;
    }
    case What::hosts: {
      Expected<std::vector<store::HostSummary>> h = s.hosts(filter);
      if (!h) return fail(h.error().message);
      o.json ? render_hosts_json(*h, std::cout) : render_hosts_text(*h, r, std::cout);
      found = !h->empty();
      break;
    }
  }
  std::cout.flush();
  return found ? kFound : kNothingFound;
}

}  // namespace

Run add_query(CLI::App& app) {
  auto o = std::make_shared<QueryOptions>();
  auto what = std::make_shared<What>(What::buckets);
  CLI::App* cmd = app.add_subcommand(
      "query",
      "Read back what `ktriage ingest` stored.\n\n"
      "  ktriage query buckets --since 7d            top buckets of the last week\n"
      "  ktriage query bucket 3f9c0a51               one bucket: kernels, hosts, known bugs, latest reports\n"
      "  ktriage query report 42                     one report: its raw text (--json: as parsed, and analysed now)\n"
      "  ktriage query hosts --kernel 6.1.0-13-amd64 which machines crashed on that kernel");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // the options below may follow the query's name
  cmd->add_option("--db", o->db, "database (as for ingest; default: $KTRIAGE_DB, else the embedded one)");
  cmd->add_flag("--json", o->json, "print one JSON document (schema in docs/json.md)");
  cmd->add_option("--since", o->since,
                  "only reports received since: 30m, 12h, 7d, 2w, or a UTC date 2024-05-01[T12:00]")
      ->group("Filters");
  cmd->add_option("--kernel", o->kernel, "only reports from this kernel release")->group("Filters");
  cmd->add_option("--host", o->host, "only reports from this host")->group("Filters");
  cmd->add_option("--limit", o->limit, "at most this many rows (bucket: latest reports, default 20)")->group("Filters");

  cmd->add_subcommand("buckets", "buckets, biggest first: count, hosts, bucket id, kernels, first/last seen, title")
      ->callback([what] { *what = What::buckets; });
  CLI::App* bucket = cmd->add_subcommand("bucket", "one bucket: signature, kernels, hosts, known bugs, latest reports");
  bucket->add_option("id", o->id, "bucket id, or a unique prefix of at least 4 hex digits")->required();
  bucket->callback([what] { *what = What::bucket; });
  CLI::App* report = cmd->add_subcommand("report", "one report: where it came from, its bucket, its raw text");
  report->add_option("id", o->id, "report id")->required();
  add_kb_options(*report, o->kb);
  report->callback([what] { *what = What::report; });
  cmd->add_subcommand("hosts", "hosts, most reports first")->callback([what] { *what = What::hosts; });
  return [o, what] { return run_query(*o, *what); };
}

}  // namespace ktriage::cli

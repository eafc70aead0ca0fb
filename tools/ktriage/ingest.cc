// `ktriage ingest`: store every report of many logs, with its bucket.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "fleet.h"
#include "ktriage/ingest.h"
#include "ktriage/render_fleet.h"
#include "ktriage/store.h"

namespace ktriage::cli {
namespace {

struct IngestCliOptions {
  std::vector<std::string> inputs;
  std::string db;
  std::string host;
  bool json = false;
  bool list = false;
  size_t batch = 256;
  unsigned jobs = 0;
  std::string rules;
  KbOptions kb;
};

std::string local_host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  return gethostname(name, sizeof name) == 0 ? name : "localhost";
}

int run_ingest(const IngestCliOptions& o) {
  if (std::optional<Error> bad = check_inputs(o.inputs)) return fail(bad->message);
  Expected<SignatureRules> rules = load_signature_rules(o.rules);
  if (!rules) return fail(rules.error().message);
  Expected<KnowledgeBase> kb = load_kb(o.kb);
  if (!kb) return fail(kb.error().message);
  Expected<std::unique_ptr<store::Store>> db = store::Store::open(o.db.empty() ? store::default_database() : o.db);
  if (!db) return fail(db.error().message);

  IngestOptions options;
  options.host = o.host.empty() ? local_host_name() : o.host;
  options.batch = o.batch;
  options.scan.threads = o.jobs;
  options.rules = &*rules;
  options.kb = &*kb;
  // Each line is printed, and flushed, after its transaction committed: a
  // report listed here survives a crash of ingest right after.
  options.committed = [&](const IngestedReport& r) {
    if (o.json)
      render_ingested_json(r, std::cout);
    else if (o.list)
      render_ingested_text(r, std::cout);
    else
      return;
    std::cout.flush();
  };
  ScanProgressLine progress("ingesting");
  options.progress = [&](const ScanProgress& p) { progress.update(p); };
  Expected<IngestSummary> summary = ingest_logs(**db, o.inputs, options);
  if (!summary) return fail(summary.error().message);
  if (o.json)
    render_ingest_summary_json(*summary, (*db)->name(), std::cout);
  else
    render_ingest_summary_text(*summary, (*db)->name(), std::cout);
  std::cout.flush();
  return summary->reports ? kFound : kNothingFound;
}

}  // namespace

Run add_ingest(CLI::App& app) {
  auto o = std::make_shared<IngestCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ingest",
      "Store every crash report of the given logs (raw text, parsed JSON, signature, bucket, host,\n"
      "kernel, known-bug matches) for `ktriage query`. Safe to retry: the same report text from\n"
      "the same host is stored once.\n\n"
      "  ktriage ingest /var/log/kern.log                       into ~/.local/share/ktriage/ktriage.db\n"
      "  journalctl -k -b -1 | ktriage ingest --host web7 -\n"
      "  ktriage ingest --db postgresql://ktriage@db.example/crashes --host $(hostname) dmesg.txt");
  cmd->add_option("logs", o->inputs, "log files, or - for standard input")->required();
  cmd->add_option("--db", o->db,
                  "database: sqlite:PATH or a path (embedded), or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB;\n"
                  "default: $KTRIAGE_DB, else $XDG_DATA_HOME/ktriage/ktriage.db (~/.local/share/...)");
  cmd->add_option("--host", o->host, "machine the logs came from (default: this machine's host name)");
  cmd->add_flag("--json", o->json,
                "print JSON Lines: one object per report as it is committed, then a summary (docs/json.md)");
  cmd->add_flag("-l,--list", o->list, "print one line per report as it is committed");
  cmd->add_option("--batch", o->batch, "reports per transaction")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("-j,--jobs", o->jobs, "parse this many logs at once (default: one per core)");
  add_signature_rules_option(*cmd, o->rules);
  add_kb_options(*cmd, o->kb);
  return [o] { return run_ingest(*o); };
}

}  // namespace ktriage::cli

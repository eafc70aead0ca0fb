// `ktriage bucket`: group every report of many logs by signature.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "commands.h"
#include "fleet.h"
#include "ktriage/ingest.h"
#include "ktriage/render_fleet.h"

namespace ktriage::cli {
namespace {

struct BucketOptions {
  std::vector<std::string> inputs;
  bool json = false;
  bool verbose = false;
  unsigned jobs = 0;
  std::string rules;
};

int run_bucket(const BucketOptions& o) {
  if (std::optional<Error> bad = check_inputs(o.inputs)) return fail(bad->message);
  Expected<SignatureRules> rules = load_signature_rules(o.rules);
  if (!rules) return fail(rules.error().message);
  ScanOptions scan;
  scan.threads = o.jobs;
  ScanProgressLine progress("bucketing");
  Expected<BucketedLogs> result =
      bucket_logs(o.inputs, *rules, scan, [&](const ScanProgress& p) { progress.update(p); });
  if (!result) return fail(result.error().message);
  if (o.json) {
    render_buckets_json(result->buckets, o.inputs, std::cout);
  } else {
    RenderOptions r;
    r.color = colour_terminal();
    r.verbose = o.verbose;
    render_buckets_text(result->buckets, o.inputs, r, std::cout);
  }
  std::cout.flush();
  return result->buckets.empty() ? kNothingFound : kFound;
}

}  // namespace

Run add_bucket(CLI::App& app) {
  auto o = std::make_shared<BucketOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bucket",
      "Group the crash reports of many logs into buckets: reports with the same signature\n"
      "(title + guilty frames, normalized) are the same bug. Biggest bucket first.\n\n"
      "  ktriage bucket logs/*.txt                 table: count, bucket id, kernels, first/last seen, title\n"
      "  ktriage bucket --json logs/*.txt          JSON (docs/json.md, \"Buckets\")\n"
      "  ktriage bucket -v crash.log               also print each bucket's signature");
  cmd->add_option("logs", o->inputs, "log files, or - for standard input")->required();
  cmd->add_flag("--json", o->json, "print one JSON document (schema in docs/json.md)");
  cmd->add_flag("-v,--verbose", o->verbose, "print each bucket's signature after the table");
  cmd->add_option("-j,--jobs", o->jobs, "parse this many logs at once (default: one per core)");
  add_signature_rules_option(*cmd, o->rules);
  return [o] { return run_bucket(*o); };
}

}  // namespace ktriage::cli

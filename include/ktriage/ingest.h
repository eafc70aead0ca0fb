// Many logs at once: reading them in parallel report by report
// (scan_logs), and storing every report with its signature, bucket and
// known-bug matches (ingest_logs).
//
//   ScanOptions o;                       // threads: one per core
//   Expected<ScanStats> s = scan_logs(paths, o, [&](ScannedReport&& r) {
//     ...  // called from worker threads, concurrently
//   });
//
// Memory stays bounded whatever the input: each worker streams one log
// through a LogParser; a report's raw bytes are read back from the file by
// offset (standard input and pipes are spooled to an unlinked temporary
// file first).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/bucket.h"
#include "ktriage/error.h"
#include "ktriage/kb.h"
#include "ktriage/logparse.h"
#include "ktriage/report.h"
#include "ktriage/store.h"

namespace ktriage {

struct ScanOptions {
  unsigned threads = 0;            // 0: one per core
  bool raw = false;                // hand over each report's input bytes
  size_t max_raw_bytes = 1 << 20;  // longer reports are cut (and say so)
  ParseOptions parse;
  const std::atomic<bool>* cancel = nullptr;  // set to stop early
};

struct ScannedReport {
  size_t source = 0;  // position of the input in the list
  size_t index = 0;   // position in that input's reports (analyze --json order)
  Report report;
  std::string raw;  // with ScanOptions::raw
  bool raw_cut = false;
};

struct ScanProgress {
  size_t inputs_done = 0;
  size_t inputs = 0;
  size_t reports = 0;
  uint64_t bytes = 0;
};

struct ScanStats {
  size_t inputs = 0;
  size_t reports = 0;
  uint64_t bytes = 0;
};

// `sink` is called from worker threads, concurrently, for every report;
// `progress` from one thread at a time, after each input. The first input
// that cannot be read stops the scan and is the error ("x.log: No such file
// or directory").
Expected<ScanStats> scan_logs(const std::vector<std::string>& inputs, const ScanOptions& options,
                              const std::function<void(ScannedReport&&)>& sink,
                              const std::function<void(const ScanProgress&)>& progress = {});

// Every report of the inputs grouped by signature (signatures computed in
// parallel), biggest bucket first; the same result whatever the threads.
struct BucketedLogs {
  std::vector<Bucket> buckets;
  ScanStats stats;
};
Expected<BucketedLogs> bucket_logs(const std::vector<std::string>& inputs, const SignatureRules& rules,
                                   const ScanOptions& options,
                                   const std::function<void(const ScanProgress&)>& progress = {});

// What ingest says about a report once its transaction committed.
struct IngestedReport {
  std::string source;
  size_t index = 0;
  int64_t id = 0;       // in the database
  bool stored = false;  // false: it was already there
  std::string bucket;
  std::string title;
  bool corrupted = false;
  std::string content_hash;
};

struct IngestOptions {
  std::string host;    // recorded with every report
  size_t batch = 256;  // reports per transaction
  ScanOptions scan;
  const SignatureRules* rules = nullptr;  // required
  const KnowledgeBase* kb = nullptr;      // optional: known-bug matches
  // Called after each commit, once per report of the batch, in input order
  // within the batch. A report is durable when this is called for it.
  std::function<void(const IngestedReport&)> committed;
  std::function<void(const ScanProgress&)> progress;
  // prepare_log gives up past this time (an upload's time limit).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct IngestSummary {
  size_t inputs = 0;
  size_t reports = 0;
  size_t stored = 0;      // new in the database
  size_t duplicates = 0;  // already there (same host and text)
  size_t flagged = 0;     // parsed only in part (corrupted)
  size_t buckets = 0;     // distinct buckets among the reports
};

// One report's analysis as ingest stores it: diagnosed alone, without debug
// info, matched against `kb` (optional).
Expected<Analysis> analyze_report(Report&& report, const std::string& source, const KnowledgeBase* kb);

// The report as ingest stores it: signature, bucket, known bugs, the report
// as parsed (render_parsed_json), content hash of host and raw bytes. Not
// its analysis: that is computed when the report is read (analyze_stored).
store::NewReport prepare_report(ScannedReport&& scanned, const std::string& source, const IngestOptions& options,
                                int64_t received_at);

// The analysis of a stored report: its raw text parsed again and analysed as
// analyze_report does, with the kernel release stored beside it when the
// text alone does not name one. Nullopt when the text holds no report.
std::optional<Analysis> analyze_stored(const store::ReportRecord& record, const KnowledgeBase* kb);

// Every report of one log already in memory (an upload), prepared as
// ingest stores them, in input order; `source` names the log. Raw bytes are
// cut at options.scan.max_raw_bytes. Errors only past options.deadline.
Expected<std::vector<store::NewReport>> prepare_log(std::string_view text, const std::string& source,
                                                    const IngestOptions& options, int64_t received_at);

// Parses in parallel, writes in batched transactions from the calling
// thread. On a store error the reports committed so far stay (and were
// announced through `committed`); the rest are not written.
Expected<IngestSummary> ingest_logs(store::Store& store, const std::vector<std::string>& inputs,
                                    const IngestOptions& options);

}  // namespace ktriage

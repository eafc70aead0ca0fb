// Ingest: scan workers prepare each report (signature, diagnosis, known
// bugs, JSON, content hash) and queue it; the calling thread writes batches,
// one transaction each, and announces what it committed.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "ktriage/diagnose.h"
#include "ktriage/ingest.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"

namespace ktriage {
namespace {

struct Prepared {
  store::NewReport row;
  size_t source = 0;
};

// A bounded hand-off between the scan workers and the writer: memory stays
// bounded when parsing outruns the database.
class Queue {
 public:
  explicit Queue(size_t capacity) : capacity_(capacity) {}

  // False when the queue was closed (the writer gave up): drop the item.
  bool push(Prepared&& item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Up to `max` items: waits for the first, then up to `linger` for more,
  // so a trickle of reports still commits promptly. Empty: closed and
  // drained.
  std::vector<Prepared> pop_batch(size_t max, std::chrono::milliseconds linger) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    not_empty_.wait_for(lock, linger, [&] { return closed_ || items_.size() >= max; });
    std::vector<Prepared> out;
    while (!items_.empty() && out.size() < max) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.notify_all();
    return out;
  }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Prepared> items_;
  size_t capacity_;
  bool closed_ = false;
};

}  // namespace

Expected<Analysis> analyze_report(Report&& report, const std::string& source, const KnowledgeBase* kb) {
  // Diagnosis and known bugs of this report alone, as analyze --json would
  // print them for a log holding only it. The knowledge base is loaded once
  // by the caller, not per report.
  TriageOptions t;
  t.shipped_kb = false;
  Expected<Analysis> analysisOrErr = triage(source, {std::move(report)}, t);
  if (!analysisOrErr) return analysisOrErr;
  Analysis& a = *analysisOrErr;
  if (kb) {
    KbVerdicts v = kb->match(a);
    a.kb_matches = std::move(v.matches);
    a.kb_summary = std::move(v.summary);
    a.kernel_version = v.kernel.display();
  }
  return analysisOrErr;
}

store::NewReport prepare_report(ScannedReport&& scanned, const std::string& source, const IngestOptions& options,
                                int64_t received_at) {
  store::NewReport row;
  const Signature sig = sign(scanned.report, *options.rules);
  row.bucket_id = sig.id();
  row.signature = sig.text();
  row.host = options.host;
  row.source = source;
  row.source_index = static_cast<int64_t>(scanned.index);
  row.received_at = received_at;
  row.raw_cut = scanned.raw_cut;
  // The idempotency key: the same text from the same host is one report.
  std::string keyed = options.host;
  keyed.push_back('\0');
  keyed += scanned.raw;
  row.content_hash = sha256_hex(keyed);
  row.raw = std::move(scanned.raw);

  const Report& r = scanned.report;
  row.kernel = r.kernel_release;
  row.title = r.title;
  row.kind = std::string(to_string(r.kind));
  row.corrupted = r.corrupted;
  row.corrupted_reason = r.corrupted_reason;
  row.uptime = r.timestamp;
  row.parsed = render_parsed_json(r);
  if (options.kb) {
    // Known bugs match on titles, frames and, for a hand-written entry that
    // names a cause, the diagnosis; the rest of the analysis waits for a read.
    Analysis a;
    a.reports.push_back(std::move(scanned.report));
    if (options.kb->needs_diagnosis(a)) a.findings = diagnose(a.reports);
    for (const KbMatch& m : options.kb->match(a).matches)
      row.known_bugs.push_back({m.id, std::string(to_string(m.verdict))});
  }
  return row;
}

std::optional<Analysis> analyze_stored(const store::ReportRecord& record, const KnowledgeBase* kb) {
  std::vector<Report> reports = parse_log(record.raw);
  if (reports.empty()) return std::nullopt;
  Report& r = reports.front();
  // The release came from elsewhere in the uploaded log (its boot banner).
  if (r.kernel_release.empty()) r.kernel_release = record.summary.kernel;
  Expected<Analysis> a = analyze_report(std::move(r), record.summary.source, kb);
  if (!a) return std::nullopt;
  return std::move(*a);
}

Expected<std::vector<store::NewReport>> prepare_log(std::string_view text, const std::string& source,
                                                    const IngestOptions& options, int64_t received_at) {
  auto expired = [&] { return options.deadline && std::chrono::steady_clock::now() > *options.deadline; };
  const Error late{"the log took longer than the time limit to analyse"};
  std::vector<Report> reports;
  LogParser parser(options.scan.parse, [&](Report&& r) { reports.push_back(std::move(r)); });
  // Fed in slices, so that a huge log is given up on in time.
  constexpr size_t kSlice = 1 << 20;
  for (size_t at = 0; at < text.size(); at += kSlice) {
    if (expired()) return late;
    parser.feed(text.substr(at, kSlice));
  }
  parser.finish();
  std::vector<store::NewReport> out;
  out.reserve(reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    if (expired()) return late;
    ScannedReport s;
    s.index = i;
    const uint64_t begin = std::min<uint64_t>(reports[i].span.begin, text.size());
    uint64_t end = std::clamp<uint64_t>(reports[i].span.end, begin, text.size());
    if (end - begin > options.scan.max_raw_bytes) {
      end = begin + options.scan.max_raw_bytes;
      s.raw_cut = true;
    }
    s.raw = std::string(text.substr(begin, end - begin));
    s.report = std::move(reports[i]);
    out.push_back(prepare_report(std::move(s), source, options, received_at));
  }
  return out;
}

Expected<IngestSummary> ingest_logs(store::Store& store, const std::vector<std::string>& inputs,
                                    const IngestOptions& options) {
  IngestSummary summary;
  summary.inputs = inputs.size();
  const size_t batch = std::max<size_t>(options.batch, 1);
  Queue queue(batch * 4);
  std::atomic<bool> stop{false};
  ScanOptions scan = options.scan;
  scan.raw = true;
  scan.cancel = &stop;

  std::optional<Error> scan_error;
  std::jthread scanner([&] {
    Expected<ScanStats> s = scan_logs(
        inputs, scan,
        [&](ScannedReport&& r) {
          Prepared p;
          p.source = r.source;
          p.row = prepare_report(std::move(r), inputs[p.source], options, static_cast<int64_t>(std::time(nullptr)));
          queue.push(std::move(p));
        },
        options.progress);
    if (!s) scan_error = s.error();
    queue.close();
  });

  std::set<std::string> buckets;
  std::optional<Error> store_error;
  std::vector<store::NewReport> rows;
  for (;;) {
    std::vector<Prepared> items = queue.pop_batch(batch, std::chrono::milliseconds(100));
    if (items.empty()) break;
    rows.clear();
    for (Prepared& p : items) rows.push_back(std::move(p.row));
    Expected<std::vector<store::PutResult>> put = store.put(rows);
    if (!put) {
      store_error = put.error();
      stop = true;
      queue.close();
      break;
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const store::NewReport& r = rows[i];
      const store::PutResult& res = (*put)[i];
      ++summary.reports;
      ++(res.stored ? summary.stored : summary.duplicates);
      if (r.corrupted) ++summary.flagged;
      buckets.insert(r.bucket_id);
      if (options.committed)
        options.committed({r.source, static_cast<size_t>(r.source_index), res.id, res.stored, r.bucket_id, r.title,
                           r.corrupted, r.content_hash});
    }
  }
  scanner.join();
  if (store_error) return *store_error;
  if (scan_error) return *scan_error;
  summary.buckets = buckets.size();
  return summary;
}

}  // namespace ktriage

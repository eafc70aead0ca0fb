// Text and JSON for `bucket`, `ingest` and `query` (docs/json.md).
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ktriage/render_fleet.h"
#include "support/json_text.h"

namespace ktriage {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j, int indent = 2) { return support::json_text(j, indent); }

std::string utc(int64_t t, const char* format) {
  if (t == 0) return "";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
std::string iso(int64_t t) { return utc(t, "%Y-%m-%dT%H:%M:%SZ"); }
std::string when(int64_t t) { return utc(t, "%Y-%m-%d %H:%M"); }

// "6.1.0-13-amd64 +2": the first kernel and how many more.
std::string kernels_short(const std::vector<std::string>& kernels) {
  if (kernels.empty()) return "-";
  return kernels.size() == 1 ? kernels.front() : fmt::format("{} +{}", kernels.front(), kernels.size() - 1);
}

// A left-aligned table, numbers right-aligned; the last column runs free.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> numeric, bool color)
      : numeric_(std::move(numeric)), color_(color) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const {
    std::vector<size_t> width(rows_.front().size(), 0);
    for (const auto& row : rows_)
      for (size_t c = 0; c + 1 < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    for (size_t r = 0; r < rows_.size(); ++r) {
      std::string line;
      for (size_t c = 0; c < rows_[r].size(); ++c) {
        const std::string& cell = rows_[r][c];
        if (c + 1 == rows_[r].size())
          line += cell;
        else if (numeric_[c])
          line += fmt::format("{:>{}}  ", cell, width[c]);
        else
          line += fmt::format("{:<{}}  ", cell, width[c]);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << (r == 0 && color_ ? "\033[1m" + line + "\033[0m" : line) << '\n';
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> numeric_;
  bool color_;
};

Json signature_json(const Signature& s) {
  Json frames = Json::array();
  for (const SignatureFrame& f : s.frames) frames.push_back({{"function", f.function}, {"module", f.module}});
  return {{"title", s.title}, {"frames", frames}, {"tainted_by", s.tainted_by}};
}

Json report_summary_json(const store::ReportSummary& r) {
  return {{"id", r.id},
          {"bucket", r.bucket_id},
          {"host", r.host},
          {"kernel", r.kernel},
          {"title", r.title},
          {"source", r.source},
          {"index", r.source_index},
          {"corrupted", r.corrupted},
          {"received_at", iso(r.received_at)}};
}

Json counts_json(const std::vector<store::Count>& counts) {
  Json out = Json::array();
  for (const store::Count& c : counts) out.push_back({{"name", c.name}, {"count", c.count}});
  return out;
}

Json stored_bucket_json(const store::BucketSummary& b) {
  return {{"id", b.id},
          {"signature", b.signature},
          {"title", b.title},
          {"count", b.count},
          {"hosts", b.hosts},
          {"kernels", b.kernels},
          {"first_seen", iso(b.first_seen)},
          {"last_seen", iso(b.last_seen)}};
}

std::string counts_text(const std::vector<store::Count>& counts) {
  std::string out;
  for (const store::Count& c : counts)
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", c.name.empty() ? "unknown" : c.name, c.count);
  return out.empty() ? "-" : out;
}

}  // namespace

void render_buckets_json(const std::vector<Bucket>& buckets, const std::vector<std::string>& sources,
                         std::ostream& out) {
  Json list = Json::array();
  for (const Bucket& b : buckets) {
    Json reports = Json::array();
    for (const BucketMember& m : b.members)
      reports.push_back(
          {{"source", sources.at(m.ref.source)}, {"index", m.ref.index}, {"title", m.title}, {"line", m.line}});
    list.push_back({{"id", b.id},
                    {"signature", b.signature.text()},
                    {"title", b.title},
                    {"count", b.members.size()},
                    {"kernels", b.kernels},
                    {"match", signature_json(b.signature)},
                    {"reports", reports}});
  }
  out << dump({{"schema_version", kJsonSchemaVersion}, {"buckets", list}}) << '\n';
}

void render_buckets_text(const std::vector<Bucket>& buckets, const std::vector<std::string>& sources,
                         const RenderOptions& options, std::ostream& out) {
  Table t({"COUNT", "BUCKET", "KERNELS", "FIRST SEEN", "LAST SEEN", "TITLE"}, {true, false, false, false, false, false},
          options.color);
  auto where = [&](const BucketMember& m) { return fmt::format("{}:{}", sources.at(m.ref.source), m.line); };
  for (const Bucket& b : buckets)
    t.add({std::to_string(b.members.size()), b.id, kernels_short(b.kernels), where(b.members.front()),
           where(b.members.back()), b.title});
  t.print(out);
  if (options.verbose) {
    out << '\n';
    for (const Bucket& b : buckets) out << b.id << "  " << b.signature.text() << '\n';
  }
}

void render_ingested_json(const IngestedReport& r, std::ostream& out) {
  Json j = {{"type", "report"}, {"source", r.source},       {"index", r.index},
            {"id", r.id},       {"stored", r.stored},       {"bucket", r.bucket},
            {"title", r.title}, {"corrupted", r.corrupted}, {"content_hash", r.content_hash}};
  out << dump(j, -1) << '\n';
}

void render_ingested_text(const IngestedReport& r, std::ostream& out) {
  out << fmt::format("{:<7} {:>8}  {}  {}#{}  {}{}\n", r.stored ? "stored" : "exists", r.id, r.bucket, r.source,
                     r.index, r.title, r.corrupted ? "  [flagged: parsed in part]" : "");
}

void render_ingest_summary_json(const IngestSummary& s, const std::string& database, std::ostream& out) {
  Json j = {{"type", "summary"},          {"schema_version", kJsonSchemaVersion},
            {"database", database},       {"inputs", s.inputs},
            {"reports", s.reports},       {"stored", s.stored},
            {"duplicates", s.duplicates}, {"flagged", s.flagged},
            {"buckets", s.buckets}};
  out << dump(j, -1) << '\n';
}

void render_ingest_summary_text(const IngestSummary& s, const std::string& database, std::ostream& out) {
  if (s.reports == 0) {
    out << fmt::format("no crash reports in {} log{}; nothing stored in {}\n", s.inputs, s.inputs == 1 ? "" : "s",
                       database);
    return;
  }
  out << fmt::format("{} report{} from {} log{} into {}: {} new, {} already stored{}; {} bucket{}\n", s.reports,
                     s.reports == 1 ? "" : "s", s.inputs, s.inputs == 1 ? "" : "s", database, s.stored, s.duplicates,
                     s.flagged ? fmt::format(", {} flagged (parsed in part)", s.flagged) : "", s.buckets,
                     s.buckets == 1 ? "" : "s");
}

void render_stored_buckets_json(const std::vector<store::BucketSummary>& buckets, std::ostream& out) {
  Json list = Json::array();
  for (const store::BucketSummary& b : buckets) list.push_back(stored_bucket_json(b));
  out << dump({{"schema_version", kJsonSchemaVersion}, {"buckets", list}}) << '\n';
}

void render_stored_buckets_text(const std::vector<store::BucketSummary>& buckets, const RenderOptions& options,
                                std::ostream& out) {
  Table t({"COUNT", "HOSTS", "BUCKET", "KERNELS", "FIRST SEEN", "LAST SEEN", "TITLE"},
          {true, true, false, false, false, false, false}, options.color);
  for (const store::BucketSummary& b : buckets)
    t.add({std::to_string(b.count), std::to_string(b.hosts), b.id, kernels_short(b.kernels), when(b.first_seen),
           when(b.last_seen), b.title});
  t.print(out);
}

void render_bucket_detail_json(const store::BucketDetail& d, std::ostream& out) {
  Json j = stored_bucket_json(d.summary);
  j["kernel_counts"] = counts_json(d.kernels);
  j["host_counts"] = counts_json(d.hosts);
  j["known_bugs"] = counts_json(d.known_bugs);
  Json recent = Json::array();
  for (const store::ReportSummary& r : d.recent) recent.push_back(report_summary_json(r));
  j["recent_reports"] = recent;
  out << dump({{"schema_version", kJsonSchemaVersion}, {"bucket", j}}) << '\n';
}

void render_bucket_detail_text(const store::BucketDetail& d, const RenderOptions& options, std::ostream& out) {
  const store::BucketSummary& b = d.summary;
  out << (options.color ? "\033[1m" : "") << "bucket " << b.id << ": " << b.title << (options.color ? "\033[0m" : "")
      << '\n';
  out << "signature:  " << b.signature << '\n';
  out << fmt::format("reports:    {} from {} host{}, first seen {}, last seen {}\n", b.count, b.hosts,
                     b.hosts == 1 ? "" : "s", when(b.first_seen), when(b.last_seen));
  out << "kernels:    " << counts_text(d.kernels) << '\n';
  out << "hosts:      " << counts_text(d.hosts) << '\n';
  out << "known bugs: " << counts_text(d.known_bugs) << '\n';
  if (d.recent.empty()) return;
  out << "\nlatest reports:\n";
  Table t({"ID", "RECEIVED", "HOST", "KERNEL", "SOURCE", "TITLE"}, {true, false, false, false, false, false},
          options.color);
  for (const store::ReportSummary& r : d.recent)
    t.add({std::to_string(r.id), when(r.received_at), r.host, r.kernel.empty() ? "-" : r.kernel,
           fmt::format("{}#{}", r.source, r.source_index), r.title + (r.corrupted ? "  [flagged]" : "")});
  t.print(out);
}

void render_report_record_json(const store::ReportRecord& r, const Analysis* analysis, std::ostream& out) {
  Json j = report_summary_json(r.summary);
  j["signature"] = r.signature;
  j["kind"] = r.kind;
  j["corrupted_reason"] = r.corrupted_reason;
  j["uptime"] = r.uptime ? Json(*r.uptime) : Json(nullptr);
  j["content_hash"] = r.content_hash;
  Json bugs = Json::array();
  for (const store::KnownBug& k : r.known_bugs) bugs.push_back({{"id", k.id}, {"verdict", k.verdict}});
  j["known_bugs"] = bugs;
  j["raw"] = r.raw;
  j["raw_cut"] = r.raw_cut;
  Json parsed = Json::parse(r.parsed, nullptr, false);
  j["parsed"] = parsed.is_discarded() ? Json(nullptr) : std::move(parsed);
  if (analysis) {
    std::ostringstream doc;
    render_json(*analysis, doc);
    j["analysis"] = Json::parse(std::move(doc).str(), nullptr, false);
  } else {
    j["analysis"] = nullptr;
  }
  out << dump({{"schema_version", kJsonSchemaVersion}, {"report", j}}) << '\n';
}

void render_report_record_text(const store::ReportRecord& r, const RenderOptions& options, std::ostream& out) {
  const store::ReportSummary& s = r.summary;
  out << (options.color ? "\033[1m" : "") << "report " << s.id << ": " << s.title << (options.color ? "\033[0m" : "")
      << '\n';
  out << "bucket:     " << s.bucket_id << "  " << r.signature << '\n';
  out << "host:       " << s.host << ", kernel " << (s.kernel.empty() ? "unknown" : s.kernel) << ", received "
      << when(s.received_at) << '\n';
  out << "source:     " << s.source << " (report #" << s.source_index << ")\n";
  if (s.corrupted) out << "flagged:    parsed in part: " << r.corrupted_reason << '\n';
  if (!r.known_bugs.empty()) {
    std::string bugs;
    for (const store::KnownBug& k : r.known_bugs)
      bugs += fmt::format("{}{} ({})", bugs.empty() ? "" : ", ", k.id, k.verdict);
    out << "known bugs: " << bugs << '\n';
  }
  out << '\n' << r.raw;
  if (!r.raw.empty() && r.raw.back() != '\n') out << '\n';
  if (r.raw_cut) out << "[... cut at the ingest limit]\n";
}

void render_hosts_json(const std::vector<store::HostSummary>& hosts, std::ostream& out) {
  Json list = Json::array();
  for (const store::HostSummary& h : hosts)
    list.push_back({{"name", h.name},
                    {"reports", h.reports},
                    {"buckets", h.buckets},
                    {"first_seen", iso(h.first_seen)},
                    {"last_seen", iso(h.last_seen)}});
  out << dump({{"schema_version", kJsonSchemaVersion}, {"hosts", list}}) << '\n';
}

void render_hosts_text(const std::vector<store::HostSummary>& hosts, const RenderOptions& options, std::ostream& out) {
  Table t({"REPORTS", "BUCKETS", "FIRST SEEN", "LAST SEEN", "HOST"}, {true, true, false, false, false}, options.color);
  for (const store::HostSummary& h : hosts)
    t.add({std::to_string(h.reports), std::to_string(h.buckets), when(h.first_seen), when(h.last_seen), h.name});
  t.print(out);
}

}  // namespace ktriage

// Storing crash reports and reading buckets back: one interface, two
// backends with the same schema and the same SQL.
//
//   sqlite:PATH or a plain path   embedded SQLite (WAL, busy timeout, foreign
//                                 keys, synchronous=FULL): nothing to set up
//   postgresql://user@host/db     PostgreSQL (libpq), for a fleet whose
//                                 ingesters run on many machines
//
//   Expected<std::unique_ptr<Store>> storeOrErr = Store::open("sqlite:/var/lib/ktriage.db");
//   if (!storeOrErr) { print(storeOrErr.error().message); return 2; }
//   Expected<std::vector<PutResult>> r = (*storeOrErr)->put(batch);   // one transaction
//   Expected<std::vector<BucketSummary>> top = (*storeOrErr)->buckets({.limit = 20});
//
// Opening applies the schema migrations the database lacks (versioned,
// under a lock, so concurrent ingesters can start together) and refuses a
// database whose schema is newer than this build. put() is idempotent: a
// report is keyed by the SHA-256 of its host and raw text, so re-sending it
// stores nothing new. When put() returns, its reports are committed.
// Errors are one line a user can act on; a URL's password never appears in
// them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/error.h"

namespace ktriage::store {

inline constexpr int kSchemaVersion = 3;

// The database a command uses when none is given: $KTRIAGE_DB, else
// sqlite:$XDG_DATA_HOME/ktriage/ktriage.db (~/.local/share when unset).
std::string default_database();

enum class OpenMode {
  read_write,  // create an SQLite file (and its directory) when missing
  existing,    // an SQLite file must already exist (queries)
};

// A known-bug match of one report (lib/kb): its id and verdict.
struct KnownBug {
  std::string id;
  std::string verdict;  // "fixed", "not_fixed", "unknown"
};

// One report to store.
struct NewReport {
  std::string content_hash;  // sha256 of host, NUL, raw (64 hex digits): the idempotency key
  std::string bucket_id;     // 16 hex digits
  std::string signature;     // Signature::text()
  std::string host;
  std::string source;        // input name as given to ingest
  int64_t source_index = 0;  // position in that input's analyze --json reports[]
  std::string kernel;        // kernel release, "" when not printed
  std::string title;
  std::string kind;        // CrashKind name
  bool corrupted = false;  // parsed only in part: stored, flagged
  std::string corrupted_reason;
  std::optional<double> uptime;  // the console timestamp of the report, seconds
  int64_t received_at = 0;       // unix seconds, when ingested
  std::string raw;               // the report's bytes as they were in the input
  bool raw_cut = false;          // raw was cut at the ingest limit
  std::string parsed;            // the report as parsed, JSON (render_parsed_json): valid UTF-8
  std::vector<KnownBug> known_bugs;
};

struct PutResult {
  int64_t id = 0;       // the report's id in the database
  bool stored = false;  // false: the same report was already there
};

// How buckets() orders buckets; ties: more reports, then first seen, then id.
enum class BucketOrder { count, last_seen, first_seen, hosts };

// Filters shared by the queries; empty/unset means any.
struct Filter {
  std::optional<int64_t> since;  // received at or after (unix seconds)
  std::string kernel;
  std::string host;
  // Reports whose bucket title or signature (guilty functions, modules), or
  // whose kernel release, contains this text, ignoring ASCII case.
  std::string query;
  size_t limit = 0;   // 0: no limit
  size_t offset = 0;  // rows skipped first (pagination)
  BucketOrder order = BucketOrder::count;
};

struct Count {
  std::string name;
  int64_t count = 0;
};

struct BucketSummary {
  std::string id;
  std::string title;
  std::string signature;
  int64_t count = 0;
  int64_t hosts = 0;
  std::vector<std::string> kernels;  // sorted
  int64_t first_seen = 0;            // unix seconds
  int64_t last_seen = 0;
};

struct ReportSummary {
  int64_t id = 0;
  std::string bucket_id;
  std::string host;
  std::string kernel;
  std::string title;
  std::string source;
  int64_t source_index = 0;
  bool corrupted = false;
  int64_t received_at = 0;
};

// One page of buckets() and the totals of every bucket the filter matched.
struct BucketPage {
  std::vector<BucketSummary> buckets;
  int64_t total_buckets = 0;
  int64_t total_reports = 0;
};

// Reports of a bucket received on one UTC day (unix seconds / 86400).
struct DayCount {
  int64_t day = 0;
  int64_t count = 0;
};

struct BucketDetail {
  BucketSummary summary;
  std::vector<Count> kernels;  // most reports first
  std::vector<Count> hosts;
  std::vector<Count> known_bugs;      // "id (verdict)" with report counts
  std::vector<ReportSummary> recent;  // newest first, at most Filter::limit (default 20) after Filter::offset
};

struct ReportRecord {
  ReportSummary summary;
  std::string signature;
  std::string kind;
  std::string corrupted_reason;
  std::optional<double> uptime;
  std::string content_hash;
  std::string raw;
  bool raw_cut = false;
  std::string parsed;  // JSON; from schema 2 and before: the whole analyze --json document
  std::vector<KnownBug> known_bugs;
};

struct HostSummary {
  std::string name;
  int64_t reports = 0;
  int64_t buckets = 0;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
};

// --since: "7d", "12h", "30m", "2w" before `now`, or a UTC date/time
// "2024-05-01", "2024-05-01T12:00", "2024-05-01 12:00:00Z". Unix seconds.
Expected<int64_t> parse_since(std::string_view text, int64_t now);

class Connection;  // a backend's connection (lib/store internal)

class Store {
 public:
  static Expected<std::unique_ptr<Store>> open(std::string_view url, OpenMode mode = OpenMode::read_write);
  ~Store();

  std::string_view backend() const;  // "sqlite" or "postgresql"
  const std::string& name() const;   // the database, for messages (no password)
  Expected<int> schema_version();

  // Stores a batch in one transaction; results are parallel to `batch`.
  Expected<std::vector<PutResult>> put(const std::vector<NewReport>& batch);

  // Biggest first (then oldest), or in Filter::order.
  Expected<std::vector<BucketSummary>> buckets(const Filter& filter);
  // The same, with the totals a paged listing shows.
  Expected<BucketPage> bucket_page(const Filter& filter);
  // A bucket's reports per day, for days at or after `first_day`, oldest
  // first (days without reports left out); `filter` as for the bucket.
  Expected<std::vector<DayCount>> bucket_days(std::string_view bucket_id, int64_t first_day, const Filter& filter);
  // The known bugs matched by the bucket's newest report (filter applied).
  Expected<std::vector<KnownBug>> bucket_latest_known_bugs(std::string_view bucket_id, const Filter& filter);
  // `id` may be a unique prefix of at least 4 hex digits; nullopt when no
  // bucket matches. An ambiguous prefix is an error.
  Expected<std::optional<BucketDetail>> bucket(std::string_view id, const Filter& filter);
  Expected<std::optional<ReportRecord>> report(int64_t id);
  Expected<std::vector<HostSummary>> hosts(const Filter& filter);
  // Every stored report's content hash and bucket, by id (for checks and tests).
  Expected<std::vector<std::pair<std::string, std::string>>> report_keys();

 private:
  explicit Store(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> db_;
};

}  // namespace ktriage::store

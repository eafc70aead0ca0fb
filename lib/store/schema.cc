// Versioned schema migrations, the same for both backends: each migration is
// one SQL script with three dialect words filled in ({id}, {blob}, {real}).
// Migrations only ever get appended; a released one never changes.
#include <ctime>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "store/connection.h"

namespace ktriage::store {
namespace {

// Migration N is kMigrations[N - 1].
constexpr std::string_view kMigrations[] = {
    // 1: buckets, reports, their known-bug matches.
    R"sql(
CREATE TABLE buckets (
  id TEXT PRIMARY KEY,                 -- 16 hex digits of SHA-256(signature)
  signature TEXT NOT NULL,
  title TEXT NOT NULL,
  created_at BIGINT NOT NULL           -- unix seconds
);
CREATE TABLE reports (
  id {id},
  content_hash TEXT NOT NULL UNIQUE,   -- SHA-256 of host, NUL, raw: ingest is idempotent
  bucket_id TEXT NOT NULL REFERENCES buckets(id),
  host TEXT NOT NULL,
  source TEXT NOT NULL,
  source_index BIGINT NOT NULL,
  kernel TEXT NOT NULL,
  title TEXT NOT NULL,
  kind TEXT NOT NULL,
  corrupted INTEGER NOT NULL,          -- 1: parsed only in part
  corrupted_reason TEXT NOT NULL,
  uptime {real},                       -- console timestamp, seconds since boot
  received_at BIGINT NOT NULL,         -- unix seconds
  raw {blob} NOT NULL,
  raw_cut INTEGER NOT NULL,
  analysis TEXT NOT NULL               -- ktriage analyze --json of this report
);
CREATE INDEX reports_bucket ON reports (bucket_id, received_at);
CREATE INDEX reports_host ON reports (host, received_at);
CREATE INDEX reports_kernel ON reports (kernel);
CREATE INDEX reports_received ON reports (received_at);
CREATE TABLE report_known_bugs (
  report_id BIGINT NOT NULL REFERENCES reports(id),
  bug_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  PRIMARY KEY (report_id, bug_id)
);
CREATE INDEX report_known_bugs_bug ON report_known_bugs (bug_id);
)sql",
    // 2: `ktriage serve` reads a bucket's reports through one covering index
    // (a page of buckets, a bucket's days, hosts and kernels never touch the
    // table rows, whose raw text and analysis are most of their size), and
    // a bucket's newest reports through (bucket_id, received_at DESC, id).
    R"sql(
DROP INDEX reports_bucket;
CREATE INDEX reports_bucket_cover ON reports (bucket_id, received_at, host, kernel);
CREATE INDEX reports_bucket_newest ON reports (bucket_id, received_at DESC, id DESC);
)sql",
    // 3: ingest stores the report as parsed (analyze --json's element of
    // "reports" before any analysis) and the analysis is computed when a
    // report is read: diagnosing, decoding and rendering every upload cost
    // ingest 5x its parsing, for reports mostly never opened. Rows stored
    // before keep the whole analyze --json document here.
    R"sql(
ALTER TABLE reports RENAME COLUMN analysis TO parsed;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string for_dialect(std::string_view sql, Dialect d) {
  const bool pg = d == Dialect::postgresql;
  return fmt::format(fmt::runtime(sql),
                     fmt::arg("id", pg ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY"),
                     fmt::arg("blob", pg ? "BYTEA" : "BLOB"), fmt::arg("real", pg ? "DOUBLE PRECISION" : "REAL"));
}

}  // namespace

Expected<int> migrate(Connection& db) {
  // Up to date (the common case): no write lock, so a query works beside a
  // busy ingester.
  if (Expected<Rows> v = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
      v && v->integer(0, 0) == kSchemaVersion)
    return kSchemaVersion;
  Transaction tx(db);
  if (Expected<bool> ok = tx.begin(); !ok) return ok.error();
  // Concurrent ingesters may open a fresh database at once: one migrates,
  // the others wait and find it done. SQLite's BEGIN IMMEDIATE already
  // holds the write lock; PostgreSQL takes an advisory lock for the
  // transaction (the key is "ktriage" in ASCII).
  if (db.dialect() == Dialect::postgresql) {
    if (Expected<Rows> lock = db.query("SELECT pg_advisory_xact_lock(7022344183478634853)", {}); !lock)
      return lock.error();
  }
  if (Expected<bool> ok = db.execute(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
      !ok)
    return ok.error();
  Expected<Rows> current = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
  if (!current) return current.error();
  const int have = static_cast<int>(current->integer(0, 0));
  if (have > kSchemaVersion)
    return Error{fmt::format("{}: database schema version {} is newer than this ktriage knows ({}); upgrade ktriage",
                             db.name(), have, kSchemaVersion)};
  for (int v = have + 1; v <= kSchemaVersion; ++v) {
    if (Expected<bool> ok = db.execute(for_dialect(kMigrations[v - 1], db.dialect())); !ok)
      return Error{fmt::format("migration {}: {}", v, ok.error().message)};
    const Param p[] = {int64_t{v}, static_cast<int64_t>(std::time(nullptr))};
    if (Expected<Rows> ok = db.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", p); !ok)
      return ok.error();
  }
  if (Expected<bool> ok = tx.commit(); !ok) return ok.error();
  return kSchemaVersion;
}

}  // namespace ktriage::store

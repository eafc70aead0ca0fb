// The store's SQL, written once for both backends.
#include "ktriage/store.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "support/utf8.h"
#include "store/connection.h"

namespace ktriage::store {
namespace {

// Text columns hold UTF-8 (PostgreSQL refuses anything else, and NUL);
// console logs do not always. Raw report bytes are stored untouched, as a blob.
std::string utf8(std::string_view s) { return support::valid_utf8(s); }

Param optional_time(const std::optional<int64_t>& t) { return t ? Param{*t} : Param{int64_t{0}}; }

// The WHERE clause every query shares, parameters $1..$4, and the join it
// needs: a search (Filter::query) reads the bucket's title and signature,
// so only then is every report joined to its bucket.
struct FilterSql {
  std::string where;
  std::string join;  // " JOIN buckets b ON b.id = r.bucket_id" or ""
};

FilterSql filter_sql(const Filter& f, bool buckets_joined = false) {
  FilterSql out;
  out.where = "r.received_at >= CAST($1 AS BIGINT) AND ($2 = '' OR r.kernel = $2) AND ($3 = '' OR r.host = $3) AND ";
  if (f.query.empty()) {
    out.where += "$4 = ''";
    return out;
  }
  out.where +=
      "(LOWER(b.title) LIKE $4 ESCAPE '!' OR LOWER(b.signature) LIKE $4 ESCAPE '!' OR LOWER(r.kernel) LIKE $4 "
      "ESCAPE '!')";
  if (!buckets_joined) out.join = " JOIN buckets b ON b.id = r.bucket_id";
  return out;
}

// "%text%" for LIKE, with the pattern characters of the text escaped and
// ASCII lowered (LOWER() on both backends lowers at least ASCII).
std::string like_pattern(std::string_view text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '!') out += '!';
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out + "%";
}

// The filter's parameters; they point into this object, which must outlive them.
class FilterParams {
 public:
  explicit FilterParams(const Filter& f) : filter_(f) {
    if (!f.query.empty()) pattern_ = like_pattern(utf8(f.query));
  }
  std::vector<Param> params() const {
    return {optional_time(filter_.since), Text{filter_.kernel}, Text{filter_.host}, Text{pattern_}};
  }

 private:
  const Filter& filter_;
  std::string pattern_;
};

int64_t limit_or_all(size_t limit) { return limit ? static_cast<int64_t>(limit) : INT64_MAX; }

BucketSummary summary_at(const Rows& rows, size_t i) {
  BucketSummary b;
  b.id = rows.text(i, 0);
  b.title = rows.text(i, 1);
  b.signature = rows.text(i, 2);
  b.count = rows.integer(i, 3);
  b.hosts = rows.integer(i, 4);
  b.first_seen = rows.integer(i, 5);
  b.last_seen = rows.integer(i, 6);
  return b;
}

constexpr std::string_view kReportSummaryColumns =
    "r.id, r.bucket_id, r.host, r.kernel, r.title, r.source, r.source_index, r.corrupted, r.received_at";

ReportSummary report_summary_at(const Rows& rows, size_t i) {
  ReportSummary s;
  s.id = rows.integer(i, 0);
  s.bucket_id = rows.text(i, 1);
  s.host = rows.text(i, 2);
  s.kernel = rows.text(i, 3);
  s.title = rows.text(i, 4);
  s.source = rows.text(i, 5);
  s.source_index = rows.integer(i, 6);
  s.corrupted = rows.integer(i, 7) != 0;
  s.received_at = rows.integer(i, 8);
  return s;
}

std::vector<Count> counts(const Rows& rows) {
  std::vector<Count> out;
  for (size_t i = 0; i < rows.size(); ++i) out.push_back({rows.text(i, 0), rows.integer(i, 1)});
  return out;
}

}  // namespace

int64_t Rows::integer(size_t row, size_t col) const {
  const std::optional<std::string>& c = cell(row, col);
  return c ? std::strtoll(c->c_str(), nullptr, 10) : 0;
}

std::optional<double> Rows::real(size_t row, size_t col) const {
  const std::optional<std::string>& c = cell(row, col);
  if (!c) return std::nullopt;
  return std::strtod(c->c_str(), nullptr);
}

std::string default_database() {
  if (const char* env = std::getenv("KTRIAGE_DB"); env && *env) return env;
  std::string base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg == '/')
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home)
    base = std::string(home) + "/.local/share";
  else
    base = ".";
  return "sqlite:" + base + "/ktriage/ktriage.db";
}

Store::Store(std::unique_ptr<Connection> connection) : db_(std::move(connection)) {}
Store::~Store() = default;

Expected<std::unique_ptr<Store>> Store::open(std::string_view url, OpenMode mode) {
  if (url.empty()) return Error{"empty database name"};
  Expected<std::unique_ptr<Connection>> connOrErr =
      url.starts_with("postgresql://") || url.starts_with("postgres://") ? open_postgresql(std::string(url))
      : url.starts_with("sqlite:")                                       ? open_sqlite(std::string(url.substr(7)), mode)
      : url.find("://") != std::string_view::npos
          ? Expected<std::unique_ptr<Connection>>(
                Error{fmt::format("{}: unknown database kind (use sqlite:PATH, a path, or postgresql://...)",
                                  url.substr(0, url.find("://") + 3))})
          : open_sqlite(std::string(url), mode);
  if (!connOrErr) return connOrErr.error();
  std::unique_ptr<Store> store(new Store(std::move(*connOrErr)));
  if (Expected<int> v = migrate(*store->db_); !v) return v.error();
  return store;
}

std::string_view Store::backend() const { return db_->dialect() == Dialect::sqlite ? "sqlite" : "postgresql"; }
const std::string& Store::name() const { return db_->name(); }

Expected<int> Store::schema_version() {
  Expected<Rows> r = db_->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
  if (!r) return r.error();
  return static_cast<int>(r->integer(0, 0));
}

namespace {

// Multi-row INSERTs: one round trip for many rows. Chunks of 32, 16, 8, 4,
// 2 or 1 rows keep the number of distinct statements to prepare small.
constexpr size_t kMaxRowsPerInsert = 32;

size_t chunk_size(size_t remaining) {
  size_t n = kMaxRowsPerInsert;
  while (n > remaining) n /= 2;
  return n;
}

// "($1, $2), ($3, $4)" for rows x columns parameters.
std::string values_list(size_t rows, size_t columns) {
  std::string out;
  for (size_t r = 0; r < rows; ++r) {
    out += r ? ", (" : "(";
    for (size_t c = 0; c < columns; ++c) out += fmt::format("{}${}", c ? ", " : "", r * columns + c + 1);
    out += ')';
  }
  return out;
}

constexpr std::string_view kReportColumns =
    "content_hash, bucket_id, host, source, source_index, kernel, title, kind, corrupted, corrupted_reason, uptime, "
    "received_at, raw, raw_cut, parsed";
constexpr size_t kReportColumnCount = 15;

}  // namespace

Expected<std::vector<PutResult>> Store::put(const std::vector<NewReport>& batch) {
  std::vector<PutResult> results(batch.size());
  if (batch.empty()) return results;
  // Rows are written in key order (buckets by id, then reports by hash):
  // two ingesters writing overlapping batches then lock in the same order
  // and wait for each other instead of deadlocking.
  std::vector<size_t> order(batch.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return batch[a].content_hash < batch[b].content_hash; });
  std::map<std::string_view, const NewReport*> bucket_map;
  for (const NewReport& r : batch) bucket_map.emplace(r.bucket_id, &r);
  const std::vector<std::pair<std::string_view, const NewReport*>> buckets(bucket_map.begin(), bucket_map.end());

  std::deque<std::string> text_storage;  // UTF-8 copies the parameters point into (stable addresses)
  auto clean = [&](const std::string& s) -> Param { return Text{text_storage.emplace_back(utf8(s))}; };

  Transaction tx(*db_);
  if (Expected<bool> ok = tx.begin(); !ok) return ok.error();
  for (size_t at = 0; at < buckets.size();) {
    const size_t n = chunk_size(buckets.size() - at);
    std::vector<Param> p;
    for (size_t k = at; k < at + n; ++k) {
      const NewReport& r = *buckets[k].second;
      p.insert(p.end(), {Text{buckets[k].first}, clean(r.signature), clean(r.title), r.received_at});
    }
    if (Expected<Rows> ok = db_->query(fmt::format("INSERT INTO buckets (id, signature, title, created_at) VALUES {} "
                                                   "ON CONFLICT (id) DO NOTHING",
                                                   values_list(n, 4)),
                                       p);
        !ok)
      return ok.error();
    at += n;
  }
  std::map<std::string, int64_t, std::less<>> inserted;  // content hash -> new id
  for (size_t at = 0; at < order.size();) {
    const size_t n = chunk_size(order.size() - at);
    std::vector<Param> p;
    p.reserve(n * kReportColumnCount);
    for (size_t k = at; k < at + n; ++k) {
      const NewReport& r = batch[order[k]];
      p.insert(p.end(), {Text{r.content_hash}, Text{r.bucket_id}, clean(r.host), clean(r.source), r.source_index,
                         clean(r.kernel), clean(r.title), clean(r.kind), int64_t{r.corrupted},
                         clean(r.corrupted_reason), r.uptime ? Param{*r.uptime} : Param{nullptr}, r.received_at,
                         Blob{r.raw}, int64_t{r.raw_cut}, Text{r.parsed}});  // parsed: UTF-8 already
    }
    Expected<Rows> rows = db_->query(fmt::format("INSERT INTO reports ({}) VALUES {} ON CONFLICT (content_hash) DO "
                                                 "NOTHING RETURNING id, content_hash",
                                                 kReportColumns, values_list(n, kReportColumnCount)),
                                     p);
    if (!rows) return rows.error();
    for (size_t i = 0; i < rows->size(); ++i) inserted.emplace(rows->text(i, 1), rows->integer(i, 0));
    at += n;
    text_storage.clear();
  }
  for (size_t i : order) {
    const NewReport& r = batch[i];
    auto it = inserted.find(r.content_hash);
    if (it == inserted.end()) {
      // Already stored (a retry), or twice in this batch.
      const Param key[] = {Text{r.content_hash}};
      Expected<Rows> existing = db_->query("SELECT id FROM reports WHERE content_hash = $1", key);
      if (!existing) return existing.error();
      if (existing->empty())
        return Error{fmt::format("{}: report {} vanished while storing it", name(), r.content_hash)};
      results[i] = {existing->integer(0, 0), false};
      continue;
    }
    results[i] = {it->second, true};
    inserted.erase(it);  // a second copy in the same batch is a duplicate
    for (const KnownBug& k : r.known_bugs) {
      const Param kp[] = {results[i].id, clean(k.id), clean(k.verdict)};
      if (Expected<Rows> ok = db_->query(
              "INSERT INTO report_known_bugs (report_id, bug_id, verdict) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
              kp);
          !ok)
        return ok.error();
    }
  }
  if (Expected<bool> ok = tx.commit(); !ok) return ok.error();
  return results;
}

Expected<std::vector<BucketSummary>> Store::buckets(const Filter& f) {
  Expected<BucketPage> page = bucket_page(f);
  if (!page) return page.error();
  return std::move(page->buckets);
}

Expected<BucketPage> Store::bucket_page(const Filter& f) {
  // Every matching bucket's counts from the covering index, ordered and
  // paged here; titles, signatures and kernels only for the page.
  const FilterSql where = filter_sql(f);
  const FilterParams fp(f);
  Expected<Rows> groups = db_->query(
      fmt::format("SELECT r.bucket_id, COUNT(*), COUNT(DISTINCT r.host), MIN(r.received_at), MAX(r.received_at) "
                  "FROM reports r{} WHERE {} GROUP BY r.bucket_id",
                  where.join, where.where),
      fp.params());
  if (!groups) return groups.error();
  BucketPage page;
  std::vector<BucketSummary> all;
  all.reserve(groups->size());
  for (size_t i = 0; i < groups->size(); ++i) {
    BucketSummary b;
    b.id = groups->text(i, 0);
    b.count = groups->integer(i, 1);
    b.hosts = groups->integer(i, 2);
    b.first_seen = groups->integer(i, 3);
    b.last_seen = groups->integer(i, 4);
    page.total_reports += b.count;
    all.push_back(std::move(b));
  }
  page.total_buckets = static_cast<int64_t>(all.size());
  auto key = [&](const BucketSummary& b) {
    switch (f.order) {
      case BucketOrder::last_seen: return -b.last_seen;
      case BucketOrder::first_seen: return -b.first_seen;
      case BucketOrder::hosts: return -b.hosts;
      case BucketOrder::count: break;
    }
    return -b.count;
  };
  std::sort(all.begin(), all.end(), [&](const BucketSummary& a, const BucketSummary& b) {
    return std::tuple(key(a), -a.count, a.first_seen, a.id) < std::tuple(key(b), -b.count, b.first_seen, b.id);
  });
  const size_t begin = std::min(f.offset, all.size());
  const size_t end = f.limit ? std::min(all.size(), begin + f.limit) : all.size();
  for (size_t i = begin; i < end; ++i) {
    BucketSummary& b = all[i];
    const Param id[] = {Text{b.id}};
    Expected<Rows> head = db_->query("SELECT title, signature FROM buckets WHERE id = $1", id);
    if (!head) return head.error();
    if (!head->empty()) {
      b.title = head->text(0, 0);
      b.signature = head->text(0, 1);
    }
    std::vector<Param> p = fp.params();
    p.push_back(Text{b.id});
    Expected<Rows> kernels = db_->query(fmt::format("SELECT DISTINCT r.kernel FROM reports r{} WHERE {} AND "
                                                    "r.bucket_id = $5 AND r.kernel <> '' ORDER BY r.kernel",
                                                    where.join, where.where),
                                        p);
    if (!kernels) return kernels.error();
    for (size_t k = 0; k < kernels->size(); ++k) b.kernels.push_back(kernels->text(k, 0));
    page.buckets.push_back(std::move(b));
  }
  return page;
}

Expected<std::vector<DayCount>> Store::bucket_days(std::string_view bucket_id, int64_t first_day, const Filter& f) {
  const FilterSql where = filter_sql(f);
  const FilterParams fp(f);
  std::vector<Param> p = fp.params();
  p.push_back(Text{bucket_id});
  p.push_back(first_day * 86400);
  Expected<Rows> rows =
      db_->query(fmt::format("SELECT r.received_at / 86400, COUNT(*) FROM reports r{} WHERE {} AND r.bucket_id = $5 "
                             "AND r.received_at >= CAST($6 AS BIGINT) GROUP BY r.received_at / 86400 ORDER BY 1",
                             where.join, where.where),
                 p);
  if (!rows) return rows.error();
  std::vector<DayCount> out;
  for (size_t i = 0; i < rows->size(); ++i) out.push_back({rows->integer(i, 0), rows->integer(i, 1)});
  return out;
}

Expected<std::vector<KnownBug>> Store::bucket_latest_known_bugs(std::string_view bucket_id, const Filter& f) {
  const FilterSql where = filter_sql(f);
  const FilterParams fp(f);
  std::vector<Param> p = fp.params();
  p.push_back(Text{bucket_id});
  Expected<Rows> rows = db_->query(
      fmt::format("SELECT k.bug_id, k.verdict FROM report_known_bugs k WHERE k.report_id = (SELECT r.id FROM "
                  "reports r{} WHERE {} AND r.bucket_id = $5 ORDER BY r.received_at DESC, r.id DESC LIMIT 1) "
                  "ORDER BY k.bug_id",
                  where.join, where.where),
      p);
  if (!rows) return rows.error();
  std::vector<KnownBug> out;
  for (size_t i = 0; i < rows->size(); ++i) out.push_back({rows->text(i, 0), rows->text(i, 1)});
  return out;
}

Expected<std::optional<BucketDetail>> Store::bucket(std::string_view id, const Filter& f) {
  if (id.size() < 4 || id.size() > 16 || id.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return Error{fmt::format("'{}' is not a bucket id (4 to 16 lower-case hex digits)", id)};
  const std::string prefix = std::string(id) + "%";
  const Param match[] = {Text{prefix}};
  Expected<Rows> ids = db_->query("SELECT id FROM buckets WHERE id LIKE $1 ORDER BY id LIMIT 2", match);
  if (!ids) return ids.error();
  if (ids->empty()) return std::optional<BucketDetail>();
  if (ids->size() > 1)
    return Error{fmt::format("bucket id '{}' is ambiguous: {} and {}", id, ids->text(0, 0), ids->text(1, 0))};
  const std::string full = ids->text(0, 0);

  const FilterParams fp(f);
  std::vector<Param> p = fp.params();
  p.push_back(Text{full});
  BucketDetail d;
  Expected<Rows> head =
      db_->query(fmt::format("SELECT b.id, b.title, b.signature, COUNT(r.id), COUNT(DISTINCT r.host), "
                             "COALESCE(MIN(r.received_at), 0), COALESCE(MAX(r.received_at), 0) "
                             "FROM buckets b LEFT JOIN reports r ON r.bucket_id = b.id AND {} WHERE b.id = $5 "
                             "GROUP BY b.id, b.title, b.signature",
                             filter_sql(f, true).where),
                 p);
  if (!head) return head.error();
  if (head->empty()) return std::optional<BucketDetail>();
  d.summary = summary_at(*head, 0);
  const FilterSql where = filter_sql(f);
  auto grouped = [&](std::string_view column) -> Expected<std::vector<Count>> {
    Expected<Rows> rows =
        db_->query(fmt::format("SELECT {0}, COUNT(*) FROM reports r{1} WHERE {2} AND r.bucket_id = $5 "
                               "GROUP BY {0} ORDER BY COUNT(*) DESC, {0}",
                               column, where.join, where.where),
                   p);
    if (!rows) return rows.error();
    return counts(*rows);
  };
  Expected<std::vector<Count>> kernels = grouped("r.kernel");
  if (!kernels) return kernels.error();
  d.kernels = std::move(*kernels);
  for (const Count& k : d.kernels)
    if (!k.name.empty()) d.summary.kernels.push_back(k.name);
  std::sort(d.summary.kernels.begin(), d.summary.kernels.end());
  Expected<std::vector<Count>> hosts = grouped("r.host");
  if (!hosts) return hosts.error();
  d.hosts = std::move(*hosts);
  Expected<Rows> bugs = db_->query(
      fmt::format(
          "SELECT k.bug_id, k.verdict, COUNT(*) FROM report_known_bugs k JOIN reports r ON r.id = k.report_id{} "
          "WHERE {} AND r.bucket_id = $5 GROUP BY k.bug_id, k.verdict ORDER BY COUNT(*) DESC, k.bug_id, "
          "k.verdict",
          where.join, where.where),
      p);
  if (!bugs) return bugs.error();
  for (size_t i = 0; i < bugs->size(); ++i)
    d.known_bugs.push_back({fmt::format("{} ({})", bugs->text(i, 0), bugs->text(i, 1)), bugs->integer(i, 2)});
  p.push_back(limit_or_all(f.limit ? f.limit : 20));
  p.push_back(static_cast<int64_t>(f.offset));
  Expected<Rows> recent =
      db_->query(fmt::format("SELECT {} FROM reports r{} WHERE {} AND r.bucket_id = $5 ORDER BY r.received_at DESC, "
                             "r.id DESC LIMIT $6 OFFSET $7",
                             kReportSummaryColumns, where.join, where.where),
                 p);
  if (!recent) return recent.error();
  for (size_t i = 0; i < recent->size(); ++i) d.recent.push_back(report_summary_at(*recent, i));
  return std::optional<BucketDetail>(std::move(d));
}

Expected<std::optional<ReportRecord>> Store::report(int64_t id) {
  const Param p[] = {id};
  Expected<Rows> rows = db_->query(
      fmt::format("SELECT {}, b.signature, r.kind, r.corrupted_reason, r.uptime, r.content_hash, r.raw, r.raw_cut, "
                  "r.parsed FROM reports r JOIN buckets b ON b.id = r.bucket_id WHERE r.id = $1",
                  kReportSummaryColumns),
      p);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<ReportRecord>();
  ReportRecord r;
  r.summary = report_summary_at(*rows, 0);
  r.signature = rows->text(0, 9);
  r.kind = rows->text(0, 10);
  r.corrupted_reason = rows->text(0, 11);
  r.uptime = rows->real(0, 12);
  r.content_hash = rows->text(0, 13);
  r.raw = rows->text(0, 14);
  r.raw_cut = rows->integer(0, 15) != 0;
  r.parsed = rows->text(0, 16);
  Expected<Rows> bugs =
      db_->query("SELECT bug_id, verdict FROM report_known_bugs WHERE report_id = $1 ORDER BY bug_id", p);
  if (!bugs) return bugs.error();
  for (size_t i = 0; i < bugs->size(); ++i) r.known_bugs.push_back({bugs->text(i, 0), bugs->text(i, 1)});
  return std::optional<ReportRecord>(std::move(r));
}

Expected<std::vector<HostSummary>> Store::hosts(const Filter& f) {
  const FilterSql where = filter_sql(f);
  const FilterParams fp(f);
  std::vector<Param> p = fp.params();
  p.push_back(limit_or_all(f.limit));
  p.push_back(static_cast<int64_t>(f.offset));
  Expected<Rows> rows = db_->query(
      fmt::format("SELECT r.host, COUNT(*), COUNT(DISTINCT r.bucket_id), MIN(r.received_at), MAX(r.received_at) "
                  "FROM reports r{} WHERE {} GROUP BY r.host ORDER BY COUNT(*) DESC, r.host LIMIT $5 OFFSET $6",
                  where.join, where.where),
      p);
  if (!rows) return rows.error();
  std::vector<HostSummary> out;
  for (size_t i = 0; i < rows->size(); ++i)
    out.push_back(
        {rows->text(i, 0), rows->integer(i, 1), rows->integer(i, 2), rows->integer(i, 3), rows->integer(i, 4)});
  return out;
}

Expected<std::vector<std::pair<std::string, std::string>>> Store::report_keys() {
  Expected<Rows> rows = db_->query("SELECT content_hash, bucket_id FROM reports ORDER BY id", {});
  if (!rows) return rows.error();
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < rows->size(); ++i) out.emplace_back(rows->text(i, 0), rows->text(i, 1));
  return out;
}

}  // namespace ktriage::store

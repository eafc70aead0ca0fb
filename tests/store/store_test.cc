// The storage interface, the same tests on SQLite and PostgreSQL: schema
// migrations, idempotent batches, atomic batches, queries and their
// filters, bytes kept exactly, and concurrent writers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "ktriage/store.h"
#include "store/backend.h"

namespace ktriage::test {
namespace {

using store::NewReport;
using store::Store;
using ::testing::HasSubstr;

NewReport make_report(int n, const std::string& bucket, const std::string& host = "web1",
                      const std::string& kernel = "6.1.0-13-amd64", int64_t received = 1'700'000'000) {
  NewReport r;
  r.raw = "[  12.5] BUG: unable to handle page fault " + std::to_string(n) + "\n";
  r.content_hash = std::string(63 - std::to_string(n).size(), '0') + "x" + std::to_string(n);
  r.bucket_id = bucket;
  r.signature = "BUG: unable to handle page fault in f" + bucket + " | f" + bucket;
  r.host = host;
  r.source = "/var/log/kern.log";
  r.source_index = n;
  r.kernel = kernel;
  r.title = "BUG: unable to handle page fault in f" + bucket;
  r.kind = "oops_paging";
  r.received_at = received;
  r.uptime = 12.5;
  r.parsed = R"({"kind":"oops","title":"x"})";
  return r;
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(db_.create(GetParam())); }

  std::unique_ptr<Store> open() {
    Expected<std::unique_ptr<Store>> s = Store::open(db_.url());
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  FreshDatabase db_;
};

TEST_P(StoreTest, OpensAtTheCurrentSchemaAndReopens) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend(), GetParam() == Backend::sqlite ? "sqlite" : "postgresql");
  ASSERT_EQ(*s->schema_version(), store::kSchemaVersion);
  s.reset();
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->schema_version(), store::kSchemaVersion);
}

TEST_P(StoreTest, RefusesADatabaseFromANewerKtriage) {
  ASSERT_TRUE(open());
  db_.sql("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
  Expected<std::unique_ptr<Store>> s = Store::open(db_.url());
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("schema version 99 is newer"));
}

TEST_P(StoreTest, TheSameReportTwiceIsStoredOnce) {
  auto s = open();
  ASSERT_TRUE(s);
  std::vector<NewReport> batch = {make_report(1, "aaaa000000000001"), make_report(2, "aaaa000000000001"),
                                  make_report(3, "bbbb000000000002")};
  Expected<std::vector<store::PutResult>> first = s->put(batch);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 3u);
  for (const auto& r : *first) EXPECT_TRUE(r.stored);
  // A retry, and a batch mixing old and new reports.
  Expected<std::vector<store::PutResult>> second = s->put(batch);
  ASSERT_TRUE(second) << second.error().message;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE((*second)[i].stored);
    EXPECT_EQ((*second)[i].id, (*first)[i].id);
  }
  Expected<std::vector<store::PutResult>> third =
      s->put({make_report(3, "bbbb000000000002"), make_report(4, "bbbb000000000002")});
  ASSERT_TRUE(third);
  EXPECT_FALSE((*third)[0].stored);
  EXPECT_TRUE((*third)[1].stored);
  EXPECT_EQ(s->report_keys()->size(), 4u);
}

TEST_P(StoreTest, AFailingBatchWritesNothing) {
  auto s = open();
  ASSERT_TRUE(s);
  // A trigger makes the second report of the batch fail.
  if (GetParam() == Backend::sqlite) {
    db_.sql(
        "CREATE TRIGGER poison BEFORE INSERT ON reports WHEN NEW.host = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned report'); END");
  } else {
    db_.sql(
        "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.host = 'poison' THEN "
        "RAISE EXCEPTION 'poisoned report'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
    db_.sql("CREATE TRIGGER poison BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION poison()");
  }
  Expected<std::vector<store::PutResult>> r =
      s->put({make_report(1, "aaaa000000000001"), make_report(2, "cccc000000000003", "poison")});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("poisoned report"));
  EXPECT_TRUE(s->report_keys()->empty());
  EXPECT_TRUE(s->buckets({})->empty());
  // The connection is usable afterwards.
  ASSERT_TRUE(s->put({make_report(1, "aaaa000000000001")}));
  EXPECT_EQ(s->report_keys()->size(), 1u);
}

TEST_P(StoreTest, KeepsRawBytesAndTextExactly) {
  auto s = open();
  ASSERT_TRUE(s);
  NewReport r = make_report(1, "aaaa000000000001");
  r.raw = std::string("Oops\0\xff\xfe binary \x01\n", 18);
  r.title = "WARNING in f\xff\xfe";  // not UTF-8: stored with U+FFFD
  r.uptime.reset();
  r.corrupted = true;
  r.corrupted_reason = "trace cut off mid-frame";
  r.raw_cut = true;
  r.known_bugs = {{"xfs-stack-depth", "not_fixed"}};
  Expected<std::vector<store::PutResult>> put = s->put({r});
  ASSERT_TRUE(put) << put.error().message;
  Expected<std::optional<store::ReportRecord>> back = s->report((*put)[0].id);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_TRUE(*back);
  const store::ReportRecord& got = **back;
  EXPECT_EQ(got.raw, r.raw);
  EXPECT_EQ(got.summary.title, "WARNING in f\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_FALSE(got.uptime);
  EXPECT_TRUE(got.summary.corrupted);
  EXPECT_EQ(got.corrupted_reason, "trace cut off mid-frame");
  EXPECT_TRUE(got.raw_cut);
  EXPECT_EQ(got.parsed, r.parsed);
  EXPECT_EQ(got.content_hash, r.content_hash);
  EXPECT_EQ(got.signature, r.signature);
  ASSERT_EQ(got.known_bugs.size(), 1u);
  EXPECT_EQ(got.known_bugs[0].id, "xfs-stack-depth");
  EXPECT_EQ(got.known_bugs[0].verdict, "not_fixed");
  EXPECT_FALSE(*s->report(999999));
}

TEST_P(StoreTest, BucketsBiggestFirstWithTheirFilters) {
  auto s = open();
  ASSERT_TRUE(s);
  const int64_t day = 86400, t0 = 1'700'000'000;
  std::vector<NewReport> batch = {
      make_report(1, "aaaa000000000001", "web1", "6.1.0-13-amd64", t0),
      make_report(2, "aaaa000000000001", "web2", "6.1.0-13-amd64", t0 + day),
      make_report(3, "aaaa000000000001", "web2", "6.1.0-15-amd64", t0 + 2 * day),
      make_report(4, "bbbb000000000002", "web1", "6.1.0-15-amd64", t0 + 3 * day),
      make_report(5, "bbbb000000000002", "db1", "", t0 + 3 * day),
      make_report(6, "cccc000000000003", "db1", "6.1.0-15-amd64", t0 + 4 * day),
  };
  batch[0].known_bugs = {{"kb-one", "not_fixed"}};
  batch[1].known_bugs = {{"kb-one", "not_fixed"}};
  ASSERT_TRUE(s->put(batch));

  Expected<std::vector<store::BucketSummary>> all = s->buckets({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "aaaa000000000001");
  EXPECT_EQ((*all)[0].count, 3);
  EXPECT_EQ((*all)[0].hosts, 2);
  EXPECT_EQ((*all)[0].first_seen, t0);
  EXPECT_EQ((*all)[0].last_seen, t0 + 2 * day);
  EXPECT_EQ((*all)[0].kernels, (std::vector<std::string>{"6.1.0-13-amd64", "6.1.0-15-amd64"}));
  EXPECT_EQ((*all)[1].id, "bbbb000000000002");
  EXPECT_EQ((*all)[1].kernels, (std::vector<std::string>{"6.1.0-15-amd64"}));  // "" is not a kernel
  EXPECT_EQ((*all)[2].id, "cccc000000000003");

  store::Filter since;
  since.since = t0 + 2 * day;
  Expected<std::vector<store::BucketSummary>> recent = s->buckets(since);
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].id, "bbbb000000000002");
  EXPECT_EQ((*recent)[0].count, 2);
  store::Filter kernel;
  kernel.kernel = "6.1.0-13-amd64";
  ASSERT_EQ(s->buckets(kernel)->size(), 1u);
  store::Filter host;
  host.host = "db1";
  host.limit = 1;
  ASSERT_EQ(s->buckets(host)->size(), 1u);

  Expected<std::optional<store::BucketDetail>> d = s->bucket("aaaa", {});
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(*d);
  EXPECT_EQ((*d)->summary.count, 3);
  ASSERT_EQ((*d)->hosts.size(), 2u);
  EXPECT_EQ((*d)->hosts[0].name, "web2");
  EXPECT_EQ((*d)->hosts[0].count, 2);
  ASSERT_EQ((*d)->known_bugs.size(), 1u);
  EXPECT_EQ((*d)->known_bugs[0].name, "kb-one (not_fixed)");
  EXPECT_EQ((*d)->known_bugs[0].count, 2);
  ASSERT_EQ((*d)->recent.size(), 3u);
  EXPECT_EQ((*d)->recent[0].received_at, t0 + 2 * day);  // newest first

  Expected<std::vector<store::HostSummary>> hosts = s->hosts({});
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].reports, 2);
}

TEST_P(StoreTest, BucketIdsArePrefixesOfAtLeastFourHexDigits) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->put({make_report(1, "abcd000000000001"), make_report(2, "abcd000000000002")}));
  EXPECT_FALSE(*s->bucket("ffff", {}));
  EXPECT_TRUE(*s->bucket("abcd000000000002", {}));
  Expected<std::optional<store::BucketDetail>> ambiguous = s->bucket("abcd", {});
  ASSERT_FALSE(ambiguous);
  EXPECT_THAT(ambiguous.error().message, HasSubstr("ambiguous"));
  EXPECT_FALSE(s->bucket("ab", {}));
  EXPECT_FALSE(s->bucket("ABCD", {}));
  EXPECT_FALSE(s->bucket("ab%d", {}));
}

// What the dashboard pages read: search by title, function, module or
// kernel (case and LIKE characters taken literally), pages with totals,
// other orders, a bucket's reports per day and its newest report's known bugs.
TEST_P(StoreTest, SearchesPagesAndTrendsOfBuckets) {
  auto s = open();
  ASSERT_TRUE(s);
  const int64_t day = 86400, t0 = 1'700'006'400;  // a UTC midnight
  std::vector<NewReport> batch = {
      make_report(1, "aaaa000000000001", "web1", "6.1.0-13-amd64", t0),
      make_report(2, "aaaa000000000001", "web2", "6.1.0-13-amd64", t0 + 10),
      make_report(3, "aaaa000000000001", "web2", "6.1.0-15-amd64", t0 + 2 * day),
      make_report(4, "bbbb000000000002", "web1", "5.10.0-9-amd64", t0 + 3 * day),
      make_report(5, "cccc000000000003", "db1", "6.1.0-15-amd64", t0 + 4 * day),
  };
  batch[3].signature = "general protection fault in xfs_buf_lock | xfs_buf_lock [xfs]";
  batch[3].title = "general protection fault in xfs_buf_lock";
  batch[4].title = "WARNING in 100%_done";
  batch[1].known_bugs = {{"CVE-2024-0001", "fixed"}};
  batch[2].known_bugs = {{"CVE-2024-0001", "not_fixed"}, {"kb-two", "unknown"}};
  ASSERT_TRUE(s->put(batch));

  auto ids = [&](const store::Filter& f) {
    std::vector<std::string> out;
    Expected<std::vector<store::BucketSummary>> b = s->buckets(f);
    EXPECT_TRUE(b) << b.error().message;
    if (b)
      for (const auto& x : *b) out.push_back(x.id.substr(0, 4));
    return out;
  };
  store::Filter q;
  q.query = "XFS_BUF";  // the function, any case
  EXPECT_EQ(ids(q), (std::vector<std::string>{"bbbb"}));
  q.query = "[xfs]";  // the module as the signature prints it
  EXPECT_EQ(ids(q), (std::vector<std::string>{"bbbb"}));
  q.query = "5.10.0";  // the kernel
  EXPECT_EQ(ids(q), (std::vector<std::string>{"bbbb"}));
  q.query = "6.1.0-15";  // counts only the reports of that kernel
  Expected<std::vector<store::BucketSummary>> k = s->buckets(q);
  ASSERT_TRUE(k);
  ASSERT_EQ(k->size(), 2u);
  EXPECT_EQ((*k)[0].count, 1);
  q.query = "100%_";  // literal % and _
  EXPECT_EQ(ids(q), (std::vector<std::string>{"cccc"}));
  q.query = "1000_done";
  EXPECT_TRUE(ids(q).empty());

  store::Filter paged;
  paged.limit = 2;
  paged.offset = 1;
  Expected<store::BucketPage> page = s->bucket_page(paged);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->total_buckets, 3);
  EXPECT_EQ(page->total_reports, 5);
  ASSERT_EQ(page->buckets.size(), 2u);
  EXPECT_EQ(page->buckets[0].id, "bbbb000000000002");
  EXPECT_EQ(page->buckets[0].title, "general protection fault in xfs_buf_lock");
  EXPECT_EQ(page->buckets[0].kernels, (std::vector<std::string>{"5.10.0-9-amd64"}));
  store::Filter newest;
  newest.order = store::BucketOrder::last_seen;
  EXPECT_EQ(ids(newest), (std::vector<std::string>{"cccc", "bbbb", "aaaa"}));
  newest.order = store::BucketOrder::hosts;
  EXPECT_EQ(ids(newest).front(), "aaaa");

  Expected<std::vector<store::DayCount>> days = s->bucket_days("aaaa000000000001", t0 / day, {});
  ASSERT_TRUE(days) << days.error().message;
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[0].day, t0 / day);
  EXPECT_EQ((*days)[0].count, 2);
  EXPECT_EQ((*days)[1].day, t0 / day + 2);
  EXPECT_EQ(s->bucket_days("aaaa000000000001", t0 / day + 1, {})->size(), 1u);

  Expected<std::vector<store::KnownBug>> bugs = s->bucket_latest_known_bugs("aaaa000000000001", {});
  ASSERT_TRUE(bugs) << bugs.error().message;
  ASSERT_EQ(bugs->size(), 2u);
  EXPECT_EQ((*bugs)[0].id, "CVE-2024-0001");
  EXPECT_EQ((*bugs)[0].verdict, "not_fixed");
  EXPECT_TRUE(s->bucket_latest_known_bugs("cccc000000000003", {})->empty());

  store::Filter second;
  second.limit = 1;
  second.offset = 1;
  Expected<std::optional<store::BucketDetail>> d = s->bucket("aaaa", second);
  ASSERT_TRUE(d && *d);
  ASSERT_EQ((*d)->recent.size(), 1u);
  EXPECT_EQ((*d)->recent[0].received_at, t0 + 10);
  EXPECT_EQ((*d)->summary.count, 3);
}

// Two writers with overlapping batches in opposite orders: nothing lost,
// nothing twice, no deadlock.
TEST_P(StoreTest, ConcurrentWritersWithOverlappingBatches) {
  ASSERT_TRUE(open());
  constexpr int kReports = 400;
  auto writer = [&](bool forward, std::string* error) {
    Expected<std::unique_ptr<Store>> s = Store::open(db_.url());
    if (!s) return void(*error = s.error().message);
    for (int b = 0; b < kReports / 20; ++b) {
      std::vector<NewReport> batch;
      for (int k = 0; k < 20; ++k) {
        int n = forward ? b * 20 + k : kReports - 1 - (b * 20 + k);
        batch.push_back(make_report(n, n % 3 ? "aaaa000000000001" : "bbbb000000000002"));
      }
      if (Expected<std::vector<store::PutResult>> r = (*s)->put(batch); !r) return void(*error = r.error().message);
    }
  };
  std::string e1, e2;
  { std::jthread a(writer, true, &e1), b(writer, false, &e2); }
  EXPECT_EQ(e1, "");
  EXPECT_EQ(e2, "");
  auto s = open();
  Expected<std::vector<std::pair<std::string, std::string>>> keys = s->report_keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), size_t{kReports});
  std::set<std::string> unique;
  for (const auto& [hash, bucket] : *keys) unique.insert(hash);
  EXPECT_EQ(unique.size(), size_t{kReports});
  EXPECT_EQ(s->buckets({})->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::sqlite, Backend::postgresql), backend_name);

TEST(SqliteStore, ParsesSinceAsAnAgeOrAUtcDate) {
  const int64_t now = 1'700'000'000;
  EXPECT_EQ(*store::parse_since("30m", now), now - 1800);
  EXPECT_EQ(*store::parse_since("12h", now), now - 12 * 3600);
  EXPECT_EQ(*store::parse_since("7d", now), now - 7 * 86400);
  EXPECT_EQ(*store::parse_since("2w", now), now - 14 * 86400);
  EXPECT_EQ(*store::parse_since("2023-11-14", now), 1'699'920'000);
  EXPECT_EQ(*store::parse_since("2023-11-14T22:13", now), 1'699'999'980);
  EXPECT_EQ(*store::parse_since("2023-11-14 22:13:20Z", now), now);
  for (const char* bad : {"", "7", "d", "-1d", "7y", "2023-13-01", "2023-11-14T25:00", "yesterday"})
    EXPECT_FALSE(store::parse_since(bad, now)) << bad;
}

TEST(SqliteStore, DefaultDatabaseFollowsKtriageDbThenXdg) {
  ::setenv("KTRIAGE_DB", "postgresql://db.example/crashes", 1);
  EXPECT_EQ(store::default_database(), "postgresql://db.example/crashes");
  ::unsetenv("KTRIAGE_DB");
  ::setenv("XDG_DATA_HOME", "/srv/data", 1);
  EXPECT_EQ(store::default_database(), "sqlite:/srv/data/ktriage/ktriage.db");
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/sre", 1);
  EXPECT_EQ(store::default_database(), "sqlite:/home/sre/.local/share/ktriage/ktriage.db");
}

}  // namespace
}  // namespace ktriage::test

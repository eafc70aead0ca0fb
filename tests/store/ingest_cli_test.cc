// `ktriage ingest` and `ktriage query` as processes, on both backends:
// a round trip that agrees with `ktriage bucket`, retries that store nothing
// twice, kill -9 in the middle of an ingest, two ingesters at once, and the
// one-line errors for databases that cannot be used.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "ktriage/store.h"
#include "common/cli_run.h"
#include "common/fleet_logs.h"
#include "store/backend.h"

namespace ktriage::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

using Result = CliResult;

Result run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}, bool unprivileged = false,
           const std::string& stdin_path = "/dev/null") {
  return run_ktriage(args, env, unprivileged, stdin_path);
}

void expect_one_error_line(const Result& r, const std::string& mentions) {
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_THAT(r.err, StartsWith("ktriage: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(mentions));
}

// make_logs' logs as files in `dir`: 6 reports per copy.
std::vector<std::string> make_logs(const fs::path& dir, int copies) {
  std::vector<std::string> files;
  fs::create_directories(dir);
  const std::vector<std::string> logs = ktriage::test::make_logs(copies);
  for (size_t i = 0; i < logs.size(); ++i) {
    fs::path p = dir / ("log-" + std::to_string(i / 3) + "-" + std::to_string(i % 3) + ".txt");
    std::ofstream(p) << logs[i];
    files.push_back(p.string());
  }
  return files;
}

std::map<std::string, std::string> stored_keys(const std::string& url) {
  Expected<std::unique_ptr<store::Store>> s = store::Store::open(url);
  EXPECT_TRUE(s) << s.error().message;
  if (!s) return {};
  Expected<std::vector<std::pair<std::string, std::string>>> keys = (*s)->report_keys();
  EXPECT_TRUE(keys);
  std::map<std::string, std::string> out;
  for (const auto& [hash, bucket] : *keys) EXPECT_TRUE(out.emplace(hash, bucket).second) << "twice: " << hash;
  return out;
}

std::vector<std::string> ingest_args(const std::string& url, const std::vector<std::string>& logs,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"ingest", "--db", url, "--host", "web7", "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  a.insert(a.end(), logs.begin(), logs.end());
  return a;
}

class IngestCliTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(db_.create(GetParam())); }
  FreshDatabase db_;
  ScratchDir scratch_{"kt-ingest-logs"};
};

TEST_P(IngestCliTest, StoresWhatBucketGroupsAndQueriesItBack) {
  std::vector<std::string> logs = make_logs(scratch_ / "logs", 3);
  Result bucketed = run([&] {
    std::vector<std::string> a = {"bucket", "--json"};
    a.insert(a.end(), logs.begin(), logs.end());
    return a;
  }());
  ASSERT_EQ(bucketed.status, 0) << bucketed.err;
  Json expected = Json::parse(bucketed.out);

  Result ingested = run(ingest_args(db_.url(), logs));
  ASSERT_EQ(ingested.status, 0) << ingested.err;
  std::vector<Json> lines;
  std::istringstream in(ingested.out);
  for (std::string l; std::getline(in, l);) lines.push_back(Json::parse(l));
  ASSERT_EQ(lines.size(), 19u);  // 18 reports and the summary
  EXPECT_EQ(lines.back()["type"], "summary");
  EXPECT_EQ(lines.back()["stored"], 18);
  EXPECT_EQ(lines.back()["buckets"], expected["buckets"].size());

  Result top = run({"query", "buckets", "--db", db_.url(), "--json"});
  ASSERT_EQ(top.status, 0) << top.err;
  Json got = Json::parse(top.out);
  // Equal counts tie in any order: compare by id.
  std::map<std::string, Json> by_id;
  for (const Json& b : expected["buckets"]) by_id[b["id"]] = b;
  ASSERT_EQ(got["buckets"].size(), by_id.size());
  for (const Json& b : got["buckets"]) {
    ASSERT_TRUE(by_id.count(b["id"])) << b.dump();
    const Json& want = by_id[b["id"]];
    EXPECT_EQ(b["count"], want["count"]);
    EXPECT_EQ(b["signature"], want["signature"]);
    EXPECT_EQ(b["kernels"], want["kernels"]);
    EXPECT_EQ(b["hosts"], 1);
  }
  const std::string id = got["buckets"][0]["id"];
  Result one = run({"query", "bucket", id.substr(0, 8), "--db", db_.url(), "--json"});
  ASSERT_EQ(one.status, 0) << one.err;
  Json detail = Json::parse(one.out)["bucket"];
  EXPECT_EQ(detail["id"], id);
  EXPECT_EQ(detail["host_counts"][0]["name"], "web7");
  const int64_t report_id = detail["recent_reports"][0]["id"];

  Result rep = run({"query", "report", std::to_string(report_id), "--db", db_.url(), "--json"});
  ASSERT_EQ(rep.status, 0) << rep.err;
  Json r = Json::parse(rep.out)["report"];
  EXPECT_EQ(r["bucket"], id);
  // Stored as parsed: analyze --json's report before the analysis adds to it.
  EXPECT_EQ(r["parsed"]["title"], r["title"]);
  EXPECT_TRUE(r["parsed"]["span"].is_object());
  EXPECT_FALSE(r["parsed"].contains("fault"));
  // Analysed when read, from the stored text.
  EXPECT_EQ(r["analysis"]["reports"].size(), 1u);
  EXPECT_EQ(r["analysis"]["reports"][0]["frames"].size(), r["parsed"]["frames"].size());
  EXPECT_EQ(r["analysis"]["reports"][0]["title"], r["title"]);
  EXPECT_THAT(r["raw"].get<std::string>(), HasSubstr(r["analysis"]["reports"][0]["header"].get<std::string>()));

  Result text = run({"query", "bucket", id, "--db", db_.url()});
  EXPECT_EQ(text.status, 0);
  EXPECT_THAT(text.out, HasSubstr("hosts:      web7 ("));
  EXPECT_EQ(run({"query", "hosts", "--db", db_.url(), "--since", "1h"}).status, 0);
  EXPECT_EQ(run({"query", "buckets", "--db", db_.url(), "--kernel", "no-such-kernel"}).status, 1);
  EXPECT_EQ(run({"query", "report", "999999", "--db", db_.url()}).status, 1);
  expect_one_error_line(run({"query", "report", "x1", "--db", db_.url()}), "is not a report id");
}

TEST_P(IngestCliTest, ARetryStoresNothingTwice) {
  std::vector<std::string> logs = make_logs(scratch_ / "logs", 2);
  ASSERT_EQ(run(ingest_args(db_.url(), logs)).status, 0);
  std::map<std::string, std::string> first = stored_keys(db_.url());
  Result again = run(ingest_args(db_.url(), logs));
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(R"("duplicates":12)"));
  EXPECT_THAT(again.out, HasSubstr(R"("stored":0)"));
  EXPECT_EQ(stored_keys(db_.url()), first);
}

TEST_P(IngestCliTest, StandardInputIsSpooledAndStoredLikeAFile) {
  std::vector<std::string> logs = make_logs(scratch_ / "logs", 1);
  Result piped = run({"ingest", "--db", db_.url(), "--host", "web7", "--json", "-"}, {}, false, logs[1]);
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_THAT(piped.out, HasSubstr(R"("source":"-")"));
  // The same bytes from a file are the same reports.
  Result file = run(ingest_args(db_.url(), {logs[1]}));
  ASSERT_EQ(file.status, 0) << file.err;
  EXPECT_THAT(file.out, HasSubstr(R"("stored":0)"));
  EXPECT_THAT(file.out, ::testing::Not(HasSubstr(R"("duplicates":0)")));
}

TEST_P(IngestCliTest, AGarbageOrEmptyLogIngestsNothingAndSaysSo) {
  fs::path empty = scratch_ / "empty.log", garbage = scratch_ / "garbage.bin";
  std::ofstream(empty).close();
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes += static_cast<char>((i * 7919) % 251);
  std::ofstream(garbage, std::ios::binary) << bytes;
  Result r = run({"ingest", "--db", db_.url(), empty.string(), garbage.string()});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no crash reports in 2 logs; nothing stored"));
  EXPECT_TRUE(stored_keys(db_.url()).empty());
}

// kill -9 while ingesting, then ingest again: every report ingest announced
// is there, nothing is there twice, and the end result is a clean ingest's.
TEST_P(IngestCliTest, KillNineMidIngestThenIngestAgain) {
  // 1440 reports: ingest must still be running when 30 are announced, also
  // when this test is slow to read them on a busy machine.
  constexpr size_t kReports = 1440;
  std::vector<std::string> logs = make_logs(scratch_ / "logs", kReports / 6);
  int pipe_fd[2];
  ASSERT_EQ(pipe(pipe_fd), 0);
  std::vector<std::string> args = ingest_args(db_.url(), logs, {"--batch", "3", "-j", "1"});
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fd[1], 1);
    close(pipe_fd[0]);
    std::vector<char*> argv = {const_cast<char*>(KTRIAGE_BINARY)};
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fd[1]);
  FILE* from = fdopen(pipe_fd[0], "r");
  std::set<std::string> announced;
  char line[4096];
  while (announced.size() < 30 && fgets(line, sizeof line, from)) {
    Json j = Json::parse(line);
    if (j["type"] == "report") announced.insert(j["content_hash"].get<std::string>());
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Lines already in the pipe were committed too.
  while (fgets(line, sizeof line, from)) {
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_discarded() && j["type"] == "report") announced.insert(j["content_hash"].get<std::string>());
  }
  fclose(from);
  ASSERT_TRUE(WIFSIGNALED(status)) << "ingest finished before the kill: make the input bigger";
  ASSERT_GE(announced.size(), 30u);

  std::map<std::string, std::string> after_kill = stored_keys(db_.url());
  for (const std::string& h : announced) EXPECT_TRUE(after_kill.count(h)) << "announced but missing: " << h;
  EXPECT_LT(after_kill.size(), kReports);

  Result again = run(ingest_args(db_.url(), logs));
  ASSERT_EQ(again.status, 0) << again.err;
  FreshDatabase clean;
  ASSERT_NO_FATAL_FAILURE(clean.create(GetParam()));
  ASSERT_EQ(run(ingest_args(clean.url(), logs)).status, 0);
  std::map<std::string, std::string> expected = stored_keys(clean.url());
  EXPECT_EQ(expected.size(), kReports);
  EXPECT_EQ(stored_keys(db_.url()), expected);
}

// Two ingesters at once on overlapping inputs: the same reports and buckets
// as one ingester.
TEST_P(IngestCliTest, TwoConcurrentIngestersStoreWhatOneDoes) {
  std::vector<std::string> logs = make_logs(scratch_ / "logs", 30);  // 180 reports
  std::vector<std::string> first(logs.begin(), logs.begin() + 60), second(logs.begin() + 30, logs.end());
  Result a, b;
  {
    std::jthread ta([&] { a = run(ingest_args(db_.url(), first, {"--batch", "4"})); });
    std::jthread tb([&] { b = run(ingest_args(db_.url(), second, {"--batch", "4"})); });
  }
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  FreshDatabase single;
  ASSERT_NO_FATAL_FAILURE(single.create(GetParam()));
  ASSERT_EQ(run(ingest_args(single.url(), logs)).status, 0);
  std::map<std::string, std::string> one = stored_keys(single.url()), two = stored_keys(db_.url());
  EXPECT_EQ(one.size(), 180u);
  EXPECT_EQ(two, one);
}

INSTANTIATE_TEST_SUITE_P(Backends, IngestCliTest, ::testing::Values(Backend::sqlite, Backend::postgresql),
                         backend_name);

class SqliteCli : public ::testing::Test {
 protected:
  ScratchDir dir_{"kt-sqlite-cli"};
};

TEST_F(SqliteCli, ANonDatabaseFileIsAnErrorAndStaysUntouched) {
  fs::path notes = dir_ / "notes.txt";
  std::ofstream(notes) << "these are my notes, not a database\n";
  expect_one_error_line(run({"ingest", "--db", notes.string(), KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log"}),
                        "file is not a database");
  EXPECT_EQ(read_file(notes), "these are my notes, not a database\n");
  expect_one_error_line(run({"query", "buckets", "--db", "sqlite:" + notes.string()}), "file is not a database");
}

TEST_F(SqliteCli, AReadOnlyDirectoryIsAnError) {
  fs::path ro = dir_ / "ro";
  fs::create_directories(ro);
  chmod(dir_.path().c_str(), 0755);
  chmod(ro.c_str(), 0555);
  // Root writes anywhere: run as nobody then.
  Result r = run({"ingest", "--db", (ro / "k.db").string(), KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log"}, {}, true);
  expect_one_error_line(r, "cannot write in " + ro.string() + ": Permission denied");
  EXPECT_FALSE(fs::exists(ro / "k.db"));
  Result nested =
      run({"ingest", "--db", (ro / "sub" / "k.db").string(), KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log"}, {}, true);
  expect_one_error_line(nested, "cannot create");
}

TEST_F(SqliteCli, TheDefaultDatabaseIsCreatedUnderXdgDataHomeAndKtriageDbOverridesIt) {
  const std::string log = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";
  Result r = run({"ingest", log}, {"XDG_DATA_HOME=" + dir_.string(), "KTRIAGE_DB"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "ktriage" / "ktriage.db"));
  EXPECT_EQ(run({"query", "buckets"}, {"XDG_DATA_HOME=" + dir_.string(), "KTRIAGE_DB"}).status, 0);
  const std::string other = "sqlite:" + (dir_ / "other.db").string();
  ASSERT_EQ(run({"ingest", log}, {"XDG_DATA_HOME=" + dir_.string(), "KTRIAGE_DB=" + other}).status, 0);
  EXPECT_TRUE(fs::exists(dir_ / "other.db"));
  expect_one_error_line(run({"query", "buckets", "--db", (dir_ / "missing.db").string()}), "no such database");
  expect_one_error_line(run({"ingest", "--db", "mysql://x/y", log}), "unknown database kind");
  expect_one_error_line(run({"ingest", "--db", (dir_ / "x.db").string(), (dir_ / "absent.log").string()}),
                        "absent.log: No such file or directory");
  EXPECT_FALSE(fs::exists(dir_ / "x.db"));
}

TEST(PostgresCli, UnreachableServerAndBadCredentialsAreOneLineErrors) {
  Expected<PostgresServer*> pg = shared_postgres();
  ASSERT_TRUE(pg) << pg.error().message;
  const std::string log = KTRIAGE_SOURCE_DIR "/examples/xfs-panic.log";
  Result bad_password = run({"ingest", "--db", (*pg)->url_with_password("postgres", "wrong-password"), log});
  expect_one_error_line(bad_password, "password authentication failed");
  EXPECT_THAT(bad_password.err, ::testing::Not(HasSubstr("wrong-password")));  // never print a password
  // Nothing listens on a port the server just gave up.
  int port = (*pg)->port() + 1;
  Result refused = run({"ingest", "--db", "postgresql://ktriage:x@127.0.0.1:" + std::to_string(port) + "/db", log});
  expect_one_error_line(refused, "127.0.0.1");
  Result no_db = run({"query", "buckets", "--db", (*pg)->url("no_such_database")});
  expect_one_error_line(no_db, "does not exist");
}

}  // namespace
}  // namespace ktriage::test

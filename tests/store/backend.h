// A fresh database per test, on either backend: an SQLite file in a scratch
// directory, or a new database on the suite's PostgreSQL server.
#pragma once

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "common/postgres_server.h"
#include "common/test_util.h"

namespace ktriage::test {

enum class Backend { sqlite, postgresql };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgresql";
}

class FreshDatabase {
 public:
  // Fails the test (never skips) when the backend is not available.
  void create(Backend backend) {
    backend_ = backend;
    static std::atomic<int> serial{0};
    const std::string name = "kt" + std::to_string(getpid()) + "_" + std::to_string(serial++);
    if (backend == Backend::sqlite) {
      dir_ = ScratchDir(name);
      url_ = "sqlite:" + (dir_ / "ktriage.db").string();
      return;
    }
    Expected<PostgresServer*> pg = shared_postgres();
    ASSERT_TRUE(pg) << "PostgreSQL is required for this suite: " << pg.error().message;
    server_ = *pg;
    Expected<std::string> url = server_->create_database(name);
    ASSERT_TRUE(url) << url.error().message;
    url_ = *url;
    database_ = name;
  }

  const std::string& url() const { return url_; }
  Backend backend() const { return backend_; }
  PostgresServer* server() const { return server_; }
  const ScratchDir& dir() const { return dir_; }

  // Runs SQL on the test's database behind the store's back.
  void sql(const std::string& statement) {
    if (backend_ == Backend::postgresql) {
      Expected<bool> ok = server_->execute(database_, statement);
      ASSERT_TRUE(ok) << ok.error().message;
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(url_.substr(7).c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

 private:
  Backend backend_ = Backend::sqlite;
  ScratchDir dir_;
  PostgresServer* server_ = nullptr;
  std::string url_, database_;
};

}  // namespace ktriage::test

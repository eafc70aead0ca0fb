// A throwaway PostgreSQL server for tests and benchmarks, started by the
// test itself from Debian's postgresql package: initdb into a fresh
// temporary directory, postgres listening on 127.0.0.1 at a free port with
// password authentication, no Unix socket. The destructor stops it and
// removes the directory, whatever the test's outcome; if the test process
// dies, the server gets SIGQUIT (PR_SET_PDEATHSIG) and exits too.
//
// postgres refuses to run as root, and CI runs as root: then initdb and
// postgres run as `nobody` (setgid/setuid in the child, no sudo). As any
// other user they run as that user.
//
//   Expected<std::unique_ptr<PostgresServer>> pg = PostgresServer::start();
//   if (!pg) FAIL() << pg.error().message;   // never skip: CI must see it
//   Expected<std::string> url = (*pg)->create_database("t1");
//   // "postgresql://ktriage:<password>@127.0.0.1:<port>/t1"
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unprivileged.h"
#include "ktriage/error.h"

namespace ktriage::test {

class PostgresServer {
 public:
  struct Options {
    // false: fsync and synchronous_commit off (tests: a server crash is
    // not what they test). true: PostgreSQL's durable defaults (benchmarks).
    bool durable = false;
  };

  static Expected<std::unique_ptr<PostgresServer>> start(Options options);
  static Expected<std::unique_ptr<PostgresServer>> start() { return start(Options{}); }
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // URL of a database on this server, with the superuser's credentials.
  std::string url(std::string_view database = "postgres") const;
  // The same with a wrong password.
  std::string url_with_password(std::string_view database, std::string_view password) const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // the postmaster (its backends are its children)

  // CREATE DATABASE; returns its URL.
  Expected<std::string> create_database(std::string_view name);
  // Runs SQL on a database (tests' checks and setup).
  Expected<bool> execute(std::string_view database, std::string_view sql);

 private:
  PostgresServer() = default;
  Expected<bool> launch(const std::string& bindir, bool durable);
  void stop();

  std::filesystem::path base_;  // temp directory: data/, pwfile, postgres.log
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// One server per test process, started on first use and stopped at exit
// (for suites whose tests share it, each in its own database).
Expected<PostgresServer*> shared_postgres();

}  // namespace ktriage::test

#include "common/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace ktriage::test {
namespace fs = std::filesystem;

namespace {

std::string tail(const fs::path& file, size_t lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + " | ";
  return out.empty() ? "(no output)" : out;
}

// Debian installs the server outside PATH: /usr/lib/postgresql/<v>/bin.
std::optional<std::string> server_bindir() {
  std::optional<std::string> best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string v = e.path().filename().string();
    if (!fs::exists(e.path() / "bin" / "initdb") || !fs::exists(e.path() / "bin" / "postgres")) continue;
    int n = std::atoi(v.c_str());
    if (n > best_version) {
      best_version = n;
      best = (e.path() / "bin").string();
    }
  }
  return best;
}

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// fork + exec with output to `log`, in `dir`, as `ids` when given. With
// `die_with_parent` the child gets SIGQUIT (postgres: immediate shutdown)
// when this process dies.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& dir, const fs::path& log, std::optional<Ids> ids,
            bool die_with_parent) {
  const pid_t parent = ::getpid();
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return -1;
  pid_t pid = ::fork();
  if (pid != 0) {
    ::close(out);
    return pid;
  }
  // Child: only async-signal-safe calls from here.
  int null = ::open("/dev/null", O_RDONLY);
  ::dup2(null, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  if (::chdir(dir.c_str()) != 0) ::_exit(126);
  if (ids && (::setgroups(0, nullptr) != 0 || ::setgid(ids->gid) != 0 || ::setuid(ids->uid) != 0)) ::_exit(126);
  // After setuid: changing credentials clears the parent-death signal.
  if (die_with_parent && (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent)) ::_exit(126);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string random_hex(size_t n) {
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

}  // namespace

Expected<std::unique_ptr<PostgresServer>> PostgresServer::start(Options options) {
  std::optional<std::string> bindir = server_bindir();
  if (!bindir)
    return Error{"PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-deps.sh"};
  std::unique_ptr<PostgresServer> pg(new PostgresServer());
  char tmpl[] = "/tmp/ktriage-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) return Error{std::string("mkdtemp: ") + std::strerror(errno)};
  pg->base_ = tmpl;
  pg->password_ = random_hex(24);
  const std::optional<Ids> ids = unprivileged_ids();
  {
    std::ofstream pw(pg->base_ / "pwfile");
    pw << pg->password_ << '\n';
  }
  if (ids && (::chown(pg->base_.c_str(), ids->uid, ids->gid) != 0 ||
              ::chown((pg->base_ / "pwfile").c_str(), ids->uid, ids->gid) != 0))
    return Error{std::string("chown to the unprivileged user: ") + std::strerror(errno)};
  const fs::path log = pg->base_ / "postgres.log";
  pid_t initdb = spawn(
      {*bindir + "/initdb", "-D", (pg->base_ / "data").string(), "-U", "ktriage",
       "--pwfile=" + (pg->base_ / "pwfile").string(), "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
      pg->base_, log, ids, true);
  if (initdb < 0) return Error{std::string("cannot start initdb: ") + std::strerror(errno)};
  if (int rc = wait_exit(initdb); rc != 0)
    return Error{"initdb failed (exit " + std::to_string(rc) + "): " + tail(log, 5)};
  if (Expected<bool> ok = pg->launch(*bindir, options.durable); !ok) return ok.error();
  return pg;
}

Expected<bool> PostgresServer::launch(const std::string& bindir, bool durable) {
  const fs::path log = base_ / "postgres.log";
  std::string last_error;
  // A free port can be taken between finding it and binding it: try again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (!port_) return Error{"no free TCP port on 127.0.0.1"};
    std::vector<std::string> argv = {bindir + "/postgres",
                                     "-D",
                                     (base_ / "data").string(),
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "-k",
                                     "",
                                     "-c",
                                     "max_connections=64"};
    if (!durable)
      for (const char* c : {"fsync=off", "synchronous_commit=off", "full_page_writes=off"})
        argv.insert(argv.end(), {"-c", c});
    pid_ = spawn(argv, base_, log, unprivileged_ids(), true);
    if (pid_ < 0) return Error{std::string("cannot start postgres: ") + std::strerror(errno)};
    const std::string conninfo = url("postgres") + "?connect_timeout=2";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      if (PQping(conninfo.c_str()) == PQPING_OK) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    last_error = tail(log, 4);
    if (pid_ > 0) {
      stop();
      return Error{"postgres did not accept connections within 60 s: " + last_error};
    }
    if (last_error.find("could not bind") == std::string::npos &&
        last_error.find("already in use") == std::string::npos)
      break;
  }
  return Error{"postgres failed to start: " + last_error};
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown: disconnect clients, checkpoint, exit
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  wait_exit(pid_);
  pid_ = -1;
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  if (!base_.empty()) fs::remove_all(base_, ec);
}

std::string PostgresServer::url(std::string_view database) const { return url_with_password(database, password_); }

std::string PostgresServer::url_with_password(std::string_view database, std::string_view password) const {
  return "postgresql://ktriage:" + std::string(password) + "@127.0.0.1:" + std::to_string(port_) + "/" +
         std::string(database);
}

Expected<bool> PostgresServer::execute(std::string_view database, std::string_view sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(url(database).c_str()), PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) return Error{PQerrorMessage(c.get())};
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), std::string(sql).c_str()), PQclear);
  ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error{PQresultErrorMessage(r.get())};
  return true;
}

Expected<std::string> PostgresServer::create_database(std::string_view name) {
  if (Expected<bool> ok = execute("postgres", "CREATE DATABASE \"" + std::string(name) + "\""); !ok) return ok.error();
  return url(name);
}

Expected<PostgresServer*> shared_postgres() {
  static Expected<std::unique_ptr<PostgresServer>> server = PostgresServer::start();
  if (!server) return server.error();
  return server->get();
}

}  // namespace ktriage::test

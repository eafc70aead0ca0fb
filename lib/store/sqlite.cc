// The SQLite backend: one sqlite3* per Store, statements prepared once.
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

#include "store/connection.h"

namespace ktriage::store {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

// Writers wait this long for another writer's transaction (ms).
constexpr int kBusyTimeoutMs = 60'000;

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(DbPtr db, std::string name) : db_(std::move(db)), name_(std::move(name)) {}

  Dialect dialect() const override { return Dialect::sqlite; }
  const std::string& name() const override { return name_; }

  // The one conversion from an SQLite failure to an Error.
  Error error(int rc) const {
    std::string what = sqlite3_errmsg(db_.get());
    if (rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY || rc == SQLITE_IOERR) {
      if (int e = sqlite3_system_errno(db_.get())) what += fmt::format(" ({})", std::strerror(e));
    }
    return Error{fmt::format("{}: {}", name_, what)};
  }

  Expected<bool> execute(std::string_view sql) override {
    std::string s(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &message);
    std::unique_ptr<char, decltype(&sqlite3_free)> owned(message, sqlite3_free);
    if (rc != SQLITE_OK) return error(rc);
    return true;
  }

  Expected<Rows> query(std::string_view sql, std::span<const Param> params) override {
    auto it = statements_.find(std::string(sql));
    if (it == statements_.end()) {
      sqlite3_stmt* raw = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                                  nullptr);
      if (rc != SQLITE_OK) return error(rc);
      StmtPtr stmt(raw);
      // SQLite numbers "$N" parameters by first use; the shared SQL must use
      // them in order so that position N is $N on both backends.
      for (int i = 1; i <= sqlite3_bind_parameter_count(raw); ++i) {
        const char* n = sqlite3_bind_parameter_name(raw, i);
        if (!n || fmt::format("${}", i) != n)
          return Error{fmt::format("{}: statement parameters out of order at {}: {}", name_, n ? n : "?", sql)};
      }
      it = statements_.emplace(std::string(sql), std::move(stmt)).first;
    }
    sqlite3_stmt* st = it->second.get();
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < params.size(); ++i) {
      int at = static_cast<int>(i + 1);
      int rc = std::visit(
          [&](const auto& p) -> int {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>)
              return sqlite3_bind_null(st, at);
            else if constexpr (std::is_same_v<T, int64_t>)
              return sqlite3_bind_int64(st, at, p);
            else if constexpr (std::is_same_v<T, double>)
              return sqlite3_bind_double(st, at, p);
            else if constexpr (std::is_same_v<T, Text>)
              return sqlite3_bind_text64(st, at, p.value.data(), p.value.size(), SQLITE_STATIC, SQLITE_UTF8);
            else
              return sqlite3_bind_blob64(st, at, p.value.data(), p.value.size(), SQLITE_STATIC);
          },
          params[i]);
      if (rc != SQLITE_OK) return error(rc);
    }
    const int columns = sqlite3_column_count(st);
    Rows rows(static_cast<size_t>(columns));
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Error e = error(rc);
        sqlite3_reset(st);
        return e;
      }
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
          rows.push(std::nullopt);
          continue;
        }
        // Blobs as their bytes, everything else as text.
        const void* data = sqlite3_column_type(st, c) == SQLITE_BLOB
                               ? sqlite3_column_blob(st, c)
                               : static_cast<const void*>(sqlite3_column_text(st, c));
        int n = sqlite3_column_bytes(st, c);
        rows.push(std::string(static_cast<const char*>(data), static_cast<size_t>(n)));
      }
    }
    sqlite3_reset(st);  // ends the statement's read; a finished statement holds no lock
    return rows;
  }

  Expected<bool> begin_write() override { return execute("BEGIN IMMEDIATE"); }
  Expected<bool> commit() override { return execute("COMMIT"); }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_.get())) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  DbPtr db_;
  std::string name_;
  std::unordered_map<std::string, StmtPtr> statements_;
};

}  // namespace

Expected<std::unique_ptr<Connection>> open_sqlite(const std::string& path, OpenMode mode) {
  const std::string name = "sqlite:" + path;
  if (path.empty()) return Error{"sqlite: no path (sqlite:PATH)"};
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == OpenMode::read_write) {
    flags |= SQLITE_OPEN_CREATE;
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return Error{fmt::format("{}: cannot create {}: {}", name, dir.string(), ec.message())};
    }
    // SQLite's own message for this is "unable to open database file"; say
    // why. (The WAL and journal files need the directory too.)
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      return Error{fmt::format("{}: cannot write in {}: {}", name, dir.string(), std::strerror(errno))};
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return Error{fmt::format("{}: no such database (ktriage ingest creates it)", name)};
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    std::string what = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    if (int e = raw ? sqlite3_system_errno(raw) : 0) what += fmt::format(" ({})", std::strerror(e));
    return Error{fmt::format("{}: {}", name, what)};
  }
  sqlite3_extended_result_codes(db.get(), 0);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  auto c = std::make_unique<SqliteConnection>(std::move(db), name);
  // WAL: readers never block the writer; synchronous=FULL: a commit is on
  // disk when COMMIT returns (what "stored" promises); foreign keys on.
  // journal_mode is the first statement that reads the file, so a file that
  // is not a database fails here, before anything is written.
  Expected<Rows> wal = c->query("PRAGMA journal_mode=WAL", {});
  if (!wal) return wal.error();
  if (wal->empty() || wal->text(0, 0) != "wal")
    return Error{fmt::format("{}: cannot switch to WAL mode (journal mode is {})", name,
                             wal->empty() ? "unknown" : wal->text(0, 0))};
  if (Expected<bool> ok = c->execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON"); !ok) return ok.error();
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace ktriage::store

// SQLite handles with RAII and one error conversion (drgn's
// drgn_error_libdw() idea): every failing call becomes an Error naming the
// file and SQLite's message, right where it fails.
//
//   Expected<support::Db> dbOrErr = support::Db::open(path, support::Db::Mode::read_only);
//   support::Stmt q = dbOrErr->prepare("SELECT value FROM meta WHERE key = ?");
//   q.bind(1, "schema");
//   while (q.step()) use(q.text(0));
//   if (!q.ok()) return q.error();
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ktriage/error.h"

namespace ktriage::support {

// "file.sqlite: database disk image is malformed"
Error sqlite_error(sqlite3* db, std::string_view where);

class Stmt {
 public:
  Stmt() = default;
  // `stmt` null with rc an error: a statement that did not compile.
  Stmt(sqlite3* db, sqlite3_stmt* stmt, int rc = SQLITE_OK) : db_(db), stmt_(stmt, sqlite3_finalize), rc_(rc) {}

  bool valid() const { return stmt_ != nullptr; }
  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, int64_t value);
  Stmt& bind_null(int index);
  // Next row: true while there is one. A failure ends the rows and is kept
  // for ok()/error().
  bool step();
  // For statements that return no rows.
  Expected<bool> run();
  void reset();

  std::string text(int column) const;
  std::string_view text_view(int column) const;  // valid until the next step()
  int64_t integer(int column) const;
  bool is_null(int column) const;

  bool ok() const { return rc_ == SQLITE_OK || rc_ == SQLITE_DONE || rc_ == SQLITE_ROW; }
  Error error() const;

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt_{nullptr, sqlite3_finalize};
  int rc_ = SQLITE_OK;
};

class Db {
 public:
  enum class Mode { read_only, create };

  // read_only opens the file immutable (no locks, no journal: shipped data
  // on a read-only file system works); create makes a new file.
  static Expected<Db> open(const std::filesystem::path& file, Mode mode);

  sqlite3* get() const { return db_.get(); }
  const std::string& name() const { return name_; }
  // A statement; an invalid one (valid() false) when the SQL does not
  // compile against this file, with the reason in last_error().
  Stmt prepare(std::string_view sql) const;
  Expected<bool> exec(const std::string& sql) const;
  Error last_error() const { return sqlite_error(db_.get(), name_); }

 private:
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_{nullptr, sqlite3_close_v2};
  std::string name_;
};

}  // namespace ktriage::support

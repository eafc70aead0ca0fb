#include "support/sqlite.h"

#include <fmt/format.h>

namespace ktriage::support {

Error sqlite_error(sqlite3* db, std::string_view where) {
  return Error{fmt::format("{}: {}", where, db ? sqlite3_errmsg(db) : "out of memory")};
}

Stmt& Stmt::bind(int index, std::string_view text) {
  if (stmt_) rc_ = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  if (stmt_) rc_ = sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  if (stmt_) rc_ = sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

bool Stmt::step() {
  if (!stmt_ || !ok()) return false;
  rc_ = sqlite3_step(stmt_.get());
  return rc_ == SQLITE_ROW;
}

Expected<bool> Stmt::run() {
  step();
  if (!ok()) return error();
  reset();
  return true;
}

void Stmt::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  rc_ = SQLITE_OK;
}

std::string Stmt::text(int column) const { return std::string(text_view(column)); }

std::string_view Stmt::text_view(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), column));
  if (!p) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column))};
}

int64_t Stmt::integer(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL; }

Error Stmt::error() const {
  return Error{fmt::format("{}: {}", db_ ? sqlite3_db_filename(db_, "main") : "sqlite",
                           db_ ? sqlite3_errmsg(db_) : "no statement")};
}

Expected<Db> Db::open(const std::filesystem::path& file, Mode mode) {
  Db db;
  db.name_ = file.string();
  sqlite3* raw = nullptr;
  int rc;
  if (mode == Mode::read_only) {
    // A URI so the file can be opened immutable; the path is percent-encoded
    // where URI syntax would misread it.
    std::string uri = "file:";
    for (char c : file.string()) {
      if (c == '%' || c == '?' || c == '#')
        uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
      else
        uri += c;
    }
    uri += "?mode=ro&immutable=1";
    rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  } else {
    rc = sqlite3_open_v2(db.name_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  }
  db.db_.reset(raw);
  if (rc != SQLITE_OK) return sqlite_error(raw, db.name_);
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Stmt Db::prepare(std::string_view sql) const {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK)
    return Stmt(db_.get(), nullptr, SQLITE_ERROR);
  return Stmt(db_.get(), stmt);
}

Expected<bool> Db::exec(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Error e{fmt::format("{}: {}", name_, message ? message : sqlite3_errmsg(db_.get()))};
    sqlite3_free(message);
    return e;
  }
  return true;
}

}  // namespace ktriage::support

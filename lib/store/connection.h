// What the store needs from a database: statements with $1..$N parameters,
// prepared once per connection, and write transactions. SQLite and
// PostgreSQL implement it; every query is written once, in store.cc and
// schema.cc, in the SQL both accept.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/store.h"

namespace ktriage::store {

struct Text {
  std::string_view value;
};
struct Blob {
  std::string_view value;  // bytes: SQLite BLOB, PostgreSQL BYTEA (sent binary)
};
using Param = std::variant<std::nullptr_t, int64_t, double, Text, Blob>;

// A result set, every cell as text (blobs as their bytes); nullopt is NULL.
class Rows {
 public:
  explicit Rows(size_t columns = 0) : columns_(columns) {}
  size_t size() const { return columns_ ? cells_.size() / columns_ : 0; }
  bool empty() const { return size() == 0; }
  void push(std::optional<std::string> cell) { cells_.push_back(std::move(cell)); }

  bool null(size_t row, size_t col) const { return !cell(row, col); }
  std::string text(size_t row, size_t col) const { return cell(row, col).value_or(""); }
  int64_t integer(size_t row, size_t col) const;
  std::optional<double> real(size_t row, size_t col) const;

 private:
  const std::optional<std::string>& cell(size_t row, size_t col) const { return cells_.at(row * columns_ + col); }
  size_t columns_;
  std::vector<std::optional<std::string>> cells_;
};

enum class Dialect { sqlite, postgresql };

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // The database for messages: "sqlite:/path", or the URL without password.
  virtual const std::string& name() const = 0;
  // SQL without parameters; may hold several statements (DDL).
  virtual Expected<bool> execute(std::string_view sql) = 0;
  // One statement with $1..$N parameters ($N numbered in order of first use);
  // prepared on first use and kept for the connection's life.
  virtual Expected<Rows> query(std::string_view sql, std::span<const Param> params) = 0;
  // Starts a transaction that will write. SQLite takes the write lock at
  // once (BEGIN IMMEDIATE), so waiting for another writer honours the busy
  // timeout instead of failing at the first write.
  virtual Expected<bool> begin_write() = 0;
  virtual Expected<bool> commit() = 0;
  virtual void rollback() = 0;
};

Expected<std::unique_ptr<Connection>> open_sqlite(const std::string& path, OpenMode mode);
Expected<std::unique_ptr<Connection>> open_postgresql(const std::string& url);

// Rolls back unless committed: every early return leaves no transaction open.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  ~Transaction() {
    if (open_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Expected<bool> begin() {
    Expected<bool> ok = db_.begin_write();
    open_ = ok.has_value();
    return ok;
  }
  Expected<bool> commit() {
    open_ = false;
    Expected<bool> ok = db_.commit();
    if (!ok) db_.rollback();  // a failed COMMIT can leave the transaction open
    return ok;
  }

 private:
  Connection& db_;
  bool open_ = false;
};

// Applies the migrations a database lacks (schema.cc).
Expected<int> migrate(Connection& db);

}  // namespace ktriage::store

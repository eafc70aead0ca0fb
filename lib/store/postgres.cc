// The PostgreSQL backend, on libpq: one PGconn per Store, statements
// prepared once (PQprepare), parameters sent as text except blobs (binary
// BYTEA), results read as text.
#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "store/connection.h"

namespace ktriage::store {
namespace {

struct FinishConn {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ClearResult {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, FinishConn>;
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

constexpr unsigned kByteaOid = 17;

// libpq's messages run over several lines ("connection to server at ...
// failed: FATAL:  password authentication failed for user ..."); the user
// gets them on one line.
std::string one_line(std::string_view message) {
  std::string out;
  size_t at = 0;
  while (at < message.size()) {
    size_t nl = message.find('\n', at);
    std::string_view line = message.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? message.size() : nl + 1;
    for (std::string_view noise : {"FATAL:  ", "ERROR:  "})
      if (line.starts_with(noise)) line.remove_prefix(noise.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  for (std::string_view noise : {"FATAL:  ", "ERROR:  "})
    for (size_t p; (p = out.find(noise)) != std::string::npos;) out.erase(p, noise.size());
  return out;
}

// The URL for messages: the password replaced by "***".
std::string redact(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t at = url.find('@', scheme + 3);
  size_t colon = url.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

class PgConnection final : public Connection {
 public:
  PgConnection(ConnPtr conn, std::string name) : conn_(std::move(conn)), name_(std::move(name)) {}

  Dialect dialect() const override { return Dialect::postgresql; }
  const std::string& name() const override { return name_; }

  // The one conversion from a libpq failure to an Error.
  Error error(const PGresult* r) const {
    const char* m = r ? PQresultErrorMessage(r) : nullptr;
    if (!m || !*m) m = PQerrorMessage(conn_.get());
    return Error{fmt::format("{}: {}", name_, one_line(m))};
  }

  Expected<bool> execute(std::string_view sql) override {
    ResultPtr r(PQexec(conn_.get(), std::string(sql).c_str()));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(r.get());
    return true;
  }

  Expected<Rows> query(std::string_view sql, std::span<const Param> params) override {
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
      std::string stmt = fmt::format("s{}", prepared_.size() + 1);
      ResultPtr r(PQprepare(conn_.get(), stmt.c_str(), key.c_str(), 0, nullptr));
      if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return error(r.get());
      it = prepared_.emplace(std::move(key), std::move(stmt)).first;
    }
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0), formats(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      std::visit(
          [&](const auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              values[i] = nullptr;
            } else if constexpr (std::is_same_v<T, int64_t>) {
              text[i] = std::to_string(p);
              values[i] = text[i].c_str();
            } else if constexpr (std::is_same_v<T, double>) {
              text[i] = fmt::format("{}", p);  // shortest text that reads back the same double
              values[i] = text[i].c_str();
            } else if constexpr (std::is_same_v<T, Text>) {
              text[i] = std::string(p.value);  // NUL-terminated for libpq
              values[i] = text[i].c_str();
            } else {
              values[i] = p.value.data();
              lengths[i] = static_cast<int>(p.value.size());
              formats[i] = 1;
            }
          },
          params[i]);
    }
    ResultPtr r(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(params.size()), values.data(),
                               lengths.data(), formats.data(), 0));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(r.get());
    const int columns = PQnfields(r.get());
    Rows rows(static_cast<size_t>(columns));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(r.get(), row, c)) {
          rows.push(std::nullopt);
        } else if (PQftype(r.get(), c) == kByteaOid) {
          size_t n = 0;
          unsigned char* bytes =
              PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), row, c)), &n);
          if (!bytes) return Error{fmt::format("{}: out of memory reading a BYTEA value", name_)};
          rows.push(std::string(reinterpret_cast<const char*>(bytes), n));
          PQfreemem(bytes);
        } else {
          rows.push(std::string(PQgetvalue(r.get(), row, c), static_cast<size_t>(PQgetlength(r.get(), row, c))));
        }
      }
    }
    return rows;
  }

  Expected<bool> begin_write() override { return execute("BEGIN"); }
  Expected<bool> commit() override { return execute("COMMIT"); }
  void rollback() override {
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) ResultPtr(PQexec(conn_.get(), "ROLLBACK"));
  }

 private:
  ConnPtr conn_;
  std::string name_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
};

}  // namespace

Expected<std::unique_ptr<Connection>> open_postgresql(const std::string& url) {
  const std::string name = redact(url);
  // A server that does not answer must not hang an ingest: libpq waits
  // forever by default.
  std::string conninfo = url;
  if (url.find("connect_timeout") == std::string::npos)
    conninfo += (url.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=10");
  ConnPtr conn(PQconnectdb(conninfo.c_str()));
  if (!conn) return Error{fmt::format("{}: out of memory", name)};
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return Error{fmt::format("{}: {}", name, one_line(PQerrorMessage(conn.get())))};
  auto c = std::make_unique<PgConnection>(std::move(conn), name);
  // Quiet notices ("relation already exists, skipping") and UTF-8 text.
  if (Expected<bool> ok = c->execute("SET client_min_messages = warning; SET client_encoding = 'UTF8'"); !ok)
    return ok.error();
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace ktriage::store

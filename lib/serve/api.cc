// The JSON API: uploads (POST /api/v1/logs) and the read API, whose
// documents are those of `ktriage query --json` (docs/json.md).
#include <charconv>
#include <ctime>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ktriage/ingest.h"
#include "ktriage/render_fleet.h"
#include "serve/service.h"
#include "support/json_text.h"

namespace ktriage::serve {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A header value that names something (a host, a source): printable, short.
std::optional<std::string> name_header(const httplib::Request& req, const char* header, size_t max,
                                       std::string& error) {
  if (!req.has_header(header)) return std::nullopt;
  std::string v = req.get_header_value(header);
  if (v.empty() || v.size() > max ||
      std::any_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
    error = fmt::format("{} must be 1 to {} printable bytes", header, max);
  return v;
}

// Console text, or something else? Logs carry a few stray bytes (serial
// noise, a torn pstore record); more than one byte in eight that is a
// control character or not UTF-8 is not a log (a gzip body sent without
// Content-Encoding, a core file, random bytes).
bool looks_like_text(std::string_view body, double& bad_share) {
  size_t bad = 0, i = 0;
  while (i < body.size()) {
    const unsigned char c = static_cast<unsigned char>(body[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\b' && c != 0x1B) || c == 0x7F) ++bad;
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= body.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(body[i + k]) & 0xC0) == 0x80;
    if (ok) {
      i += n;
    } else {
      ++bad;
      ++i;
    }
  }
  bad_share = body.empty() ? 0 : static_cast<double>(bad) / static_cast<double>(body.size());
  return bad * 8 <= body.size();
}

void json_body(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

// A store call failed: the database is down or restarting (503, retry), or
// the request named something ambiguous (400).
void store_error(httplib::Response& res, const Error& e) {
  if (e.message.find("is ambiguous") != std::string::npos) return json_error(res, 400, e.message);
  res.set_header("Retry-After", "5");
  json_error(res, 503, "database unavailable: " + e.message);
}

}  // namespace

Expected<store::Filter> filter_from_query(const httplib::Request& req, size_t default_limit, size_t max_limit) {
  store::Filter f;
  f.limit = default_limit;
  auto text = [&](const char* key, std::string& into, size_t max) -> std::optional<Error> {
    if (!req.has_param(key)) return std::nullopt;
    into = req.get_param_value(key);
    if (into.size() > max) return Error{fmt::format("'{}' is longer than {} bytes", key, max)};
    return std::nullopt;
  };
  auto number = [&](const char* key, size_t& into, size_t max) -> std::optional<Error> {
    if (!req.has_param(key) || req.get_param_value(key).empty()) return std::nullopt;
    const std::string v = req.get_param_value(key);
    size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n > max)
      return Error{fmt::format("'{}' must be a number from 0 to {}", key, max)};
    into = n;
    return std::nullopt;
  };
  for (std::optional<Error> e : {text("kernel", f.kernel, 256), text("host", f.host, 256), text("q", f.query, 256),
                                 number("limit", f.limit, max_limit), number("offset", f.offset, 1'000'000'000)})
    if (e) return *e;
  if (req.has_param("since") && !req.get_param_value("since").empty()) {
    Expected<int64_t> since =
        store::parse_since(req.get_param_value("since"), static_cast<int64_t>(std::time(nullptr)));
    if (!since) return since.error();
    f.since = *since;
  }
  if (req.has_param("sort")) {
    const std::string s = req.get_param_value("sort");
    if (s == "count" || s.empty())
      f.order = store::BucketOrder::count;
    else if (s == "last")
      f.order = store::BucketOrder::last_seen;
    else if (s == "first")
      f.order = store::BucketOrder::first_seen;
    else if (s == "hosts")
      f.order = store::BucketOrder::hosts;
    else
      return Error{"'sort' is one of count, last, first, hosts"};
  }
  return f;
}

void handle_upload(Service& s, const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) {
  const Limits& limits = s.options.limits;
  const Clock::time_point deadline = Clock::now() + limits.request_timeout;
  if (req.is_multipart_form_data())
    return json_error(res, 415, "send the log as the request body (curl --data-binary @FILE), not as a form upload");
  // cpp-httplib decodes these and passes any other coding through as is.
  if (const std::string coding = req.get_header_value("Content-Encoding");
      !coding.empty() && coding != "identity" && coding != "gzip" && coding != "deflate" && coding != "br")
    return json_error(res, 415, fmt::format("Content-Encoding '{}' is not supported (gzip, deflate, br)", coding));
  std::string error;
  const std::optional<std::string> host = name_header(req, "X-Ktriage-Host", 255, error);
  const std::optional<std::string> source = name_header(req, "X-Ktriage-Source", 1024, error);
  if (!error.empty()) return json_error(res, 400, error);

  // The body, decompressed by cpp-httplib as it arrives (gzip, deflate,
  // br): the limit holds for the decoded size, so a small bomb is refused.
  std::string body;
  bool too_big = false, too_slow = false, received = false;
  const bool read = reader([&](const char* data, size_t n) {
    received = true;
    if (body.size() + n > limits.max_body_bytes) return !(too_big = true);
    if (Clock::now() > deadline) return !(too_slow = true);
    body.append(data, n);
    return true;
  });
  if (!read || too_big || too_slow) {
    if (too_big || res.status == 413)
      return json_error(res, 413,
                        fmt::format("the log is larger than the limit of {} bytes{}", limits.max_body_bytes,
                                    req.has_header("Content-Encoding") ? " once decompressed" : ""));
    if (too_slow) return json_error(res, 408, "the body took longer than the time limit to arrive");
    if (req.has_header("Content-Encoding") && (received || req.get_header_value("Content-Length") != "0"))
      return json_error(res, 400,
                        fmt::format("the body is not valid {} data", req.get_header_value("Content-Encoding")));
    return json_error(res, 400, "the request body could not be read");
  }
  if (body.empty()) return json_error(res, 400, "empty body: send a console log (dmesg, pstore, vmcore-dmesg.txt)");
  double bad = 0;
  if (!looks_like_text(body, bad))
    return json_error(res, 415,
                      fmt::format("the body is not console text ({:.0f}% of its bytes are control characters or "
                                  "not UTF-8); compressed? then say so with Content-Encoding: gzip",
                                  bad * 100));

  IngestOptions o;
  // Without X-Ktriage-Host the report is the sender's: its address keys
  // the retries of that machine.
  o.host = host.value_or(req.remote_addr);
  o.rules = s.options.rules;
  o.kb = s.options.kb;
  o.deadline = deadline;
  Expected<std::vector<store::NewReport>> rows =
      prepare_log(body, source.value_or("http"), o, static_cast<int64_t>(std::time(nullptr)));
  if (!rows) {
    res.set_header("Retry-After", "60");
    return json_error(res, 503, rows.error().message);
  }
  Expected<std::vector<store::PutResult>> put = std::vector<store::PutResult>{};
  if (!rows->empty()) {
    Expected<StorePool::Lease> lease = s.stores.acquire();
    if (!lease) return store_error(res, lease.error());
    std::unique_lock<std::mutex> turn(s.writer, std::defer_lock);
    if (s.serialize_writes) turn.lock();
    put = (*lease)->put(*rows);
    if (!put) {
      lease->failed();
      return store_error(res, put.error());
    }
  }
  // Committed: only now does the client hear of the reports.
  Json list = Json::array();
  size_t stored = 0;
  for (size_t i = 0; i < rows->size(); ++i) {
    const store::NewReport& r = (*rows)[i];
    const store::PutResult& p = (*put)[i];
    stored += p.stored;
    list.push_back({{"id", p.id},
                    {"bucket", r.bucket_id},
                    {"title", r.title},
                    {"stored", p.stored},
                    {"corrupted", r.corrupted},
                    {"content_hash", r.content_hash}});
  }
  s.metrics.ingested(stored, rows->size() - stored, body.size());
  const Json answer{{"schema_version", kJsonSchemaVersion}, {"host", o.host}, {"reports", std::move(list)}};
  json_body(res, stored ? 201 : 200, support::json_text(answer) + "\n");
}

void handle_api_buckets(Service& s, const httplib::Request& req, httplib::Response& res) {
  Expected<store::Filter> f = filter_from_query(req, 100, 1000);
  if (!f) return json_error(res, 400, f.error().message);
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_error(res, lease.error());
  Expected<std::vector<store::BucketSummary>> b = (*lease)->buckets(*f);
  if (!b) {
    lease->failed();
    return store_error(res, b.error());
  }
  std::ostringstream out;
  render_stored_buckets_json(*b, out);
  json_body(res, 200, std::move(out).str());
}

void handle_api_bucket(Service& s, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (!valid_bucket_id(id)) return json_error(res, 400, "a bucket id is 4 to 16 lower-case hex digits");
  Expected<store::Filter> f = filter_from_query(req, 20, 1000);
  if (!f) return json_error(res, 400, f.error().message);
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_error(res, lease.error());
  Expected<std::optional<store::BucketDetail>> b = (*lease)->bucket(id, *f);
  if (!b) {
    if (b.error().message.find("is ambiguous") == std::string::npos) lease->failed();
    return store_error(res, b.error());
  }
  if (!*b) return json_error(res, 404, fmt::format("no bucket {}", id));
  std::ostringstream out;
  render_bucket_detail_json(**b, out);
  json_body(res, 200, std::move(out).str());
}

void handle_api_report(Service& s, const httplib::Request& req, httplib::Response& res) {
  const std::optional<int64_t> id = parse_report_id(req.matches[1].str());
  if (!id) return json_error(res, 400, "a report id is a positive number");
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_error(res, lease.error());
  Expected<std::optional<store::ReportRecord>> r = (*lease)->report(*id);
  if (!r) {
    lease->failed();
    return store_error(res, r.error());
  }
  if (!*r) return json_error(res, 404, fmt::format("no report {}", *id));
  std::ostringstream out;
  const std::optional<Analysis> analysis = analyze_stored(**r, s.options.kb);
  render_report_record_json(**r, analysis ? &*analysis : nullptr, out);
  json_body(res, 200, std::move(out).str());
}

void handle_healthz(Service& s, const httplib::Request&, httplib::Response& res) {
  Expected<StorePool::Lease> lease = s.stores.acquire();
  Expected<int> v = lease ? (*lease)->schema_version() : Expected<int>(lease.error());
  if (!v) {
    if (lease) lease->failed();
    res.set_header("Retry-After", "5");
    const Json answer{{"status", "unavailable"}, {"error", v.error().message}};
    return json_body(res, 503, support::json_text(answer) + "\n");
  }
  const Json answer{{"status", "ok"}, {"database", (*lease)->backend()}, {"schema_version", *v}};
  json_body(res, 200, support::json_text(answer) + "\n");
}

}  // namespace ktriage::serve

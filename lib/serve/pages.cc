// The dashboard: server-rendered pages that work without JavaScript. The
// bucket table (filters, sorting and pages are links and a GET form), a
// bucket page, a report page. Everything shown from the store is escaped.
#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "ktriage/ingest.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "serve/html.h"
#include "serve/service.h"

namespace ktriage::serve {
namespace {

using html::escape;

constexpr int64_t kDay = 86400;
constexpr int kTrendDays = 30;

void html_body(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "text/html; charset=utf-8");
}

void html_error(httplib::Response& res, int status, std::string_view title, std::string_view message) {
  html_body(res, status,
            html::page(title, "",
                       fmt::format(R"(<h1>{}</h1><p class="sub">{}</p><p><a href="/">All buckets</a></p>)",
                                   escape(title), escape(message))));
}

void store_failed(httplib::Response& res, const Error& e) {
  if (e.message.find("is ambiguous") != std::string::npos)
    return html_error(res, 400, "Ambiguous bucket id", e.message);
  res.set_header("Retry-After", "5");
  html_error(res, 503, "Database unavailable", e.message);
}

// The query string of the current filters with some parameters replaced.
std::string link_with(const httplib::Request& req, std::string_view path,
                      const std::map<std::string, std::string>& changes) {
  std::map<std::string, std::string> params;
  for (const char* key : {"q", "kernel", "host", "since", "sort", "page"})
    if (req.has_param(key) && !req.get_param_value(key).empty()) params[key] = req.get_param_value(key);
  for (const auto& [k, v] : changes) {
    if (v.empty())
      params.erase(k);
    else
      params[k] = v;
  }
  std::string out(path);
  char sep = '?';
  for (const auto& [k, v] : params) {
    out += sep + k + "=" + html::url_encode(v);
    sep = '&';
  }
  return out;
}

size_t page_number(const httplib::Request& req) {
  if (!req.has_param("page")) return 1;
  const std::string v = req.get_param_value("page");
  size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && end == v.data() + v.size() && n >= 1 && n <= 1'000'000 ? n : 0;
}

std::string pager(const httplib::Request& req, std::string_view path, size_t page, size_t pages) {
  if (pages <= 1) return "";
  std::string out = R"(<nav class="pages" aria-label="pages">)";
  if (page > 1)
    out += fmt::format(R"(<a rel="prev" href="{}">&larr; Previous</a>)",
                       escape(link_with(req, path, {{"page", page == 2 ? "" : std::to_string(page - 1)}})));
  out += fmt::format(R"(<span class="muted">page {} of {}</span>)", page, pages);
  if (page < pages)
    out += fmt::format(R"(<a rel="next" href="{}">Next &rarr;</a>)",
                       escape(link_with(req, path, {{"page", std::to_string(page + 1)}})));
  return out + "</nav>";
}

// Per-day counts of the last `days` days up to today, oldest first.
Expected<std::vector<int64_t>> trend(store::Store& db, const std::string& bucket, int days, const store::Filter& f) {
  const int64_t today = static_cast<int64_t>(std::time(nullptr)) / kDay;
  Expected<std::vector<store::DayCount>> d = db.bucket_days(bucket, today - days + 1, f);
  if (!d) return d.error();
  std::vector<int64_t> counts(static_cast<size_t>(days), 0);
  for (const store::DayCount& c : *d) {
    const int64_t at = c.day - (today - days + 1);
    if (at >= 0 && at < days) counts[static_cast<size_t>(at)] = c.count;
  }
  return counts;
}

std::string kernels_cell(const std::vector<std::string>& kernels) {
  std::string out;
  const size_t shown = std::min<size_t>(kernels.size(), 3);
  for (size_t i = 0; i < shown; ++i) out += fmt::format(R"(<span class="tag mono">{}</span>)", escape(kernels[i]));
  if (kernels.size() > shown) out += fmt::format(R"( <span class="muted">+{} more</span>)", kernels.size() - shown);
  return out;
}

std::string bug_tag(std::string_view id, std::string_view verdict) {
  return fmt::format(R"(<span class="tag {}" title="{}">{}</span>)", escape(verdict),
                     escape(verdict == "fixed"       ? "this kernel has the fix"
                            : verdict == "not_fixed" ? "this kernel lacks the fix"
                                                     : "cannot tell whether this kernel has the fix"),
                     escape(id));
}

// A signature's parts (docs/json.md, "Buckets"): normalized title, guilty
// frames innermost first, and the out-of-tree module tainting the path.
struct SignatureParts {
  std::string title;
  std::vector<std::string> frames;
  std::string tainted_by;
};

SignatureParts split_signature(std::string_view sig) {
  SignatureParts p;
  size_t at = 0;
  for (int part = 0; at <= sig.size(); ++part) {
    size_t bar = sig.find(" | ", at);
    std::string_view piece = sig.substr(at, bar == std::string_view::npos ? std::string_view::npos : bar - at);
    if (part == 0) {
      p.title = piece;
    } else if (piece.starts_with("tainted by ")) {
      p.tainted_by = piece.substr(11);
    } else {
      for (size_t f = 0; f <= piece.size();) {
        size_t lt = piece.find(" < ", f);
        p.frames.emplace_back(piece.substr(f, lt == std::string_view::npos ? std::string_view::npos : lt - f));
        if (lt == std::string_view::npos) break;
        f = lt + 3;
      }
    }
    if (bar == std::string_view::npos) break;
    at = bar + 3;
  }
  return p;
}

std::string sort_header(const httplib::Request& req, std::string_view label, std::string_view key, bool numeric) {
  const std::string current = req.has_param("sort") ? req.get_param_value("sort") : "count";
  const bool active = current == key || (current.empty() && key == "count");
  return fmt::format(R"(<th{}{}><a href="{}">{}</a>{}</th>)", numeric ? R"( class="n")" : "",
                     active ? R"( aria-sort="descending")" : "",
                     escape(link_with(req, "/", {{"sort", key == "count" ? "" : std::string(key)}, {"page", ""}})),
                     escape(label), active ? " &darr;" : "");
}

// The report as the HTML renderer's fragment (render/html.cc, the page of
// `analyze --format html` without its <html>); its stylesheet goes in the
// page's <head> once (html::page's report_style).
std::string report_fragment(const Analysis& a, std::string_view id_prefix) {
  return render_html(a, {.fragment = true, .inline_style = false, .report = 0, .id_prefix = std::string(id_prefix)});
}

// The query's filter for one dashboard page; nullopt after answering 400.
std::optional<store::Filter> page_filter(const Service& s, const httplib::Request& req, httplib::Response& res) {
  Expected<store::Filter> f = filter_from_query(req, s.options.page_size, s.options.page_size);
  const size_t page = page_number(req);
  if (!f || page == 0) {
    html_error(res, 400, "Bad filter", f ? "page must be a number from 1" : f.error().message);
    return std::nullopt;
  }
  f->limit = s.options.page_size;
  f->offset = (page - 1) * s.options.page_size;
  return std::move(*f);
}

}  // namespace

void handle_page_buckets(Service& s, const httplib::Request& req, httplib::Response& res) {
  std::optional<store::Filter> f = page_filter(s, req, res);
  if (!f) return;
  const size_t page = f->offset / s.options.page_size + 1;
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_failed(res, lease.error());
  store::Store& db = **lease;
  Expected<store::BucketPage> p = db.bucket_page(*f);
  if (!p) {
    lease->failed();
    return store_failed(res, p.error());
  }
  const size_t pages = std::max<size_t>(1, (p->total_buckets + s.options.page_size - 1) / s.options.page_size);

  std::string body = R"(<h1>Crash buckets</h1>)";
  body += fmt::format(
      R"(<p class="sub" id="totals" data-reports="{0}" data-buckets="{1}">{0} report{2} in {1} bucket{3})",
      p->total_reports, p->total_buckets, p->total_reports == 1 ? "" : "s", p->total_buckets == 1 ? "" : "s");
  if (!f->query.empty()) body += fmt::format(" matching <b>{}</b>", escape(f->query));
  if (!f->kernel.empty()) body += fmt::format(R"( on kernel <span class="mono">{}</span>)", escape(f->kernel));
  if (!f->host.empty()) body += fmt::format(R"( from host <span class="mono">{}</span>)", escape(f->host));
  if (f->since) body += fmt::format(" received since {}", escape(html::utc_time(*f->since)));
  body += "</p>";
  body += fmt::format(
      R"(<form class="filters" method="get" action="/"><input type="search" name="q" value="{}" placeholder="title, function, module or kernel" aria-label="text">)"
      R"(<input name="kernel" value="{}" placeholder="exact kernel release" aria-label="kernel">)"
      R"(<input name="since" value="{}" placeholder="since: 7d, 2024-05-01" aria-label="since" size="14">)"
      R"(<input type="hidden" name="sort" value="{}"><button type="submit">Filter</button>)"
      R"( <a href="/">clear</a></form>)",
      escape(f->query), escape(f->kernel), escape(req.has_param("since") ? req.get_param_value("since") : ""),
      escape(req.has_param("sort") ? req.get_param_value("sort") : ""));
  if (p->buckets.empty()) {
    body +=
        p->total_buckets == 0 && f->query.empty() && f->kernel.empty() && !f->since
            ? R"(<div class="empty">No crash reports yet. Post a console log:<pre>curl --data-binary @/var/log/kern.log http://HOST:PORT/api/v1/logs</pre></div>)"
            : R"(<div class="empty">No bucket matches.</div>)";
    return html_body(res, 200, html::page("Crash buckets", f->query, body));
  }
  body += R"(<table id="buckets"><thead><tr>)";
  body += sort_header(req, "Reports", "count", true);
  body += fmt::format(R"(<th>Last {} days</th><th>Bucket</th>)", kTrendDays);
  body += sort_header(req, "First seen", "first", false);
  body += sort_header(req, "Last seen", "last", false);
  body += R"(<th>Kernels</th>)";
  body += sort_header(req, "Hosts", "hosts", true);
  body += R"(<th>Known bugs</th></tr></thead><tbody>)";
  for (const store::BucketSummary& b : p->buckets) {
    Expected<std::vector<int64_t>> days = trend(db, b.id, kTrendDays, *f);
    Expected<std::vector<store::KnownBug>> bugs = db.bucket_latest_known_bugs(b.id, *f);
    if (!days || !bugs) {
      lease->failed();
      return store_failed(res, days ? bugs.error() : days.error());
    }
    std::string bug_cell;
    for (const store::KnownBug& k : *bugs) bug_cell += bug_tag(k.id, k.verdict);
    body +=
        fmt::format(R"(<tr data-bucket="{0}" data-count="{1}"><td class="n">{1}</td><td>{2}</td>)"
                    R"(<td class="sig"><a href="/buckets/{0}">{3}</a><div class="s mono">{4}</div></td>)"
                    R"(<td>{5}</td><td>{6}</td><td>{7}</td><td class="n">{8}</td><td>{9}</td></tr>)",
                    escape(b.id), b.count,
                    html::sparkline(*days, 120, 24, fmt::format("{} reports in the last {} days", b.count, kTrendDays)),
                    escape(b.title), escape(b.signature), html::time_element(b.first_seen),
                    html::time_element(b.last_seen), kernels_cell(b.kernels), b.hosts, bug_cell);
  }
  body += "</tbody></table>";
  body += pager(req, "/", page, pages);
  html_body(res, 200, html::page("Crash buckets", f->query, body));
}

void handle_page_bucket(Service& s, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (!valid_bucket_id(id))
    return html_error(res, 400, "Bad bucket id", "a bucket id is 4 to 16 lower-case hex digits");
  std::optional<store::Filter> f = page_filter(s, req, res);
  if (!f) return;
  const size_t page = f->offset / s.options.page_size + 1;
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_failed(res, lease.error());
  store::Store& db = **lease;
  Expected<std::optional<store::BucketDetail>> d = db.bucket(id, *f);
  if (!d) {
    if (d.error().message.find("is ambiguous") == std::string::npos) lease->failed();
    return store_failed(res, d.error());
  }
  if (!*d) return html_error(res, 404, "No such bucket", fmt::format("There is no bucket {}.", id));
  const store::BucketDetail& b = **d;
  const store::BucketSummary& sum = b.summary;
  Expected<std::vector<int64_t>> days = trend(db, sum.id, 90, *f);
  if (!days) {
    lease->failed();
    return store_failed(res, days.error());
  }

  std::string body = fmt::format(R"(<h1 id="title">{}</h1>)", escape(sum.title));
  body += fmt::format(
      R"(<p class="sub">bucket <span class="mono" id="bucket-id">{}</span> · <b id="count">{}</b> report{} from {} host{} · first seen {} · last seen {}</p>)",
      escape(sum.id), sum.count, sum.count == 1 ? "" : "s", sum.hosts, sum.hosts == 1 ? "" : "s",
      html::time_element(sum.first_seen), html::time_element(sum.last_seen));

  const SignatureParts sig = split_signature(sum.signature);
  body += R"(<div class="grid"><div class="card" id="why"><h2 style="margin-top:0">Why these reports are grouped</h2>)"
          R"(<p class="muted">Reports share a bucket when their signatures are equal: the title with addresses and )"
          R"(numbers normalized, and the guilty frames (innermost first; frames that only report a crash, compiler )"
          R"(suffixes and offsets left out).</p><dl class="kv">)";
  body += fmt::format(R"(<dt>signature</dt><dd class="mono">{}</dd><dt>title</dt><dd>{}</dd>)", escape(sum.signature),
                      escape(sig.title));
  if (!sig.frames.empty()) {
    std::string frames;
    for (const std::string& fr : sig.frames) frames += fmt::format(R"(<li class="mono">{}</li>)", escape(fr));
    body += fmt::format(R"(<dt>guilty frames</dt><dd><ol style="margin:0;padding-left:18px">{}</ol></dd>)", frames);
  }
  if (!sig.tainted_by.empty())
    body += fmt::format(R"(<dt>tainted by</dt><dd class="mono">{}</dd>)", escape(sig.tainted_by));
  body += "</dl></div>";
  body += fmt::format(R"(<div class="card"><h2 style="margin-top:0">Reports per day, last 90 days</h2>{}</div></div>)",
                      html::sparkline(*days, 450, 60, fmt::format("{} reports in the last 90 days", sum.count)));

  auto count_table = [&](std::string_view title, std::string_view key, const std::vector<store::Count>& rows,
                         bool bugs) {
    std::string t = fmt::format(R"(<div class="card"><h2 style="margin-top:0">{}</h2>)", escape(title));
    if (rows.empty()) return t + R"(<p class="muted">none</p></div>)";
    t += fmt::format(R"(<table id="{}"><tbody>)", escape(key));
    const size_t shown = std::min<size_t>(rows.size(), 10);
    for (size_t i = 0; i < shown; ++i) {
      std::string name = escape(rows[i].name.empty() ? "(not printed)" : rows[i].name);
      if (bugs) {
        // "ID (verdict)"
        const size_t paren = rows[i].name.rfind(" (");
        if (paren != std::string::npos && rows[i].name.ends_with(")"))
          name =
              bug_tag(rows[i].name.substr(0, paren), rows[i].name.substr(paren + 2, rows[i].name.size() - paren - 3));
      }
      t += fmt::format(R"(<tr><td class="mono">{}</td><td class="n">{}</td></tr>)", name, rows[i].count);
    }
    if (rows.size() > shown)
      t += fmt::format(R"(<tr><td class="muted" colspan="2">and {} more</td></tr>)", rows.size() - shown);
    return t + "</tbody></table></div>";
  };
  body += R"(<div class="grid" style="margin-top:16px">)";
  body += count_table("Kernels", "kernels", b.kernels, false);
  body += count_table("Hosts", "hosts", b.hosts, false);
  body += count_table("Known bugs", "known-bugs", b.known_bugs, true);
  body += "</div>";

  // The newest report stands for the bucket.
  if (!b.recent.empty()) {
    const int64_t newest = page == 1 ? b.recent.front().id : 0;
    Expected<std::optional<store::ReportRecord>> rep =
        newest ? db.report(newest) : Expected<std::optional<store::ReportRecord>>(std::nullopt);
    if (!rep) {
      lease->failed();
      return store_failed(res, rep.error());
    }
    if (*rep) {
      body += fmt::format(
          R"(<h2>Representative report: the newest, <a href="/reports/{0}">#{0}</a> from {1}</h2><div class="card" id="representative">)",
          newest, escape((*rep)->summary.host));
      std::optional<Analysis> a = analyze_stored(**rep, s.options.kb);
      if (a) {
        body += report_fragment(*a, "rep-");
      } else {
        body += fmt::format("<pre>{}</pre>", escape((*rep)->raw));
      }
      body += "</div>";
    }
  }

  const size_t pages =
      std::max<size_t>(1, (static_cast<size_t>(sum.count) + s.options.page_size - 1) / s.options.page_size);
  body +=
      fmt::format(R"(<h2>Reports, newest first</h2><table id="reports"><thead><tr><th class="n">Report</th>)"
                  R"(<th>Received</th><th>Host</th><th>Kernel</th><th>Source</th><th>Title</th></tr></thead><tbody>)");
  for (const store::ReportSummary& r : b.recent)
    body += fmt::format(
        R"(<tr data-report="{0}"><td class="n"><a href="/reports/{0}">#{0}</a></td><td>{1}</td><td class="mono">{2}</td>)"
        R"(<td class="mono">{3}</td><td class="mono">{4} #{5}</td><td>{6}{7}</td></tr>)",
        r.id, html::time_element(r.received_at), escape(r.host), escape(r.kernel), escape(r.source), r.source_index,
        escape(r.title), r.corrupted ? R"( <span class="flag" title="parsed only in part">flagged</span>)" : "");
  body += "</tbody></table>";
  body += pager(req, "/buckets/" + sum.id, page, pages);
  html_body(res, 200, html::page(sum.title, "", body, /*report_style=*/true));
}

void handle_page_report(Service& s, const httplib::Request& req, httplib::Response& res) {
  const std::optional<int64_t> id = parse_report_id(req.matches[1].str());
  if (!id) return html_error(res, 400, "Bad report id", "a report id is a positive number");
  Expected<StorePool::Lease> lease = s.stores.acquire();
  if (!lease) return store_failed(res, lease.error());
  Expected<std::optional<store::ReportRecord>> rec = (*lease)->report(*id);
  if (!rec) {
    lease->failed();
    return store_failed(res, rec.error());
  }
  if (!*rec) return html_error(res, 404, "No such report", fmt::format("There is no report {}.", *id));
  const store::ReportRecord& r = **rec;
  const store::ReportSummary& sum = r.summary;

  std::string body = fmt::format(R"(<h1 id="title">{}</h1>)", escape(sum.title.empty() ? "(untitled)" : sum.title));
  body += fmt::format(R"(<p class="sub">report #{} · <a href="/api/v1/reports/{}">JSON</a></p>)", sum.id, sum.id);
  body += R"(<div class="card"><dl class="kv" id="meta">)";
  body += fmt::format(
      R"(<dt>bucket</dt><dd><a href="/buckets/{0}" class="mono">{0}</a> <span class="mono muted">{1}</span></dd>)",
      escape(sum.bucket_id), escape(r.signature));
  body += fmt::format(R"(<dt>host</dt><dd class="mono">{}</dd>)", escape(sum.host));
  body += fmt::format(R"(<dt>kernel</dt><dd class="mono">{}</dd>)",
                      escape(sum.kernel.empty() ? "(not printed)" : sum.kernel));
  body += fmt::format(R"(<dt>received</dt><dd>{}</dd>)", html::time_element(sum.received_at));
  body += fmt::format(R"(<dt>source</dt><dd class="mono">{} (report #{} in it)</dd>)", escape(sum.source),
                      sum.source_index);
  body += fmt::format(R"(<dt>kind</dt><dd>{}</dd>)", escape(r.kind));
  if (r.uptime) body += fmt::format(R"(<dt>uptime</dt><dd>{:.6f} s</dd>)", *r.uptime);
  if (!r.known_bugs.empty()) {
    std::string bugs;
    for (const store::KnownBug& k : r.known_bugs) bugs += bug_tag(k.id, k.verdict);
    body += fmt::format(R"(<dt>known bugs</dt><dd>{}</dd>)", bugs);
  }
  if (sum.corrupted)
    body += fmt::format(R"(<dt>flagged</dt><dd class="flag">parsed only in part: {}</dd>)", escape(r.corrupted_reason));
  body += fmt::format(R"(<dt>content hash</dt><dd class="mono muted">{}</dd></dl></div>)", escape(r.content_hash));

  if (std::optional<Analysis> a = analyze_stored(r, s.options.kb)) {
    body += R"(<h2>Analysis</h2><div class="card" id="analysis">)";
    body += report_fragment(*a, "") + "</div>";
  }
  body += fmt::format(R"(<h2>Console text</h2><pre id="raw">{}</pre>)", escape(r.raw));
  if (r.raw_cut) body += R"(<p class="muted">[cut at the ingest limit]</p>)";
  html_body(res, 200, html::page(sum.title, "", body, /*report_style=*/true));
}

}  // namespace ktriage::serve

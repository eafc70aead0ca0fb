#include "serve/html.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "ktriage/render.h"
#include "render/html.h"

namespace ktriage::serve::html {

std::string escape(std::string_view s) { return render::html_escape(s); }

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

namespace {

std::string format_utc(int64_t t, const char* format) {
  if (t == 0) return "";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  return std::strftime(buf, sizeof buf, format, &tm) ? buf : "";
}

}  // namespace

std::string utc_time(int64_t t) { return t ? format_utc(t, "%Y-%m-%d %H:%M UTC") : ""; }
std::string iso_time(int64_t t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string time_element(int64_t t) {
  if (t == 0) return "";
  return fmt::format(R"(<time datetime="{}">{}</time>)", iso_time(t), utc_time(t));
}

std::string sparkline(const std::vector<int64_t>& counts, int width, int height, std::string_view label) {
  const int64_t most = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  std::string values;
  for (int64_t c : counts) values += fmt::format("{}{}", values.empty() ? "" : " ", c);
  std::string out = fmt::format(
      R"(<svg class="spark" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="{2}" data-counts="{3}"><title>{2}</title>)",
      width, height, escape(label), values);
  out += fmt::format(R"(<line x1="0" y1="{0}" x2="{1}" y2="{0}" class="base"/>)", height - 0.5, width);
  if (!counts.empty() && most > 0) {
    const double step = static_cast<double>(width) / static_cast<double>(counts.size());
    for (size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] == 0) continue;
      // Every day with a report shows at least 2 px.
      const double h = std::max(2.0, (height - 1) * static_cast<double>(counts[i]) / static_cast<double>(most));
      out += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>)", step * i + 0.5,
                         height - 1 - h, std::max(1.0, step - 1), h);
    }
  }
  return out + "</svg>";
}

namespace {

constexpr std::string_view kStyle = R"css(
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde2ea;--bg:#f5f6f8;--card:#fff;--accent:#2f5bd3;--bad:#b42318;--ok:#067647;--warn:#a15c07}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:20px;align-items:center;flex-wrap:wrap}
header.top a.home{color:#fff;text-decoration:none;font-weight:700;font-size:16px;letter-spacing:.3px}
header.top form{display:flex;gap:6px;margin-left:auto}
header.top input{width:320px}
input,select,button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:4px;background:#fff;color:var(--fg)}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
main{padding:18px 24px 40px;max-width:1440px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
h3{font-size:14px;margin:12px 0 6px}
p.sub{color:var(--muted);margin:0 0 14px}
a{color:var(--accent)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);white-space:nowrap;background:#fafbfc}
th a{color:inherit}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.sig{max-width:560px}
td.sig .s{color:var(--muted);font-size:12px;word-break:break-all}
.mono,pre,code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--card);border:1px solid var(--line);padding:12px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:0}
.tag{display:inline-block;padding:0 6px;border-radius:9px;background:#eef1f6;margin:1px 2px 1px 0;font-size:12px;white-space:nowrap}
.fixed{background:#dcfae6;color:var(--ok)}
.not_fixed{background:#fee4e2;color:var(--bad)}
.unknown{background:#fef0c7;color:var(--warn)}
.flag{color:var(--bad);font-weight:600}
.muted{color:var(--muted)}
svg.spark{vertical-align:middle;background:#f3f5f9;border-radius:2px}
svg.spark rect{fill:var(--accent)}
svg.spark line.base{stroke:#c9d1de;stroke-width:1}
nav.pages{margin:12px 0;display:flex;gap:14px;align-items:center}
form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:16px}
.card{background:var(--card);border:1px solid var(--line);padding:12px 14px;border-radius:4px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;word-break:break-word}
.empty{background:var(--card);border:1px dashed var(--line);padding:24px;text-align:center;color:var(--muted)}
)css";

}  // namespace

std::string page(std::string_view title, std::string_view query, std::string_view body, bool report_style) {
  return fmt::format(
      R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{0} · ktriage</title><link rel="icon" href="data:,"><style>{1}{4}</style></head>
<body><header class="top"><a class="home" href="/">ktriage</a><span class="muted">kernel crash buckets</span>
<form method="get" action="/" role="search"><input type="search" name="q" value="{2}" placeholder="title, function, module or kernel" aria-label="search"><button type="submit">Search</button></form></header>
<main>
{3}
</main></body></html>
)",
      escape(title), kStyle, escape(query), body, report_style ? html_stylesheet() : std::string_view());
}

}  // namespace ktriage::serve::html

// HTML building blocks of the dashboard (lib/serve internal). Every piece
// of text that came from a log, a header or a query goes through escape():
// the pages hold no markup that a client wrote.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ktriage::serve::html {

// Text as HTML text or a quoted attribute value, as the report renderer
// escapes it (render::html_escape): & < > " ' as entities; bytes that are
// not valid UTF-8, NUL and other control characters but tab, newline and
// carriage return as U+FFFD.
std::string escape(std::string_view text);

// A query-string value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

// "2024-05-01 12:00 UTC" and "2024-05-01T12:00:00Z"; "" for 0.
std::string utc_time(int64_t unix_seconds);
std::string iso_time(int64_t unix_seconds);
// <time datetime="ISO">UTC</time>
std::string time_element(int64_t unix_seconds);

// An inline SVG bar chart of `counts` (one bar per day, oldest first),
// `label` as its accessible name; data-counts lists the values.
std::string sparkline(const std::vector<int64_t>& counts, int width, int height, std::string_view label);

// A whole page: the shared header (with the search form holding `query`),
// the title and the body markup given. No script, no external resource.
// report_style: the HTML report renderer's stylesheet (scoped to .ktriage)
// in the <head> too, for pages that show report fragments.
std::string page(std::string_view title, std::string_view query, std::string_view body, bool report_style = false);

}  // namespace ktriage::serve::html

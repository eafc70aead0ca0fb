// Placeholder orchestration: splits the log into reports at a few headers.
// Replaced by the detector table.
#include <string>
#include <vector>

#include "ktriage/logparse.h"
#include "logparse/fields.h"
#include "logparse/lines.h"

namespace ktriage {

struct LogParser::Impl {
  ParseOptions options;
  Sink sink;
  std::vector<Report> reports;
  std::string pending;  // partial line across feed() calls
  uint64_t offset = 0;
  uint32_t line_number = 0;
  std::vector<logparse::LogLine> current;

  void emit() {
    if (current.empty()) return;
    Report r;
    r.header = current.front().text;
    r.title = r.header;
    logparse::extract_fields(current, r);
    current.clear();
    if (sink) sink(std::move(r));
    else reports.push_back(std::move(r));
  }

  void line(std::string_view raw) {
    logparse::LogLine l;
    logparse::clean_line(raw, l);
    l.offset = offset;
    l.length = raw.size();
    l.number = ++line_number;
    offset += raw.size() + 1;
    bool header = l.text.starts_with("BUG:") || l.text.starts_with("WARNING:") ||
                  l.text.starts_with("Kernel panic");
    if (header) emit();
    if (header || !current.empty()) current.push_back(std::move(l));
  }
};

LogParser::LogParser(ParseOptions options, Sink sink) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->sink = std::move(sink);
}
LogParser::~LogParser() = default;
LogParser::LogParser(LogParser&&) noexcept = default;
LogParser& LogParser::operator=(LogParser&&) noexcept = default;

void LogParser::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      impl_->pending.append(bytes);
      return;
    }
    if (impl_->pending.empty()) {
      impl_->line(bytes.substr(0, nl));
    } else {
      impl_->pending.append(bytes.substr(0, nl));
      impl_->line(impl_->pending);
      impl_->pending.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void LogParser::finish() {
  if (!impl_->pending.empty()) {
    std::string last = std::move(impl_->pending);
    impl_->pending.clear();
    impl_->line(last);
  }
  impl_->emit();
}

std::vector<Report> LogParser::take_reports() { return std::move(impl_->reports); }

std::vector<Report> parse_log(std::string_view text, const ParseOptions& options) {
  LogParser parser(options);
  parser.feed(text);
  parser.finish();
  return parser.take_reports();
}

}  // namespace ktriage

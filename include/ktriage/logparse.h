// Finding and parsing kernel crash reports in console text.
//
// Input is arbitrary bytes: dmesg, journalctl, syslog, serial captures,
// kmsg records, pstore files, text pasted into prose. The parser strips
// console prefixes, finds every report (table of detectors in
// lib/logparse/detectors.cc) and fills the Report model.
//
//   ktriage::LogParser parser;
//   parser.feed(chunk1); parser.feed(chunk2);       // any chunking
//   parser.finish();
//   for (ktriage::Report& r : parser.take_reports()) ...
//
// or, for text already in memory, ktriage::parse_log(text).
//
// Memory is bounded by ParseOptions, not by input size: long lines are cut,
// over-long reports are closed and flagged corrupted.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "ktriage/report.h"

namespace ktriage {

struct ParseOptions {
  size_t max_line_bytes = 16 * 1024;     // longer lines are cut (anomaly recorded)
  size_t max_report_lines = 4096;        // a report longer than this is closed, corrupted
  size_t max_frames = 1024;              // frames kept per report (rest counted as anomaly)
};

class LogParser {
 public:
  // Called for each finished report, in input order. When unset, reports are
  // collected for take_reports().
  using Sink = std::function<void(Report&&)>;

  explicit LogParser(ParseOptions options = {}, Sink sink = {});
  ~LogParser();
  LogParser(LogParser&&) noexcept;
  LogParser& operator=(LogParser&&) noexcept;

  void feed(std::string_view bytes);
  void finish();
  std::vector<Report> take_reports();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::vector<Report> parse_log(std::string_view text, const ParseOptions& options = {});

}  // namespace ktriage

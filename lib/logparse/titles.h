// syzkaller-convention crash titles.
//
// Given the text of one report (console prefixes stripped, lines joined with
// '\n', header first) and the detector whose header it starts with, derive
// the title, alternative titles, syzkaller crash type, guilty frame and the
// corrupted flag exactly the way syzkaller's pkg/report does for Linux, so
// that our titles can be compared with syzbot's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ktriage::logparse {

struct Detector;

struct TitleResult {
  std::string title;
  std::vector<std::string> alt_titles;
  std::string type;               // syzkaller crash type, "" when unknown
  std::string frame;              // guilty frame
  bool corrupted = false;
  std::string corrupted_reason;
  bool no_stack_trace = false;    // the format has no call trace by nature
};

// `title_text` is the part of the report syzkaller reads the title from (up
// to the start of the next report); `full_text` the whole report, used for
// the "has a stack trace" corruption check.
TitleResult make_title(const Detector& detector, std::string_view title_text,
                       std::string_view full_text);

// Normalisation applied to every title: executor pids, addresses (6+ hex
// digits -> ADDR), IPs, file:line -> :LINE, func+0x1/0x2 -> func, CPU#n,
// numbers -> NUM; then non-printables dropped, spaces squeezed, cut at 120.
std::string normalize_title(std::string_view title);

}  // namespace ktriage::logparse

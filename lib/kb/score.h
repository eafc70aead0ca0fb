// How close an index entry's crash signature is to a report's (lib/kb
// internal; KbIndex::candidates() uses it, tests call it directly).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "ktriage/kb_index.h"

namespace ktriage::kb {

// How many signatures of the index contain a frame (its document frequency),
// and how many signatures there are: a frame most crashes pass through
// (do_syscall_64, process_one_work) says little.
struct FrameStats {
  std::function<int64_t(std::string_view frame)> df;
  int64_t signatures = 1;
  // How many signatures share the report's title: a title many records
  // share ("WARNING in corrupted" for reports the parser found damaged)
  // names no bug.
  int64_t title_count = 0;
};

inline constexpr int64_t kMaxTitleShare = 5;

// A frame's weight in [0, 1]: 1 for a frame only one signature has, falling
// with its frequency, 0 for frames in more than kGenericShare of them.
inline constexpr double kGenericShare = 0.02;
double frame_weight(int64_t df, int64_t signatures);

// Fills score, strength and reasons; false when nothing worth showing agrees.
bool score_candidate(const KbSignature& report, KbCandidate& candidate, const FrameStats& stats);

}  // namespace ktriage::kb

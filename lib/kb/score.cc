// Scoring an index entry against a report. A match needs an anchor: the two
// crashes blame the same function (the guilty frame), or start at the same
// crash site (the first frame that is not plumbing, is_plumbing_frame()),
// give or take one inlined or tail-called level. Frames a crash merely
// passes through (syscall entry, the scheduler, timers) never anchor, so
// two unrelated crashes reached through write(2) do not match.
//
// With an anchor, the report is `likely` this bug when the kinds agree and
// the same specific title or one more rare frame agrees as well; else it is
// `similar`. Without one, only the same specific title (naming a function
// that is not plumbing, shared by few records) makes it `similar`.
// The score orders matches: title, anchor, then each shared frame weighted
// by its rarity among all signatures, then kind and module.
#include "kb/score.h"

#include <algorithm>
#include <cmath>

namespace ktriage::kb {
namespace {

constexpr double kTitleScore = 4.0;
constexpr double kAnchorScore = 2.0;
constexpr double kKindScore = 0.5;
constexpr double kModuleScore = 0.5;
constexpr double kPlumbingShare = 0.2;  // a shared plumbing frame orders, barely
// A shared frame counts towards `likely` only when at least this rare.
constexpr double kInformative = 0.25;
// How far down each trace the crash sites may differ (an inlined helper on
// one side, a tail call on the other).
constexpr size_t kSiteWindow = 3;

// The first frames that are not plumbing, at most kSiteWindow.
std::vector<std::string> sites(const KbSignature& s) {
  std::vector<std::string> out;
  for (const std::string& f : s.frames) {
    if (is_plumbing_frame(f)) continue;
    out.push_back(f);
    if (out.size() == kSiteWindow) break;
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

}  // namespace

double frame_weight(int64_t df, int64_t signatures) {
  if (df <= 0) return 0;  // not in the index at all
  if (signatures < 2) return 1;
  if (static_cast<double>(df) > kGenericShare * static_cast<double>(signatures) && df > 8) return 0;
  return 1.0 - std::log(static_cast<double>(df)) / std::log(static_cast<double>(signatures));
}

bool score_candidate(const KbSignature& r, KbCandidate& c, const FrameStats& stats) {
  const KbSignature& e = c.signature;
  auto weight = [&](const std::string& f) { return frame_weight(stats.df(f), stats.signatures); };
  const bool kind = !r.kind.empty() && r.kind == e.kind;
  const bool kind_conflict = !r.kind.empty() && !e.kind.empty() && r.kind != "other" && e.kind != "other" && !kind;
  const bool module = !r.module.empty() && r.module == e.module;

  // The guilty frame, when it is a real suspect: not plumbing, not a name
  // half the index shares ("corrupted" for damaged reports).
  const bool guilty = !r.frame.empty() && r.frame == e.frame && !is_plumbing_frame(r.frame) && weight(r.frame) > 0;
  const bool title = guilty && r.title == e.title && stats.title_count <= kMaxTitleShare;

  const std::vector<std::string> rs = sites(r), es = sites(e);
  const bool same_site = !rs.empty() && !es.empty() && (rs[0] == es[0] || (contains(es, rs[0]) && contains(rs, es[0])));
  const bool anchor = guilty || same_site;
  const std::string anchor_frame = guilty ? r.frame : same_site ? rs[0] : "";

  // Shared frames, in the report's order.
  std::vector<std::string> shared;
  double frames_score = 0;
  size_t informative = 0;
  for (const std::string& f : r.frames) {
    if (!contains(e.frames, f) || contains(shared, f)) continue;
    double w = weight(f);
    if (w <= 0) continue;
    shared.push_back(f);
    bool plumbing = is_plumbing_frame(f);
    frames_score += plumbing ? kPlumbingShare * w : w;
    if (!plumbing && w >= kInformative && f != anchor_frame) ++informative;
  }

  const bool likely = anchor && !kind_conflict && (title || informative >= 1);
  const bool similar = anchor || title;
  if (!likely && !similar) return false;

  c.strength = likely ? KbStrength::likely : KbStrength::similar;
  c.score = (title ? kTitleScore : 0) + (anchor ? kAnchorScore : 0) + frames_score + (kind ? kKindScore : 0) +
            (module ? kModuleScore : 0);
  c.reasons.clear();
  if (title) c.reasons.push_back({KbReasonKind::title, {e.title}, 0});
  if (guilty) c.reasons.push_back({KbReasonKind::guilty_frame, {e.frame}, 0});
  if (!shared.empty()) c.reasons.push_back({KbReasonKind::frames, shared, r.frames.size()});
  if (kind) c.reasons.push_back({KbReasonKind::kind, {e.kind}, 0});
  if (module) c.reasons.push_back({KbReasonKind::module, {e.module}, 0});
  return true;
}

}  // namespace ktriage::kb

// syzkaller's own Linux report corpus (shared/corpus/syzkaller): the first
// report we find in each console log must carry the title, alt titles, type
// and flags syzkaller's pkg/report expects. Prints the match rates and fails
// below the floors of issue 2. Skips when the corpus is absent.
//
// KTRIAGE_CORPUS_VERBOSE=1 prints every mismatch; KTRIAGE_SYZKALLER_CORPUS=DIR reads
// another copy (a syzkaller checkout's pkg/report/testdata holds the full corpus).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ktriage/logparse.h"
#include "common/syzkaller_corpus.h"

namespace fs = std::filesystem;

namespace {

using ktriage::test::Case;
using ktriage::test::load_cases;

TEST(SyzkallerCorpus, FirstReportMatchesSyzkaller) {
  // KTRIAGE_SYZKALLER_CORPUS: another copy, e.g. the full pkg/report/testdata of a syzkaller checkout.
  const char* other = std::getenv("KTRIAGE_SYZKALLER_CORPUS");
  fs::path root = other && *other ? fs::path(other) : fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no corpus at " << root;
  std::vector<Case> cases = load_cases(root);
  ASSERT_FALSE(cases.empty());
  bool verbose = std::getenv("KTRIAGE_CORPUS_VERBOSE") != nullptr;

  int detect = 0, title = 0, type = 0, corrupted = 0, alts = 0, suppressed = 0, panicked = 0;
  int frame_checked = 0, frame = 0;
  for (const Case& c : cases) {
    std::vector<ktriage::Report> reports = ktriage::parse_log(c.log);
    const ktriage::Report* r = reports.empty() ? nullptr : &reports[0];
    std::string got_title = r ? r->title : "";
    std::vector<std::string> got_alts = r ? r->alt_titles : std::vector<std::string>{};
    std::sort(got_alts.begin(), got_alts.end());
    std::string got_type = r ? r->type : "";
    bool got_corrupted = r && r->corrupted;
    std::vector<std::string> bad;
    auto check = [&](bool ok, int& counter, const char* what) {
      if (ok) ++counter;
      else bad.push_back(what);
    };
    check(got_title.empty() == c.title.empty(), detect, "detect");
    check(got_title == c.title, title, "title");
    check(got_type == c.type, type, "type");
    check(got_corrupted == c.corrupted, corrupted, "corrupted");
    check(got_alts == c.alts, alts, "alt");
    check((r && r->suppressed) == c.suppressed, suppressed, "suppressed");
    check((r && r->panicked) == c.panicked, panicked, "panicked");
    if (!c.frame.empty()) {
      ++frame_checked;
      check(r && r->frame == c.frame, frame, "frame");
    }
    if (verbose && !bad.empty()) {
      std::string joined;
      for (const auto& b : bad) joined += b + ",";
      std::printf("FAIL %s [%s]\n  want %s | %s | corrupted=%d\n  got  %s | %s | corrupted=%d (%s)\n",
                  c.file.c_str(), joined.c_str(), c.title.c_str(), c.type.c_str(), c.corrupted,
                  got_title.c_str(), got_type.c_str(), got_corrupted,
                  r ? r->corrupted_reason.c_str() : "");
      if (std::find(bad.begin(), bad.end(), "alt") != bad.end()) {
        for (const auto& a : c.alts) std::printf("    want alt: %s\n", a.c_str());
        for (const auto& a : got_alts) std::printf("    got alt:  %s\n", a.c_str());
      }
    }
  }
  double n = static_cast<double>(cases.size());
  auto pct = [&](int k) { return 100.0 * k / n; };
  std::printf("syzkaller corpus: %zu cases\n", cases.size());
  std::printf("  detection  %6.2f%%\n  title      %6.2f%%\n  type       %6.2f%%\n", pct(detect),
              pct(title), pct(type));
  std::printf("  corrupted  %6.2f%%\n  alt titles %6.2f%%\n  suppressed %6.2f%%\n  panicked   %6.2f%%\n",
              pct(corrupted), pct(alts), pct(suppressed), pct(panicked));
  std::printf("  frame      %d/%d\n", frame, frame_checked);
  EXPECT_GE(pct(detect), 99.0);
  EXPECT_GE(pct(title), 95.0);
  EXPECT_GE(pct(type), 97.0);
  EXPECT_GE(pct(corrupted), 95.0);
  EXPECT_GE(pct(alts), 90.0);
}

}  // namespace

// ByteSet / Needle / ScannedLine: the byte test may only ever skip a search
// that would have failed.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "logparse/bytes.h"

namespace ktriage::logparse {
namespace {

TEST(ByteSet, CoversAndMeets) {
  ByteSet line("Call Trace:");
  EXPECT_TRUE(line.covers(ByteSet("Call")));
  EXPECT_TRUE(line.covers(ByteSet("")));
  EXPECT_FALSE(line.covers(ByteSet("should_fail")));  // no '_', 'h', ...
  EXPECT_TRUE(line.meets(ByteSet("+:")));
  EXPECT_FALSE(line.meets(ByteSet("+.")));
  EXPECT_FALSE(ByteSet("").meets(ByteSet("a")));
}

TEST(ScannedLine, FindsWhatFindFinds) {
  ScannedLine line("  [<ffffffff81058e5d>] task_rq_lock+0x4d/0xa8");
  EXPECT_TRUE(line.has("[<"));
  EXPECT_TRUE(line.has("+0x"));
  EXPECT_FALSE(line.has("Call Trace"));
  EXPECT_FALSE(line.has("0x4d/0xa9"));  // every byte present, the text is not
}

// Bytes 0x80-0xff fold onto ASCII bits: a line with UTF-8 text may seem to
// hold letters it lacks, and then the real search decides.
TEST(ScannedLine, NeverMissesOnRandomBytes) {
  std::mt19937 rng(5);
  const std::string alphabet = "aAbB:_+[<0x \xc3\xa9\x80\xff";
  auto random_text = [&](size_t max) {
    std::string s(rng() % (max + 1), ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text = random_text(40), needle_text = random_text(4);
    ScannedLine line(text);
    Needle needle(needle_text);
    ASSERT_EQ(line.has(needle), text.find(needle_text) != std::string::npos) << round;
  }
}

}  // namespace
}  // namespace ktriage::logparse

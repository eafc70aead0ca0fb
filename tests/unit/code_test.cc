// parse_code_line: the text of a `Code:` line -> bytes in memory order and
// the faulting unit, or decodable=false with a reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "logparse/code.h"

namespace ktriage::logparse {
namespace {

TEST(CodeLine, X86BytesWithMarker) {
  CodeBytes c = parse_code_line("48 8b 45 f8 <8b> 40 18 c3");
  ASSERT_TRUE(c.decodable) << c.problem;
  EXPECT_EQ(c.bytes, (std::vector<uint8_t>{0x48, 0x8b, 0x45, 0xf8, 0x8b, 0x40, 0x18, 0xc3}));
  ASSERT_TRUE(c.faulting_offset);
  EXPECT_EQ(*c.faulting_offset, 4u);
  EXPECT_EQ(c.unit, 1);
  EXPECT_EQ(c.text, "48 8b 45 f8 <8b> 40 18 c3");
}

TEST(CodeLine, Arm64WordsAreLittleEndianInMemory) {
  CodeBytes c = parse_code_line("d503233f a9be7bfd (b9400000) ");
  ASSERT_TRUE(c.decodable) << c.problem;
  EXPECT_EQ(c.unit, 4);
  EXPECT_EQ(c.bytes, (std::vector<uint8_t>{0x3f, 0x23, 0x03, 0xd5, 0xfd, 0x7b, 0xbe, 0xa9, 0x00, 0x00, 0x40, 0xb9}));
  EXPECT_EQ(*c.faulting_offset, 8u);
}

TEST(CodeLine, ArmWordsAndThumbHalfwords) {
  CodeBytes arm = parse_code_line("9a000012 e2853020 (e5034020)");
  ASSERT_TRUE(arm.decodable);
  EXPECT_EQ(arm.unit, 4);
  EXPECT_EQ(*arm.faulting_offset, 8u);
  EXPECT_EQ(arm.bytes[8], 0x20);
  EXPECT_EQ(arm.bytes[11], 0xe5);

  CodeBytes thumb = parse_code_line("4b03 f8d3 (681b) bd10");
  ASSERT_TRUE(thumb.decodable);
  EXPECT_EQ(thumb.unit, 2);
  EXPECT_EQ(*thumb.faulting_offset, 4u);
  EXPECT_EQ(thumb.bytes, (std::vector<uint8_t>{0x03, 0x4b, 0xd3, 0xf8, 0x1b, 0x68, 0x10, 0xbd}));
}

TEST(CodeLine, MarkerAtEitherEdgeStillParses) {
  CodeBytes first = parse_code_line("<0f> 0b 90");
  ASSERT_TRUE(first.decodable);
  EXPECT_EQ(*first.faulting_offset, 0u);
  CodeBytes last = parse_code_line("90 90 <48>");
  ASSERT_TRUE(last.decodable);  // syntactically fine; decode_code reports the cut instruction
  EXPECT_EQ(*last.faulting_offset, 2u);
}

TEST(CodeLine, WrappedOldStyleLinesJoinedByTheCaller) {
  // 2.6-era kernels wrapped the bytes over several console lines; the parser
  // passes them joined with newlines.
  CodeBytes c = parse_code_line("c7 43 10 00 00 00 00 ff 4e 30\nba 16 00 00 00 85 c0 78 02 <0f> 0b 8b 03\n51 8b 46 40");
  ASSERT_TRUE(c.decodable) << c.problem;
  EXPECT_EQ(c.bytes.size(), 27u);
  EXPECT_EQ(*c.faulting_offset, 19u);
}

TEST(CodeLine, AcceptsLeadingCodePrefixAndSurroundingSpace) {
  CodeBytes c = parse_code_line("  Code: 90 <c3>\r\n");
  ASSERT_TRUE(c.decodable) << c.problem;
  EXPECT_EQ(c.bytes.size(), 2u);
}

struct Garbage {
  const char* text;
  const char* problem_contains;
};

class CodeLineGarbage : public testing::TestWithParam<Garbage> {};

TEST_P(CodeLineGarbage, IsUndecodableWithAReason) {
  CodeBytes c = parse_code_line(GetParam().text);
  EXPECT_FALSE(c.decodable);
  EXPECT_TRUE(c.bytes.empty());
  EXPECT_FALSE(c.faulting_offset);
  EXPECT_NE(c.problem.find(GetParam().problem_contains), std::string::npos) << c.problem;
  EXPECT_EQ(c.text, GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    All, CodeLineGarbage,
    testing::Values(Garbage{"Unable to access opcode bytes at RIP 0xffffffffffffffd6.", "could not read the code"},
                    Garbage{"Unable to access opcode bytes at 0x7f0000001000.", "could not read the code"},
                    Garbage{"Bad RIP value.", "Bad RIP value"},
                    Garbage{"bad PC value", "bad PC value"},
                    Garbage{"", "empty"},
                    Garbage{"48 8b 45 f8 8b 40 18", "no faulting-instruction marker"},
                    Garbage{"48 8b 4 <8b> 40", "not 2, 4 or 8 hex digits"},
                    Garbage{"48 8b 453 <8b> 40", "not 2, 4 or 8 hex digits"},
                    Garbage{"48 zz <8b> 40", "not hex"},
                    Garbage{"48 8b <8b> <40>", "more than one faulting marker"},
                    Garbage{"48 8b45 <8b>", "differs in width"},
                    Garbage{"<> 48", "not 2, 4 or 8 hex digits"},
                    Garbage{"48 8b <8b", "not 2, 4 or 8 hex digits"},
                    Garbage{"d503233f (a9be7bfd", "not 2, 4 or 8 hex digits"}));

}  // namespace
}  // namespace ktriage::logparse

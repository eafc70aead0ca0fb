// valid_utf8(): what a PostgreSQL text column and an HTML page get of a log.
#include <gtest/gtest.h>

#include "support/utf8.h"

namespace ktriage::support {
namespace {

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

TEST(ValidUtf8, KeepsValidTextAndReplacesEachBadByte) {
  struct Case {
    std::string_view in;
    std::string out;
  };
  const std::string r(kFffd);
  const Case cases[] = {
      {"plain ascii", "plain ascii"},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7"},  // 2, 3, 4 bytes
      {std::string_view("a\0b", 3), "a" + r + "b"},       // NUL
      {"\xC0\x80", r + r},                                 // overlong NUL
      {"\xE0\x80\xAF", r + r + r},                         // overlong '/'
      {"\xED\xA0\x80", r + r + r},                         // a surrogate
      {"\xF4\x90\x80\x80", r + r + r + r},                 // past U+10FFFF
      {"cut \xE2\x82", "cut " + r + r},                    // truncated at the end
      {"\xFF\xFE", r + r},                                 // never in UTF-8
      {"\x80x", r + "x"},                                  // a lone continuation byte
  };
  for (const Case& c : cases) EXPECT_EQ(valid_utf8(c.in), c.out) << c.in;
}

}  // namespace
}  // namespace ktriage::support

// JsonWriter: the text nlohmann would write for the same values, so that
// analyze --json can read a parsed report back and ingest can store it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "support/io.h"
#include "support/json_writer.h"

namespace ktriage::support {
namespace {

using Json = nlohmann::ordered_json;

std::string nlohmann_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string written(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, StringsAreEscapedAndRepairedAsNlohmannDoes) {
  const std::string cases[] = {
      "plain",
      "quote \" backslash \\ slash /",
      std::string("\0\x01\x1f\x7f\b\f\n\r\t", 9),
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA7",
      "\xC0\x80",          // overlong
      "\xE0\x80\xAF",      // overlong, broken at the second byte
      "\xED\xA0\x80",      // a surrogate
      "\xF4\x90\x80\x80",  // past U+10FFFF
      "cut \xE2\x82",      // truncated at the end
      "\xE2\x82x",         // broken by an ASCII byte, which is kept
      "\xE2\xE2\x82\xAC",  // broken by a lead byte that starts a good sequence
      "\xFF\xFE\x80",
  };
  for (const std::string& s : cases) EXPECT_EQ(written(s), nlohmann_text(Json(s))) << testing::PrintToString(s);
}

TEST(JsonWriter, RandomBytesGiveNlohmannsText) {
  std::mt19937 rng(20261203);
  // Bytes weighted towards the ones UTF-8 decoding branches on.
  const unsigned char pool[] = {'a', '"', '\\', 0, 0x1f, 0x7f, 0x80, 0x8f, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf,
                                0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff};
  for (int n = 0; n < 20000; ++n) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 3 ? pool[rng() % std::size(pool)] : rng() % 256);
    ASSERT_EQ(written(s), nlohmann_text(Json(s))) << testing::PrintToString(s);
  }
}

// Not always nlohmann's text: its grisu2 sometimes writes 17 digits where
// fewer read back the same (53.730124 for 53.730124000000004).
TEST(JsonWriter, NumbersReadBackAsTheSameValues) {
  for (double d : {0.0, -0.0, 5.0, 0.1, 1234.5678, 1e-7, 1e21, 123456789012345680.0, 53.730124,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()}) {
    JsonWriter w;
    w.value(d);
    const Json back = Json::parse(w.text());
    ASSERT_TRUE(back.is_number_float()) << w.text();  // "5.0", never "5": still a double
    EXPECT_EQ(back.get<double>(), d) << w.text();
  }
  JsonWriter nan;
  nan.value(std::nan(""));
  EXPECT_EQ(nan.text(), "null");
  JsonWriter ints;
  ints.begin_array().value(int64_t{-1}).value(uint64_t{18446744073709551615u}).value(uint32_t{7}).end_array();
  EXPECT_EQ(ints.text(), "[-1,18446744073709551615,7]");
}

TEST(JsonWriter, ContainersAndCommas) {
  JsonWriter w;
  w.begin_object().key("a").begin_array().end_array().key("b").begin_object().end_object();
  w.field("c", std::optional<int>()).field("d", true).key("e").strings({"x", "y"}).end_object();
  EXPECT_EQ(w.text(), R"({"a":[],"b":{},"c":null,"d":true,"e":["x","y"]})");
  EXPECT_TRUE(Json::accept(w.text()));
}

// Every report of the corpora, written directly, is valid JSON holding what
// analyze --json prints for it before the analysis adds its fields.
TEST(JsonWriter, ParsedReportsOfTheCorporaAreValidJson) {
  const std::filesystem::path root = KTRIAGE_SHARED_DIR "/corpus";
  if (!std::filesystem::is_directory(root)) GTEST_SKIP() << "no " << root;
  size_t reports = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    Expected<std::string> text = read_file(entry.path().string());
    if (!text) continue;
    for (const Report& r : parse_log(*text)) {
      const std::string parsed = render_parsed_json(r);
      const Json j = Json::parse(parsed, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << entry.path() << ": " << parsed;
      EXPECT_EQ(j["title"], r.title);
      EXPECT_EQ(j["frames"].size(), r.frames.size());
      if (r.timestamp) {
        EXPECT_EQ(j["timestamp"].get<double>(), *r.timestamp) << entry.path();
      }
      ++reports;
    }
  }
  EXPECT_GT(reports, 1000u);
}

}  // namespace
}  // namespace ktriage::support

// The text report's frame lines, from a symbolization built by hand (the
// debug-info side has its own tests): where an inline chain ends, why a frame
// has no source line said once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "ktriage/render.h"

namespace ktriage {
namespace {

using ::testing::HasSubstr;

// The text report of one report read with symbolization `s`.
std::string render(const Report& r, const Symbolization& s) {
  Analysis a;
  a.source = "test";
  a.reports.push_back(r);
  ReportDetails d;
  d.symbols = s;
  a.details.push_back(d);
  std::ostringstream out;
  render_text(a, RenderOptions{}, out);
  return out.str();
}

TEST(RenderText, InlineChainEndsAtTheContainingFunctionsLine) {
  Report r;
  r.title = "BUG: corrupted list in zoo_list_corrupt";
  Frame f;
  f.function = "zoo_list_corrupt";
  r.frames.push_back(f);

  FrameSymbolization fs;
  fs.source = SourceLocation{.file = "include/linux/list.h", .line = 169};
  fs.inlined = {{"__list_del_entry", {.file = "include/linux/list.h", .line = 169}},
                {"list_del", {.file = "include/linux/list.h", .line = 181}},
                {"zoo_list_corrupt", {.file = "crashzoo.c", .line = 143}}};
  Symbolization s;
  s.frames.push_back(fs);
  EXPECT_THAT(render(r, s), HasSubstr("inlined: __list_del_entry (include/linux/list.h:169) -> list_del "
                                      "(include/linux/list.h:181) -> zoo_list_corrupt (crashzoo.c:143)"));
}

TEST(RenderText, WhyAFrameHasNoSourceIsSaidOnce) {
  Report r;
  Symbolization s;
  for (const char* name : {"zoo_a", "zoo_b", "zoo_c"}) {
    Frame f;
    f.function = name;
    f.module = "crashzoo";
    r.frames.push_back(f);
    FrameSymbolization fs;
    fs.symbolize_error = "no debug file for module crashzoo";
    s.frames.push_back(fs);
  }
  const std::string text = render(r, s);
  const size_t first = text.find("(no debug file for module crashzoo)");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("(no debug file for module crashzoo)", first + 1), std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("zoo_c [crashzoo]"));
}

}  // namespace
}  // namespace ktriage

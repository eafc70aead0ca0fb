// The text report's frame lines, from a symbolization built by hand (the
// debug-info side has its own tests): where an inline chain ends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "ktriage/render.h"

namespace ktriage {
namespace {

using ::testing::HasSubstr;

TEST(RenderText, InlineChainEndsAtTheContainingFunctionsLine) {
  Analysis a;
  a.source = "test";
  Report r;
  r.title = "BUG: corrupted list in zoo_list_corrupt";
  Frame f;
  f.function = "zoo_list_corrupt";
  r.frames.push_back(f);
  a.reports.push_back(r);

  FrameSymbolization fs;
  fs.source = SourceLocation{.file = "include/linux/list.h", .line = 169};
  fs.inlined = {{"__list_del_entry", {.file = "include/linux/list.h", .line = 169}},
                {"list_del", {.file = "include/linux/list.h", .line = 181}},
                {"zoo_list_corrupt", {.file = "crashzoo.c", .line = 143}}};
  Symbolization s;
  s.frames.push_back(fs);
  ReportDetails d;
  d.symbols = s;
  a.details.push_back(d);

  std::ostringstream out;
  render_text(a, RenderOptions{}, out);
  EXPECT_THAT(out.str(), HasSubstr("inlined: __list_del_entry (include/linux/list.h:169) -> list_del "
                                   "(include/linux/list.h:181) -> zoo_list_corrupt (crashzoo.c:143)"));
}

}  // namespace
}  // namespace ktriage

// libFuzzer target for the log parser (fuzz-link: ktriage_logparse).
//
// Any bytes must parse without a crash, sanitizer report or timeout, and:
//  - reports respect ParseOptions (frames, line length) and point inside the input;
//  - feeding the same bytes in arbitrary chunks gives the same reports as one feed.
// The first input byte picks the options (defaults, or tiny limits so inputs
// this small reach them) and seeds the chunk sizes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ktriage/logparse.h"

namespace {

// Names the broken property before aborting, so a crash artifact explains itself.
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "parser_fuzz: property failed: %s\n", #cond);     \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

void check_bounds(const std::vector<ktriage::Report>& reports, const ktriage::ParseOptions& o, size_t size) {
  for (const ktriage::Report& r : reports) {
    CHECK(r.frames.size() <= o.max_frames);
    CHECK(r.header.size() <= o.max_line_bytes);
    CHECK(r.span.begin <= r.span.end && r.span.end <= size);
  }
}

bool same(const ktriage::Report& a, const ktriage::Report& b) {
  return a.kind == b.kind && a.title == b.title && a.header == b.header && a.corrupted == b.corrupted &&
         a.frames.size() == b.frames.size() && a.span.begin == b.span.begin && a.span.end == b.span.end &&
         a.span.first_line == b.span.first_line && a.span.last_line == b.span.last_line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ktriage::ParseOptions options;
  if (control & 1) options = {.max_line_bytes = 64, .max_report_lines = 16, .max_frames = 4};

  std::vector<ktriage::Report> whole = ktriage::parse_log(text, options);
  check_bounds(whole, options, text.size());

  // Same bytes, chunk sizes 1..16 drawn from a tiny LCG seeded by the control byte.
  std::vector<ktriage::Report> chunked;
  {
    ktriage::LogParser parser(options, [&](ktriage::Report&& r) { chunked.push_back(std::move(r)); });
    uint32_t state = control | 0x100u;
    std::string_view rest = text;
    while (!rest.empty()) {
      state = state * 1103515245u + 12345u;
      size_t n = 1 + (state >> 16) % 16;
      if (n > rest.size()) n = rest.size();
      parser.feed(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    parser.finish();
  }
  CHECK(chunked.size() == whole.size());
  for (size_t i = 0; i < whole.size(); ++i) CHECK(same(whole[i], chunked[i]));
  return 0;
}

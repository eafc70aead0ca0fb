// libFuzzer target for the knowledge-base importers (fuzz-link: ktriage_kb ktriage_logparse ktriage_report
// ktriage_support).
//
// The first input byte picks the reader: a CVE JSON record (whose
// description also goes through the log parser), a Debian changelog, an RPM
// changelog. Any bytes must read without a crash or sanitizer report, and:
//  - an accepted record has a CVE id and a fix, and a signature of at most
//    kSignatureFrames frames, none of them reporting machinery;
//  - every changelog release has a line and a version, every item a subject
//    key first.
// Builds with `clang++ -fsanitize=fuzzer`, or as a plain function called by
// any driver.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ktriage/kb_index.h"

namespace {

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::fprintf(stderr, "kb_fuzz: property failed: %s\n", #cond); \
      std::abort();                                                  \
    }                                                                \
  } while (0)

void check_changelog(const ktriage::Expected<ktriage::ChangelogParse>& parsed) {
  if (!parsed) return;
  for (const ktriage::ChangelogRelease& r : parsed->releases) {
    CHECK(!r.line.empty());
    CHECK(!r.version.empty());
    for (const ktriage::ChangelogItem& item : r.items) {
      CHECK(!item.keys.empty());
      CHECK(std::string_view(item.keys[0]).starts_with("subject:"));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      ktriage::Expected<ktriage::CveRecordResult> r = ktriage::read_cve_record(text, "fuzz.json");
      if (r && !r->rejected) {
        const ktriage::KbEntry& e = r->entry;
        CHECK(e.id.starts_with("CVE-"));
        CHECK(!e.commit.empty() || !e.fixed_in.empty() || !e.stable_fixes.empty());
        CHECK(e.signature.frames.size() <= ktriage::kSignatureFrames);
        for (const std::string& f : e.signature.frames) CHECK(!ktriage::is_reporting_frame(f));
      }
      break;
    }
    case 1:
      check_changelog(ktriage::parse_debian_changelog(text));
      break;
    default:
      check_changelog(ktriage::parse_rpm_changelog(text));
      break;
  }
  return 0;
}

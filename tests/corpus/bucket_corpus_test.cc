// Buckets on text we did not write. syzkaller's corpus: reports syzkaller
// titles the same must share a bucket and differently titled ones must not
// (pairwise F1 against the TITLE: headers, floor 0.97). Distro corpus:
// near-duplicate copies of one crash (satyr's -modified/-notime variants,
// abrt's -template logs filled in) must share a bucket. Skips when
// ../shared is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "common/syzkaller_corpus.h"
#include "common/test_util.h"
#include "ktriage/bucket.h"
#include "ktriage/logparse.h"

namespace fs = std::filesystem;

namespace {

ktriage::SignatureRules shipped_rules() {
  std::string path = ktriage::default_signature_rules_path().string();
  ktriage::Expected<ktriage::SignatureRules> r = ktriage::SignatureRules::parse(ktriage::test::read_file(path), path);
  if (!r) ADD_FAILURE() << r.error().message;
  return r ? std::move(*r) : ktriage::SignatureRules();
}

struct PairScore {
  long tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 1; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 1; }
  double f1() const { return 2 * precision() * recall() / (precision() + recall()); }
};

TEST(BucketCorpus, SyzkallerTitlesAndBucketsAgreePairwise) {
  fs::path root = fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no corpus at " << root;
  const ktriage::SignatureRules rules = shipped_rules();
  struct Item {
    std::string file, title, bucket, signature;
  };
  std::vector<Item> items;
  for (const ktriage::test::Case& c : ktriage::test::load_cases(root)) {
    if (c.title.empty()) continue;
    std::vector<ktriage::Report> reports = ktriage::parse_log(c.log);
    // A report not found is a bucket of its own: it cannot pair with anything.
    Item it{c.file, c.title, "missing:" + c.file, ""};
    if (!reports.empty()) {
      ktriage::Signature s = ktriage::sign(reports.front(), rules);
      it.bucket = s.id();
      it.signature = s.text();
    }
    items.push_back(std::move(it));
  }
  ASSERT_GT(items.size(), 400u);
  PairScore score;
  const bool verbose = std::getenv("KTRIAGE_CORPUS_VERBOSE") != nullptr;
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t j = i + 1; j < items.size(); ++j) {
      const bool same_title = items[i].title == items[j].title;
      const bool same_bucket = items[i].bucket == items[j].bucket;
      if (same_title && same_bucket) ++score.tp;
      if (!same_title && same_bucket) ++score.fp;
      if (same_title && !same_bucket) ++score.fn;
      if (verbose && same_title != same_bucket)
        std::printf("%s pair\n  %s: %s\n  %s: %s\n", same_title ? "split" : "merged", items[i].file.c_str(),
                    items[i].signature.c_str(), items[j].file.c_str(), items[j].signature.c_str());
    }
  }
  std::printf(
      "syzkaller corpus: %zu titled reports, pairwise precision %.4f recall %.4f F1 %.4f (tp %ld fp %ld fn %ld)\n",
      items.size(), score.precision(), score.recall(), score.f1(), score.tp, score.fp, score.fn);
  EXPECT_GE(score.f1(), 0.97);
}

std::string bucket_of(const std::string& text, const ktriage::SignatureRules& rules, size_t index = 0) {
  std::vector<ktriage::Report> reports = ktriage::parse_log(text);
  if (reports.size() <= index) return "no report";
  return ktriage::sign(reports[index], rules).id();
}

TEST(BucketCorpus, DistroNearDuplicatesShareBuckets) {
  fs::path logs = fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "distro" / "logs";
  if (!fs::is_directory(logs)) GTEST_SKIP() << "no corpus at " << logs;
  const ktriage::SignatureRules rules = shipped_rules();
  using ktriage::test::read_file;
  // satyr: -modified changes the taint line, -notime drops timestamps;
  // clearlinux: -noext drops the module list's extras.
  const std::pair<const char*, const char*> copies[] = {
      {"satyr-rhbz-827868.log", "satyr-rhbz-827868-modified.log"},
      {"satyr-rhbz-865695-2.log", "satyr-rhbz-865695-2-notime.log"},
      {"clearlinux-sysctl_check2.log", "clearlinux-sysctl_check2-noext.log"},
  };
  for (const auto& [a, b] : copies) {
    std::string ba = bucket_of(read_file(logs / a), rules), bb = bucket_of(read_file(logs / b), rules);
    EXPECT_NE(ba, "no report") << a;
    EXPECT_EQ(ba, bb) << a << " and " << b;
  }
  // abrt's templates are filled in per machine: another host name and
  // other times are the same crash.
  for (const char* name : {"abrt-nmi_oops-template.log", "abrt-not_oops2-template.log"}) {
    const std::string tmpl = read_file(logs / name);
    std::string filled = std::regex_replace(tmpl, std::regex(":HOSTNAME:"), "web7.example.com");
    filled = std::regex_replace(filled, std::regex(R"(^Jan (\d\d) )", std::regex::multiline), "Feb $1 ");
    std::string b1 = bucket_of(tmpl, rules), b2 = bucket_of(filled, rules);
    EXPECT_NE(b1, "no report") << name;
    EXPECT_EQ(b1, b2) << name;
  }
  // satyr's github-73 report: the same crash printed without timestamps.
  const std::string g73 = read_file(logs / "satyr-github-73-modified.log");
  std::string stamped;
  for (size_t at = 0, n = 0; at < g73.size(); ++n) {
    size_t nl = g73.find('\n', at);
    std::string line = g73.substr(at, nl == std::string::npos ? std::string::npos : nl + 1 - at);
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%5zu.%06zu] ", 1000 + n / 10, (n * 7919) % 1000000);
    stamped += stamp + line;
    at = nl == std::string::npos ? g73.size() : nl + 1;
  }
  EXPECT_EQ(bucket_of(g73, rules), bucket_of(stamped, rules));
  EXPECT_NE(bucket_of(g73, rules), "no report");
}

}  // namespace

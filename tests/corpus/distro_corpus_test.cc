// Real oopses from distribution kernels (shared/corpus/distro), hand-labelled:
// runs the corpus's own scorer, score-distro.py, over the built CLI
// ("ktriage analyze --json") and fails below the floors of issue 2.
// Prints the rates. Skips when the corpus or python3 is absent.
//
// KTRIAGE_CORPUS_VERBOSE=1 prints every miss the scorer lists.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Floor {
  const char* name;
  const char* ok;
  const char* total;
  double min;
};

// found/labelled is report recall; the rest are per matched report.
constexpr Floor kFloors[] = {
    {"report recall", "found", "labelled_reports", 0.97},
    {"ip function", "ip_function_ok", "ip_function_checked", 0.97},
    {"arch", "arch_ok", "arch_checked", 0.97},
    {"kernel release", "kernel_release_ok", "kernel_release_checked", 0.95},
    {"whole call trace", "trace_ok", "trace_checked", 0.90},
};

struct PipeClose {
  void operator()(FILE* f) const { pclose(f); }
};

std::string run(const std::string& cmd, int& status) {
  std::unique_ptr<FILE, PipeClose> p(popen(cmd.c_str(), "r"));
  std::string out;
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  status = pclose(p.release());
  return out;
}

TEST(DistroCorpus, ScorerFloors) {
  fs::path shared = KTRIAGE_SHARED_DIR;
  fs::path scorer = shared / "corpus" / "score-distro.py";
  if (!fs::exists(scorer) || !fs::exists(shared / "corpus" / "distro" / "labels.jsonl"))
    GTEST_SKIP() << "shared/corpus/distro not found at " << shared;
  if (std::system("python3 -c pass >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 not available";
  ASSERT_TRUE(fs::exists(KTRIAGE_BINARY)) << KTRIAGE_BINARY;

  int status = 0;
  std::string out = run("python3 '" + scorer.string() + "' --cmd '" + std::string(KTRIAGE_BINARY) +
                            " analyze --json' --verbose 2>&1",
                        status);
  ASSERT_EQ(status, 0) << out;

  // "name   value" lines, then the verbose misses.
  std::map<std::string, long> counts;
  std::string misses;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string key;
    long value;
    std::string rest;
    if (words >> key >> value && !(words >> rest) && key.find(':') == std::string::npos) {
      counts[key] = value;
    } else if (!line.empty()) {
      misses += "  " + line + "\n";
    }
  }
  ASSERT_GT(counts["logs"], 0) << out;

  for (const Floor& f : kFloors) {
    long ok = counts[f.ok], total = counts[f.total];
    ASSERT_GT(total, 0) << f.total << " missing from the scorer's output:\n" << out;
    double rate = static_cast<double>(ok) / static_cast<double>(total);
    std::printf("distro %-17s %4ld / %-4ld = %5.1f%%  (floor %.0f%%)\n", f.name, ok, total, 100 * rate, 100 * f.min);
    EXPECT_GE(rate, f.min) << f.name << "\n" << misses;
  }
  for (const char* k : {"kind", "ip_module", "taint"}) {
    long ok = counts[std::string(k) + "_ok"], total = counts[std::string(k) + "_checked"];
    if (total) std::printf("distro %-17s %4ld / %-4ld = %5.1f%%\n", k, ok, total, 100.0 * ok / total);
  }
  std::printf("distro extra reports   %ld\n", counts["extra_reports"]);
  const char* verbose = std::getenv("KTRIAGE_CORPUS_VERBOSE");
  if (verbose && *verbose && *verbose != '0') std::printf("%s", misses.c_str());
}

}  // namespace

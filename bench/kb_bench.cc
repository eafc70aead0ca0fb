// Known-bug matching cost (issue 14 targets: index load <= 50 ms, matching
// one report against the whole index <= 1 ms).
//
//   kb_bench                        the shipped index (data/kb)
//   KTRIAGE_KB_DIR=DIR kb_bench     another knowledge-base directory
//
// BM_IndexOpen          KbIndex::open on each *.sqlite of the directory
// BM_LoadKnowledgeBase  KnowledgeBase::load of the directory (TOML + indexes),
//                       what `ktriage analyze` does once per run
// BM_MatchKnownCrash    KnowledgeBase::match on one report built from a
//                       record's own signature (the hit path: title, guilty
//                       frame and frames all look things up and score), a
//                       different record each iteration
// BM_MatchUnknownCrash  KnowledgeBase::match on the founding case's reports
//                       (examples/xfs-panic.log: nothing in the index)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ktriage/kb.h"
#include "ktriage/kb_index.h"
#include "ktriage/logparse.h"

namespace {

using namespace ktriage;

std::vector<std::filesystem::path> index_files() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(default_kb_dir()))
    if (e.path().extension() == ".sqlite") out.push_back(e.path());
  return out;
}

KnowledgeBase load_or_die() {
  Expected<KnowledgeBase> kbOrErr = KnowledgeBase::load({default_kb_dir()});
  if (!kbOrErr) {
    std::fprintf(stderr, "kb_bench: %s\n", kbOrErr.error().message.c_str());
    std::exit(2);
  }
  return std::move(*kbOrErr);
}

void BM_IndexOpen(benchmark::State& state) {
  std::vector<std::filesystem::path> files = index_files();
  if (files.empty()) state.SkipWithError("no *.sqlite index in the knowledge-base directory");
  for (auto _ : state)
    for (const auto& f : files) benchmark::DoNotOptimize(KbIndex::open(f));
}
BENCHMARK(BM_IndexOpen)->Unit(benchmark::kMillisecond);

void BM_LoadKnowledgeBase(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(load_or_die());
}
BENCHMARK(BM_LoadKnowledgeBase)->Unit(benchmark::kMillisecond);

// Reports shaped like the crashes records quote: one per record with a
// signature of 3+ frames, taken from the index itself.
std::vector<Analysis> known_crashes(const KnowledgeBase& kb) {
  std::vector<Analysis> out;
  for (const auto& index : kb.indexes()) {
    for (const char* word : {"KASAN", "WARNING", "NULL", "BUG", "general protection", "lockdep", "UBSAN"}) {
      for (const KbEntry& e : index->search(word, 100)) {
        const KbSignature& s = e.signature;
        if (s.frames.size() < 3) continue;
        Report r;
        r.kind = crash_kind_from_string(s.kind).value_or(CrashKind::other);
        r.type = s.type;
        r.title = s.title;
        r.frame = s.frame;
        for (const std::string& f : s.frames) {
          Frame frame;
          frame.function = f;
          frame.module = f == s.frame ? s.module : "";
          r.frames.push_back(frame);
        }
        Analysis a;
        a.reports.push_back(std::move(r));
        out.push_back(std::move(a));
      }
    }
  }
  return out;
}

void BM_MatchKnownCrash(benchmark::State& state) {
  KnowledgeBase kb = load_or_die();
  std::vector<Analysis> crashes = known_crashes(kb);
  if (crashes.empty()) {
    state.SkipWithError("no signatures in the index");
    return;
  }
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    KbVerdicts v = kb.match(crashes[i++ % crashes.size()]);
    hits += !v.matches.empty();
    benchmark::DoNotOptimize(v);
  }
  state.counters["reports"] = static_cast<double>(crashes.size());
  state.counters["matched"] = benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MatchKnownCrash)->Unit(benchmark::kMicrosecond);

void BM_MatchUnknownCrash(benchmark::State& state) {
  KnowledgeBase kb = load_or_die();
  std::ifstream in(std::filesystem::path(KTRIAGE_SOURCE_DIR) / "examples" / "xfs-panic.log");
  std::stringstream text;
  text << in.rdbuf();
  Analysis a;
  a.reports = parse_log(text.str());
  for (auto _ : state) benchmark::DoNotOptimize(kb.match(a));
  state.counters["reports"] = static_cast<double>(a.reports.size());
}
BENCHMARK(BM_MatchUnknownCrash)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

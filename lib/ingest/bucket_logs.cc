// `ktriage bucket`: sign in parallel, group in input order.
#include <algorithm>
#include <mutex>

#include "ktriage/ingest.h"

namespace ktriage {

Expected<BucketedLogs> bucket_logs(const std::vector<std::string>& inputs, const SignatureRules& rules,
                                   const ScanOptions& options,
                                   const std::function<void(const ScanProgress&)>& progress) {
  struct Signed {
    Signature signature;
    BucketMember member;
    std::string kernel;
  };
  std::mutex mu;
  std::vector<Signed> all;
  ScanOptions o = options;
  o.raw = false;
  Expected<ScanStats> stats = scan_logs(
      inputs, o,
      [&](ScannedReport&& s) {
        Signed one{sign(s.report, rules),
                   {{s.source, s.index}, std::move(s.report.title), s.report.span.first_line},
                   std::move(s.report.kernel_release)};
        std::lock_guard lock(mu);
        all.push_back(std::move(one));
      },
      progress);
  if (!stats) return stats.error();
  // Workers finish in any order; group in input order so that ids, titles
  // and ties come out the same on every run.
  std::sort(all.begin(), all.end(), [](const Signed& a, const Signed& b) {
    return a.member.ref.source != b.member.ref.source ? a.member.ref.source < b.member.ref.source
                                                      : a.member.ref.index < b.member.ref.index;
  });
  Bucketer bucketer(rules);
  for (Signed& s : all) bucketer.add(std::move(s.signature), std::move(s.member), s.kernel);
  return BucketedLogs{bucketer.buckets(), *stats};
}

}  // namespace ktriage

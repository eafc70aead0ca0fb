// Grouping reports by signature.
#include <algorithm>

#include "ktriage/bucket.h"

namespace ktriage {

void Bucketer::add(const ReportRef& ref, const Report& report) {
  add(sign(report, rules_), {ref, report.title, report.span.first_line}, report.kernel_release);
}

void Bucketer::add(Signature signature, BucketMember member, std::string_view kernel_release) {
  std::string id = signature.id();
  auto [it, fresh] = index_.try_emplace(id, buckets_.size());
  if (fresh) {
    Bucket b;
    b.id = std::move(id);
    b.signature = std::move(signature);
    buckets_.push_back(std::move(b));
  }
  Bucket& b = buckets_[it->second];
  b.members.push_back(std::move(member));
  if (!kernel_release.empty()) b.kernels.emplace_back(kernel_release);
}

std::vector<Bucket> Bucketer::buckets() const {
  auto before = [](const ReportRef& a, const ReportRef& b) {
    return a.source != b.source ? a.source < b.source : a.index < b.index;
  };
  std::vector<Bucket> out = buckets_;
  for (Bucket& b : out) {
    std::sort(b.members.begin(), b.members.end(),
              [&](const BucketMember& x, const BucketMember& y) { return before(x.ref, y.ref); });
    std::sort(b.kernels.begin(), b.kernels.end());
    b.kernels.erase(std::unique(b.kernels.begin(), b.kernels.end()), b.kernels.end());
    b.title = b.members.front().title;
  }
  std::sort(out.begin(), out.end(), [&](const Bucket& x, const Bucket& y) {
    if (x.members.size() != y.members.size()) return x.members.size() > y.members.size();
    return before(x.members.front().ref, y.members.front().ref);
  });
  return out;
}

}  // namespace ktriage

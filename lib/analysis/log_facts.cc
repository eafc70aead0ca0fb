// What the log says about its kernel (KernelFacts), from a list of reports or
// gathered over a whole log report by report (LogFacts), so that a log
// analysed in windows reasons with the facts of the whole log.
#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "analysis/context.h"

namespace ktriage {
namespace analysis {
namespace {

// x86_64 puts kernel text at 0xffffffff80000000 and modules just above.
bool mostly_x86_64_text(const Report& r) {
  size_t hits = 0, total = 0;
  auto look = [&](const Symbol& s) {
    if (!s.address) return;
    ++total;
    if (*s.address >= 0xffffffff80000000ull) ++hits;
  };
  if (r.ip) look(*r.ip);
  for (const Frame& f : r.frames) look(f);
  // Tolerate a mistyped address or two (the seed has a 15-digit one).
  return total >= 2 && hits * 4 >= total * 3;
}

}  // namespace

ReportFacts ReportFacts::of(const Report& r, size_t index) {
  ReportFacts f;
  f.index = index;
  f.first_line = r.span.first_line;
  f.arch = r.arch;
  f.release = r.kernel_release;
  f.kasan = r.kind == CrashKind::kasan || contains(r.header, "KASAN");
  f.x86_64_addresses = mostly_x86_64_text(r);
  f.marks = r.marks;
  f.old_fault_line = r.ip && r.ip->address && contains(r.header, "unable to handle kernel paging request at");
  f.modern_format = contains(r.oops_code, "PTI") || r.header.starts_with("BUG: unable to handle page fault for address:") ||
                    r.header.starts_with("BUG: kernel NULL pointer dereference, address:");
  return f;
}

KernelFacts kernel_facts(const std::vector<ReportFacts>& reports, std::string_view kernel_version) {
  KernelFacts k;
  const size_t n = reports.size();
  auto at_line = [](const ReportFacts& r) {
    return r.first_line ? std::optional<uint32_t>(r.first_line) : std::nullopt;
  };
  for (const ReportFacts& r : reports) {
    if (k.arch == Arch::unknown) k.arch = r.arch;
    if (k.release.empty()) k.release = r.release;
    if (r.kasan) k.kasan = true;
  }
  if (!kernel_version.empty()) k.release = kernel_version;
  if (k.arch == Arch::unknown && !k.release.empty()) {
    if (contains(k.release, "x86_64") || contains(k.release, "amd64")) k.arch = Arch::x86_64;
    else if (contains(k.release, "aarch64") || contains(k.release, "arm64")) k.arch = Arch::arm64;
    if (k.arch != Arch::unknown) k.arch_reason = "from the kernel release " + k.release;
  }
  for (size_t i = 0; i < n && k.arch == Arch::unknown; ++i) {
    if (reports[i].x86_64_addresses) {
      k.arch = Arch::x86_64;
      k.arch_reason = "inferred: kernel text and module addresses 0xffffffff8.../0xffffffffa... are the x86_64 layout";
    }
  }
  // From the text: x86_64 prints 16-digit [<ffffffff8...>] addresses and RIP, i386 EIP.
  for (size_t i = 0; i < n && k.arch == Arch::unknown; ++i) {
    if (reports[i].marks.x86_64_text) {
      k.arch = Arch::x86_64;
      k.arch_reason = "inferred from the log's 64-bit x86 address and register format";
    } else if (reports[i].marks.i386_text) {
      k.arch = Arch::i386;
      k.arch_reason = "inferred from the log's EIP register line";
    }
  }

  // Era marks when no release was printed or given.
  if (!k.release.empty()) return k;
  for (const ReportFacts& r : reports) {
    // In the order the lines were printed: the first mark found is cited first.
    const FormatMarks& m = r.marks;
    auto sysfs = [&] {
      if (k.era_pre_3 || !m.last_sysfs_file) return;
      k.era_pre_3 = k.era_pre_4 = true;
      k.era_evidence.push_back({"kernel",
          "the `last sysfs file:` line is printed only by 2.6-era kernels (dropped early in 3.x): a pre-3.x kernel",
          r.index, std::nullopt});
    };
    auto bracketed_ip = [&] {
      if (k.era_pre_4 || !m.bracketed_ip) return;
      k.era_pre_4 = true;
      k.era_evidence.push_back({"kernel",
          "the `IP: [<address>] symbol` form of the fault line is the old x86 format (before 4.x)", r.index, std::nullopt});
    };
    if (m.bracketed_ip && (!m.last_sysfs_file || m.bracketed_ip <= m.last_sysfs_file)) {
      bracketed_ip();
      sysfs();
    } else {
      sysfs();
      bracketed_ip();
    }
    if (!k.era_pre_4 && r.old_fault_line && k.arch == Arch::x86_64) {
      k.era_pre_4 = true;
      k.era_evidence.push_back({"kernel",
          "the fault line prints a raw `[<address>]` with the symbol and the header says "
          "`unable to handle kernel paging request at`: the old x86 format (before 4.x)",
          r.index, at_line(r)});
    }
  }
  if (!k.era_pre_4) {
    for (size_t i = 0; i < n && !k.era_modern; ++i) {
      if (!reports[i].modern_format) continue;
      k.era_modern = true;
      k.era_evidence.push_back({"kernel",
          "the report format (`PTI`/`NOPTI` in the Oops line, or the `unable to handle page fault for address:` wording) "
          "is that of x86 kernels since 4.15",
          reports[i].index, at_line(reports[i])});
    }
  }
  if (k.era_pre_3 || k.era_pre_4 || k.era_modern)
    k.era_evidence.insert(k.era_evidence.begin(), {"kernel", "the log prints no kernel release; its era is inferred from the report format", std::nullopt, std::nullopt});
  return k;
}

namespace {

// The reports that decide a group's KernelFacts: kernel_facts() reads only
// the first report with each property, so the first of each stands for all.
class FactsFold {
 public:
  void add(ReportFacts r) {
    bool decides = false;
    auto first = [&](bool has, bool& seen) {
      if (has && !seen) decides = seen = true;
    };
    first(r.arch != Arch::unknown, arch_);
    first(!r.release.empty(), release_);
    first(r.kasan, kasan_);
    first(r.x86_64_addresses, addresses_);
    first(r.marks.x86_64_text || r.marks.i386_text, text_);
    first(r.marks.last_sysfs_file != 0, sysfs_);
    first(r.marks.bracketed_ip != 0, bracketed_);
    first(r.old_fault_line, old_fault_line_);
    first(r.modern_format, modern_);
    if (decides) reports_.push_back(std::move(r));
  }
  const std::vector<ReportFacts>& reports() const { return reports_; }

  // The fold of another boot that printed the same way: indices and lines
  // moved by `index` and `line` (0, "no line", stays 0).
  FactsFold moved(int64_t index, int64_t line) const {
    FactsFold out = *this;
    for (ReportFacts& r : out.reports_) {
      r.index = static_cast<size_t>(static_cast<int64_t>(r.index) + index);
      for (uint32_t* l : {&r.first_line, &r.marks.last_sysfs_file, &r.marks.bracketed_ip})
        if (*l) *l = static_cast<uint32_t>(*l + line);
    }
    return out;
  }
  // Equal for two boots whose folds are moved() copies of each other: the
  // folds relative to each boot's first report (`index`, `line`).
  std::string key(size_t index, uint32_t line) const {
    auto rel = [&](uint32_t l) { return l ? fmt::format("{}", int64_t{l} - line) : std::string("-"); };
    std::string key;
    for (const ReportFacts& r : reports_)
      key += fmt::format("{} {} {} {} {} {} {} {} {} {} {} {}\n", r.index - index, rel(r.first_line),
                         static_cast<int>(r.arch), r.release, r.kasan, r.x86_64_addresses, rel(r.marks.last_sysfs_file),
                         rel(r.marks.bracketed_ip), r.marks.x86_64_text, r.marks.i386_text, r.old_fault_line,
                         r.modern_format);
    return key;
  }

 private:
  std::vector<ReportFacts> reports_;
  bool arch_ = false, release_ = false, kasan_ = false, addresses_ = false, text_ = false, sysfs_ = false,
       bracketed_ = false, old_fault_line_ = false, modern_ = false;
};

}  // namespace
}  // namespace analysis

// Every boot's fold is kept, relative to the boot's first report and pooled
// by content: a log of 100,000 boots of one kernel keeps one fold.
struct LogFacts::Impl {
  struct Boot {
    uint64_t first = 0;             // index of the boot's first report
    uint32_t first_line = 0;        // and its input line
    uint32_t rank = kNotSeen;       // boots before it in the log
    uint32_t fold = kOpen;          // in pool; kOpen until the boot's reports end
  };
  static constexpr uint32_t kNotSeen = UINT32_MAX, kOpen = UINT32_MAX;
  // A fold as read for the first boot that had it.
  struct Pooled {
    analysis::FactsFold fold;
    size_t first;
    uint32_t first_line;
  };
  analysis::FactsFold all;
  std::vector<Boot> boots;  // by boot id: the parser numbers boots 0, 1, ... in each input
  uint32_t seen = 0;        // boots
  std::vector<Pooled> pool;
  std::unordered_map<std::string, size_t> pooled;
  std::optional<uint32_t> open_boot;
  analysis::FactsFold open;  // the boot being read, absolute
  std::string first_release;
  bool several_releases = false;
  size_t count = 0;

  void close() {
    if (!open_boot) return;
    Boot& b = boots[*open_boot];
    auto [at, fresh] = pooled.try_emplace(open.key(b.first, b.first_line), pool.size());
    if (fresh) pool.push_back({std::move(open), b.first, b.first_line});
    b.fold = static_cast<uint32_t>(at->second);
    open_boot.reset();
  }

  analysis::FactsFold fold_of(const Boot& b) const {
    const Pooled& p = pool[b.fold];
    return p.fold.moved(static_cast<int64_t>(b.first) - static_cast<int64_t>(p.first),
                        int64_t{b.first_line} - int64_t{p.first_line});
  }
};

LogFacts::LogFacts() : impl_(std::make_unique<Impl>()) {}
LogFacts::~LogFacts() = default;
LogFacts::LogFacts(LogFacts&&) noexcept = default;
LogFacts& LogFacts::operator=(LogFacts&&) noexcept = default;

void LogFacts::add(const Report& report) {
  Impl& m = *impl_;
  analysis::ReportFacts facts = analysis::ReportFacts::of(report, m.count++);
  if (!report.kernel_release.empty()) {
    if (m.first_release.empty()) m.first_release = report.kernel_release;
    else if (report.kernel_release != m.first_release) m.several_releases = true;
  }
  if (m.open_boot != report.boot) {
    m.close();
    if (report.boot >= m.boots.size()) m.boots.resize(size_t{report.boot} + 1);
    LogFacts::Impl::Boot& b = m.boots[report.boot];
    if (b.rank == LogFacts::Impl::kNotSeen) {
      b.first = facts.index;
      b.first_line = facts.first_line;
      b.rank = m.seen++;
      m.open = {};
    } else {
      m.open = m.fold_of(b);  // a boot id seen before (another input's boot 0)
    }
    m.open_boot = report.boot;
  }
  m.all.add(facts);
  m.open.add(std::move(facts));
}

size_t LogFacts::reports() const { return impl_->count; }

namespace analysis {

KernelFacts log_facts_for(const LogFacts& log, const std::vector<Report>& reports, const DiagnoseOptions& options) {
  const LogFacts::Impl& m = log.impl();
  // The group diagnose() reasons about: each boot alone when the log runs
  // several kernels and the caller named none (kernel_groups), else the log.
  std::vector<ReportFacts> facts = m.all.reports();
  const uint32_t boot = reports.empty() ? 0 : reports.front().boot;
  if (!reports.empty() && log.by_boot(options) && boot < m.boots.size() &&
      m.boots[boot].rank != LogFacts::Impl::kNotSeen) {
    const LogFacts::Impl::Boot& b = m.boots[boot];
    facts = b.fold == LogFacts::Impl::kOpen || m.open_boot == boot ? m.open.reports() : m.fold_of(b).reports();
  }
  KernelFacts k = kernel_facts(facts, options.kernel_version);
  // Evidence cites reports by index in `reports`. One outside them (in
  // another window) is cited by its offset from reports[0], modulo 2^64:
  // adding first_report back, as the caller does for every index, gives the
  // log's index.
  const size_t base = options.report_numbers.empty() ? options.first_report : options.report_numbers.front() - 1;
  for (Evidence& e : k.era_evidence) {
    if (!e.report) continue;
    const size_t global = *e.report;
    e.report = global - base;
    if (options.report_numbers.empty()) continue;
    auto it = std::lower_bound(options.report_numbers.begin(), options.report_numbers.end(), global + 1);
    if (it != options.report_numbers.end() && *it == global + 1)
      e.report = static_cast<size_t>(it - options.report_numbers.begin());
  }
  return k;
}

}  // namespace analysis

bool LogFacts::by_boot(const DiagnoseOptions& options) const {
  return impl_->several_releases && options.kernel_version.empty() && impl_->seen > 1;
}

size_t LogFacts::boot_rank(uint32_t boot) const {
  return boot < impl_->boots.size() && impl_->boots[boot].rank != Impl::kNotSeen ? impl_->boots[boot].rank
                                                                                 : impl_->seen;
}

}  // namespace ktriage

// Reading an imported index (schema: kb/index_schema.h): opened read-only and
// immutable, queried through its B-tree indexes, never read whole.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "kb/index_schema.h"
#include "kb/score.h"
#include "ktriage/kb_index.h"
#include "support/sqlite.h"

namespace ktriage {

using support::Db;
using support::Stmt;

namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

constexpr const char* kEntryColumns =
    "row, id, subject, fix_commit, fixed_in, introduced_in, introduced_commit, stable_fixes, stable_affected, "
    "stable_commits, kind, type, title, frame, module, frames";

KbSignature signature_from(const Stmt& q, int first) {
  KbSignature s;
  if (q.is_null(first + 2) && q.is_null(first + 5)) return s;
  s.kind = q.text(first);
  s.type = q.text(first + 1);
  s.title = q.text(first + 2);
  s.frame = q.text(first + 3);
  s.module = q.text(first + 4);
  s.frames = words(q.text_view(first + 5));
  return s;
}

}  // namespace

struct KbIndex::Impl {
  Db db;
  KbIndexInfo info;
  // Ingest's scan workers and serve's request threads share one index; the
  // prepared statements are state, so queries take turns. Each is a few
  // B-tree lookups, far cheaper than the analysis around it.
  std::mutex mu;
  Stmt by_title, by_sig_frame, df, row, by_id, carriers, releases;

  // The index never changes while open, and a fleet's reports repeat the
  // same titles and frames: lookups are remembered (an ingest spent more
  // time in these queries than in parsing). Bounded: emptied when full.
  static constexpr size_t kMemoEntries = 1 << 16;
  std::unordered_map<std::string, int64_t> df_memo;
  std::unordered_map<std::string, std::vector<int64_t>> title_rows, frame_rows;
  std::unordered_map<int64_t, std::pair<std::string, KbSignature>> row_memo;
  // Whole entries are bigger: fewer of them.
  std::unordered_map<std::string, std::optional<KbEntry>> entry_memo;

  template <typename Map>
  static void bound(Map& m, size_t entries = kMemoEntries) {
    if (m.size() >= entries) m.clear();
  }
};

KbIndex::KbIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KbIndex::~KbIndex() = default;
KbIndex::KbIndex(KbIndex&&) noexcept = default;
KbIndex& KbIndex::operator=(KbIndex&&) noexcept = default;

const KbIndexInfo& KbIndex::info() const { return impl_->info; }

Expected<KbIndex> KbIndex::open(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return Error{fmt::format("{}: no such index file", file.string())};
  Expected<Db> dbOrErr = Db::open(file, Db::Mode::read_only);
  if (!dbOrErr) return dbOrErr.error();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*dbOrErr);
  KbIndexInfo& info = impl->info;
  info.file = file;
  {
    Stmt meta = impl->db.prepare("SELECT key, value FROM meta");
    if (!meta.valid())
      return Error{fmt::format("{}: not a ktriage index ({})", file.string(), impl->db.last_error().message)};
    std::map<std::string, std::string, std::less<>> m;
    while (meta.step()) m[meta.text(0)] = meta.text(1);
    if (!meta.ok()) return meta.error();
    auto number = [&](std::string_view key) -> int64_t {
      auto it = m.find(key);
      return it == m.end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
    };
    if (!m.contains("schema")) return Error{fmt::format("{}: not a ktriage index (no schema version)", file.string())};
    info.schema = static_cast<int>(number("schema"));
    if (info.schema != kKbIndexSchema)
      return Error{
          fmt::format("{}: index schema {} is not the {} this ktriage reads; rebuild it with `ktriage kb import`",
                      file.string(), info.schema, kKbIndexSchema)};
    info.source = m["source"];
    info.built = m["built"];
    info.terms = m["terms"];
    info.entries = number("entries");
    info.signatures = number("signatures");
    info.distro_releases = number("distro_releases");
    info.distro_fixes = number("distro_fixes");
  }
  const Db& db = impl->db;
  impl->by_title = db.prepare("SELECT row FROM entry WHERE title = ?1");
  impl->by_sig_frame = db.prepare("SELECT row FROM sig_frame WHERE name = ?1");
  impl->df = db.prepare("SELECT df FROM frame_df WHERE name = ?1");
  impl->row = db.prepare("SELECT id, kind, type, title, frame, module, frames FROM entry WHERE row = ?1");
  impl->by_id = db.prepare(fmt::format("SELECT {} FROM entry WHERE id = ?1", kEntryColumns));
  impl->carriers = db.prepare(
      "SELECT line, branch, version FROM distro_fix WHERE key = ?1 AND (?2 = '' OR line = ?2) AND (?3 = '' OR branch = "
      "?3)");
  impl->releases = db.prepare("SELECT version FROM distro_release WHERE line = ?1 AND branch = ?2");
  for (const Stmt* s :
       {&impl->by_title, &impl->by_sig_frame, &impl->df, &impl->row, &impl->by_id, &impl->carriers, &impl->releases})
    if (!s->valid()) return Error{fmt::format("{}: damaged index ({})", file.string(), db.last_error().message)};
  return KbIndex(std::move(impl));
}

std::vector<KbCandidate> KbIndex::candidates(const KbSignature& report, size_t limit) const {
  std::vector<KbCandidate> out;
  if (report.empty() || impl_->info.signatures == 0) return out;
  Impl& x = *impl_;
  std::lock_guard lock(x.mu);
  auto df = [&](std::string_view frame) -> int64_t {
    std::string key(frame);
    if (auto it = x.df_memo.find(key); it != x.df_memo.end()) return it->second;
    int64_t n = 0;
    x.df.reset();
    x.df.bind(1, frame);
    if (x.df.step()) n = x.df.integer(0);
    x.df.reset();
    Impl::bound(x.df_memo);
    x.df_memo.emplace(std::move(key), n);
    return n;
  };
  kb::FrameStats stats{df, x.info.signatures};

  std::set<int64_t> rows;
  auto collect = [&](Stmt& q, std::unordered_map<std::string, std::vector<int64_t>>& memo, const std::string& key) {
    auto it = memo.find(key);
    if (it == memo.end()) {
      std::vector<int64_t> found;
      q.reset();
      q.bind(1, key);
      while (q.step()) found.push_back(q.integer(0));
      q.reset();
      Impl::bound(memo);
      it = memo.emplace(key, std::move(found)).first;
    }
    rows.insert(it->second.begin(), it->second.end());
  };
  if (!report.title.empty()) {
    collect(x.by_title, x.title_rows, report.title);
    stats.title_count = static_cast<int64_t>(rows.size());
  }
  // A candidate must share an anchor (score.cc): the guilty frame or a crash
  // site, never plumbing, so only those are looked up.
  auto useful = [&](const std::string& f) {
    return !f.empty() && !is_plumbing_frame(f) && kb::frame_weight(df(f), stats.signatures) > 0;
  };
  if (useful(report.frame)) collect(x.by_sig_frame, x.frame_rows, report.frame);
  size_t sites = 0;
  for (const std::string& f : report.frames) {
    if (is_plumbing_frame(f)) continue;
    if (useful(f)) collect(x.by_sig_frame, x.frame_rows, f);
    if (++sites == 3) break;
  }

  for (int64_t row : rows) {
    auto it = x.row_memo.find(row);
    if (it == x.row_memo.end()) {
      x.row.reset();
      x.row.bind(1, row);
      const bool found = x.row.step();
      std::pair<std::string, KbSignature> entry;
      if (found) entry = {x.row.text(0), signature_from(x.row, 1)};
      x.row.reset();
      if (!found) continue;
      Impl::bound(x.row_memo);
      it = x.row_memo.emplace(row, std::move(entry)).first;
    }
    KbCandidate c;
    c.row = row;
    c.id = it->second.first;
    c.signature = it->second.second;
    if (kb::score_candidate(report, c, stats)) out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const KbCandidate& a, const KbCandidate& b) {
    if (a.strength != b.strength) return a.strength == KbStrength::likely;
    if (a.score != b.score) return a.score > b.score;
    return a.row > b.row;  // the newer record
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

namespace {

KbEntry entry_from(const Stmt& q, const std::filesystem::path& file) {
  KbEntry e;
  e.id = q.text(1);
  e.cve = e.id.starts_with("CVE-") ? e.id : "";
  e.subject = q.text(2);
  e.title = e.subject;
  e.short_name = e.id;
  e.commit = q.text(3);
  e.fixed_in = q.text(4);
  e.introduced_in = q.text(5);
  e.introduced_commit = q.text(6);
  e.stable_fixes = words(q.text_view(7));
  e.stable_affected = words(q.text_view(8));
  e.stable_commits = words(q.text_view(9));
  e.signature = signature_from(q, 10);
  if (!e.commit.empty()) e.references.push_back("https://git.kernel.org/stable/c/" + e.commit);
  if (!e.cve.empty()) e.references.push_back("https://www.cve.org/CVERecord?id=" + e.cve);
  e.file = file.string();
  return e;
}

}  // namespace

std::optional<KbEntry> KbIndex::entry(std::string_view id) const {
  Impl& x = *impl_;
  std::lock_guard lock(x.mu);
  std::string key(id);
  if (auto it = x.entry_memo.find(key); it != x.entry_memo.end()) return it->second;
  Stmt& q = x.by_id;
  q.reset();
  q.bind(1, id);
  std::optional<KbEntry> out;
  if (q.step()) out = entry_from(q, x.info.file);
  q.reset();
  Impl::bound(x.entry_memo, 1 << 12);
  x.entry_memo.emplace(std::move(key), out);
  return out;
}

std::vector<KbEntry> KbIndex::search(std::string_view text, size_t limit) const {
  std::vector<std::string> terms = words(text);
  if (terms.size() > 16) terms.resize(16);
  std::string sql = fmt::format("SELECT {} FROM entry", kEntryColumns);
  for (size_t i = 0; i < terms.size(); ++i)
    sql += fmt::format(
        "{} (id || ' ' || subject || ' ' || coalesce(title, '') || ' ' || coalesce(frames, '')) LIKE ?{} ESCAPE '\\'",
        i ? " AND" : " WHERE", i + 1);
  sql += fmt::format(" ORDER BY row DESC LIMIT {}", limit);
  std::lock_guard lock(impl_->mu);
  Stmt q = impl_->db.prepare(sql);
  for (size_t i = 0; i < terms.size(); ++i) {
    std::string like = "%";
    for (char c : terms[i]) {
      if (c == '%' || c == '_' || c == '\\') like += '\\';
      like += c;
    }
    like += '%';
    q.bind(static_cast<int>(i + 1), like);
  }
  std::vector<KbEntry> out;
  while (q.step()) out.push_back(entry_from(q, impl_->info.file));
  return out;
}

KbIndexStats KbIndex::stats() const {
  KbIndexStats s;
  s.info = impl_->info;
  std::lock_guard lock(impl_->mu);
  auto pairs = [&](const char* sql, std::vector<std::pair<std::string, int64_t>>& out) {
    Stmt q = impl_->db.prepare(sql);
    while (q.step()) out.emplace_back(q.text(0), q.integer(1));
  };
  pairs("SELECT kind, count(*) FROM entry WHERE kind IS NOT NULL GROUP BY kind ORDER BY count(*) DESC, kind",
        s.by_kind);
  pairs("SELECT substr(id, 5, 4), count(*) FROM entry GROUP BY 1 ORDER BY 1", s.by_year);
  pairs("SELECT line || ' ' || branch, count(*) FROM distro_release GROUP BY line, branch ORDER BY 1", s.distro);
  Stmt q = impl_->db.prepare(
      "SELECT count(*) FROM entry WHERE frames IS NOT NULL AND length(frames) - length(replace(frames, ' ', '')) >= 2");
  if (q.step()) s.with_frames3 = q.integer(0);
  return s;
}

std::vector<KbCarrier> KbIndex::distro_carriers(const std::vector<std::string>& keys, std::string_view line,
                                                std::string_view branch) const {
  std::vector<KbCarrier> out;
  std::lock_guard lock(impl_->mu);
  Stmt& q = impl_->carriers;
  for (const std::string& key : keys) {
    q.reset();
    q.bind(1, key).bind(2, line).bind(3, branch);
    while (q.step()) out.push_back({q.text(0), q.text(2)});
    q.reset();
  }
  return out;
}

std::vector<std::string> KbIndex::distro_releases(std::string_view line, std::string_view branch) const {
  std::vector<std::string> out;
  std::lock_guard lock(impl_->mu);
  Stmt& q = impl_->releases;
  q.reset();
  q.bind(1, line).bind(2, branch);
  while (q.step()) out.push_back(q.text(0));
  q.reset();
  return out;
}

}  // namespace ktriage

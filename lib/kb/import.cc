// `ktriage kb import`: CVE records and distro changelogs -> one SQLite index
// (kb/index_schema.h). Every file that cannot be used is skipped with a
// warning naming it and counted; the import fails only when nothing usable
// was given or the output cannot be written.
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "kb/index_schema.h"
#include "ktriage/kb_index.h"
#include "ktriage/version.h"
#include "support/sqlite.h"

namespace ktriage {

using support::Db;
using support::Stmt;

namespace {

constexpr uintmax_t kMaxRecordBytes = 4u << 20;  // the largest record in the set is ~200 KB
constexpr uintmax_t kMaxChangelogBytes = 256u << 20;

Expected<std::string> read_small_file(const std::filesystem::path& file, uintmax_t limit) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return Error{fmt::format("{}: {}", file.string(), ec.message())};
  if (size > limit) return Error{fmt::format("{}: larger than {} bytes", file.string(), limit)};
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot open", file.string())};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A changelog, gunzipped when it is gzip (changelog.Debian.gz); bounded.
Expected<std::string> read_changelog(const std::filesystem::path& file) {
  Expected<std::string> rawOrErr = read_small_file(file, kMaxChangelogBytes);
  if (!rawOrErr) return rawOrErr;
  const std::string& raw = *rawOrErr;
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b)
    return rawOrErr;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Error{fmt::format("{}: zlib: cannot start", file.string())};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > kMaxChangelogBytes) {
      inflateEnd(&z);
      return Error{fmt::format("{}: more than {} bytes uncompressed", file.string(), kMaxChangelogBytes)};
    }
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END)
    return Error{fmt::format("{}: damaged gzip data ({})", file.string(), z.msg ? z.msg : "truncated")};
  return out;
}

// CVE-YYYY-N files under dir, in CVE order.
std::vector<std::filesystem::path> cve_files(const std::filesystem::path& dir, std::error_code& ec) {
  std::filesystem::path root = dir;
  if (std::filesystem::is_directory(dir / "cve" / "published", ec)) root = dir / "cve" / "published";
  std::vector<std::pair<std::pair<int, int64_t>, std::filesystem::path>> found;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::filesystem::path& p = it->path();
    std::string name = p.filename().string();
    if (!name.starts_with("CVE-") || p.extension() != ".json" || !it->is_regular_file(ec)) continue;
    int year = std::atoi(name.c_str() + 4);
    int64_t number = name.size() > 9 ? std::atoll(name.c_str() + 9) : 0;
    found.push_back({{year, number}, p});
  }
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

// The CVE Terms of Use notice the records come with (LICENSES/cve-tou.txt in
// the kernel's vulns repository), looked for from dir upwards.
std::filesystem::path find_terms(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  for (int up = 0; up < 4 && !p.empty(); ++up, p = p.parent_path()) {
    if (std::filesystem::is_regular_file(p / "LICENSES" / "cve-tou.txt", ec)) return p / "LICENSES" / "cve-tou.txt";
    if (p == p.parent_path()) break;
  }
  return {};
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) out += (out.empty() ? "" : " ") + s;
  return out;
}

class Writer {
 public:
  static Expected<Writer> create(const std::filesystem::path& file) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    Expected<Db> dbOrErr = Db::open(file, Db::Mode::create);
    if (!dbOrErr) return dbOrErr.error();
    Writer w;
    w.db_ = std::move(*dbOrErr);
    // The file is written under a temporary name and renamed when complete:
    // no journal needed.
    if (auto ok = w.db_.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096;"); !ok)
      return ok.error();
    if (auto ok = w.db_.exec(kb::kIndexSchemaSql); !ok) return ok.error();
    if (auto ok = w.db_.exec("BEGIN"); !ok) return ok.error();
    w.entry_ = w.db_.prepare(
        "INSERT INTO entry(id, subject, fix_commit, fixed_in, introduced_in, introduced_commit, stable_fixes, "
        "stable_affected, stable_commits, kind, type, title, frame, module, frames) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
    w.frame_ = w.db_.prepare("INSERT OR IGNORE INTO sig_frame(name, row) VALUES(?1, ?2)");
    w.release_ =
        w.db_.prepare("INSERT OR IGNORE INTO distro_release(line, branch, version, source) VALUES(?1, ?2, ?3, ?4)");
    w.fix_ = w.db_.prepare("INSERT OR IGNORE INTO distro_fix(key, line, branch, version) VALUES(?1, ?2, ?3, ?4)");
    w.meta_ = w.db_.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
    for (Stmt* s : {&w.entry_, &w.frame_, &w.release_, &w.fix_, &w.meta_})
      if (!s->valid()) return w.db_.last_error();
    return w;
  }

  Expected<bool> add(const KbEntry& e) {
    const KbSignature& s = e.signature;
    entry_.bind(1, e.id).bind(2, e.subject).bind(3, e.commit).bind(4, e.fixed_in).bind(5, e.introduced_in);
    entry_.bind(6, e.introduced_commit).bind(7, joined(e.stable_fixes)).bind(8, joined(e.stable_affected));
    entry_.bind(9, joined(e.stable_commits));
    if (s.empty()) {
      for (int i = 10; i <= 15; ++i) entry_.bind_null(i);
    } else {
      entry_.bind(10, s.kind).bind(11, s.type).bind(12, s.title).bind(13, s.frame).bind(14, s.module);
      entry_.bind(15, joined(s.frames));
    }
    if (auto ok = entry_.run(); !ok) return ok.error();
    int64_t row = sqlite3_last_insert_rowid(db_.get());
    if (!s.empty()) {
      std::vector<std::string> names = s.frames;
      if (!s.frame.empty()) names.push_back(s.frame);
      for (const std::string& f : names) {
        frame_.bind(1, f).bind(2, row);
        if (auto ok = frame_.run(); !ok) return ok.error();
      }
    }
    return true;
  }

  Expected<bool> add_release(const ChangelogRelease& r, std::string_view source) {
    std::string branch = stable_branch(upstream_base_of(r.version));
    release_.bind(1, r.line).bind(2, branch).bind(3, r.version).bind(4, source);
    if (auto ok = release_.run(); !ok) return ok.error();
    for (const ChangelogItem& item : r.items)
      for (const std::string& key : item.keys) {
        fix_.bind(1, key).bind(2, r.line).bind(3, branch).bind(4, r.version);
        if (auto ok = fix_.run(); !ok) return ok.error();
      }
    return true;
  }

  Expected<bool> meta(std::string_view key, std::string_view value) {
    meta_.bind(1, key).bind(2, value);
    return meta_.run();
  }

  Expected<bool> finish() {
    if (auto ok = db_.exec("INSERT INTO frame_df(name, df) SELECT name, count(*) FROM sig_frame GROUP BY name"); !ok)
      return ok;
    // Keep only the first release of each line and branch that lists a fix:
    // what a verdict asks for. Rows are ordered by the line's own ordering
    // in C++ (SQL cannot compare dpkg or rpm versions).
    if (auto ok = keep_first_releases(); !ok) return ok;
    if (auto ok = count_meta(); !ok) return ok;
    if (auto ok = db_.exec("COMMIT"); !ok) return ok;
    for (Stmt* st : {&entry_, &frame_, &release_, &fix_, &meta_}) *st = Stmt();
    return db_.exec("VACUUM");
  }

 private:
  static std::string upstream_base_of(const std::string& version) {
    return classify_kernel_release("upstream:" + version).base;
  }

  Expected<bool> keep_first_releases() {
    Stmt q = db_.prepare("SELECT key, line, branch, version FROM distro_fix ORDER BY key, line, branch");
    std::vector<std::array<std::string, 4>> drop;
    std::array<std::string, 4> best;
    bool have = false;
    while (q.step()) {
      std::array<std::string, 4> row{q.text(0), q.text(1), q.text(2), q.text(3)};
      if (have && row[0] == best[0] && row[1] == best[1] && row[2] == best[2]) {
        if (compare_versions(scheme_of_line(row[1]), row[3], best[3]) < 0) std::swap(row, best);
        drop.push_back(std::move(row));
      } else {
        best = std::move(row);
        have = true;
      }
    }
    if (!q.ok()) return q.error();
    Stmt del = db_.prepare("DELETE FROM distro_fix WHERE key = ?1 AND line = ?2 AND branch = ?3 AND version = ?4");
    for (const auto& row : drop) {
      del.bind(1, row[0]).bind(2, row[1]).bind(3, row[2]).bind(4, row[3]);
      if (auto ok = del.run(); !ok) return ok;
    }
    return true;
  }

  Expected<bool> count_meta() {
    const std::pair<const char*, const char*> counts[] = {
        {"entries", "SELECT count(*) FROM entry"},
        {"signatures", "SELECT count(*) FROM entry WHERE title IS NOT NULL OR frames IS NOT NULL"},
        {"distro_releases", "SELECT count(*) FROM distro_release"},
        {"distro_fixes", "SELECT count(*) FROM distro_fix"},
    };
    for (const auto& [key, sql] : counts) {
      Stmt q = db_.prepare(sql);
      if (!q.step()) return q.error();
      if (auto ok = meta(key, std::to_string(q.integer(0))); !ok) return ok;
    }
    return true;
  }

  Db db_;
  Stmt entry_, frame_, release_, fix_, meta_;
};

}  // namespace

Expected<KbImportResult> kb_import(const KbImportOptions& o) {
  KbImportResult result;
  if (o.cve_dir.empty() && o.debian_changelogs.empty() && o.rpm_changelogs.empty())
    return Error{"nothing to import (give --cve DIR, --debian-changelog FILE or --rpm-changelog FILE)"};
  if (o.output.empty()) return Error{"no output file (-o FILE)"};

  std::vector<std::filesystem::path> records;
  if (!o.cve_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o.cve_dir, ec))
      return Error{fmt::format("{}: not a directory", o.cve_dir.string())};
    records = cve_files(o.cve_dir, ec);
    if (ec) return Error{fmt::format("{}: {}", o.cve_dir.string(), ec.message())};
    if (records.empty()) return Error{fmt::format("{}: no CVE-*.json records found", o.cve_dir.string())};
  }

  // Parse the changelogs first: a bad one should fail fast, before minutes
  // of CVE parsing.
  struct Parsed {
    std::string source;
    ChangelogParse parse;
  };
  std::vector<Parsed> changelogs;
  auto read_changelogs = [&](const std::vector<std::filesystem::path>& files, bool debian) {
    for (const auto& file : files) {
      Expected<std::string> textOrErr = read_changelog(file);
      if (!textOrErr) {
        result.skipped.push_back(textOrErr.error().message);
        continue;
      }
      Expected<ChangelogParse> parseOrErr =
          debian ? parse_debian_changelog(*textOrErr) : parse_rpm_changelog(*textOrErr);
      if (!parseOrErr) {
        result.skipped.push_back(fmt::format("{}: {}", file.string(), parseOrErr.error().message));
        continue;
      }
      for (const std::string& w : parseOrErr->warnings)
        result.skipped.push_back(fmt::format("{}: {}", file.string(), w));
      changelogs.push_back({file.filename().string(), std::move(*parseOrErr)});
    }
  };
  read_changelogs(o.debian_changelogs, true);
  read_changelogs(o.rpm_changelogs, false);
  if (records.empty() && changelogs.empty()) {
    std::string why;
    for (const std::string& s : result.skipped) why += (why.empty() ? "" : "; ") + s;
    return Error{fmt::format("no changelog could be used: {}", why)};
  }

  const std::filesystem::path temp = o.output.string() + fmt::format(".tmp{}", getpid());
  Expected<Writer> writerOrErr = Writer::create(temp);
  if (!writerOrErr) return writerOrErr.error();
  Writer& w = *writerOrErr;
  auto fail = [&](const Error& e) -> Expected<KbImportResult> {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    return e;
  };

  std::set<std::string> keys_of_records;  // for counting changelog items that name a record's fix
  for (size_t i = 0; i < records.size(); ++i) {
    if (o.progress && (i % 1000 == 0 || i + 1 == records.size()))
      o.progress(fmt::format("cve: {}/{}", i + 1, records.size()));
    ++result.records_read;
    Expected<std::string> textOrErr = read_small_file(records[i], kMaxRecordBytes);
    if (!textOrErr) {
      result.skipped.push_back(textOrErr.error().message);
      continue;
    }
    Expected<CveRecordResult> recordOrErr = read_cve_record(*textOrErr, records[i].string());
    if (!recordOrErr) {
      result.skipped.push_back(recordOrErr.error().message);
      continue;
    }
    if (recordOrErr->rejected) {
      ++result.rejected;
      continue;
    }
    const KbEntry& e = recordOrErr->entry;
    if (auto ok = w.add(e); !ok) return fail(ok.error());
    ++result.records_used;
    if (!e.signature.empty()) ++result.signatures;
    if (e.signature.frames.size() >= 3) ++result.signatures3;
    for (std::string& k : distro_keys(e)) keys_of_records.insert(std::move(k));
  }

  for (const Parsed& c : changelogs) {
    for (const ChangelogRelease& r : c.parse.releases) {
      ++result.changelog_releases;
      result.changelog_items += static_cast<int64_t>(r.items.size());
      for (const ChangelogItem& item : r.items)
        if (std::any_of(item.keys.begin(), item.keys.end(),
                        [&](const std::string& k) { return keys_of_records.contains(k); }))
          ++result.changelog_matched;
      if (auto ok = w.add_release(r, c.source); !ok) return fail(ok.error());
    }
  }

  if (!records.empty()) {
    std::filesystem::path terms = find_terms(o.cve_dir);
    if (!terms.empty()) {
      Expected<std::string> textOrErr = read_small_file(terms, 1 << 20);
      if (textOrErr) {
        result.terms_file = terms.string();
        if (auto ok = w.meta("terms", *textOrErr); !ok) return fail(ok.error());
      }
    }
  }
  if (auto ok = w.meta("schema", std::to_string(kKbIndexSchema)); !ok) return fail(ok.error());
  if (auto ok = w.meta("source", o.source); !ok) return fail(ok.error());
  if (auto ok = w.meta("built", "ktriage kb import"); !ok) return fail(ok.error());
  if (auto ok = w.finish(); !ok) return fail(ok.error());
  std::error_code ec;
  std::filesystem::rename(temp, o.output, ec);
  if (ec) return fail(Error{fmt::format("{}: {}", o.output.string(), ec.message())});
  return result;
}

}  // namespace ktriage

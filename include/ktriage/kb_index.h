// Imported knowledge: the Linux kernel CNA's CVE records and distro kernel
// changelogs, turned into one SQLite file per import (docs/kb.md, "Imported
// indexes") that KnowledgeBase::load() opens beside the TOML entries.
//
//   // build (ktriage kb import):
//   KbImportOptions o;
//   o.cve_dir = "vulns";                       // a clone of the kernel's vulns repository
//   o.debian_changelogs = {"changelog.Debian.gz"};
//   o.output = "kernel-cves.sqlite";
//   Expected<KbImportResult> resultOrErr = kb_import(o);   // counts and per-file warnings
//
//   // use:
//   Expected<KbIndex> indexOrErr = KbIndex::open("kernel-cves.sqlite");
//   std::vector<KbCandidate> c = indexOrErr->candidates(signature_of(report));
//
// Why SQLite and not a hand-made mmap file: lookups go through B-tree indexes
// without reading the whole file (opening costs about a millisecond, matching
// a report a few indexed queries), a damaged file is an error and never a
// wild read, the changelog import adds tables to the same format, and anyone
// can inspect it with the sqlite3 shell. The file is opened read-only and
// immutable; a schema newer than this build is refused with a message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/kb.h"
#include "ktriage/report.h"

namespace ktriage {

// --- signatures -------------------------------------------------------------

// A function name as signatures compare it: compiler clone suffixes cut
// (".constprop.0", ".isra.0", ".part.0", ".cold", ".llvm.123").
std::string normalize_frame(std::string_view function);

// Frames that belong to the reporting machinery, not to the bug: dump_stack,
// KASAN's report functions, __warn/report_bug, the exception entry, lockdep's
// acquire path, ... (lib/kb/signature.cc lists them).
bool is_reporting_frame(std::string_view normalized);

// Frames every crash on a path passes through (the scheduler, lock slow
// paths, system-call and VFS dispatch, workqueues, interrupt and timer
// dispatch): kept in signatures, but never what identifies a bug.
bool is_plumbing_frame(std::string_view normalized);

// The signature of a parsed report: kind, type, title, guilty frame, module,
// and up to kSignatureFrames top frames (the IP first, reliable frames only,
// reporting-only frames skipped, normalized, repeats dropped).
inline constexpr size_t kSignatureFrames = 8;
KbSignature signature_of(const Report& report);

// --- the index --------------------------------------------------------------

inline constexpr int kKbIndexSchema = 1;

// Where an index came from and what it holds (the meta table).
struct KbIndexInfo {
  std::filesystem::path file;
  int schema = 0;
  std::string source;           // "github:thefossguy-ciq/kernel-security-vulns master d9dda40c... 2026-08-21"
  std::string built;            // "ktriage 0.1.0"
  std::string terms;            // the CVE Terms of Use notice the records require
  int64_t entries = 0;          // CVE records
  int64_t signatures = 0;       // of which quote a crash
  int64_t distro_releases = 0;  // distro kernel releases from changelogs
  int64_t distro_fixes = 0;     // fixes those changelogs list (by subject, CVE id or bug)
};

// An index entry whose signature shares something with a report's, with the
// parts that agree. Filled by KbIndex::candidates(); strength and order are
// decided by score_candidate() (lib/kb/score.cc).
struct KbCandidate {
  int64_t row = 0;
  std::string id;
  KbSignature signature;
  double score = 0;
  KbStrength strength = KbStrength::similar;
  std::vector<KbReason> reasons;
};

// Totals for `ktriage kb stats`.
struct KbIndexStats {
  KbIndexInfo info;
  std::vector<std::pair<std::string, int64_t>> by_kind;  // signatures per report kind
  std::vector<std::pair<std::string, int64_t>> by_year;  // records per CVE year
  std::vector<std::pair<std::string, int64_t>> distro;   // "debian 6.1" -> releases
  int64_t with_frames3 = 0;                              // signatures with >= 3 frames
};

// One open index may be shared between threads: its queries take turns.
class KbIndex {
 public:
  ~KbIndex();
  KbIndex(KbIndex&&) noexcept;
  KbIndex& operator=(KbIndex&&) noexcept;

  static Expected<KbIndex> open(const std::filesystem::path& file);
  const KbIndexInfo& info() const;

  // Entries that share the title, the guilty frame or a top frame with the
  // report's signature, scored, best first; at most `limit`.
  std::vector<KbCandidate> candidates(const KbSignature& report, size_t limit = 16) const;
  // One whole entry.
  std::optional<KbEntry> entry(std::string_view id) const;
  // Entries whose id, subject, title or frames contain every word of `text`
  // (case-insensitive), newest CVE first; at most `limit`.
  std::vector<KbEntry> search(std::string_view text, size_t limit) const;
  KbIndexStats stats() const;

  // Distro facts: for these keys ("cve:CVE-2024-26581", "subject:...",
  // "rhbz:1028831"), the releases that list the fix; and the releases a
  // changelog covers on one line and branch.
  std::vector<KbCarrier> distro_carriers(const std::vector<std::string>& keys, std::string_view line,
                                         std::string_view branch) const;
  std::vector<std::string> distro_releases(std::string_view line, std::string_view branch) const;

  struct Impl;

 private:
  explicit KbIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The keys a fix is known by in distro changelogs: its CVE id, its subject,
// its bug ids.
std::vector<std::string> distro_keys(const KbEntry& entry);
// A commit subject as changelogs are matched on it: whitespace collapsed,
// a trailing period dropped.
std::string subject_key(std::string_view subject);

// --- reading the sources ----------------------------------------------------

// One CVE JSON 5.x record (the kernel CNA's format). The description is
// parsed with the log parser; a record whose description quotes a crash gets
// its signature. An Error says why the record is skipped ("not JSON: ...",
// "schema 6.0 is newer than 5.x", "REJECTED").
struct CveRecordResult {
  KbEntry entry;
  bool rejected = false;  // state REJECTED: skipped quietly, counted
};
Expected<CveRecordResult> read_cve_record(std::string_view json, std::string_view name);

// One release of a distro kernel changelog and the fixes it lists.
struct ChangelogItem {
  std::string subject;            // upstream subject as listed ("xfs: fix ...")
  std::vector<std::string> keys;  // distro_keys form: "subject:...", "cve:...", "rhbz:..."
};
struct ChangelogRelease {
  std::string line;     // "debian", "ubuntu", "rhel6", ...
  std::string version;  // "6.1.192-2", "2.6.32-696.el6"
  std::vector<ChangelogItem> items;
};
struct ChangelogParse {
  std::vector<ChangelogRelease> releases;  // as listed (newest first)
  std::vector<std::string> warnings;       // "line 12: ..."
};
// Debian (and Ubuntu) changelog.Debian text: "linux (6.1.192-2) bookworm-security; ...",
// "  * subject (CVE-...)", "    - subject". Error when no release header is found.
Expected<ChangelogParse> parse_debian_changelog(std::string_view text);
// `rpm -q --changelog kernel`: "* Mon Jan 01 2018 Name <mail> [2.6.32-696.el6]",
// "- [fs] xfs: subject (Name) [1234567]". Error when no release header is found.
Expected<ChangelogParse> parse_rpm_changelog(std::string_view text);

// --- building an index ------------------------------------------------------

struct KbImportOptions {
  std::filesystem::path cve_dir;                         // a vulns clone, its cve/published, or any tree of CVE-*.json
  std::vector<std::filesystem::path> debian_changelogs;  // plain or .gz
  std::vector<std::filesystem::path> rpm_changelogs;
  std::filesystem::path output;                    // written anew (a temporary file renamed into place)
  std::string source;                              // provenance of the CVE records, stored in the index
  std::function<void(std::string_view)> progress;  // "cve: 4000/14646" (optional)
};

struct KbImportResult {
  // CVE records
  int64_t records_read = 0, records_used = 0, signatures = 0, signatures3 = 0;
  int64_t rejected = 0;
  // changelogs
  int64_t changelog_releases = 0, changelog_items = 0, changelog_matched = 0;
  // one per skipped file, record or changelog line: "path: why"
  std::vector<std::string> skipped;
  std::string terms_file;  // where the CVE Terms of Use notice was found, "" when not
};

Expected<KbImportResult> kb_import(const KbImportOptions& options);

}  // namespace ktriage

// The known-bug knowledge base: hand-written TOML entries (data/kb/*.toml and
// any `--kb DIR`) and imported indexes (*.sqlite beside them: the kernel's
// CVE records and distro changelogs, kb_index.h), each describing what a
// known kernel bug looks like in an analysed log and which kernels carry its
// fix. Formats: docs/kb.md.
//
//   Expected<KnowledgeBase> kbOrErr =
//       KnowledgeBase::load({default_kb_dir(), "/etc/ktriage/kb"});
//   if (!kbOrErr) { print(kbOrErr.error().message); return 2; }
//   //  "data/kb/bad.toml:12:1: bug[1].fix.commit: expected a string"
//   KbVerdicts v = kbOrErr->match(analysis, "2.6.32-431.el6.x86_64");
//   analysis.kb_matches = v.matches;   // best first
//   analysis.kb_summary = v.summary;   // render.h kb_summary_text() says it:
//   //   "2.6.32-431.el6 (rhel6): this kernel lacks both fixes (the 16K stack
//   //   and the bug 1028831 fix): upgrade to 2.6.32-520.el6 or later; ..."
//
// A TOML entry matches a report when every condition it states holds for
// that report (see KbCondition); such a match is `likely`. An index entry
// carries the signature of the crash its record quotes and is scored against
// each report's signature (signature.h): title, guilty frame, top frames,
// kind, module; the score decides `likely` or `similar`. Patterns are RE2,
// compiled at load time: a pattern cannot make matching slower than linear
// in the text, and a pattern RE2 rejects (or one too large) is a load error
// naming its file and line.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/error.h"
#include "ktriage/kb_match.h"
#include "ktriage/version.h"

namespace re2 {
class RE2;
}

namespace ktriage {

// One version constraint list, e.g. ">= 2.6.32, < 3.15" or "*".
struct KbVersionRange {
  std::string text;                              // as written
  std::vector<std::pair<std::string, std::string>> constraints;  // {"<", "3.15"}; empty = any
};

// What must be present for an entry to match one report. Every non-empty
// list is a condition (all must hold); within a list any item will do.
struct KbCondition {
  std::vector<std::string> titles;      // RE2, partial match against Report::title / alt_titles / header
  std::vector<std::string> types;       // RE2, full match against Report::type
  std::vector<std::string> kinds;       // CrashKind names ("oops_paging")
  std::vector<std::string> frames;      // RE2, partial match against a frame's or the IP's function
  std::vector<std::string> modules;     // a frame or the IP in this module ("xfs")
  std::vector<std::string> findings;    // finding id, or id prefix up to a '.' ("stack_overflow")
  std::vector<std::string> causes;      // finding cause ("stack_overflow")
  std::vector<std::string> arch;        // "x86_64"; a report of unknown arch is not excluded
  // Kernel lines the bug can occur in: line -> range. A known kernel whose
  // line is not listed is checked against "upstream" with its base version;
  // with no "upstream" range either, the entry does not apply to it. An
  // unknown kernel is never excluded.
  std::map<std::string, KbVersionRange> kernels;
};

// The crash a known bug shows, reduced to what stays the same from one
// occurrence to the next (see signature_of()).
struct KbSignature {
  std::string kind;                     // CrashKind name ("kasan")
  std::string type;                     // syzkaller crash type
  std::string title;                    // syzkaller-convention title
  std::string frame;                    // guilty frame, normalized
  std::string module;                   // module of the guilty frame or IP, "" for vmlinux
  std::vector<std::string> frames;      // top frames, normalized, reporting-only frames skipped
  bool empty() const { return title.empty() && frames.empty(); }
};

struct KbEntry {
  std::string id;
  std::string title;
  std::string short_name;               // for summaries: "the 16K stack"; defaults to the short commit id
  KbCondition match;
  // The fix.
  std::string commit;                   // upstream commit id (full or abbreviated)
  std::string subject;                  // upstream commit subject
  std::string fixed_in;                 // first upstream release with the fix ("3.15"); "" when not upstream
  std::string committed;                // date, "2014-05-29"
  std::string fix_note;                 // caveats about the facts ("LWN says 3.16")
  // fix.cve of a hand-written entry: the facts it does not state come from
  // that CVE record in the loaded indexes.
  std::map<std::string, std::string> carried_by;  // line -> first distro kernel with the fix
  std::vector<std::string> references;
  std::string advice;
  // From a CVE record (kb_index.h); empty for hand-written entries.
  std::string cve;                      // "CVE-2024-26581"
  std::vector<std::string> stable_fixes;      // first fixed release per stable branch: "6.1.78", "6.6.17"
  std::vector<std::string> stable_affected;   // first affected release per stable branch, where the record says
  std::vector<std::string> stable_commits;    // the fix as committed to each stable branch (12-digit ids)
  std::string introduced_in;            // first upstream release with the bug ("6.5"), "" when unknown
  std::string introduced_commit;        // the commit that introduced it
  KbSignature signature;                // the crash the record quotes; empty when it quotes none
  // Bug tracker ids that name the fix in distro changelogs ("rhbz:1028831"),
  // from references (bugzilla.redhat.com) or the record.
  std::vector<std::string> bugs;
  // Where it came from, for messages.
  std::string file;
  uint32_t line = 0;
};

// The result of matching: the kernel reasoned about, matches best first
// (likely before similar; among likely ones hand-written entries first, by
// verdict: not_fixed, unknown, fixed, then KB order; index entries by
// score), and what the summary across the likely ones rests on.
struct KbVerdicts {
  KernelRelease kernel;
  std::vector<KbMatch> matches;
  KbSummary summary;
};

class KbIndex;
struct KbDistroView;
class KbMatcher;

// The one kernel the verdicts judge: the flag (--kernel-version), else
// Analysis::kernel_version, else the first release the log prints. The
// first report printing that release gives its build string (Debian
// package, Ubuntu upload).
struct KbLogKernel {
  std::string release;
  std::string build;
  bool flag = false;        // given by the user: every report is judged against it
  bool build_seen = false;
  static KbLogKernel of(const Analysis& analysis, std::string_view kernel_version);
  void see(const Report& report);  // each report of the log, in order (with `release` preset for a flag)
};

class KnowledgeBase {
 public:
  KnowledgeBase();
  ~KnowledgeBase();
  KnowledgeBase(KnowledgeBase&&) noexcept;
  KnowledgeBase& operator=(KnowledgeBase&&) noexcept;

  // Loads every *.toml in each directory (sorted by name), in order, and
  // opens every *.sqlite index (kb_index.h). An entry in a later directory
  // replaces one with the same id from an earlier one (a user's --kb
  // overrides the shipped data), and a hand-written entry replaces an index
  // entry with its id; the same id twice within one directory is an error.
  // A missing directory is an error.
  static Expected<KnowledgeBase> load(const std::vector<std::filesystem::path>& dirs);
  // Adds the entries of one TOML document; `name` is used in errors.
  Expected<bool> add_toml(std::string_view text, std::string_view name);
  Expected<bool> add_file(const std::filesystem::path& file);

  // The hand-written entries.
  const std::vector<KbEntry>& entries() const;
  // The imported indexes, in load order.
  const std::vector<std::unique_ptr<KbIndex>>& indexes() const;
  Expected<bool> add_index(const std::filesystem::path& file);

  // Matches against the analysed reports and findings. `kernel_version`
  // (flag) wins; else Analysis::kernel_version; else the first report's
  // kernel_release (with its kernel_version for Debian/Ubuntu).
  KbVerdicts match(const Analysis& analysis, std::string_view kernel_version = {}) const;
  // Whether match() could depend on the analysis' findings: a hand-written
  // entry names a finding or a cause, and its other conditions hold for one
  // of the reports. Lets a caller that needs only the matches skip diagnosis.
  bool needs_diagnosis(const Analysis& analysis, std::string_view kernel_version = {}) const;

  // One entry by id (hand-written first, then the indexes, latest first).
  std::optional<KbEntry> find(std::string_view id) const;
  // Entries whose id, title, subject (and for index entries crash title and
  // frames) contain every word of `text`, case-insensitive: hand-written
  // first, then the indexes' newest records; at most `limit`.
  std::vector<KbEntry> search(std::string_view text, size_t limit) const;
  // The verdict for one entry against one kernel, with what the loaded
  // indexes know from distro changelogs.
  KbMatch judge(const KbEntry& entry, const KernelRelease& kernel) const;

  struct Compiled;  // compiled patterns of one entry (lib/kb internal)

 private:
  friend class KbMatcher;
  // Appends other's entries; one with an id already present replaces it.
  void absorb(KnowledgeBase&& other);
  // Fills the fix facts of entries naming a CVE (fix.cve) from the indexes.
  Expected<bool> resolve_cves();
  std::vector<KbEntry> entries_;
  std::vector<std::unique_ptr<Compiled>> compiled_;
  std::vector<std::unique_ptr<KbIndex>> indexes_;
};

// The shipped data/kb directory: $KTRIAGE_KB_DIR when set, else the
// directory this build was configured with.
std::filesystem::path default_kb_dir();

// What distro changelogs say about one fix on the kernel's line and branch.
struct KbDistroView {
  std::string carried_in;       // first release of the line (and branch) listing the fix; "" when none
  std::string newest;           // newest release a changelog of that line and branch covers; "" when none
  std::string oldest;           // oldest such release
  std::vector<KbCarrier> carriers;  // every line/branch release listing it (for an unknown kernel)
};

// Verdict for one entry against one kernel; what match() uses. `distro`:
// what imported changelogs say (none when null). Exposed for tests and
// `ktriage kb show`.
KbMatch judge(const KbEntry& entry, const KernelRelease& kernel, const KbDistroView* distro = nullptr);

// The kernel as the renderers need it.
KbKernel kb_kernel(const KernelRelease& kernel);

// Does the entry's `kernels` table admit this kernel?
bool kernel_in_range(const KbCondition& condition, const KernelRelease& kernel);

// match() for a log read in windows: add() each window's analysis (its
// findings ranked as diagnose() ranks them), then verdicts() says what
// match() says of the whole log. Keeps one match per entry, not the reports.
class KbMatcher {
 public:
  KbMatcher(const KnowledgeBase& kb, const KbLogKernel& kernel);
  ~KbMatcher();
  KbMatcher(const KbMatcher&) = delete;
  KbMatcher& operator=(const KbMatcher&) = delete;

  // `window.reports[0]` is report `first_report` of the log.
  void add(const Analysis& window, size_t first_report);
  KbVerdicts verdicts() const;

 private:
  struct State;
  const KnowledgeBase& kb_;
  std::unique_ptr<State> state_;
};

}  // namespace ktriage

// The known-bug knowledge base: TOML entries (data/kb/*.toml and any
// `--kb DIR`), each describing what a known kernel bug looks like in an
// analysed log and which kernels carry its fix. Format: docs/kb.md.
//
//   Expected<KnowledgeBase> kbOrErr =
//       KnowledgeBase::load({default_kb_dir(), "/etc/ktriage/kb"});
//   if (!kbOrErr) { print(kbOrErr.error().message); return 2; }
//   //  "data/kb/bad.toml:12:1: bug[1].fix.commit: expected a string"
//   KbVerdicts v = kbOrErr->match(analysis, "2.6.32-431.el6.x86_64");
//   analysis.kb_matches = v.matches;   // best first
//   // v.summary: "2.6.32-431.el6 (rhel6): this kernel lacks both fixes
//   //   (the 16K stack and the bug 1028831 fix): upgrade to 2.6.32-520.el6
//   //   or later; also look at c999a22 (...)"
//
// Matching reads only the Analysis (reports + findings): an entry matches a
// report when every condition it states holds for that report (see
// KbCondition). Patterns are RE2, compiled at load time: a pattern cannot
// make matching slower than linear in the text, and a pattern RE2 rejects
// (or one too large) is a load error naming its file and line.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/error.h"
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
  std::map<std::string, std::string> carried_by;  // line -> first distro kernel with the fix
  std::vector<std::string> references;
  std::string advice;
  // Where it came from, for messages.
  std::string file;
  uint32_t line = 0;
};

// The result of matching: the kernel reasoned about, matches (best first:
// not_fixed, then unknown, then fixed; KB order within each), and a
// one-paragraph summary across them ("" when nothing matched).
struct KbVerdicts {
  KernelRelease kernel;
  std::vector<KbMatch> matches;
  std::string summary;
};

class KnowledgeBase {
 public:
  KnowledgeBase();
  ~KnowledgeBase();
  KnowledgeBase(KnowledgeBase&&) noexcept;
  KnowledgeBase& operator=(KnowledgeBase&&) noexcept;

  // Loads every *.toml in each directory (sorted by name), in order. An
  // entry in a later directory replaces one with the same id from an earlier
  // one (a user's --kb overrides the shipped data); the same id twice within
  // one directory is an error. A missing directory is an error.
  static Expected<KnowledgeBase> load(const std::vector<std::filesystem::path>& dirs);
  // Adds the entries of one TOML document; `name` is used in errors.
  Expected<bool> add_toml(std::string_view text, std::string_view name);
  Expected<bool> add_file(const std::filesystem::path& file);

  const std::vector<KbEntry>& entries() const;

  // Matches against the analysed reports and findings. `kernel_version`
  // (flag) wins; else Analysis::kernel_version; else the first report's
  // kernel_release (with its kernel_version for Debian/Ubuntu).
  KbVerdicts match(const Analysis& analysis, std::string_view kernel_version = {}) const;

  struct Compiled;  // compiled patterns of one entry (lib/kb internal)

 private:
  // Appends other's entries; one with an id already present replaces it.
  void absorb(KnowledgeBase&& other);
  std::vector<KbEntry> entries_;
  std::vector<std::unique_ptr<Compiled>> compiled_;
};

// The shipped data/kb directory: $KTRIAGE_KB_DIR when set, else the
// directory this build was configured with.
std::filesystem::path default_kb_dir();

// Verdict for one entry against one kernel; what match() uses. Exposed for
// tests and for `ktriage kb check`-style tools.
KbMatch judge(const KbEntry& entry, const KernelRelease& kernel);

// Does the entry's `kernels` table admit this kernel?
bool kernel_in_range(const KbCondition& condition, const KernelRelease& kernel);

}  // namespace ktriage

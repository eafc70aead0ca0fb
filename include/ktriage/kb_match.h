// What the knowledge base (lib/kb) hands to the renderers: each known bug
// that matches, how strongly and why, and whether the kernel in question
// carries its fix. Everything here is typed data; the sentences a user reads
// ("this kernel (2.6.32-431.el6) lacks the fix; upgrade to 2.6.32-520.el6 or
// later") are made by the renderers from these fields (render.h:
// kb_verdict_text, kb_summary_text, kb_reason_text).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ktriage {

// The kernel the verdicts are about, as lib/kb read it (version.h
// KernelRelease, reduced to what a sentence needs).
struct KbKernel {
  std::string shown;    // "2.6.32-431.el6", "Debian 6.1.192-2"; "" when unknown
  std::string line;     // "rhel6", "debian", "upstream"; "" when unknown
  std::string version;  // comparable form in the line's ordering; "" when the release does not say
  std::string base;     // upstream base "6.1.192"; "" when unreadable
  std::string abi;      // Debian/Ubuntu ABI "6.1.0-56"
  bool known() const { return !line.empty(); }
};

enum class KbVerdict { fixed, not_fixed, unknown };
std::string_view to_string(KbVerdict verdict);

// Why a verdict is what it is. Each names the facts it rests on; the fields
// of KbMatch it uses are listed.
enum class KbBasis {
  kernel_unknown,       // no kernel version: carriers, fixed_in, stable_fixes say where to go
  release_candidate,    // an -rc of fixed_in itself: cannot tell
  upstream_has_fix,     // base >= fixed_in (mainline)
  stable_has_fix,       // base >= branch_fix, the first release with the fix on its stable branch
  carried,              // the kernel's line carries it since carried_by (KB entry or distro changelog)
  not_carried,          // the kernel's line carries it only since carried_by, after this kernel
  cannot_order,         // carried_by exists, but this kernel cannot be ordered against it
  predates_fix,         // an upstream kernel before fixed_in
  stable_lacks_fix,     // an upstream kernel on a branch whose fix (branch_fix) came later
  no_stable_fix,        // an upstream kernel on a branch that has no release with the fix
  changelog_lacks_fix,  // the distro changelog covering this kernel (up to changelog_newest) does not list it
  introduced_later,     // the bug came with introduced_in, after this kernel's base: likely another bug
  no_backport_known,    // a distro kernel before the fix with no backport on record
  no_fixed_kernel,      // no fixed kernel is known on this line
};

// How strongly a known bug matches a report.
//   likely   the report is very probably this bug (a hand-written entry's
//            every condition held; or the crash title and frames agree)
//   similar  some of the signature agrees; worth a look, not a diagnosis
enum class KbStrength { likely, similar };
std::string_view to_string(KbStrength strength);

// One part of the signature that agreed.
enum class KbReasonKind {
  title,         // values[0]: the crash title both share
  guilty_frame,  // values[0]: the function the title blames
  frames,        // values: top frames both share, in the report's order; `of`: frames compared
  kind,          // values[0]: report kind ("kasan")
  type,          // values[0]: syzkaller crash type
  module,        // values[0]: module
  finding,       // values[0]: finding id
  cause,         // values[0]: finding cause
  arch,          // values[0]: architecture
};

struct KbReason {
  KbReasonKind kind = KbReasonKind::title;
  std::vector<std::string> values;
  size_t of = 0;
};

// A kernel line and the first kernel on it that carries a fix.
struct KbCarrier {
  std::string line;     // "rhel6", "debian"
  std::string version;  // "2.6.32-520.el6"
};

// A known bug from the knowledge base that matches, and whether the kernel
// carries its fix.
struct KbMatch {
  std::string id;  // KB id; the CVE id for an entry imported from a CVE record
  std::string title;
  std::string cve;         // "CVE-2024-26581", "" when none
  std::string short_name;  // for summaries: "the 16K stack", "CVE-2024-26581"
  KbStrength strength = KbStrength::likely;
  std::vector<KbReason> reasons;  // what agreed, strongest first
  double score = 0;               // ranking among index matches (higher is closer)
  size_t report = 0;              // index into Analysis::reports of the report that matched best

  KbVerdict verdict = KbVerdict::unknown;
  KbBasis basis = KbBasis::kernel_unknown;
  std::string fixed_in;                   // first upstream (mainline) release with the fix, e.g. "3.15"
  std::string carried_by;                 // first kernel of this kernel's line with the fix, e.g. "2.6.32-520.el6"
  std::vector<KbCarrier> carriers;        // every line known to carry it
  std::vector<std::string> stable_fixes;  // first fixed release per stable branch ("6.1.78", "6.6.17")
  std::string branch_fix;                 // of those, the one on this kernel's branch
  std::string introduced_in;              // first upstream release with the bug, "" when unknown
  std::string changelog_newest;           // newest version of the distro changelog consulted
  std::string commit;                     // upstream commit id
  std::string subject;                    // upstream commit subject
  std::vector<std::string> references;
  std::string advice;
};

// What the one-paragraph summary across the likely matches rests on.
struct KbSummary {
  KbKernel kernel;
  std::vector<size_t> matches;  // the likely matches it covers, indices into Analysis::kb_matches
  // Known kernel: the newest version needed to get every missing fix.
  std::string upgrade_to;
  // Unknown kernel: per line, the newest version needed and for which fixes
  // (line order: distro lines by name, "upstream" last).
  struct Need {
    std::string line;
    std::string version;
    std::vector<std::string> names;
  };
  std::vector<Need> needs;
  std::vector<std::string> nowhere;  // fixes with no fixed kernel on record
};

}  // namespace ktriage

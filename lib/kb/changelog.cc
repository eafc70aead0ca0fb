// Distro kernel changelogs -> which release first lists which fix. Debian's
// changelog.Debian lists every upstream stable commit it merges by subject
// (and CVE ids in parentheses); an RPM changelog lists each backport as
// "- [area] subject (Author) [bug ids]", sometimes with "{CVE-...}".
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>

#include "ktriage/kb_index.h"
#include "ktriage/version.h"

namespace ktriage {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

void add_cves(std::string_view text, std::vector<std::string>& keys) {
  static const RE2 re(R"((CVE-\d{4}-\d{4,}))");
  re2::StringPiece in(text.data(), text.size());
  std::string id;
  while (RE2::FindAndConsume(&in, re, &id)) keys.push_back("cve:" + id);
}

// "[x86] drm/i915: fix ..." -> "drm/i915: fix ..."; any number of "[...] ".
std::string_view strip_area_tags(std::string_view s) {
  while (s.starts_with('[')) {
    size_t close = s.find("] ");
    if (close == std::string_view::npos) break;
    s = trim(s.substr(close + 2));
  }
  return s;
}

ChangelogItem make_item(std::string_view subject, std::vector<std::string> keys) {
  ChangelogItem item;
  item.subject = std::string(subject);
  keys.insert(keys.begin(), "subject:" + subject_key(subject));
  item.keys = std::move(keys);
  return item;
}

// One Debian item, its lines joined: "subject (CVE-2026-1, CVE-2026-2)",
// "subject (Closes: #1154101)".
std::optional<ChangelogItem> debian_item(std::string_view text) {
  std::vector<std::string> keys;
  std::string_view subject = trim(text);
  // Trailing parenthesised annotations, possibly several.
  static const RE2 closes_re(R"(#(\d+))");
  while (subject.ends_with(')')) {
    size_t open = subject.rfind('(');
    if (open == std::string_view::npos) break;
    std::string_view note = subject.substr(open + 1, subject.size() - open - 2);
    bool cve = note.starts_with("CVE-");
    bool closes = note.starts_with("Closes:") || note.starts_with("closes:");
    if (!cve && !closes) break;
    if (cve) add_cves(note, keys);
    if (closes) {
      re2::StringPiece in(note.data(), note.size());
      std::string bug;
      while (RE2::FindAndConsume(&in, closes_re, &bug)) keys.push_back("debbug:" + bug);
    }
    subject = trim(subject.substr(0, open));
  }
  subject = strip_area_tags(subject);
  // Headings and links are not fixes: "New upstream stable update:", URLs.
  if (subject.empty() || subject.ends_with(':') || subject.starts_with("http://") || subject.starts_with("https://"))
    return std::nullopt;
  return make_item(subject, std::move(keys));
}

}  // namespace

std::string subject_key(std::string_view subject) {
  std::string out;
  bool space = false;
  for (char c : subject) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::vector<std::string> distro_keys(const KbEntry& e) {
  std::vector<std::string> keys;
  if (!e.cve.empty()) keys.push_back("cve:" + e.cve);
  if (!e.subject.empty()) keys.push_back("subject:" + subject_key(e.subject));
  for (const std::string& b : e.bugs) keys.push_back(b);
  return keys;
}

Expected<ChangelogParse> parse_debian_changelog(std::string_view text) {
  // linux (6.1.192-2) bookworm-security; urgency=high
  static const RE2 header_re(R"(([a-z0-9][a-z0-9.+-]*) \(([^()\s]+)\) [^;]*;.*)");
  // " -- Salvatore Bonaccorso <carnil@debian.org>  Mon, 16 Nov 2026 11:17:40 +0100"
  static const RE2 trailer_re(R"( -- .*<([^>]*)>.*)");
  ChangelogParse out;
  std::vector<std::string_view> lines = split_lines(text);
  std::string package, version;
  std::string pending;        // the item being read, lines joined
  size_t pending_indent = 0;  // its continuation lines are indented further
  std::vector<ChangelogItem> items;
  size_t releases_without_fixes = 0;
  auto flush_item = [&] {
    if (!pending.empty())
      if (auto item = debian_item(pending)) items.push_back(std::move(*item));
    pending.clear();
  };
  auto flush_release = [&](std::string_view maintainer) {
    flush_item();
    if (version.empty()) return;
    ChangelogRelease r;
    bool ubuntu = maintainer.ends_with("@canonical.com") || maintainer.ends_with("@ubuntu.com") ||
                  version.find("ubuntu") != std::string::npos;
    r.line = ubuntu ? "ubuntu" : "debian";
    r.version = version;
    r.items = std::move(items);
    if (package != "linux" && package.rfind("linux", 0) == 0) ++releases_without_fixes;
    out.releases.push_back(std::move(r));
    items.clear();
    version.clear();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string p, v, mail;
    if (!line.starts_with(' ') && RE2::FullMatch(line, header_re, &p, &v)) {
      flush_release("");
      package = p;
      version = v;
      continue;
    }
    if (RE2::FullMatch(line, trailer_re, &mail)) {
      flush_release(mail);
      continue;
    }
    if (version.empty()) {
      // "# Older entries have been removed from this changelog." is Debian's own note.
      if (!trim(line).empty() && !line.starts_with('#'))
        out.warnings.push_back(fmt::format("line {}: text outside a release", i + 1));
      continue;
    }
    size_t indent = line.find_first_not_of(' ');
    if (indent == std::string_view::npos) {
      flush_item();
      continue;
    }
    std::string_view rest = line.substr(indent);
    if (rest.starts_with("* ") || rest.starts_with("- ") || rest.starts_with("+ ")) {
      flush_item();
      pending = std::string(trim(rest.substr(2)));
      pending_indent = indent;
    } else if (!pending.empty() && indent > pending_indent && (pending.ends_with(':') || rest.starts_with("http"))) {
      flush_item();  // "New upstream stable update:" and its ChangeLog URL: a heading, not a fix
    } else if (!pending.empty() && indent > pending_indent) {
      pending += ' ';
      pending += trim(rest);
    } else {
      flush_item();  // a paragraph or a "[ Name ]" attribution line
    }
  }
  flush_release("");
  if (out.releases.empty()) return Error{"no Debian changelog release header (\"linux (VERSION) DIST; ...\") found"};
  if (releases_without_fixes == out.releases.size())
    out.warnings.push_back(fmt::format(
        "this is the changelog of {}, which names kernel uploads but not their fixes; use the changelog of the "
        "linux source package (linux-image-*-unsigned, or apt-get changelog linux)",
        package));
  return out;
}

Expected<ChangelogParse> parse_rpm_changelog(std::string_view text) {
  // * Mon Jan 01 2018 Name <mail> [2.6.32-696.el6]
  // * Tue Mar 05 2024 Name <mail> - 6.7.7-200.fc39
  static const RE2 header_re(
      R"(\* (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{4} (.*?)\s*(?:\[([^\[\]\s]+)\]|- ?(\S+))\s*)");
  // trailing "[1234567]", "[1234567 1234568]", "[RHEL-12345]", "{CVE-2024-1}"
  static const RE2 bugs_re(R"((.*?)\s*\[((?:\d{5,8}|RHEL-\d+)(?:[ ,]+(?:\d{5,8}|RHEL-\d+))*)\]\s*$)");
  static const RE2 cve_tail_re(R"((.*?)\s*\{(CVE-[^{}]*)\}\s*$)");
  static const RE2 author_re(R"((.*?)\s*\([^()]*\)\s*$)");
  ChangelogParse out;
  std::vector<std::string_view> lines = split_lines(text);
  std::optional<ChangelogRelease> release;
  std::string pending;
  auto flush_item = [&] {
    if (pending.empty() || !release) return;
    std::vector<std::string> keys;
    std::string subject = pending, rest, list;
    pending.clear();
    for (bool again = true; again;) {
      again = false;
      if (RE2::FullMatch(subject, cve_tail_re, &rest, &list)) {
        add_cves(list, keys);
        subject = rest;
        again = true;
      }
      if (RE2::FullMatch(subject, bugs_re, &rest, &list)) {
        static const RE2 one_re(R"((RHEL-\d+|\d+))");
        re2::StringPiece in(list);
        std::string bug;
        while (RE2::FindAndConsume(&in, one_re, &bug))
          keys.push_back(bug.starts_with("RHEL-") ? "jira:" + bug : "rhbz:" + bug);
        subject = rest;
        again = true;
      }
    }
    if (RE2::FullMatch(subject, author_re, &rest)) subject = rest;  // "(Name)"
    std::string_view s = strip_area_tags(trim(subject));
    if (!s.empty()) release->items.push_back(make_item(s, std::move(keys)));
  };
  auto flush_release = [&] {
    flush_item();
    if (release) out.releases.push_back(std::move(*release));
    release.reset();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string who, bracketed, dashed;
    if (line.starts_with("* ")) {
      flush_release();
      if (!RE2::FullMatch(line, header_re, &who, &bracketed, &dashed)) {
        out.warnings.push_back(fmt::format("line {}: unreadable release header (its entries are not used)", i + 1));
        continue;
      }
      std::string version = bracketed.empty() ? dashed : bracketed;
      KernelRelease k = classify_kernel_release(version);
      if (k.scheme != VersionScheme::rpm || k.line == "suse") {
        out.warnings.push_back(fmt::format(
            "line {}: release {} has no RPM dist tag (.elN, .fcNN, ...): its entries are not used", i + 1, version));
        continue;
      }
      release = ChangelogRelease{k.line, k.version, {}};
      continue;
    }
    if (!release) continue;
    if (line.starts_with("- ")) {
      flush_item();
      pending = std::string(trim(line.substr(2)));
    } else if (!pending.empty() && line.starts_with("  ") && !trim(line).empty()) {
      pending += ' ';
      pending += trim(line);
    } else {
      flush_item();
    }
  }
  flush_release();
  if (out.releases.empty())
    return Error{"no RPM changelog release header (\"* Mon Jan 01 2018 Name <mail> [VERSION]\") found"};
  return out;
}

}  // namespace ktriage

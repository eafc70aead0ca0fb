// `ktriage kb import|search|show|stats`: build an index from the kernel's CVE
// records and distro changelogs, and look known bugs up directly.
#include "ktriage/kb.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "ktriage/kb_index.h"
#include "ktriage/render.h"
#include "support/json_text.h"

namespace ktriage::cli {
namespace {

struct KbOptions {
  // shared
  std::vector<std::string> kb_dirs;
  bool no_shipped_kb = false;
  bool json = false;
  // import
  std::string cve_dir, source, output;
  std::vector<std::string> debian, rpm;
  // search / show
  std::vector<std::string> words;
  size_t limit = 20;
  std::string id, kernel_version;
};

Expected<KnowledgeBase> load(const KbOptions& o) {
  std::vector<std::filesystem::path> dirs;
  if (!o.no_shipped_kb) dirs.push_back(default_kb_dir());
  dirs.insert(dirs.end(), o.kb_dirs.begin(), o.kb_dirs.end());
  return KnowledgeBase::load(dirs);
}

int fail(const Error& e) {
  std::fprintf(stderr, "ktriage: %s\n", e.message.c_str());
  return kError;
}

int run_import(const KbOptions& o) {
  KbImportOptions io;
  io.cve_dir = o.cve_dir;
  io.debian_changelogs.assign(o.debian.begin(), o.debian.end());
  io.rpm_changelogs.assign(o.rpm.begin(), o.rpm.end());
  io.output = o.output;
  io.source = o.source;
  if (isatty(STDERR_FILENO))
    io.progress = [](std::string_view s) {
      std::fprintf(stderr, "\rktriage: %.*s\033[K", static_cast<int>(s.size()), s.data());
    };
  Expected<KbImportResult> rOrErr = kb_import(io);
  if (io.progress) std::fputs("\r\033[K", stderr);
  if (!rOrErr) return fail(rOrErr.error());
  const KbImportResult& r = *rOrErr;
  for (const std::string& w : r.skipped) std::fprintf(stderr, "ktriage: warning: %s (skipped)\n", w.c_str());
  if (!o.cve_dir.empty()) {
    std::cout << fmt::format(
        "cve records: read {}, used {} ({} quote a crash the parser reads, {} with 3 or more frames), "
        "skipped {} ({} rejected, {} unusable)\n",
        r.records_read, r.records_used, r.signatures, r.signatures3, r.records_read - r.records_used, r.rejected,
        r.records_read - r.records_used - r.rejected);
    std::cout << (r.terms_file.empty()
                      ? std::string("cve terms of use: not found beside the records (LICENSES/cve-tou.txt)\n")
                      : fmt::format("cve terms of use: {} (stored in the index)\n", r.terms_file));
  }
  if (!o.debian.empty() || !o.rpm.empty())
    std::cout << fmt::format(
        "changelogs: {} releases listing {} fixes{}\n", r.changelog_releases, r.changelog_items,
        o.cve_dir.empty() ? "" : fmt::format(", {} of them name a fix of a CVE record", r.changelog_matched));
  std::cout << fmt::format("wrote {} ({} problems skipped)\n", o.output, r.skipped.size());
  return kFound;
}

int run_search(const KbOptions& o) {
  Expected<KnowledgeBase> kbOrErr = load(o);
  if (!kbOrErr) return fail(kbOrErr.error());
  std::string text;
  for (const std::string& w : o.words) text += (text.empty() ? "" : " ") + w;
  std::vector<KbEntry> found = kbOrErr->search(text, o.limit);
  if (o.json) {
    std::cout << "[";
    for (size_t i = 0; i < found.size(); ++i)
      std::cout << (i ? ",\n" : "\n") << render_kb_entry_json(found[i], nullptr, {});
    std::cout << (found.empty() ? "]\n" : "\n]\n");
  } else {
    for (const KbEntry& e : found) std::cout << kb_entry_line(e) << '\n';
  }
  return found.empty() ? kNothingFound : kFound;
}

int run_show(const KbOptions& o) {
  Expected<KnowledgeBase> kbOrErr = load(o);
  if (!kbOrErr) return fail(kbOrErr.error());
  std::optional<KbEntry> e = kbOrErr->find(o.id);
  if (!e) {
    std::fprintf(stderr, "ktriage: %s: no such known bug (try ktriage kb search)\n", o.id.c_str());
    return kNothingFound;
  }
  KernelRelease kernel = classify_kernel_release(o.kernel_version);
  if (!o.kernel_version.empty() && !kernel.known())
    return fail(Error{fmt::format("--kernel-version {}: not a kernel release this tool can read", o.kernel_version)});
  KbMatch verdict = kbOrErr->judge(*e, kernel);
  if (o.json)
    std::cout << render_kb_entry_json(*e, &verdict, kb_kernel(kernel)) << '\n';
  else
    render_kb_entry_text(*e, verdict, kb_kernel(kernel), std::cout);
  return kFound;
}

int run_stats(const KbOptions& o) {
  Expected<KnowledgeBase> kbOrErr = load(o);
  if (!kbOrErr) return fail(kbOrErr.error());
  const KnowledgeBase& kb = *kbOrErr;
  nlohmann::ordered_json j;
  j["hand_written"] = kb.entries().size();
  j["indexes"] = nlohmann::ordered_json::array();
  if (!o.json) std::cout << fmt::format("hand-written entries: {}\n", kb.entries().size());
  for (const auto& index : kb.indexes()) {
    KbIndexStats s = index->stats();
    const KbIndexInfo& i = s.info;
    nlohmann::ordered_json x{{"file", i.file.string()},
                             {"source", i.source},
                             {"entries", i.entries},
                             {"signatures", i.signatures},
                             {"signatures_3_frames", s.with_frames3},
                             {"distro_releases", i.distro_releases},
                             {"distro_fixes", i.distro_fixes},
                             {"by_kind", s.by_kind},
                             {"by_year", s.by_year},
                             {"distro", s.distro}};
    j["indexes"].push_back(x);
    if (o.json) continue;
    std::cout << fmt::format("index {}\n  source: {}\n", i.file.string(),
                             i.source.empty() ? "(not recorded)" : i.source);
    std::cout << fmt::format("  CVE records: {}, quoting a crash: {} ({} with 3 or more frames)\n", i.entries,
                             i.signatures, s.with_frames3);
    if (!s.by_year.empty()) {
      std::string years;
      for (const auto& [y, n] : s.by_year) years += fmt::format("{}{} {}", years.empty() ? "" : ", ", y, n);
      std::cout << "  records per year: " << years << '\n';
    }
    if (!s.by_kind.empty()) {
      std::string kinds;
      for (const auto& [k, n] : s.by_kind) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", k, n);
      std::cout << "  crash kinds: " << kinds << '\n';
    }
    if (i.distro_releases)
      std::cout << fmt::format("  distro changelogs: {} releases, {} fixes listed\n", i.distro_releases,
                               i.distro_fixes);
    for (const auto& [line, n] : s.distro) std::cout << fmt::format("    {}: {} releases\n", line, n);
    if (!i.terms.empty())
      std::cout
          << "  CVE records are used under the CVE Terms of Use (kb stats --json, or the NOTICE beside the index)\n";
  }
  if (o.json) std::cout << support::json_text(j, 2) << '\n';
  return kFound;
}

void add_kb_source_options(CLI::App* cmd, KbOptions& o) {
  cmd->add_option("--kb", o.kb_dirs, "extra knowledge-base directory (*.toml, *.sqlite); repeatable")
      ->allow_extra_args(false)
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--no-shipped-kb", o.no_shipped_kb, "do not load the knowledge base shipped in data/kb");
}

}  // namespace

Run add_kb(CLI::App& app) {
  auto o = std::make_shared<KbOptions>();
  CLI::App* kb = app.add_subcommand(
      "kb",
      "The known-bug knowledge base: import the kernel's CVE records and distro changelogs,\n"
      "look entries up.\n\n"
      "Examples:\n"
      "  ktriage kb search nft_set_rbtree              entries mentioning it\n"
      "  ktriage kb show CVE-2024-26581 --kernel-version \"Debian 6.1.192-2\"\n"
      "  ktriage kb stats\n"
      "  ktriage kb import --debian-changelog /usr/share/doc/linux-image-$(uname -r)/changelog.Debian.gz \\\n"
      "                    -o ~/kb/debian.sqlite        then: ktriage analyze --kb ~/kb LOG");
  kb->require_subcommand(1);

  CLI::App* import =
      kb->add_subcommand("import",
                         "Build an index (SQLite) from the Linux kernel CNA's CVE records (a clone of the kernel's\n"
                         "vulns repository) and/or distro kernel changelogs. Put it in a --kb directory to use it.");
  import->add_option("--cve", o->cve_dir, "vulns clone, its cve/published, or any tree of CVE-*.json records")
      ->check(CLI::ExistingDirectory);
  import->add_option("--source", o->source, "provenance stored in the index (repository, commit, date)");
  import
      ->add_option("--debian-changelog", o->debian,
                   "changelog.Debian[.gz] of a Debian/Ubuntu linux package; repeatable")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  import->add_option("--rpm-changelog", o->rpm, "`rpm -q --changelog kernel` output; repeatable")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  import->add_option("-o,--output", o->output, "index file to write (replaced)")->required();

  CLI::App* search =
      kb->add_subcommand("search", "Entries whose id, subject, crash title or frames contain every word.");
  search->add_option("text", o->words, "words to look for")->required();
  search->add_option("--limit", o->limit, "at most this many entries")->capture_default_str();
  search->add_flag("--json", o->json, "print a JSON array");
  add_kb_source_options(search, *o);

  CLI::App* show = kb->add_subcommand("show", "One entry: its fix, versions, crash signature, and verdict.");
  show->add_option("id", o->id, "entry id (CVE-2024-26581, x86_64-8k-stack-overflow)")->required();
  show->add_option("--kernel-version", o->kernel_version,
                   "judge the fix against this kernel (2.6.32-431.el6.x86_64, \"Debian 6.1.192-2\", 6.1.78)")
      ->check(kernel_release_validator());
  show->add_flag("--json", o->json, "print JSON");
  add_kb_source_options(show, *o);

  CLI::App* stats = kb->add_subcommand("stats", "What the loaded knowledge base holds and where it came from.");
  stats->add_flag("--json", o->json, "print JSON");
  add_kb_source_options(stats, *o);

  return [o, import, search, show, stats] {
    if (import->parsed()) return run_import(*o);
    if (search->parsed()) return run_search(*o);
    if (show->parsed()) return run_show(*o);
    if (stats->parsed()) return run_stats(*o);
    return static_cast<int>(kError);
  };
}

}  // namespace ktriage::cli

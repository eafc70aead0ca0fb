// Imported knowledge (issue 14): CVE records and distro changelogs read into
// an index, bad input skipped with a warning naming the file, signatures and
// their scoring, and the verdicts that stable fixes and changelogs give.
// Fixtures: tests/unit/data/kb/vulns (CVE JSON 5.x records of a fictional
// driver, in the kernel CNA's layout), changelog.Debian, rpm-changelog.txt.
#include "ktriage/kb_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/test_util.h"
#include "kb/score.h"
#include "ktriage/kb.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;
using ktriage::test::ScratchDir;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kData = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "unit" / "data" / "kb";
const fs::path kVulns = kData / "vulns";
const fs::path kRecords = kVulns / "cve" / "published" / "2099";

// The drain bug of the fixture, as another machine prints it: other
// timestamps, PIDs, addresses and offsets, the last frames cut off.
constexpr std::string_view kDrainCrash = R"(
[ 8812.120001] BUG: KASAN: slab-use-after-free in zz_queue_drain+0x1b0/0x2a0 [zzdrv]
[ 8812.120010] Read of size 8 at addr ffff88810ee1a2f0 by task kworker/0:3/4412
[ 8812.120020] CPU: 0 PID: 4412 Comm: kworker/0:3 Not tainted 6.1.50 #1
[ 8812.120030] Workqueue: events zz_reset_work [zzdrv]
[ 8812.120040] Call Trace:
[ 8812.120041]  <TASK>
[ 8812.120050]  dump_stack_lvl+0x48/0x70
[ 8812.120060]  print_report+0xd2/0x660
[ 8812.120070]  kasan_report+0xd4/0x110
[ 8812.120080]  zz_queue_drain+0x1b0/0x2a0 [zzdrv]
[ 8812.120090]  zz_queue_stop+0x51/0x90 [zzdrv]
[ 8812.120100]  zz_reset_work+0x101/0x240 [zzdrv]
[ 8812.120110]  process_one_work+0x171/0x340
)";

struct Imported {
  ScratchDir dir{"kb-index-test"};
  KbImportResult result;
  fs::path index;
};

// The fixture records imported once for the whole file.
const Imported& imported() {
  static Imported* im = [] {
    auto* out = new Imported;
    out->index = out->dir / "cves.sqlite";
    KbImportOptions o;
    o.cve_dir = kVulns;
    o.output = out->index;
    o.source = "tests/unit/data/kb/vulns (fixture)";
    Expected<KbImportResult> rOrErr = kb_import(o);
    EXPECT_TRUE(rOrErr) << (rOrErr ? "" : rOrErr.error().message);
    if (rOrErr) out->result = *rOrErr;
    return out;
  }();
  return *im;
}

KbIndex open_index(const fs::path& file) {
  Expected<KbIndex> indexOrErr = KbIndex::open(file);
  if (!indexOrErr) ADD_FAILURE() << indexOrErr.error().message;
  return std::move(*indexOrErr);
}

// --- CVE records -------------------------------------------------------------

TEST(CveRecord, ReadsTheFixAndTheQuotedCrash) {
  Expected<CveRecordResult> r = read_cve_record(read_file(kRecords / "CVE-2099-10001.json"), "CVE-2099-10001.json");
  ASSERT_TRUE(r) << r.error().message;
  const KbEntry& e = r->entry;
  EXPECT_EQ(e.id, "CVE-2099-10001");
  EXPECT_EQ(e.cve, "CVE-2099-10001");
  EXPECT_EQ(e.subject, "zz: drain the queue before freeing it");
  EXPECT_EQ(e.commit, "9999999999990000000000001111111111112222");  // the mainline range comes last
  EXPECT_EQ(e.introduced_commit, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  EXPECT_THAT(e.stable_commits, ElementsAre("111111111111", "555555555555"));
  EXPECT_EQ(e.fixed_in, "6.8");
  EXPECT_EQ(e.introduced_in, "5.10");
  EXPECT_THAT(e.stable_fixes, ElementsAre("6.1.78", "6.6.17"));
  const KbSignature& s = e.signature;
  EXPECT_EQ(s.title, "KASAN: slab-use-after-free Read in zz_queue_drain");
  EXPECT_EQ(s.kind, "kasan");
  EXPECT_EQ(s.frame, "zz_queue_drain");
  EXPECT_EQ(s.module, "zzdrv");
  // KASAN's own frames are not part of the bug.
  ASSERT_GE(s.frames.size(), 3u);
  EXPECT_THAT(std::vector<std::string>(s.frames.begin(), s.frames.begin() + 3),
              ElementsAre("zz_queue_drain", "zz_queue_stop", "zz_reset_work"));
  EXPECT_THAT(s.frames, ::testing::Not(Contains("kasan_report")));

  Expected<CveRecordResult> plain = read_cve_record(read_file(kRecords / "CVE-2099-10002.json"), "x");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->entry.signature.empty());  // no crash quoted: facts only
  EXPECT_EQ(plain->entry.fixed_in, "7.0");
  EXPECT_EQ(plain->entry.introduced_in, "5.3");
}

TEST(CveRecord, BadRecordsAreErrorsNamingTheFile) {
  auto error = [](std::string_view text) {
    Expected<CveRecordResult> r = read_cve_record(text, "f.json");
    return r ? std::string("(accepted)") : r.error().message;
  };
  EXPECT_THAT(error(read_file(kRecords / "CVE-2099-10004.json")), HasSubstr("f.json: not JSON"));
  EXPECT_THAT(error(read_file(kRecords / "CVE-2099-10005.json")), HasSubstr("schema 6.0 is not CVE JSON 5.x"));
  EXPECT_THAT(error(read_file(kRecords / "CVE-2099-10006.json")), HasSubstr("no valid cveMetadata.cveId"));
  EXPECT_THAT(error(""), HasSubstr("not JSON"));
  EXPECT_THAT(error("[]"), HasSubstr("not a CVE record"));
  EXPECT_THAT(error("null"), HasSubstr("not a CVE record"));
  // kb_fuzz: JSON numbers that no double holds are refused by nlohmann with
  // another exception than a parse error.
  EXPECT_THAT(error("7e697e"), HasSubstr("a number out of range"));
  EXPECT_THAT(error(R"({"dataVersion":"5.1","x":1e999})"), HasSubstr("a number out of range"));
  EXPECT_THAT(error(R"({"dataVersion":"5.1","cveMetadata":{"cveId":7}})"), HasSubstr("cveId"));
  EXPECT_THAT(error(R"({"dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2099-1234","state":"PUBLISHED"},
                        "containers":{"cna":{"descriptions":"x"}}})"),
              HasSubstr("no English description"));
  // Fields of the wrong type are ignored, never thrown.
  EXPECT_THAT(error(R"({"dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2099-1234","state":"PUBLISHED"},
                        "containers":{"cna":{"descriptions":[{"lang":"en","value":"x"}],
                        "affected":[{"product":"Linux","versions":[1,{"version":[]}]}]}}})"),
              HasSubstr("no fix"));
  Expected<CveRecordResult> rejected = read_cve_record(read_file(kRecords / "CVE-2099-10003.json"), "r.json");
  ASSERT_TRUE(rejected);
  EXPECT_TRUE(rejected->rejected);
}

// --- the import --------------------------------------------------------------

TEST(KbImport, SaysWhatItReadUsedAndSkipped) {
  const KbImportResult& r = imported().result;
  EXPECT_EQ(r.records_read, 6);
  EXPECT_EQ(r.records_used, 2);
  EXPECT_EQ(r.signatures, 1);
  EXPECT_EQ(r.signatures3, 1);
  EXPECT_EQ(r.rejected, 1);
  ASSERT_EQ(r.skipped.size(), 3u);
  EXPECT_THAT(r.skipped[0], HasSubstr("CVE-2099-10004.json: not JSON"));
  EXPECT_THAT(r.skipped[1], HasSubstr("CVE-2099-10005.json: schema 6.0"));
  EXPECT_THAT(r.skipped[2], HasSubstr("CVE-2099-10006.json"));
  EXPECT_THAT(r.terms_file, HasSubstr("cve-tou.txt"));

  KbIndex index = open_index(imported().index);
  EXPECT_EQ(index.info().schema, kKbIndexSchema);
  EXPECT_EQ(index.info().entries, 2);
  EXPECT_EQ(index.info().signatures, 1);
  EXPECT_EQ(index.info().source, "tests/unit/data/kb/vulns (fixture)");
  EXPECT_THAT(index.info().terms, HasSubstr("MITRE hereby grants you"));
  std::optional<KbEntry> e = index.entry("CVE-2099-10001");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fixed_in, "6.8");
  EXPECT_THAT(e->stable_fixes, ElementsAre("6.1.78", "6.6.17"));
  EXPECT_EQ(e->signature.frame, "zz_queue_drain");
  EXPECT_THAT(e->references, Contains("https://www.cve.org/CVERecord?id=CVE-2099-10001"));
  EXPECT_FALSE(index.entry("CVE-2099-10003"));  // rejected records are not entries
}

TEST(KbImport, UnusableOptionsAreErrors) {
  ScratchDir dir("kb-import-errors");
  KbImportOptions o;
  o.output = dir / "x.sqlite";
  EXPECT_FALSE(kb_import(o));  // nothing to import
  o.cve_dir = dir / "missing";
  Expected<KbImportResult> missing = kb_import(o);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("not a directory"));
  o.cve_dir = dir.path();
  Expected<KbImportResult> empty = kb_import(o);
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("no CVE-*.json records"));
  // A changelog in another format is skipped with its reason; with nothing
  // else usable the import fails and writes nothing.
  o.cve_dir.clear();
  o.rpm_changelogs = {kData / "changelog.Debian"};
  Expected<KbImportResult> wrong = kb_import(o);
  ASSERT_FALSE(wrong);
  EXPECT_FALSE(fs::exists(o.output));
}

TEST(KbImport, GzipChangelogsAreRead) {
  ScratchDir dir("kb-import-gz");
  fs::path gz = dir / "changelog.Debian.gz";
  ASSERT_EQ(std::system(("gzip -c '" + (kData / "changelog.Debian").string() + "' > '" + gz.string() + "'").c_str()),
            0);
  KbImportOptions o;
  o.debian_changelogs = {gz};
  o.output = dir / "debian.sqlite";
  Expected<KbImportResult> r = kb_import(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->changelog_releases, 4);
  // A damaged gzip stream is skipped, naming the file.
  std::string bytes = read_file(gz);
  std::ofstream(dir / "cut.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  o.debian_changelogs = {dir / "cut.gz", kData / "changelog.Debian"};
  Expected<KbImportResult> cut = kb_import(o);
  ASSERT_TRUE(cut);
  ASSERT_EQ(cut->skipped.size(), 1u);
  EXPECT_THAT(cut->skipped[0], HasSubstr("cut.gz: damaged gzip data"));
}

// --- the index ---------------------------------------------------------------

TEST(KbIndex, FindsTheRecordFromAnotherMachinesCrash) {
  KbIndex index = open_index(imported().index);
  std::vector<Report> reports = parse_log(kDrainCrash);
  ASSERT_EQ(reports.size(), 1u);
  std::vector<KbCandidate> c = index.candidates(signature_of(reports[0]));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, "CVE-2099-10001");
  EXPECT_EQ(c[0].strength, KbStrength::likely);
  ASSERT_FALSE(c[0].reasons.empty());
  EXPECT_EQ(c[0].reasons[0].kind, KbReasonKind::title);
  EXPECT_EQ(kb_reason_text(c[0].reasons[0]), "title \"KASAN: slab-use-after-free Read in zz_queue_drain\"");
}

TEST(KbIndex, SearchAndStats) {
  KbIndex index = open_index(imported().index);
  EXPECT_EQ(index.search("zz drain", 10).size(), 1u);
  EXPECT_EQ(index.search("ZZ_QUEUE_STOP", 10).size(), 1u);  // frames, any case
  EXPECT_EQ(index.search("zz:", 10).size(), 2u);
  EXPECT_TRUE(index.search("zz nothing-like-this", 10).empty());
  EXPECT_TRUE(index.search("100%_", 10).empty());  // LIKE wildcards are literal
  KbIndexStats s = index.stats();
  EXPECT_EQ(s.with_frames3, 1);
  EXPECT_THAT(s.by_year, ElementsAre(std::pair<std::string, int64_t>("2099", 2)));
  EXPECT_THAT(s.by_kind, ElementsAre(std::pair<std::string, int64_t>("kasan", 1)));
}

// Ingest's scan workers share one index (a race here was a use-after-free
// that only the sanitizer build saw): every thread gets the single answer.
TEST(KbIndex, ThreadsSharingOneIndexGetTheSameAnswers) {
  KbIndex index = open_index(imported().index);
  std::vector<Report> reports = parse_log(kDrainCrash);
  ASSERT_EQ(reports.size(), 1u);
  const KbSignature sig = signature_of(reports[0]);
  constexpr int kThreads = 4, kRounds = 200;
  std::vector<int> found(kThreads, 0);
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < kThreads; ++t)
      pool.emplace_back([&, t] {
        for (int i = 0; i < kRounds; ++i) {
          std::vector<KbCandidate> c = index.candidates(sig);
          if (c.size() == 1 && c[0].id == "CVE-2099-10001" && c[0].signature.frames.size() >= 3 &&
              index.entry("CVE-2099-10001"))
            ++found[t];
        }
      });
  }
  EXPECT_THAT(found, ::testing::Each(kRounds));
}

TEST(KbIndex, DamagedOrForeignFilesAreErrorsNamingThem) {
  ScratchDir dir("kb-index-bad");
  std::ofstream(dir / "garbage.sqlite") << std::string(8192, 'x');
  Expected<KbIndex> garbage = KbIndex::open(dir / "garbage.sqlite");
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message, HasSubstr("garbage.sqlite"));
  // A truncated index: an error at open or empty answers later, never a crash.
  std::string whole = read_file(imported().index);
  std::ofstream(dir / "cut.sqlite", std::ios::binary) << whole.substr(0, whole.size() / 3);
  if (Expected<KbIndex> cut = KbIndex::open(dir / "cut.sqlite")) {
    std::vector<Report> reports = parse_log(kDrainCrash);
    (void)cut->candidates(signature_of(reports[0]));
    (void)cut->search("zz", 10);
    (void)cut->stats();
  }
  EXPECT_FALSE(KbIndex::open(dir / "missing.sqlite"));
  // Another SQLite file, and an index of a newer schema.
  ASSERT_EQ(std::system(("sqlite3 '" + (dir / "other.sqlite").string() + "' 'CREATE TABLE t(x)'").c_str()), 0);
  Expected<KbIndex> other = KbIndex::open(dir / "other.sqlite");
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("not a ktriage index"));
  fs::copy_file(imported().index, dir / "newer.sqlite");
  ASSERT_EQ(std::system(("sqlite3 '" + (dir / "newer.sqlite").string() +
                         "' \"UPDATE meta SET value = '99' WHERE key = 'schema'\"")
                            .c_str()),
            0);
  Expected<KbIndex> newer = KbIndex::open(dir / "newer.sqlite");
  ASSERT_FALSE(newer);
  EXPECT_THAT(newer.error().message, HasSubstr("index schema 99"));
  // KnowledgeBase::load stops on it with the same message.
  Expected<KnowledgeBase> kb = KnowledgeBase::load({dir.path()});
  ASSERT_FALSE(kb);
}

// --- signatures and scores ---------------------------------------------------

TEST(Signature, NormalizedFramesWithoutReportingMachinery) {
  EXPECT_EQ(normalize_frame("bfq_insert_request.isra.0"), "bfq_insert_request");
  EXPECT_EQ(normalize_frame("__list_add_valid.cold"), "__list_add_valid");
  EXPECT_EQ(normalize_frame("foo"), "foo");
  for (const char* f : {"dump_stack_lvl", "kasan_report", "__warn", "report_bug", "asm_exc_invalid_op", "__asan_load8",
                        "kasan_save_stack", "__ubsan_handle_out_of_bounds", "warn_slowpath_fmt"})
    EXPECT_TRUE(is_reporting_frame(f)) << f;
  for (const char* f : {"zz_queue_drain", "kfree", "ext4_map_blocks"}) EXPECT_FALSE(is_reporting_frame(f)) << f;
  for (const char* f : {"process_one_work", "__x64_sys_write", "_raw_spin_lock_irqsave", "vfs_write", "schedule"})
    EXPECT_TRUE(is_plumbing_frame(f)) << f;
  EXPECT_FALSE(is_plumbing_frame("zz_queue_drain"));

  Report r;
  r.kind = CrashKind::warning;
  r.title = "WARNING in zz_x";
  r.frame = "zz_x.cold";
  r.ip = Symbol{};
  r.ip->function = "zz_x.cold";
  r.ip->module = "zzdrv";
  auto frame = [](const char* fn, bool reliable = true) {
    Frame f;
    f.function = fn;
    f.reliable = reliable;
    return f;
  };
  r.frames = {
      frame("__warn"), frame("zz_x"), frame("stale_pointer", false), frame("zz_y.isra.0"), frame("0xffffffffc0001234"),
      frame("zz_z")};
  KbSignature s = signature_of(r);
  EXPECT_EQ(s.frame, "zz_x");
  EXPECT_EQ(s.module, "zzdrv");
  EXPECT_THAT(s.frames, ElementsAre("zz_x", "zz_y", "zz_z"));  // IP and frame 1 are one; '?' frames dropped
}

kb::FrameStats stats_of(std::map<std::string, int64_t> df, int64_t signatures = 4000, int64_t title_count = 1) {
  return kb::FrameStats{[df](std::string_view f) {
                          auto it = df.find(std::string(f));
                          return it == df.end() ? int64_t{1} : it->second;
                        },
                        signatures, title_count};
}

KbSignature sig(std::string kind, std::string title, std::string frame, std::vector<std::string> frames) {
  KbSignature s;
  s.kind = std::move(kind);
  s.title = std::move(title);
  s.frame = std::move(frame);
  s.frames = std::move(frames);
  return s;
}

TEST(Score, AnAnchorIsNeededAndPlumbingNeverAnchors) {
  const KbSignature entry = sig("kasan", "KASAN: use-after-free Read in zz_a", "zz_a",
                                {"zz_a", "zz_b", "zz_c", "process_one_work", "worker_thread", "kthread"});
  KbCandidate c;
  c.signature = entry;
  // Same crash: title, guilty frame, a rare frame more.
  EXPECT_TRUE(kb::score_candidate(entry, c, stats_of({})));
  EXPECT_EQ(c.strength, KbStrength::likely);
  double full = c.score;
  // Only plumbing in common (another bug reached through a workqueue): nothing.
  KbSignature other = sig("kasan", "KASAN: use-after-free Read in qq_a", "qq_a",
                          {"qq_a", "qq_b", "process_one_work", "worker_thread", "kthread"});
  EXPECT_FALSE(kb::score_candidate(other, c, stats_of({})));
  // The same crash site without the title: likely with one more rare frame.
  KbSignature site = sig("kasan", "", "", {"zz_a", "zz_b"});
  EXPECT_TRUE(kb::score_candidate(site, c, stats_of({})));
  EXPECT_EQ(c.strength, KbStrength::likely);
  EXPECT_LT(c.score, full);
  // Same site, different kinds: similar at most.
  KbSignature warn = sig("warning", "", "", {"zz_a", "zz_b"});
  EXPECT_TRUE(kb::score_candidate(warn, c, stats_of({})));
  EXPECT_EQ(c.strength, KbStrength::similar);
  // A guilty frame half the index shares ("corrupted") anchors nothing.
  KbCandidate damaged;
  damaged.signature = sig("warning", "WARNING in corrupted", "corrupted", {"qq_x"});
  EXPECT_FALSE(kb::score_candidate(sig("warning", "WARNING in corrupted", "corrupted", {"rr_y"}), damaged,
                                   stats_of({{"corrupted", 700}}, 4000, 138)));
  // A plumbing guilty frame neither (a soft lockup blamed on write(2)'s path).
  KbCandidate lockup;
  lockup.signature = sig("soft_lockup", "BUG: soft lockup in full_proxy_write", "full_proxy_write",
                         {"aa_spin", "full_proxy_write", "vfs_write"});
  EXPECT_FALSE(kb::score_candidate(sig("soft_lockup", "BUG: soft lockup in full_proxy_write", "full_proxy_write",
                                       {"zoo_spin", "full_proxy_write", "vfs_write"}),
                                   lockup, stats_of({})));
}

// --- changelogs --------------------------------------------------------------

TEST(Changelog, DebianReleasesAndTheFixesTheyList) {
  Expected<ChangelogParse> p = parse_debian_changelog(read_file(kData / "changelog.Debian"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->warnings.empty()) << p->warnings[0];
  ASSERT_EQ(p->releases.size(), 4u);
  const ChangelogRelease& top = p->releases[0];
  EXPECT_EQ(top.line, "debian");
  EXPECT_EQ(top.version, "6.1.192-2");
  ASSERT_EQ(top.items.size(), 1u);
  EXPECT_EQ(top.items[0].subject, "zz: bound the ring index");
  EXPECT_THAT(top.items[0].keys, ElementsAre("subject:zz: bound the ring index", "debbug:1154101"));
  const ChangelogRelease& stable = p->releases[1];
  std::vector<std::string> subjects;
  for (const ChangelogItem& i : stable.items) subjects.push_back(i.subject);
  // Headings and URLs are not fixes; wrapped subjects and CVE notes are joined.
  EXPECT_THAT(subjects, ElementsAre("io_uring/io-wq: don't lose the signal that ends work",
                                    "apparmor: fix out-of-bounds write when null terminating a label vec",
                                    "kvm: a subject long enough that the changelog wraps it onto the next line",
                                    "Update to 6.1.191-rt70"));
  EXPECT_THAT(stable.items[1].keys, Contains("cve:CVE-2099-20002"));
  EXPECT_EQ(p->releases[2].items[0].keys[0], "subject:zz: drain the queue before freeing it");  // period dropped

  Expected<ChangelogParse> none = parse_debian_changelog("just some text\n");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("no Debian changelog release header"));
  Expected<ChangelogParse> signed_pkg = parse_debian_changelog(
      "linux-signed-amd64 (6.1.192+2) bookworm-security; urgency=high\n\n  * Sign kernel from linux 6.1.192-2\n\n"
      " -- Maint <m@example.org>  Mon, 16 Nov 2026 11:17:40 +0100\n");
  ASSERT_TRUE(signed_pkg);
  ASSERT_EQ(signed_pkg->warnings.size(), 1u);
  EXPECT_THAT(signed_pkg->warnings[0], HasSubstr("linux-signed-amd64, which names kernel uploads but not their fixes"));
}

TEST(Changelog, RpmReleasesBugsAndCves) {
  Expected<ChangelogParse> p = parse_rpm_changelog(read_file(kData / "rpm-changelog.txt"));
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->releases.size(), 2u);
  EXPECT_EQ(p->releases[0].line, "rhel6");
  EXPECT_EQ(p->releases[0].version, "2.6.32-696.el6");
  const std::vector<ChangelogItem>& items = p->releases[0].items;
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].subject, "xfs: subject one");
  EXPECT_THAT(items[0].keys, ElementsAre("subject:xfs: subject one", "rhbz:1234567"));
  EXPECT_THAT(items[1].keys, ElementsAre("subject:ixgbe: subject two", "rhbz:1234568", "rhbz:1234569"));
  EXPECT_THAT(items[2].keys, Contains("cve:CVE-2099-10001"));
  EXPECT_EQ(p->releases[1].items[1].subject, "sched: a subject that is long enough to be continued");
  ASSERT_EQ(p->warnings.size(), 2u);
  EXPECT_THAT(p->warnings[0], HasSubstr("line 11: unreadable release header"));
  EXPECT_THAT(p->warnings[1], HasSubstr("release 4.18.0 has no RPM dist tag"));
  EXPECT_FALSE(parse_rpm_changelog(read_file(kData / "changelog.Debian")));
}

// --- verdicts ----------------------------------------------------------------

KbEntry drain_entry() {
  Expected<CveRecordResult> r = read_cve_record(read_file(kRecords / "CVE-2099-10001.json"), "x");
  EXPECT_TRUE(r);
  return r ? r->entry : KbEntry{};
}

std::string verdict(const KbMatch& m, const KernelRelease& k) {
  return std::string(to_string(m.verdict)) + ": " + kb_verdict_text(m, kb_kernel(k));
}

TEST(Verdicts, StableBranchesFromTheRecord) {
  KbEntry e = drain_entry();  // introduced 5.10, fixed 6.8, stable 6.1.78 and 6.6.17
  auto judge_on = [&](std::string_view release) {
    KernelRelease k = classify_kernel_release(release);
    KbMatch m = judge(e, k);
    return std::make_pair(m, verdict(m, k));
  };
  auto [fixed_stable, t1] = judge_on("6.1.100");
  EXPECT_EQ(fixed_stable.basis, KbBasis::stable_has_fix);
  EXPECT_EQ(t1, "fixed: this kernel (6.1.100) has the fix (6.1.y since 6.1.78)");
  auto [lacks, t2] = judge_on("6.1.50");
  EXPECT_EQ(lacks.basis, KbBasis::stable_lacks_fix);
  EXPECT_EQ(t2,
            "not_fixed: this kernel (6.1.50) lacks the fix; upgrade to 6.1.78 or later (the first 6.1.y release "
            "with it; upstream since 6.8)");
  auto [no_branch_fix, t3] = judge_on("6.5.3");
  EXPECT_EQ(no_branch_fix.basis, KbBasis::no_stable_fix);
  EXPECT_THAT(t3, HasSubstr("no 6.5.y release has it (fixed upstream in 6.8, and in 6.1.78 and 6.6.17)"));
  auto [mainline, t4] = judge_on("6.8.2");
  EXPECT_EQ(mainline.basis, KbBasis::upstream_has_fix);
  auto [older, t5] = judge_on("5.4.200");
  EXPECT_EQ(older.verdict, KbVerdict::unknown);
  EXPECT_EQ(older.basis, KbBasis::introduced_later);
  EXPECT_THAT(t5, HasSubstr("before 5.10 where the bug came in"));
  // A distro kernel: its base release decides when it has the fix; when it
  // does not, only a changelog can say whether the distro backported it.
  auto [debian_new, t6] = judge_on("Debian 6.1.192-2");
  EXPECT_EQ(debian_new.basis, KbBasis::stable_has_fix);
  EXPECT_EQ(t6, "fixed: this kernel (Debian 6.1.192-2) is based on 6.1.192, which has the fix (6.1.y since 6.1.78)");
  auto [debian_old, t7] = judge_on("Debian 6.1.50-1");
  EXPECT_EQ(debian_old.verdict, KbVerdict::unknown);
  EXPECT_EQ(debian_old.basis, KbBasis::no_backport_known);
  EXPECT_THAT(t7,
              HasSubstr("before 6.1.78 where 999999999999 (\"zz: drain the queue before freeing it\") reached 6.1.y"));
}

// The fixture records plus the fixture Debian changelog, loaded the way
// `ktriage analyze --kb DIR` loads them.
KnowledgeBase with_changelog(const ScratchDir& dir, std::string_view toml = {}) {
  fs::copy_file(imported().index, dir / "cves.sqlite", fs::copy_options::overwrite_existing);
  KbImportOptions o;
  o.debian_changelogs = {kData / "changelog.Debian"};
  o.rpm_changelogs = {kData / "rpm-changelog.txt"};
  o.output = dir / "distro.sqlite";
  Expected<KbImportResult> r = kb_import(o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!toml.empty()) std::ofstream(dir / "site.toml") << toml;
  Expected<KnowledgeBase> kb = KnowledgeBase::load({dir.path()});
  EXPECT_TRUE(kb) << (kb ? "" : kb.error().message);
  return kb ? std::move(*kb) : KnowledgeBase();
}

TEST(Verdicts, DistroChangelogsSayWhatTheDistroCarries) {
  ScratchDir dir("kb-verdicts-changelog");
  KnowledgeBase kb = with_changelog(dir);
  auto judge_on = [&](std::string_view id, std::string_view release) {
    KernelRelease k = classify_kernel_release(release);
    KbMatch m = kb.judge(*kb.find(id), k);
    return std::make_pair(m, verdict(m, k));
  };
  // No 6.1.y release has the ring fix, but Debian backported it in 6.1.192-2.
  auto [carried, t1] = judge_on("CVE-2099-10002", "Debian 6.1.192-2");
  EXPECT_EQ(carried.basis, KbBasis::carried);
  EXPECT_EQ(t1, "fixed: this kernel (Debian 6.1.192-2) already carries the fix (debian since 6.1.192-2)");
  auto [before, t2] = judge_on("CVE-2099-10002", "Debian 6.1.192-1");
  EXPECT_EQ(t2, "not_fixed: this kernel (Debian 6.1.192-1) lacks the fix; upgrade to 6.1.192-2 or later");
  // The drain fix came with the 6.1.78 stable update, which Debian merged in 6.1.82-1.
  auto [merged, t3] = judge_on("CVE-2099-10001", "Debian 6.1.76-1");
  EXPECT_EQ(t3, "not_fixed: this kernel (Debian 6.1.76-1) lacks the fix; upgrade to 6.1.82-1 or later");
  // A fix the changelog covering this kernel does not list.
  KbEntry later = *kb.find("CVE-2099-10002");
  later.id = later.cve = "CVE-2099-10009";
  later.subject = "zz: a fix Debian never took";
  auto k = classify_kernel_release("Debian 6.1.192-2");
  KbMatch lacking = kb.judge(later, k);
  EXPECT_EQ(lacking.basis, KbBasis::changelog_lacks_fix);
  EXPECT_EQ(verdict(lacking, k),
            "not_fixed: this kernel (Debian 6.1.192-2) lacks the fix: the debian changelog up to "
            "6.1.192-2 does not list it (fixed upstream in 7.0, and in 6.12.75)");
  // ... but a kernel newer than every changelog is not judged by them.
  auto newer = classify_kernel_release("Debian 6.1.200-1");
  EXPECT_EQ(kb.judge(later, newer).basis, KbBasis::no_backport_known);
  // Without a kernel: every line that carries it.
  KbMatch unknown = kb.judge(*kb.find("CVE-2099-10001"), KernelRelease{});
  EXPECT_EQ(kb_carried_by_text(unknown, {}), "debian 6.1.82-1 and rhel6 2.6.32-696.el6");
}

TEST(Verdicts, RpmChangelogByBugIdForHandWrittenEntries) {
  ScratchDir dir("kb-verdicts-rpm");
  KnowledgeBase kb = with_changelog(dir, R"(
[[bug]]
id = "xfs-log-force"
title = "XFS deep log force"
references = ["https://bugzilla.redhat.com/show_bug.cgi?id=1028831"]
[bug.match]
frames = ["^xfs_buf_lock$"]
[bug.fix]
fixed_in = "3.14"
)");
  const KbEntry* e = nullptr;
  for (const KbEntry& x : kb.entries())
    if (x.id == "xfs-log-force") e = &x;
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->bugs, ElementsAre("rhbz:1028831"));
  KernelRelease k696 = classify_kernel_release("2.6.32-696.el6.x86_64");
  EXPECT_EQ(verdict(kb.judge(*e, k696), k696),
            "fixed: this kernel (2.6.32-696.el6) already carries the fix (rhel6 since 2.6.32-695.el6)");
  KernelRelease k600 = classify_kernel_release("2.6.32-600.el6.x86_64");
  EXPECT_EQ(to_string(kb.judge(*e, k600).verdict), "not_fixed");
}

TEST(Verdicts, HandWrittenEntryTakesItsFixFromACveRecord) {
  ScratchDir dir("kb-verdicts-cve-ref");
  KnowledgeBase kb = with_changelog(dir, R"(
[[bug]]
id = "site-zz-hang"
title = "our zz hang"
[bug.match]
frames = ["^zz_"]
[bug.fix]
cve = "CVE-2099-10001"
)");
  std::optional<KbEntry> e = kb.find("site-zz-hang");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fixed_in, "6.8");
  EXPECT_THAT(e->stable_fixes, ElementsAre("6.1.78", "6.6.17"));
  EXPECT_EQ(e->short_name, "CVE-2099-10001");
  Analysis a;
  a.reports = parse_log(kDrainCrash);
  KbVerdicts v = kb.match(a, "6.1.50");
  // The record itself matches too, but the hand-written entry stands for it.
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_EQ(v.matches[0].id, "site-zz-hang");
  EXPECT_EQ(v.matches[0].cve, "CVE-2099-10001");
  EXPECT_EQ(kb_summary_text(v.matches, v.summary),
            "6.1.50 (upstream): this kernel lacks CVE-2099-10001: upgrade to 6.1.78 or later");
  // Without it, the record's own entry.
  KnowledgeBase plain;
  ASSERT_TRUE(plain.add_index(dir / "cves.sqlite"));
  KbVerdicts p = plain.match(a, "6.1.50");
  ASSERT_EQ(p.matches.size(), 1u);
  EXPECT_EQ(p.matches[0].id, "CVE-2099-10001");
  EXPECT_EQ(p.matches[0].strength, KbStrength::likely);

  ScratchDir missing("kb-verdicts-cve-missing");
  std::ofstream(missing / "site.toml") << "[[bug]]\nid = \"x\"\ntitle = \"x\"\n[bug.match]\nframes = [\"a\"]\n"
                                          "[bug.fix]\ncve = \"CVE-2099-99999\"\n";
  Expected<KnowledgeBase> bad = KnowledgeBase::load({missing.path()});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("site.toml:1:1: bug.fix.cve: CVE-2099-99999 is in no loaded index"));
}

}  // namespace
}  // namespace ktriage

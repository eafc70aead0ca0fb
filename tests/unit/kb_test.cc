// Knowledge base: loader errors (file, line, field), matching conditions,
// verdicts against the shipped data/kb on hand-built analyses, hostile
// patterns, and the founding case through parser + diagnose + KB.
#include "ktriage/kb.h"
#include "ktriage/kernel_facts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "ktriage/diagnose.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::read_file;

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const fs::path kShipped = fs::path(KTRIAGE_SOURCE_DIR) / "data" / "kb";
const fs::path kBad = fs::path(KTRIAGE_SOURCE_DIR) / "tests" / "unit" / "data" / "kb";

KnowledgeBase shipped() {
  Expected<KnowledgeBase> kbOrErr = KnowledgeBase::load({kShipped});
  EXPECT_TRUE(kbOrErr) << (kbOrErr ? "" : kbOrErr.error().message);
  return kbOrErr ? std::move(*kbOrErr) : KnowledgeBase();
}

KnowledgeBase from_toml(std::string_view text) {
  KnowledgeBase kb;
  Expected<bool> ok = kb.add_toml(text, "test.toml");
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  return kb;
}

std::string load_error(std::string_view text) {
  KnowledgeBase kb;
  Expected<bool> ok = kb.add_toml(text, "test.toml");
  return ok ? "" : ok.error().message;
}

Frame frame(std::string function, std::string module = "", bool reliable = true) {
  Frame f;
  f.function = std::move(function);
  f.module = std::move(module);
  f.reliable = reliable;
  return f;
}

// The founding case as the parser and the analyses describe it: a
// "scheduling while atomic" report and an Oops with an unreliable XFS
// log-completion trace, linked by a thread_info-corrupting stack overflow.
Analysis seed_like(std::string cause = "stack_overflow", std::string id = "stack_overflow.thread_info") {
  Analysis a;
  Report atomic;
  atomic.kind = CrashKind::scheduling_while_atomic;
  atomic.title = "BUG: scheduling while atomic in task_rq_lock";
  atomic.preempt_count = 0xffff8811;
  Report oops;
  oops.kind = CrashKind::oops_paging;
  oops.title = "BUG: unable to handle kernel paging request in task_rq_lock";
  oops.arch = Arch::x86_64;
  for (const char* f : {"task_rq_lock", "try_to_wakeup", "wake_up_process", "__up"})
    oops.frames.push_back(frame(f, "", false));
  for (const char* f : {"xfs_buf_unlock", "xfs_buf_item_unpin", "xfs_trans_committed_bulk", "xlog_state_do_callback",
                        "xlog_iodone", "xfs_buf_iodone_work"})
    oops.frames.push_back(frame(f, "xfs", false));
  a.reports = {atomic, oops};
  Finding f;
  f.id = std::move(id);
  f.cause = std::move(cause);
  f.title = "kernel stack overflow corrupted thread_info";
  f.reports = {0, 1};
  a.findings = {f};
  return a;
}

// The verdicts in words, as the renderers say them.
std::string text(const KbVerdicts& v, const KbMatch& m) { return kb_verdict_text(m, kb_kernel(v.kernel)); }
std::string summary(const KbVerdicts& v) { return kb_summary_text(v.matches, v.summary); }

const KbMatch* find(const KbVerdicts& v, std::string_view id) {
  for (const KbMatch& m : v.matches)
    if (m.id == id) return &m;
  return nullptr;
}

constexpr std::string_view k16K = "x86_64-8k-stack-overflow";
constexpr std::string_view kRhbz = "rhbz-1028831-xfs-buf-lock-log-force";
constexpr std::string_view kAllocWq = "xfs-alloc-workqueue";

// --- the shipped data -------------------------------------------------------

TEST(KbShipped, LoadsTheSeedEntriesWithTheirFacts) {
  KnowledgeBase kb = shipped();
  ASSERT_GE(kb.entries().size(), 3u);
  const KbEntry* stack = nullptr;
  const KbEntry* wq = nullptr;
  const KbEntry* rhbz = nullptr;
  for (const KbEntry& e : kb.entries()) {
    if (e.id == k16K) stack = &e;
    if (e.id == kAllocWq) wq = &e;
    if (e.id == kRhbz) rhbz = &e;
  }
  ASSERT_TRUE(stack && wq && rhbz);
  EXPECT_TRUE(stack->commit.starts_with("6538b8e"));
  EXPECT_EQ(stack->subject, "x86_64: expand kernel stack to 16K");
  EXPECT_EQ(stack->fixed_in, "3.15");
  EXPECT_EQ(stack->committed, "2014-05-29");
  EXPECT_EQ(stack->carried_by.at("rhel6"), "2.6.32-520.el6");
  EXPECT_THAT(stack->references, ::testing::Contains("https://lwn.net/Articles/600647/"));
  EXPECT_TRUE(wq->commit.starts_with("c999a22"));
  EXPECT_EQ(wq->subject, "xfs: introduce an allocation workqueue");
  EXPECT_EQ(wq->fixed_in, "3.4");
  EXPECT_EQ(rhbz->carried_by.at("rhel6"), "2.6.32-495.el6");
  EXPECT_THAT(rhbz->references[0], HasSubstr("1028831"));
}

// The 16 KiB stack is a fact twice: lib/kernel's THREAD_SIZE table (what
// the analyses assume) and the shipped known-bug entry (which kernels carry
// the fix). They must say the same.
TEST(KbShipped, SixteenKStackEntryAgreesWithTheKernelTable) {
  KnowledgeBase kb = shipped();
  std::optional<KbEntry> stack = kb.find(k16K);
  ASSERT_TRUE(stack);
  const ThreadSizeChange* change = nullptr;
  for (const ThreadSizeChange& c : thread_size_changes())
    if (c.arch == Arch::x86_64 && !c.since.empty()) change = &c;
  ASSERT_NE(change, nullptr);
  EXPECT_EQ(stack->fixed_in, change->since);
  EXPECT_TRUE(change->commit.starts_with(stack->commit.substr(0, 12)));
  for (const Backport& b : change->backports) {
    if (b.line.empty()) continue;
    ASSERT_TRUE(stack->carried_by.contains(std::string(b.line))) << b.line;
    EXPECT_EQ(stack->carried_by.at(std::string(b.line)), b.version);
  }
}

TEST(KbShipped, SeedWithoutVersionSaysWhichKernelToUpgradeTo) {
  KbVerdicts v = shipped().match(seed_like());
  EXPECT_FALSE(v.kernel.known());
  ASSERT_EQ(v.matches.size(), 3u);
  for (const KbMatch& m : v.matches) EXPECT_EQ(to_string(m.verdict), "unknown") << m.id;
  EXPECT_THAT(text(v, *find(v, k16K)), HasSubstr("upgrade to 2.6.32-520.el6 or later"));
  EXPECT_THAT(text(v, *find(v, kRhbz)), HasSubstr("upgrade to 2.6.32-495.el6 or later"));
  EXPECT_THAT(summary(v), HasSubstr("upgrade to 2.6.32-520.el6 or later on rhel6"));
  EXPECT_THAT(summary(v), HasSubstr("3.15 or later upstream"));
  // KB order among equal verdicts: the 16K stack first.
  EXPECT_EQ(v.matches[0].id, k16K);
}

TEST(KbShipped, Seed431LacksBothFixes) {
  KbVerdicts v = shipped().match(seed_like(), "2.6.32-431.el6.x86_64");
  EXPECT_EQ(v.kernel.line, "rhel6");
  ASSERT_EQ(v.matches.size(), 3u);
  EXPECT_EQ(to_string(find(v, k16K)->verdict), "not_fixed");
  EXPECT_EQ(find(v, k16K)->carried_by, "2.6.32-520.el6");
  EXPECT_EQ(text(v, *find(v, k16K)),
            "this kernel (2.6.32-431.el6) lacks the fix; upgrade to 2.6.32-520.el6 or later");
  EXPECT_EQ(to_string(find(v, kRhbz)->verdict), "not_fixed");
  EXPECT_EQ(to_string(find(v, kAllocWq)->verdict), "unknown");  // no RHEL 6 backport on record
  EXPECT_THAT(summary(v), ::testing::StartsWith("2.6.32-431.el6 (rhel6): this kernel lacks both fixes"));
  EXPECT_THAT(summary(v), HasSubstr("upgrade to 2.6.32-520.el6 or later"));
  EXPECT_THAT(summary(v), HasSubstr("look at c999a22"));
  // not_fixed first.
  EXPECT_EQ(to_string(v.matches[0].verdict), "not_fixed");
  EXPECT_EQ(to_string(v.matches[1].verdict), "not_fixed");
}

TEST(KbShipped, Seed573AlreadyCarriesThe16KStack) {
  KbVerdicts v = shipped().match(seed_like(), "2.6.32-573.el6.x86_64");
  ASSERT_EQ(v.matches.size(), 3u);
  EXPECT_EQ(to_string(find(v, k16K)->verdict), "fixed");
  EXPECT_EQ(to_string(find(v, kRhbz)->verdict), "fixed");
  EXPECT_EQ(to_string(find(v, kAllocWq)->verdict), "unknown");
  EXPECT_EQ(v.matches[0].id, kAllocWq);
  EXPECT_THAT(summary(v), HasSubstr("this kernel already carries the 16K stack"));
  EXPECT_THAT(summary(v), HasSubstr("; look at c999a22"));
  EXPECT_THAT(text(v, *find(v, kAllocWq)), HasSubstr("before 3.4"));
}

TEST(KbShipped, KernelFromTheLogWhenNoFlag) {
  Analysis a = seed_like();
  a.reports[1].kernel_release = "2.6.32-520.el6.x86_64";
  KbVerdicts v = shipped().match(a);
  EXPECT_EQ(v.kernel.version, "2.6.32-520.el6");
  EXPECT_EQ(to_string(find(v, k16K)->verdict), "fixed");  // 520 itself carries it
  // The flag wins over the log, and Analysis::kernel_version over the log.
  EXPECT_EQ(to_string(find(shipped().match(a, "2.6.32-95.el6"), k16K)->verdict), "not_fixed");
  a.kernel_version = "2.6.32-431.el6";
  EXPECT_EQ(to_string(find(shipped().match(a), k16K)->verdict), "not_fixed");
}

TEST(KbShipped, UpstreamKernels) {
  KnowledgeBase kb = shipped();
  // 3.2: before both upstream fixes; the RHEL bug does not apply.
  KbVerdicts old = kb.match(seed_like(), "3.2.0");
  EXPECT_EQ(to_string(find(old, k16K)->verdict), "not_fixed");
  EXPECT_EQ(to_string(find(old, kAllocWq)->verdict), "not_fixed");
  EXPECT_EQ(find(old, kRhbz), nullptr);
  EXPECT_THAT(summary(old), HasSubstr("lacks both fixes"));
  EXPECT_THAT(summary(old), HasSubstr("upgrade to 3.15 or later"));
  // 3.10: has c999a22 (out of that entry's range), lacks the 16K stack.
  KbVerdicts mid = kb.match(seed_like(), "3.10.0");
  EXPECT_EQ(find(mid, kAllocWq), nullptr);
  EXPECT_EQ(to_string(find(mid, k16K)->verdict), "not_fixed");
  // A 16K-stack kernel: these bugs are not the explanation.
  EXPECT_TRUE(kb.match(seed_like(), "5.15.0").matches.empty());
  EXPECT_TRUE(kb.match(seed_like(), "3.15-rc8").matches.size() == 1);
}

TEST(KbShipped, DistroWithoutBackportDataIsUnknownNotGuessed) {
  KbVerdicts v = shipped().match(seed_like(), "3.10.0-1160.el7.x86_64");
  const KbMatch* m = find(v, k16K);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(to_string(m->verdict), "unknown");
  EXPECT_THAT(text(v, *m), HasSubstr("no rhel7 kernel is known"));
  EXPECT_EQ(find(v, kRhbz), nullptr);  // RHEL 6 only
}

TEST(KbShipped, NegativeCases) {
  KnowledgeBase kb = shipped();
  // A NULL dereference in XFS is not a stack overflow.
  EXPECT_TRUE(kb.match(seed_like("null_deref", "fault_address.null"), "2.6.32-431.el6").matches.empty());
  // Pointer-like preempt count read as memory corruption, not an overflow.
  EXPECT_TRUE(kb.match(seed_like("memory_corruption", "memory_corruption.preempt_count")).matches.empty());
  // No findings at all.
  Analysis plain = seed_like();
  plain.findings.clear();
  EXPECT_TRUE(kb.match(plain).matches.empty());
  // A stack overflow on arm64 is not the x86_64 8 KiB stack.
  Analysis arm = seed_like();
  arm.reports[1].arch = Arch::arm64;
  arm.reports[0].arch = Arch::arm64;
  EXPECT_TRUE(kb.match(arm).matches.empty());
  // A finding that covers other reports only does not count for these.
  Analysis elsewhere = seed_like();
  elsewhere.findings[0].reports = {5};
  EXPECT_TRUE(kb.match(elsewhere).matches.empty());
  // The XFS entries need XFS in the trace; the 16K stack does not.
  Analysis ext4 = seed_like();
  for (Frame& f : ext4.reports[1].frames) f.module.clear(), f.function = "ext4_" + f.function;
  KbVerdicts v = kb.match(ext4, "2.6.32-431.el6");
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_EQ(v.matches[0].id, k16K);
  EXPECT_THAT(summary(v), HasSubstr("lacks the 16K stack"));
}

// --- matching conditions ----------------------------------------------------

TEST(KbMatching, EveryConditionMustHold) {
  KnowledgeBase kb = from_toml(R"(
[[bug]]
id = "all"
title = "all conditions"
[bug.match]
titles = ['paging request in task_rq_lock']
kinds = ["oops_paging"]
frames = ['^xlog_']
modules = ["xfs"]
findings = ["stack_overflow"]
arch = ["x86_64", "i386"]
[bug.fix]
fixed_in = "3.15"
)");
  EXPECT_EQ(kb.match(seed_like()).matches.size(), 1u);
  Analysis a = seed_like();
  a.reports[1].kind = CrashKind::gpf;
  EXPECT_TRUE(kb.match(a).matches.empty());
  a = seed_like();
  a.reports[1].title = "general protection fault in task_rq_lock";
  EXPECT_TRUE(kb.match(a).matches.empty());
  a = seed_like();
  a.findings[0].id = "stack_overflowish";  // a prefix must end at a '.'
  EXPECT_TRUE(kb.match(a).matches.empty());
  a = seed_like();
  a.reports[1].arch = Arch::unknown;  // unknown arch does not exclude ...
  EXPECT_EQ(kb.match(a).matches.size(), 1u);
  EXPECT_TRUE(kb.match(a, "4.19.0-27-arm64").matches.empty());  // ... unless the release names one
  a.reports[1].arch = Arch::arm;  // the release's arch is firmer than the parser's guess
  EXPECT_TRUE(kb.match(a).matches.empty());
  EXPECT_EQ(kb.match(a, "2.6.32-431.el6.x86_64").matches.size(), 1u);
}

TEST(KbMatching, TypesAndIpAndVersionRanges) {
  KnowledgeBase kb = from_toml(R"(
[[bug]]
id = "typed"
title = "KASAN use-after-free in foo"
[bug.match]
types = ['KASAN-.*']
frames = ['^foo_release$']
[bug.match.kernels]
upstream = ">= 5.4, < 6.2"
debian = ">= 6.1.0"
[bug.fix]
commit = "0123456789abcdef0123456789abcdef01234567"
fixed_in = "6.2"
[bug.carried_by]
debian = "6.1.192-2"
)");
  Analysis a;
  Report r;
  r.type = "KASAN-USE-AFTER-FREE-READ";
  r.ip = Symbol{};
  r.ip->function = "foo_release";
  a.reports = {r};
  EXPECT_EQ(kb.match(a).matches.size(), 1u);
  EXPECT_EQ(kb.match(a, "5.10.12").matches.size(), 1u);
  EXPECT_EQ(to_string(kb.match(a, "5.10.12").matches[0].verdict), "not_fixed");
  EXPECT_TRUE(kb.match(a, "5.3.1").matches.empty());
  EXPECT_TRUE(kb.match(a, "6.2.0").matches.empty());
  // 6.2-rc1 sorts before 6.2, so it is in range; whether an rc has the fix is not known.
  KbVerdicts rc = kb.match(a, "6.2-rc1");
  ASSERT_EQ(rc.matches.size(), 1u);
  EXPECT_EQ(to_string(rc.matches[0].verdict), "unknown");
  EXPECT_THAT(text(rc, rc.matches[0]), HasSubstr("release candidate"));
}

TEST(KbMatching, KernelRangesPerLine) {
  KbCondition c;
  c.causes = {"stack_overflow"};
  c.kernels["rhel6"] = KbVersionRange{">= 2.6.32-358.el6, < 2.6.32-754.el6",
                                      {{">=", "2.6.32-358.el6"}, {"<", "2.6.32-754.el6"}}};
  c.kernels["ubuntu"] = KbVersionRange{"!= 5.15.0-91", {{"!=", "5.15.0-91"}}};
  struct Case {
    const char* release;
    bool in;
  };
  for (Case k : {Case{"2.6.32-358.el6.x86_64", true}, Case{"2.6.32-573.el6", true}, Case{"2.6.32-754.el6", false},
                 Case{"2.6.32-279.el6", false}, Case{"2.6.32-754.35.1.el6", false},
                 Case{"3.10.0-1160.el7", false},  // rhel7 not listed, no upstream range
                 Case{"5.15.0-91-generic", false}, Case{"5.15.0-92-generic", true}, Case{"", true}}) {
    SCOPED_TRACE(k.release);
    EXPECT_EQ(kernel_in_range(c, classify_kernel_release(k.release)), k.in);
  }
  c.kernels["upstream"] = KbVersionRange{"< 3.15", {{"<", "3.15"}}};
  EXPECT_TRUE(kernel_in_range(c, classify_kernel_release("3.10.0-1160.el7")));  // by its base 3.10.0
  EXPECT_FALSE(kernel_in_range(c, classify_kernel_release("4.18.0-305.el8")));
  EXPECT_TRUE(kernel_in_range(c, classify_kernel_release("3.14.79")));
}

TEST(KbMatching, DebianVerdictsNeedThePackageVersion) {
  KnowledgeBase kb = from_toml(R"(
[[bug]]
id = "deb"
title = "a Debian-fixed bug"
[bug.match]
kinds = ["warning"]
[bug.fix]
fixed_in = "6.2"
[bug.carried_by]
debian = "6.1.192-2"
)");
  Analysis a;
  Report r;
  r.kind = CrashKind::warning;
  r.kernel_release = "6.1.0-56-cloud-amd64";
  a.reports = {r};
  KbVerdicts abi_only = kb.match(a);
  ASSERT_EQ(abi_only.matches.size(), 1u);
  EXPECT_EQ(to_string(abi_only.matches[0].verdict), "unknown");
  EXPECT_THAT(text(abi_only, abi_only.matches[0]), HasSubstr("Debian ABI (6.1.0-56)"));
  a.reports[0].kernel_version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1 (2025-05-22)";
  EXPECT_EQ(to_string(kb.match(a).matches[0].verdict), "not_fixed");
  a.reports[0].kernel_version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2025-01-01)";
  EXPECT_EQ(to_string(kb.match(a).matches[0].verdict), "fixed");
  EXPECT_EQ(to_string(kb.match(a, "Debian 6.1.192-1").matches[0].verdict), "not_fixed");
  EXPECT_EQ(to_string(kb.match(a, "6.2.1").matches[0].verdict), "fixed");
}

// --- loader errors ----------------------------------------------------------

TEST(KbLoader, ErrorsNameFileLineAndField) {
  struct Case {
    const char* file;
    const char* expected;  // "file:line:col: field: ..."
  };
  const Case cases[] = {
      {"bad-syntax.toml", "bad-syntax.toml:4:"},
      {"bad-field-type.toml", "bad-field-type.toml:7:10: bug[0].fix.commit: expected a string, got integer"},
      {"bad-regex.toml", "bad-regex.toml:7:3: bug[0].match.frames[1]: invalid regular expression"},
      {"bad-carried-by.toml", "bad-carried-by.toml:7:9: bug[0].carried_by.rhel6: \"3.10.0-1160.el7\" is not a rhel6 kernel"},
      {"unknown-key.toml", "unknown-key.toml:5:1: bug[0].match.frame: unknown key"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    KnowledgeBase kb;
    Expected<bool> ok = kb.add_file(kBad / c.file);
    ASSERT_FALSE(ok);
    EXPECT_THAT(ok.error().message, HasSubstr(c.expected));
    EXPECT_THAT(ok.error().message, HasSubstr((kBad / c.file).string()));
  }
}

TEST(KbLoader, SemanticErrors) {
  EXPECT_THAT(load_error("[[bug]]\ntitle = \"t\"\n[bug.match]\ncauses = [\"x\"]\n"),
              HasSubstr("test.toml:1:1: bug[0].id: missing (required)"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.fix]\nfixed_in = \"3.4\"\n"),
              HasSubstr("bug[0].match: missing"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\narch = [\"x86_64\"]\n[bug.fix]\nfixed_in = \"3.4\"\n"),
              HasSubstr("test.toml:4:1: bug[0].match: no condition on the report"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n"),
              HasSubstr("bug[0]: no fix"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.fix]\nfixed_in = \"three\"\n"),
              HasSubstr("test.toml:7:12: bug[0].fix.fixed_in: expected an upstream release"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.fix]\ncommit = \"XYZ\"\n"),
              HasSubstr("bug[0].fix.commit: expected a lower-case hex commit id"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\nkinds = [\"oops\"]\n[bug.fix]\nfixed_in = \"3.4\"\n"),
              HasSubstr("test.toml:5:9: bug[0].match.kinds: unknown report kind \"oops\""));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.match.kernels]\n"
                         "rhel6 = \"about 2.6\"\n[bug.fix]\nfixed_in = \"3.4\"\n"),
              HasSubstr("test.toml:7:9: bug[0].match.kernels.rhel6: bad version range"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.carried_by]\n"
                         "redhat = \"2.6.32-520.el6\"\n"),
              HasSubstr("test.toml:7:1: bug[0].carried_by.redhat: unknown kernel line"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.fix]\nfixed_in = \"3.4\"\n"
                         "[[bug]]\nid = \"x\"\ntitle = \"t\"\n[bug.match]\ncauses = [\"c\"]\n[bug.fix]\nfixed_in = \"3.4\"\n"),
              HasSubstr("bug[1].id: duplicate id \"x\""));
  EXPECT_THAT(load_error("bugs = 1\n"), HasSubstr("test.toml:1:1: (top level).bugs: unknown key"));
  EXPECT_THAT(load_error("[bug]\nid = \"x\"\n"), HasSubstr("bug: expected [[bug]] tables"));
  EXPECT_EQ(load_error(""), "");  // an empty file is an empty KB
}

TEST(KbLoader, DirectoriesOverrideAndMissingDirectoryIsAnError) {
  Expected<KnowledgeBase> missing = KnowledgeBase::load({kShipped, "/nonexistent/kb"});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("/nonexistent/kb"));

  const test::ScratchDir dir("ktriage-kb-test");
  std::ofstream(dir / "local.toml") << R"([[bug]]
id = "x86_64-8k-stack-overflow"
title = "site override"
[bug.match]
causes = ["stack_overflow"]
[bug.carried_by]
rhel6 = "2.6.32-600.el6"
)";
  Expected<KnowledgeBase> kb = KnowledgeBase::load({kShipped, dir.path()});
  ASSERT_TRUE(kb) << kb.error().message;
  KbVerdicts v = kb->match(seed_like(), "2.6.32-573.el6");
  EXPECT_EQ(find(v, k16K)->title, "site override");
  EXPECT_EQ(to_string(find(v, k16K)->verdict), "not_fixed");

  // The same id twice in one directory is an error.
  std::ofstream(dir / "other.toml") << R"([[bug]]
id = "x86_64-8k-stack-overflow"
title = "again"
[bug.match]
causes = ["stack_overflow"]
[bug.fix]
fixed_in = "3.15"
)";
  Expected<KnowledgeBase> dup = KnowledgeBase::load({dir.path()});
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup.error().message, HasSubstr("duplicate id \"x86_64-8k-stack-overflow\""));
}

// --- hostile patterns -------------------------------------------------------

TEST(KbHostile, EvilRegexDoesNotHang) {
  // Catastrophic backtracking for a backtracking engine; linear for RE2.
  KnowledgeBase kb = from_toml(R"(
[[bug]]
id = "evil"
title = "evil"
[bug.match]
titles = ['^(a+)+$', '(x+x+)+y', '(.*a){20}']
frames = ['(\w+\s?)*$']
[bug.fix]
fixed_in = "3.4"
)");
  Analysis a;
  Report r;
  r.title = std::string(100000, 'a') + "!";
  r.header = std::string(100000, 'x');
  r.alt_titles = {std::string(50000, 'a')};
  for (int i = 0; i < 2000; ++i) r.frames.push_back(frame(std::string(200, 'w') + " !"));
  a.reports = {r};
  auto start = std::chrono::steady_clock::now();
  KbVerdicts v = kb.match(a);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
  EXPECT_EQ(v.matches.size(), 1u);  // '(.*a){20}' and the frame pattern match
}

TEST(KbHostile, OversizedPatternsAreLoadErrorsNotHangs) {
  std::string error = load_error(
      "[[bug]]\nid = \"big\"\ntitle = \"t\"\n[bug.match]\ntitles = ['((a{1000}){1000}){1000}']\n"
      "[bug.fix]\nfixed_in = \"3.4\"\n");
  EXPECT_THAT(error, HasSubstr("test.toml:5:"));
  EXPECT_THAT(error, HasSubstr("bug[0].match.titles[0]: invalid regular expression"));
  std::string longer = "[[bug]]\nid = \"long\"\ntitle = \"t\"\n[bug.match]\ntitles = ['" + std::string(5000, 'a') +
                       "']\n[bug.fix]\nfixed_in = \"3.4\"\n";
  EXPECT_THAT(load_error(longer), HasSubstr("pattern longer than"));
}

TEST(KbHostile, MalformedDocumentsAreErrorsNotCrashes) {
  // Deep nesting, NUL bytes, invalid UTF-8, a huge file.
  std::string deep = "x = " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  EXPECT_THAT(load_error(deep), HasSubstr("test.toml:1:"));
  EXPECT_THAT(load_error(std::string("[[bug]]\nid = \"a\0b\"\n", 18)), HasSubstr("test.toml:2:"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"\xff\xfe\"\n"), HasSubstr("test.toml:2:"));
  EXPECT_THAT(load_error("[[bug]]\nid = \"x\"\ntitle = \"t\"\n[[bug.match]]\n"), HasSubstr("bug[0].match: expected a table, got array"));

  fs::path big = fs::temp_directory_path() / ("ktriage-kb-big-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(big) << std::string(2 << 20, '#');
  KnowledgeBase kb;
  Expected<bool> ok = kb.add_file(big);
  ASSERT_FALSE(ok);
  EXPECT_THAT(ok.error().message, HasSubstr("larger than"));
  fs::remove(big);
}

TEST(KbShipped, EveryEntryCitesItsFacts) {
  KnowledgeBase kb = shipped();
  for (const KbEntry& e : kb.entries()) {
    SCOPED_TRACE(e.id);
    EXPECT_FALSE(e.references.empty());
    for (const std::string& r : e.references) EXPECT_TRUE(r.starts_with("https://")) << r;
    if (!e.commit.empty()) {
      EXPECT_EQ(e.commit.size(), 40u);  // full ids in shipped data
      EXPECT_FALSE(e.subject.empty());
    }
    EXPECT_FALSE(e.advice.empty());
    // Each entry is about a crash the analyses can name, not any report.
    EXPECT_FALSE(e.match.causes.empty() && e.match.findings.empty() && e.match.titles.empty());
  }
}

// --- matching without the diagnosis (ingest's shortcut) --------------------

TEST(KbMatching, NeedsDiagnosisOnlyWhenAnEntryCouldMatchOnACause) {
  KnowledgeBase kb = shipped();
  // The seed's kernel is unknown here, so the 8K-stack entries could hold.
  EXPECT_TRUE(kb.needs_diagnosis(seed_like()));
  EXPECT_TRUE(kb.needs_diagnosis(seed_like(), "2.6.32-431.el6.x86_64"));
  // Every cause-naming entry is for kernels before 3.15, or RHEL 6.
  EXPECT_FALSE(kb.needs_diagnosis(seed_like(), "6.1.0-13-amd64"));
  Analysis arm = seed_like();
  for (Report& r : arm.reports) r.kernel_release = "2.6.32-431.el6.aarch64";
  EXPECT_FALSE(kb.needs_diagnosis(arm));  // x86_64 only
  // An entry that names a finding and nothing else needs it for any report.
  KnowledgeBase own = from_toml("[[bug]]\nid = \"f\"\ntitle = \"t\"\nreferences = [\"r\"]\n"
                                "[bug.match]\nfindings = [\"stack_overflow\"]\n[bug.fix]\nfixed_in = \"3.4\"\n");
  EXPECT_TRUE(own.needs_diagnosis(arm));
  EXPECT_FALSE(KnowledgeBase().needs_diagnosis(arm));
}

// Whatever needs_diagnosis() says, skipping the diagnosis when it says no
// must not change a single match: on every report of the shared corpora.
TEST(KbMatching, SkippingTheDiagnosisChangesNoMatchOnTheCorpora) {
  const fs::path shared = fs::path(KTRIAGE_SHARED_DIR);
  if (!fs::is_directory(shared / "corpus")) GTEST_SKIP() << "no shared corpus";
  KnowledgeBase kb = shipped();
  auto ids = [](const KbVerdicts& v) {
    std::vector<std::string> out;
    for (const KbMatch& m : v.matches) out.push_back(m.id + " " + std::string(to_string(m.verdict)));
    return out;
  };
  size_t reports = 0, skipped = 0, matched = 0;
  for (const fs::path& dir : {shared / "corpus" / "syzkaller" / "linux" / "report", shared / "corpus" / "distro" / "logs",
                             shared / "seed"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      for (Report& r : parse_log(read_file(e.path()))) {
        Analysis a;
        a.reports.push_back(std::move(r));
        const bool needed = kb.needs_diagnosis(a);
        a.findings = diagnose(a.reports);
        if (a.findings.empty()) continue;
        ++reports;
        const std::vector<std::string> with = ids(kb.match(a));
        matched += !with.empty();
        if (needed) continue;
        ++skipped;
        a.findings.clear();
        EXPECT_EQ(ids(kb.match(a)), with) << e.path();
      }
    }
  }
  EXPECT_GT(reports, 500u);
  EXPECT_GT(skipped, reports / 2) << "the shortcut should apply to most reports";
  EXPECT_GT(matched, 100u) << reports << " reports, " << skipped << " without diagnosis";
}

// --- the founding case end to end ------------------------------------------

Analysis analyse_seed(const std::string& text, const char* version) {
  Analysis a;
  a.reports = parse_log(text);
  DiagnoseOptions options;
  options.kernel_version = version;
  a.findings = diagnose(a.reports, options);
  return a;
}

std::string seed_text() {
  fs::path log = fs::path(KTRIAGE_SHARED_DIR) / "seed" / "xfs-panic.log";
  return fs::exists(log) ? read_file(log) : "";
}

TEST(KbSeed, ParsedDiagnosedAndMatched) {
  std::string text = seed_text();
  if (text.empty()) GTEST_SKIP() << "shared/seed/xfs-panic.log not available";
  KnowledgeBase kb = shipped();
  KbVerdicts none = kb.match(analyse_seed(text, ""));
  ASSERT_NE(find(none, k16K), nullptr) << summary(none);
  EXPECT_THAT(summary(none), HasSubstr("upgrade to 2.6.32-520.el6 or later"));
  KbVerdicts old = kb.match(analyse_seed(text, "2.6.32-431.el6.x86_64"), "2.6.32-431.el6.x86_64");
  ASSERT_NE(find(old, k16K), nullptr) << summary(old);
  EXPECT_EQ(to_string(find(old, k16K)->verdict), "not_fixed");
  EXPECT_THAT(summary(old), HasSubstr("2.6.32-431.el6 (rhel6): this kernel lacks"));
  KbVerdicts newer = kb.match(analyse_seed(text, "2.6.32-573.el6.x86_64"), "2.6.32-573.el6.x86_64");
  ASSERT_NE(find(newer, k16K), nullptr) << summary(newer);
  EXPECT_EQ(to_string(find(newer, k16K)->verdict), "fixed");
  EXPECT_THAT(summary(newer), HasSubstr("already carries the 16K stack"));
}

// The XFS entries need the XFS frames, which the seed prints without a
// "Call Trace:" line after a "..." cut.
TEST(KbSeed, XfsEntriesFromTheParsedTrace) {
  std::string text = seed_text();
  if (text.empty()) GTEST_SKIP() << "shared/seed/xfs-panic.log not available";
  Analysis probe = analyse_seed(text, "");
  bool xfs_frames = false;
  for (const Report& r : probe.reports)
    for (const Frame& f : r.frames) xfs_frames |= f.module == "xfs";
  if (!xfs_frames) GTEST_SKIP() << "the parser gives no [xfs] frames for the seed's headerless trace (logparse)";
  KnowledgeBase kb = shipped();
  KbVerdicts none = kb.match(probe);
  EXPECT_EQ(none.matches.size(), 3u) << summary(none);
  KbVerdicts old = kb.match(analyse_seed(text, "2.6.32-431.el6.x86_64"), "2.6.32-431.el6.x86_64");
  EXPECT_THAT(summary(old), HasSubstr("lacks both fixes"));
  EXPECT_THAT(summary(old), HasSubstr("upgrade to 2.6.32-520.el6 or later"));
  KbVerdicts newer = kb.match(analyse_seed(text, "2.6.32-573.el6.x86_64"), "2.6.32-573.el6.x86_64");
  EXPECT_THAT(summary(newer), HasSubstr("already carries the 16K stack and the bug 1028831 fix"));
  EXPECT_THAT(summary(newer), HasSubstr("look at c999a22"));
}

}  // namespace
}  // namespace ktriage

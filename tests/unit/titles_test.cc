// syzkaller-convention titles: normalisation, crash types, and titles of
// small hand-written reports run through the whole parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ktriage/logparse.h"
#include "logparse/detectors.h"
#include "logparse/titles.h"

namespace {

using ktriage::logparse::normalize_title;

TEST(NormalizeTitle, Table) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"KASAN: use-after-free Read in foo", "KASAN: use-after-free Read in foo"},
      {"BUG: unable to handle kernel paging request at ffff88003a5b9e40",
       "BUG: unable to handle kernel paging request at ADDR"},
      {"general protection fault: 0000 [#1] SMP", "general protection fault: NUM [#NUM] SMP"},
      {"WARNING in ip6_fragment+0x1052/0x2d80", "WARNING in ip6_fragment"},
      {"INFO: task syz-executor.3:1234 blocked", "INFO: task syz-executor blocked"},
      {"kernel BUG at fs/ext4/inode.c:2345!", "kernel BUG at fs/ext4/inode.c:LINE!"},
      {"BUG: soft lockup - CPU#1 stuck for 22s!", "BUG: soft lockup - CPU stuck for 22s!"},
      {"connect to 10.0.2.15 failed", "connect to IP failed"},
      {"a\tb  \x01 c   ", "a b c"},
      {"nl80211_set_wiphy in cfg80211", "nl80211_set_wiphy in cfg80211"},
  };
  for (const Case& c : cases) EXPECT_EQ(normalize_title(c.in), c.want) << c.in;
}

TEST(NormalizeTitle, CutAt120) {
  std::string long_title(300, 'x');
  EXPECT_EQ(normalize_title(long_title).size(), 120u);
}

// Each detector owns the crash types of the titles it makes.
TEST(CrashType, Table) {
  struct Case {
    const char* detector;
    const char* title;
    const char* type;
  } cases[] = {
      {"BUG:", "KASAN: use-after-free Read in foo", "KASAN-USE-AFTER-FREE-READ"},
      {"BUG:", "KASAN: slab-out-of-bounds Write in foo", "KASAN-WRITE"},
      {"BUG:", "KASAN: null-ptr-deref Read in foo", "KASAN-NULL-POINTER-DEREFERENCE-READ"},
      {"BUG:", "BUG: unable to handle kernel NULL pointer dereference in foo", "NULL-POINTER-DEREFERENCE"},
      {"BUG:", "BUG: unable to handle kernel paging request in foo", "MEMORY_SAFETY_BUG"},
      {"INFO:", "possible deadlock in foo", "LOCKDEP"},
      {"INFO:", "INFO: task hung in foo", "HANG"},
      {"WARNING:", "WARNING in foo", "WARNING"},
      {"WARNING:", "WARNING: refcount bug in foo", "REFCOUNT_WARNING"},
      {"BUG:", "memory leak in foo", "LEAK"},
      {"general protection fault", "general protection fault in foo", "DoS"},
      {"kernel BUG", "kernel BUG in foo", "BUG"},
      {"BUG:", "BUG: stack guard page was hit in foo", ""},
      {"BUG:", "something else entirely", ""},
  };
  for (const Case& c : cases) {
    const ktriage::logparse::Detector* d = nullptr;
    for (const auto& det : ktriage::logparse::detector_table())
      if (det.header == c.detector) d = &det;
    ASSERT_NE(d, nullptr) << c.detector;
    EXPECT_EQ(ktriage::logparse::crash_type(*d, c.title), c.type) << c.title;
  }
}

// First report of a small console log.
ktriage::Report first(const std::string& log) {
  auto reports = ktriage::parse_log(log);
  EXPECT_FALSE(reports.empty());
  return reports.empty() ? ktriage::Report{} : reports.front();
}

TEST(Titles, KasanReport) {
  auto r = first(
      "[   10.000000] ==================================================================\n"
      "[   10.000001] BUG: KASAN: use-after-free in skb_release_data+0x2f1/0x340\n"
      "[   10.000002] Read of size 8 at addr ffff8880129d6be0 by task syz/123\n"
      "[   10.000003] \n"
      "[   10.000004] Call Trace:\n"
      "[   10.000005]  dump_stack+0x107/0x163\n"
      "[   10.000006]  print_address_description.constprop.0+0x1f/0x140\n"
      "[   10.000007]  kasan_report.cold+0x7f/0x111\n"
      "[   10.000008]  skb_release_data+0x2f1/0x340\n"
      "[   10.000009]  kfree_skb+0x10/0x20\n");
  EXPECT_EQ(r.title, "KASAN: use-after-free Read in skb_release_data");
  EXPECT_EQ(r.type, "KASAN-USE-AFTER-FREE-READ");
  EXPECT_EQ(r.frame, "skb_release_data");
  EXPECT_EQ(r.kind, ktriage::CrashKind::kasan);
  EXPECT_EQ(r.alt_titles, std::vector<std::string>{"bad-access in skb_release_data"});
  EXPECT_FALSE(r.corrupted) << r.corrupted_reason;
}

TEST(Titles, WarningUsesRipFrameAndStripsSyscallPrefix) {
  auto r = first(
      "WARNING: CPU: 0 PID: 1 at net/core/dev.c:100 __x64_sys_bind+0x10/0x20\n"
      "Modules linked in:\n"
      "RIP: 0010:__x64_sys_bind+0x10/0x20\n"
      "Call Trace:\n"
      " do_syscall_64+0x33/0x40\n"
      " entry_SYSCALL_64_after_hwframe+0x44/0xa9\n");
  EXPECT_EQ(r.title, "WARNING in sys_bind");  // one wrapper prefix is stripped, the shortest result wins
  EXPECT_EQ(r.kind, ktriage::CrashKind::warning);
  // The title with the wrapper prefix left on is an alternative title.
  EXPECT_NE(std::find(r.alt_titles.begin(), r.alt_titles.end(), "WARNING in __x64_sys_bind"),
            r.alt_titles.end());
}

TEST(Titles, HungTaskPrefersLockAnchors) {
  auto r = first(
      "INFO: task kworker/0:1:12 blocked for more than 143 seconds.\n"
      "Call Trace:\n"
      " __schedule+0x1/0x2\n"
      " schedule+0x1/0x2\n"
      " __mutex_lock+0x1/0x2\n"
      " rtnl_lock+0x1/0x2\n"
      " addrconf_dad_work+0x1/0x2\n");
  EXPECT_EQ(r.title, "INFO: task hung in rtnl_lock");
  EXPECT_EQ(r.kind, ktriage::CrashKind::hung_task);
  EXPECT_EQ(r.type, "HANG");
}

TEST(Titles, MissingStackTraceIsCorrupted) {
  auto r = first("general protection fault: 0000 [#1] SMP KASAN\n");
  EXPECT_TRUE(r.corrupted);
  EXPECT_FALSE(r.corrupted_reason.empty());
}

TEST(Titles, PanicWithoutHeaderIsCorrupted) {
  auto r = first("Kernel panic - not syncing: Fatal exception\n");
  EXPECT_EQ(r.title, "kernel panic: Fatal exception");
  EXPECT_TRUE(r.corrupted);
  EXPECT_TRUE(r.panicked);
}

TEST(Titles, DemanglesRustAndCxxFrames) {
  auto r = first(
      "BUG: scheduling while atomic: x/1/0x00000002\n"
      "Call Trace:\n"
      " _RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref+0x17e5/0x1860\n");
  EXPECT_EQ(r.title, "BUG: scheduling while atomic in <rust_binder::process::Process>::update_ref");
  auto c = first(
      "BUG: scheduling while atomic: x/1/0x00000002\n"
      "Call Trace:\n"
      " _Z8fakeNameiii+0x1/0x2\n");
  EXPECT_EQ(c.title, "BUG: scheduling while atomic in fakeName");
}

}  // namespace

// Table-driven tests of the small facts the analyses reason with.
#include <gtest/gtest.h>

#include "analysis/context.h"

namespace ktriage::analysis {
namespace {

TEST(AnalysisFacts, ClassifiesX86_64Addresses) {
  struct Case { uint64_t address; AddressClass expected; };
  const Case cases[] = {
      {0x0, AddressClass::null_page},
      {0x18, AddressClass::null_page},
      {0x12e0, AddressClass::null_page},
      {0xdd7ed3a8, AddressClass::user},
      {0x00007ffe80ec0b38, AddressClass::user},
      {0x6b6b6b6b6b6b6b6b, AddressClass::slab_poison_free},
      {0x6b6b6b6b6b6b6b83, AddressClass::slab_poison_free},
      {0x5a5a5a5a5a5a5a5a, AddressClass::slab_poison_inuse},
      {0xa5a5a5a5a5a5a5a5, AddressClass::slab_poison_end},
      {0xdead000000000100, AddressClass::list_poison1},
      {0xdead000000000108, AddressClass::list_poison1},
      {0xdead000000000122, AddressClass::list_poison2},
      {0xdffffc0000000003, AddressClass::kasan_shadow},
      {0x1234567812345678, AddressClass::non_canonical},
      {0xffff88801ff1a140, AddressClass::direct_map},
      {0xffffc900003f7f48, AddressClass::vmalloc},
      {0xffffffff81058e5d, AddressClass::kernel_text},
      {0xffffffffc0209430, AddressClass::module},
  };
  for (const Case& c : cases)
    EXPECT_EQ(classify_address(c.address, Arch::x86_64), c.expected) << std::hex << c.address;
}

TEST(AnalysisFacts, ClassifiesI386UserSplit) {
  EXPECT_EQ(classify_address(0xbfff0000, Arch::i386), AddressClass::user);
  EXPECT_EQ(classify_address(0xc1000000, Arch::i386), AddressClass::kernel_other);
  EXPECT_EQ(classify_address(0x6b6b6b6b, Arch::i386), AddressClass::slab_poison_free);
  EXPECT_EQ(classify_address(0x00100104, Arch::i386), AddressClass::list_poison1);
}

TEST(AnalysisFacts, DecodesPreemptCounts) {
  PreemptCount seed = decode_preempt_count(0xffff8811);
  EXPECT_FALSE(seed.plausible);
  EXPECT_TRUE(seed.pointer_like);
  EXPECT_NE(seed.meaning.find("pointer-like"), std::string::npos);

  PreemptCount spin = decode_preempt_count(0x2);
  EXPECT_TRUE(spin.plausible);
  EXPECT_FALSE(spin.pointer_like);
  EXPECT_NE(spin.meaning.find("2 time"), std::string::npos);

  EXPECT_TRUE(decode_preempt_count(0x0).plausible);
  EXPECT_TRUE(decode_preempt_count(0x10201).plausible);      // hardirq + softirq + depth 1
  EXPECT_TRUE(decode_preempt_count(0x10000001).plausible);   // old PREEMPT_ACTIVE
  EXPECT_FALSE(decode_preempt_count(0x4c3a0000).plausible);  // huge
  PreemptCount under = decode_preempt_count(0xffffffff);
  EXPECT_TRUE(under.underflow);
  EXPECT_FALSE(under.pointer_like);
}

TEST(AnalysisFacts, ParsesKernelVersions) {
  auto v = parse_kernel_version("2.6.32-431.el6.x86_64");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 2);
  EXPECT_EQ(v->minor, 6);
  EXPECT_EQ(v->patch, 32);
  EXPECT_TRUE(v->before(3, 15));
  auto d = parse_kernel_version("6.1.0-56-cloud-amd64");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->before(4, 9));
  EXPECT_FALSE(parse_kernel_version("#1 SMP"));
  EXPECT_FALSE(parse_kernel_version(""));
}

TEST(AnalysisFacts, ThreadSizeByArchAndVersion) {
  KernelFacts old;
  old.arch = Arch::x86_64;
  old.release = "2.6.32-431.el6.x86_64";
  old.version = parse_kernel_version(old.release);
  StackFacts a = stack_facts(old);
  EXPECT_EQ(a.thread_size, 8192u);
  EXPECT_EQ(a.thread_info_on_stack, true);
  EXPECT_EQ(a.preempt_count_in_thread_info, true);

  KernelFacts backport = old;
  backport.release = "2.6.32-573.el6.x86_64";
  EXPECT_EQ(stack_facts(backport).thread_size, 16384u);

  KernelFacts modern;
  modern.arch = Arch::x86_64;
  modern.release = "6.1.0-56-cloud-amd64";
  modern.version = parse_kernel_version(modern.release);
  StackFacts m = stack_facts(modern);
  EXPECT_EQ(m.thread_size, 16384u);
  EXPECT_EQ(m.thread_info_on_stack, false);
  modern.kasan = true;
  EXPECT_EQ(stack_facts(modern).thread_size, 32768u);

  KernelFacts arm;
  arm.arch = Arch::arm64;
  EXPECT_EQ(stack_facts(arm).thread_size, 16384u);

  KernelFacts unknown;
  unknown.arch = Arch::x86_64;
  StackFacts u = stack_facts(unknown);
  EXPECT_FALSE(u.thread_size);
  EXPECT_FALSE(u.thread_info_on_stack);
  EXPECT_NE(u.assumption.find("3.15"), std::string::npos);
}

TEST(AnalysisFacts, FindsBugLocation) {
  auto a = bug_location("kernel BUG at mm/slub.c:419!");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->file, "mm/slub.c");
  EXPECT_EQ(a->line, 419u);
  auto b = bug_location("WARNING: CPU: 0 PID: 96 at /kernel-lab/build/crashzoo/crashzoo.c:169 zoo_warn+0xf/0x16 [crashzoo]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->file, "/kernel-lab/build/crashzoo/crashzoo.c");
  EXPECT_EQ(b->line, 169u);
  EXPECT_FALSE(bug_location("BUG: unable to handle kernel paging request at 00000000dd7ed3a8"));
  EXPECT_FALSE(bug_location("kernel BUG at :!"));
}

}  // namespace
}  // namespace ktriage::analysis

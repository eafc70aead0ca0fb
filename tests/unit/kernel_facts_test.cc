// The tables of lib/kernel: what an address is on each architecture, and one
// answer for every stage (the fault explanation's coarse pointer classes are
// read off the same table).
#include <gtest/gtest.h>

#include "ktriage/disasm.h"
#include "ktriage/kernel_facts.h"

namespace ktriage {
namespace {

TEST(AddressTable, ClassifiesX86_64Addresses) {
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
    EXPECT_EQ(classify_address(c.address, Arch::x86_64).cls, c.expected) << std::hex << c.address;
}

TEST(AddressTable, ClassifiesI386UserSplit) {
  EXPECT_EQ(classify_address(0x7fff0000, Arch::i386).cls, AddressClass::user);
  EXPECT_EQ(classify_address(0xbfff0000, Arch::i386).cls, AddressClass::kernel_other);  // user on 3G/1G only
  EXPECT_EQ(classify_address(0xc1000000, Arch::i386).cls, AddressClass::kernel_other);
  EXPECT_EQ(classify_address(0x6b6b6b6b, Arch::i386).cls, AddressClass::slab_poison_free);
  EXPECT_EQ(classify_address(0x00100104, Arch::i386).cls, AddressClass::list_poison1);
}

// The two stages once disagreed on these: one table, one answer.
TEST(AddressTable, OneAnswerForEveryStage) {
  // A poisoned pointer with a member offset in its low bits is still poison.
  AddressVerdict p = classify_address(0x6b6b6b6b6b6b1234, Arch::x86_64);
  EXPECT_EQ(p.cls, AddressClass::slab_poison_free);
  EXPECT_EQ(classify_pointer(0x6b6b6b6b6b6b1234, Arch::x86_64).kind, PointerClass::poison);
  // i386 0x90000000: user space on a 3G/1G split, kernel memory on 2G/2G; neither is claimed.
  AddressVerdict split = classify_address(0x90000000, Arch::i386);
  EXPECT_EQ(split.cls, AddressClass::kernel_other);
  EXPECT_NE(split.meaning.find("2G/2G"), std::string::npos);
  EXPECT_EQ(classify_pointer(0x90000000, Arch::i386).kind, PointerClass::plausible);
  EXPECT_EQ(classify_pointer(0x7fff0000, Arch::i386).kind, PointerClass::user_space);
  // arm: modules below PAGE_OFFSET; a 2G/2G kernel's text is not user space.
  EXPECT_EQ(classify_address(0xbf001000, Arch::arm).cls, AddressClass::module);
  EXPECT_EQ(classify_pointer(0x80b0f484, Arch::arm).kind, PointerClass::plausible);
  // arm64: the top byte is a tag.
  EXPECT_EQ(classify_address(0xf2ff000012345678, Arch::arm64).cls, AddressClass::kernel_other);
  EXPECT_EQ(classify_address(0xff7f000012345678, Arch::arm64).cls, AddressClass::non_canonical);
  EXPECT_EQ(classify_address(0x0000ffff12345678, Arch::arm64).cls, AddressClass::user);
  // Unknown architecture: nothing is called user space or non-canonical.
  EXPECT_EQ(classify_address(0x1234567812345678, Arch::unknown).cls, AddressClass::kernel_other);
  EXPECT_EQ(classify_address(0xdd7ed3a8, Arch::unknown).cls, AddressClass::kernel_other);
  EXPECT_EQ(classify_address(0x18, Arch::unknown).cls, AddressClass::null_page);
  // LIST_POISON with a member offset, and the exact values.
  EXPECT_EQ(classify_address(0xdead000000000122, Arch::x86_64).meaning,
            "LIST_POISON2 (0xdead000000000122): the entry was removed by list_del()");
  EXPECT_EQ(classify_pointer(0xdead000000000108, Arch::x86_64).kind, PointerClass::poison);
}

// --- Stacks ------------------------------------------------------------------

struct StackCase {
  RunningKernel kernel;
  std::optional<unsigned> thread_size;
  std::optional<bool> thread_info_on_stack;
  std::optional<bool> preempt_count_in_thread_info;
  std::string_view assumption_has;
};

TEST(StackTable, GeometryByArchReleaseEraAndBackport) {
  auto x86 = [](std::string release) { return RunningKernel{Arch::x86_64, std::move(release)}; };
  const StackCase cases[] = {
      {x86("2.6.32-431.el6.x86_64"), 8192, true, true, "8 KiB before 3.15"},
      // RHEL 6 carries the 16 KiB stack from 2.6.32-520.el6 on; not before.
      {x86("2.6.32-504.el6.x86_64"), 8192, true, true, "this is 2.6.32-504.el6"},
      {x86("2.6.32-520.el6.x86_64"), 16384, true, true, "Red Hat's backport"},
      {x86("2.6.32-573.el6.x86_64"), 16384, true, true, "2.6.32-520.el6"},
      {x86("3.14.0"), 8192, true, false, "3.14.0"},
      {x86("3.15.0"), 16384, true, false, ""},
      {x86("4.9.0"), 16384, false, false, ""},
      {x86("6.1.0-56-cloud-amd64"), 16384, false, false, "this is 6.1.0-56-cloud-amd64"},
      {{Arch::x86_64, "6.1.0", "", "", "", true}, 32768, false, false, "doubled because KASAN"},
      // No release: the era's bounds decide what they can.
      {{Arch::x86_64, "", "", "3.0", "the marks of a 2.6-era kernel"}, 8192, true, true, "2.6-era"},
      {{Arch::x86_64, "", "", "4.0", "an old format"}, std::nullopt, true, std::nullopt, "not known"},
      {{Arch::x86_64, "", "4.15", "", "a 4.15+ format"}, 16384, false, false, "4.15+"},
      {x86(""), std::nullopt, std::nullopt, std::nullopt, "not known"},
      {{Arch::i386, "3.2.0"}, 8192, true, true, "CONFIG_4KSTACKS"},
      {{Arch::arm64, "4.4.0"}, 16384, true, true, "arm64"},
      {{Arch::arm64, "6.1.0", "", "", "", true}, 32768, false, false, "KASAN"},
      {{Arch::arm64, ""}, 16384, std::nullopt, std::nullopt, ""},
      {{Arch::arm, "5.10.0"}, 8192, std::nullopt, std::nullopt, ""},
      {{Arch::unknown, "6.1.0"}, std::nullopt, std::nullopt, std::nullopt, "architecture not known"},
  };
  for (const StackCase& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.kernel.arch)) + " " + c.kernel.release + " " + c.kernel.since + "-" +
                 c.kernel.before);
    StackGeometry g = stack_geometry(c.kernel);
    EXPECT_EQ(g.thread_size, c.thread_size);
    EXPECT_EQ(g.thread_info_on_stack, c.thread_info_on_stack);
    EXPECT_EQ(g.preempt_count_in_thread_info, c.preempt_count_in_thread_info);
    EXPECT_NE(g.assumption.find(c.assumption_has), std::string::npos) << g.assumption;
    EXPECT_EQ(g.thread_info_on_stack.has_value(), !g.thread_info_reason.empty());
  }
}

TEST(StackTable, VersionRelationUsesReleaseBeforeEra) {
  EXPECT_EQ(version_relation({Arch::x86_64, "2.6.32-431.el6"}, "3.15"), VersionRelation::before);
  EXPECT_EQ(version_relation({Arch::x86_64, "3.15"}, "3.15"), VersionRelation::since);
  // An -rc counts as its release: merge-window changes are in rc1 already.
  EXPECT_EQ(version_relation({Arch::x86_64, "3.15-rc8"}, "3.15"), VersionRelation::since);
  EXPECT_EQ(version_relation({Arch::x86_64, "", "4.15", ""}, "4.9"), VersionRelation::since);
  EXPECT_EQ(version_relation({Arch::x86_64, "", "4.15", ""}, "5.7"), VersionRelation::unknown);
  EXPECT_EQ(version_relation({Arch::x86_64, "", "", "4.0"}, "4.0"), VersionRelation::before);
  EXPECT_EQ(version_relation({Arch::x86_64, "#1 SMP"}, "3.0"), VersionRelation::unknown);
}

}  // namespace
}  // namespace ktriage

// Signatures: which parts of a report make its bucket, table-driven over
// small hand-built reports; the rules loader's errors; grouping order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/test_util.h"
#include "ktriage/bucket.h"

namespace ktriage {
namespace {

using ::testing::HasSubstr;

const SignatureRules& shipped() {
  static SignatureRules rules = [] {
    std::string path = default_signature_rules_path().string();
    Expected<SignatureRules> r = SignatureRules::parse(test::read_file(path), path);
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : SignatureRules();
  }();
  return rules;
}

Frame frame(std::string function, std::string module = "", bool reliable = true, uint64_t offset = 0x10,
            uint64_t address = 0xffffffff81000000) {
  Frame f;
  f.function = std::move(function);
  f.module = std::move(module);
  f.reliable = reliable;
  f.offset = offset;
  f.size = 0x200;
  f.address = address;
  return f;
}

Report report(std::string title, std::vector<Frame> frames, std::string blamed = "") {
  Report r;
  r.title = std::move(title);
  r.frame = std::move(blamed);
  r.frames = std::move(frames);
  return r;
}

TEST(Signature, NormalizesCompilerSuffixes) {
  const SignatureRules& r = shipped();
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"tcp_ack.isra.0", "tcp_ack"},
      {"f.constprop.12", "f"},
      {"f.constprop.0.isra.0", "f"},
      {"__alloc_pages.part.3", "__alloc_pages"},
      {"kobject_put.cold", "kobject_put"},
      {"__warn.cold.17", "__warn"},
      {"f.llvm.8291", "f"},
      {"plain_function", "plain_function"},
      {".cold", ".cold"},
      {"f.isra", "f.isra"},
  };
  for (const auto& c : cases) EXPECT_EQ(r.normalize_function(c.in), c.out) << c.in;
}

TEST(Signature, ReportingFramesAreNeverGuilty) {
  // A distro WARNING: the title names no frame the parser blames; the trace
  // starts in the WARN machinery.
  Report r = report("WARNING: at net/core/dev.c:LINE",
                    {frame("dump_stack"), frame("warn_slowpath_common"), frame("warn_slowpath_null"),
                     frame("dev_watchdog"), frame("call_timer_fn")});
  Signature s = sign(r, shipped());
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0].function, "dev_watchdog");
  for (const char* reporter : {"__warn", "kasan_report", "panic", "die", "oops_end", "__might_sleep", "___might_sleep",
                               "warn_slowpath_fmt", "__kasan_report", "lockdep_rcu_suspicious"})
    EXPECT_TRUE(shipped().skipped(reporter)) << reporter;
  EXPECT_FALSE(shipped().skipped("panic_handler_of_mine"));
  EXPECT_FALSE(shipped().skipped("xfs_buf_read"));
}

TEST(Signature, TheFrameTheTitleBlamesComesFirstWithItsModule) {
  Report r = report(
      "WARNING in xfs_buf_read",
      {frame("xfs_buf_read_map", "xfs"), frame("xfs_buf_read.isra.4", "xfs"), frame("xfs_trans_read_buf_map", "xfs")},
      "xfs_buf_read");
  Signature s = sign(r, shipped());
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0], (SignatureFrame{"xfs_buf_read", "xfs"}));
  EXPECT_EQ(s.text(), "WARNING in xfs_buf_read | xfs_buf_read [xfs]");
  // Distro titles blame the function before "()".
  Report d = report("WARNING: at fs/xfs/xfs_buf.c:LINE xfs_buf_read()",
                    {frame("warn_slowpath_null"), frame("xfs_buf_read", "xfs")});
  EXPECT_EQ(sign(d, shipped()).frames.front(), (SignatureFrame{"xfs_buf_read", "xfs"}));
  // Inlined away (not in the trace): the blamed function stands alone.
  Report inl = report("kernel BUG in wdev_priv", {frame("wl_cfg80211_scan", "wl")}, "wdev_priv");
  EXPECT_EQ(sign(inl, shipped()).frames.front(), (SignatureFrame{"wdev_priv", ""}));
}

TEST(Signature, OffsetsAddressesAndUnreliableFramesDoNotMatter) {
  Report a = report("BUG: unable to handle kernel NULL pointer dereference in foo",
                    {frame("foo", "", true, 0x10, 0xffffffff81001000), frame("bar")}, "foo");
  Report b = report("BUG: unable to handle kernel NULL pointer dereference in foo",
                    {frame("? stale", "", false), frame("foo.isra.2", "", true, 0x4d, 0xffffffffa1001000),
                     frame("bar", "", true, 0x99)},
                    "foo");
  b.frames[0].function = "stale_garbage";
  EXPECT_EQ(sign(a, shipped()), sign(b, shipped()));
  EXPECT_EQ(sign(a, shipped()).id(), sign(b, shipped()).id());
}

TEST(Signature, InlineFramesCountLikeAnyOther) {
  // syzkaller-symbolized traces print inlined functions as frames without
  // an address ("kref_put include/linux/kref.h:70 [inline]").
  Frame inlined;
  inlined.function = "kref_put";
  Report r = report("WARNING: refcount bug", {frame("refcount_warn_saturate"), inlined, frame("kobject_put")});
  EXPECT_EQ(sign(r, shipped()).frames.front().function, "kref_put");
}

TEST(Signature, TheModuleIsPartOfTheBucket) {
  Report a = report("BUG: unable to handle page fault", {frame("probe", "e1000e")});
  Report b = report("BUG: unable to handle page fault", {frame("probe", "igb")});
  EXPECT_NE(sign(a, shipped()).id(), sign(b, shipped()).id());
}

TEST(Signature, OutOfTreeModuleOnThePathToACoreCrashIsItsOwnBucket) {
  auto core_crash = [](std::vector<ModuleFlags> module_flags, std::string taint) {
    Report r = report("general protection fault in list_del",
                      {frame("list_del_entry"), frame("nv_close", "nvidia"), frame("do_ioctl")}, "list_del_entry");
    r.module_flags = std::move(module_flags);
    r.taint.flags = std::move(taint);
    return sign(r, shipped());
  };
  Signature clean = core_crash({}, "");
  Signature tainted = core_crash({{"nvidia", "PO"}, {"vboxdrv", "OE"}}, "P           O");
  EXPECT_EQ(tainted.tainted_by, (std::vector<std::string>{"nvidia(PO)"}));  // vboxdrv is not on the path
  EXPECT_NE(clean.id(), tainted.id());
  EXPECT_THAT(tainted.text(), HasSubstr("| tainted by nvidia(PO)"));
  // Kernel taint letters alone (no flagged module on the path) change nothing:
  // the frames say the module is not involved.
  EXPECT_EQ(core_crash({}, "P    B D    O").id(), clean.id());
  EXPECT_EQ(core_crash({{"e1000e", "+"}}, "").id(), clean.id());  // "+": loading, not out of tree
  // A crash inside the out-of-tree module already names it.
  Report in_module = report("BUG: unable to handle page fault in nv_close", {frame("nv_close", "nvidia")}, "nv_close");
  in_module.module_flags = {{"nvidia", "PO"}};
  EXPECT_TRUE(sign(in_module, shipped()).tainted_by.empty());
}

TEST(Signature, ACorruptedReportIsSignedByItsTitleAlone) {
  Report a = report("INFO: rcu detected stall in corrupted", {frame("f1")});
  Report b = report("INFO: rcu detected stall in corrupted", {frame("f2")});
  a.corrupted = b.corrupted = true;
  EXPECT_EQ(sign(a, shipped()).text(), "INFO: rcu detected stall in corrupted");
  EXPECT_EQ(sign(a, shipped()).id(), sign(b, shipped()).id());
}

TEST(Signature, TitlesLoseSuffixesAndAreCutAt120Bytes) {
  Report r = report("WARNING in tcp_ack.isra.0", {});
  EXPECT_EQ(sign(r, shipped()).title, "WARNING in tcp_ack");
  Report longer = report(std::string(200, 'x'), {});
  EXPECT_EQ(sign(longer, shipped()).title.size(), 120u);
  Report utf8 = report(std::string(119, 'x') + "\xc3\xa9 tail", {});  // never split a UTF-8 sequence
  EXPECT_EQ(sign(utf8, shipped()).title, std::string(119, 'x'));
}

TEST(Signature, IdIsSixteenHexDigitsOfTheSignaturesSha256) {
  Signature s;
  s.title = "WARNING in xfrm_state_fini";
  s.frames = {{"xfrm_state_fini", ""}};
  EXPECT_EQ(s.text(), "WARNING in xfrm_state_fini | xfrm_state_fini");
  EXPECT_EQ(s.id(), sha256_hex(s.text()).substr(0, 16));
  // Stable across builds and machines: a fixed value.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SignatureRules, TheRulesAreDataAndOverridable) {
  Expected<SignatureRules> two =
      SignatureRules::parse("version = 1\n[signature]\nframes = 2\n[skip]\nfunctions = ['dump_stack']\n", "two.toml");
  ASSERT_TRUE(two) << two.error().message;
  Report r = report("WARNING in f", {frame("dump_stack"), frame("f"), frame("g.isra.1"), frame("h")}, "f");
  EXPECT_EQ(sign(r, *two).text(), "WARNING in f | f < g.isra.1");  // no suffix rules in this file
  EXPECT_EQ(sign(r, shipped()).text(), "WARNING in f | f");
}

TEST(SignatureRules, ErrorsNameTheFileLineAndKey) {
  struct {
    const char* toml;
    const char* message;
  } cases[] = {
      {"version = 2\n", "bad.toml:1:11: version: expected version = 1"},
      {"version = 1\n[signature]\nframe = 1\n", "bad.toml:3:9: signature.frame: unknown key"},
      {"version = 1\n[signature]\nframes = -1\n", "signature.frames: expected an integer from 0 to 16"},
      {"version = 1\n[skip]\nfunctions = ['ok', '(unclosed']\n", "bad.toml:3:20: skip.functions[1]: bad pattern"},
      {"version = 1\n[skip]\nfunctions = 'dump_stack'\n", "skip.functions: expected an array of strings"},
      {"version = 1\n[taint]\nout_of_tree_flags = 'po'\n", "taint.out_of_tree_flags: expected a string of taint"},
      {"version = 1\nnonsense\n", "bad.toml:2:"},
  };
  for (const auto& c : cases) {
    Expected<SignatureRules> r = SignatureRules::parse(c.toml, "bad.toml");
    ASSERT_FALSE(r) << c.toml;
    EXPECT_THAT(r.error().message, HasSubstr(c.message)) << c.toml;
  }
}

TEST(Bucketer, BiggestFirstThenByFirstReportWhateverTheOrderAdded) {
  Report a = report("WARNING in a", {}, "a"), b = report("WARNING in b", {}, "b");
  a.kernel_release = "6.1.0-15-amd64";
  b.kernel_release = "6.1.0-13-amd64";
  Bucketer g(shipped());
  g.add({2, 0}, b);
  g.add({1, 3}, a);
  g.add({0, 5}, b);
  g.add({0, 1}, b);
  Report b2 = b;
  b2.kernel_release = "5.10.0-26-amd64";
  g.add({3, 0}, b2);
  g.add({0, 0}, a);
  std::vector<Bucket> out = g.buckets();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].title, "WARNING in b");
  ASSERT_EQ(out[0].members.size(), 4u);
  EXPECT_EQ(out[0].members[0].ref.source, 0u);
  EXPECT_EQ(out[0].members[0].ref.index, 1u);
  EXPECT_EQ(out[0].kernels, (std::vector<std::string>{"5.10.0-26-amd64", "6.1.0-13-amd64"}));
  Bucketer tie(shipped());
  tie.add({1, 0}, b);
  tie.add({0, 0}, a);
  EXPECT_EQ(tie.buckets().front().title, "WARNING in a");  // same size: first seen first
}

}  // namespace
}  // namespace ktriage

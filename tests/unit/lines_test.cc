// clean_line(): every console prefix people paste, and the junk serial lines
// and copy-paste add, table-driven; then hostile bytes.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>

#include "logparse/lines.h"

namespace ktriage::logparse {
namespace {

struct Case {
  const char* name;
  std::string raw;
  std::string text;
  double timestamp = -1;  // -1: none
  const char* caller = "";
  int level = -1;
  bool foreign = false;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CleanLine : public testing::TestWithParam<Case> {};

TEST_P(CleanLine, StripsThePrefix) {
  const Case& c = GetParam();
  LogLine l;
  clean_line(c.raw, l);
  EXPECT_EQ(l.text, c.text);
  if (c.timestamp < 0) {
    EXPECT_FALSE(l.timestamp.has_value()) << *l.timestamp;
  } else {
    ASSERT_TRUE(l.timestamp.has_value());
    EXPECT_NEAR(*l.timestamp, c.timestamp, 1e-6);
  }
  EXPECT_EQ(l.caller, c.caller);
  EXPECT_EQ(l.level, c.level);
  EXPECT_EQ(l.foreign, c.foreign);
}

const Case kCases[] = {
    {"plain", "BUG: unable to handle kernel paging request at 00000000dd7ed3a8",
     "BUG: unable to handle kernel paging request at 00000000dd7ed3a8"},
    {"dmesg", "[  123.456789] BUG: scheduling while atomic", "BUG: scheduling while atomic", 123.456789},
    {"dmesg keeps the kernel's indent", "[   71.427930]  [<ffffffff81662d11>] dump_stack+0x45/0x56",
     " [<ffffffff81662d11>] dump_stack+0x45/0x56", 71.42793},
    {"dmesg tab and no space", "<4>[\t68764.975944]Call Trace:", "Call Trace:", 68764.975944, "", 4},
    {"short fraction", "<6>[   3432.3432] Call Trace:", "Call Trace:", 3432.3432, "", 6},
    {"caller id", "[    1.234567][    T1] Oops: 0000 [#1] SMP", "Oops: 0000 [#1] SMP", 1.234567, "T1"},
    {"caller id tight", "[  12.000001][T123] x", "x", 12.000001, "T123"},
    {"cpu caller id", "[ 5.5][  C3] NMI backtrace", "NMI backtrace", 5.5, "C3"},
    {"level", "<4>WARNING: CPU: 0 PID: 1 at x", "WARNING: CPU: 0 PID: 1 at x", -1, "", 4},
    {"level with facility", "<30>[    0.982349] systemd[1]: Created slice", "systemd[1]: Created slice", 0.982349, "", 6},
    {"level space", "<4> IP: [<f88dec25>] :radeon:radeon_cp_init_ring_buffer+0x90/0x302",
     " IP: [<f88dec25>] :radeon:radeon_cp_init_ring_buffer+0x90/0x302", -1, "", 4},
    {"doubled prefix", "<4>[ 3432.3432] <4>[    1.5] Call Trace:", "Call Trace:", 1.5, "", 4},
    {"kmsg record", "6,1234,5678901,-;usb 1-1: new device", "usb 1-1: new device", 5.678901, "", 6},
    {"kmsg caller", "4,99,1000000,-,caller=T42;WARNING: x", "WARNING: x", 1.0, "T42", 4},
    {"netconsole fragment", "4,100,2000000,c,ncfrag=0/80;Modules linked in: a", "Modules linked in: a", 2.0, "", 4},
    {"syslog", "Nov 25 10:00:01 host kernel: BUG: x", "BUG: x"},
    {"syslog padded day", "Nov  5 10:00:01 host kernel:   [<ffffffff810eb800>] ? f+0x60/0xd0",
     "  [<ffffffff810eb800>] ? f+0x60/0xd0"},
    {"syslog template host", "Jan 11 22:31:37 :HOSTNAME: kernel: ------------[ cut here ]------------",
     "------------[ cut here ]------------"},
    {"syslog then dmesg", "Nov 25 10:00:01 host kernel: [  1.000000] BUG: x", "BUG: x", 1.0},
    {"syslog other program", "Nov  9 10:19:35 ohm openvpn[1118]: WARNING: Make sure",
     "openvpn[1118]: WARNING: Make sure", -1, "", -1, true},
    {"journal short-precise", "Nov 25 10:00:01.123456 host kernel: Call Trace:", "Call Trace:"},
    {"journal short-iso", "2024-01-02T03:04:05+0000 host kernel: RIP: 0010:f+0x1/0x2", "RIP: 0010:f+0x1/0x2"},
    {"rsyslog rfc3339", "2024-01-02T03:04:05.123456+00:00 host kernel: Oops", "Oops"},
    {"journal short-monotonic", "[  123.456789] host kernel: BUG: x", "BUG: x", 123.456789},
    {"dmesg -T", "[Wed Nov 25 10:00:01 2026] BUG: x", "BUG: x"},
    {"crlf", "[    1.000000] Call Trace:\r", "Call Trace:", 1.0},
    {"ansi colour", "\x1b[33m[    1.000000] \x1b[0mWARNING: x\x1b[m", "WARNING: x", 1.0},
    {"osc title", "\x1b]0;serial\x07" "BUG: x", "BUG: x"},
    {"nul bytes", std::string("\0\0BUG:\0 x", 9), "BUG: x"},
    {"non-utf8 noise before prefix", "\xff\xfe[    2.000000] BUG: x", "BUG: x", 2.0},
    {"non-utf8 inside", "BUG: a\xff" "b", "BUG: a?b"},
    {"utf8 kept", "comm: caf\xc3\xa9", "comm: caf\xc3\xa9"},
    {"overlong utf8 replaced", "x\xc0\xaf", "x??"},
    // Issue 11: the prefixes people's tools put in front (dmesg, journalctl, containers, editors, mail).
    {"dmesg -x", "kern  :emerg : [  12.345678] BUG: x", "BUG: x", 12.345678, "", 0},
    {"dmesg -x no time", "kern  :warn  : WARNING: CPU: 0 PID: 1 at x", "WARNING: CPU: 0 PID: 1 at x", -1, "", 4},
    {"dmesg -H minute", "[Mar 8 17:07] BUG: x", "BUG: x"},
    {"dmesg -H delta", "[  +0.000005]  dump_stack+0x1/0x2", " dump_stack+0x1/0x2"},
    {"journal short-full", "Tue 2024-01-02 03:04:05 UTC host kernel: Call Trace:", "Call Trace:"},
    {"journal short-unix", "1704164645.123456 host kernel: RIP: 0010:f+0x1/0x2", "RIP: 0010:f+0x1/0x2"},
    {"syslog without host", "Aug 13 12:28:38 kernel: [ 3846.600000] BUG: x", "BUG: x", 3846.6},
    {"bare kernel tag", "kernel: BUG: x", "BUG: x"},
    {"german month", "M\xc3\xa4r 08 17:07:01 host kernel: BUG: x", "BUG: x"},
    {"french month", "janv. 08 17:07:01 host kernel: BUG: x", "BUG: x"},
    {"cri container", "2024-01-02T03:04:05.123456789Z stdout F [   12.300000] BUG: x", "BUG: x", 12.3},
    {"serial tag", "[guest0/uart0] [    1.000000] BUG: x", "BUG: x", 1.0},
    {"grep -n", "1234:[   12.300000] BUG: x", "BUG: x", 12.3},
    {"grep -n context", "1235-[   12.300001]  dump_stack+0x1/0x2", " dump_stack+0x1/0x2", 12.300001},
    {"cat -n", "  1234\t[   12.300000] BUG: x", "BUG: x", 12.3},
    {"no-break space indentation", "\xc2\xa0io_cqring_event_overflow+0x1c0/0x230", " io_cqring_event_overflow+0x1c0/0x230"},
    {"byte order mark", "\xef\xbb\xbf[    1.000000] BUG: x", "BUG: x", 1.0},
    {"mail quote", "> [    1.000000] BUG: x", "BUG: x", 1.0},
    {"nested mail quote", "> > RIP: 0010:f+0x1/0x2", "RIP: 0010:f+0x1/0x2"},
    {"chat quote", "|  dump_stack+0x1/0x2", " dump_stack+0x1/0x2"},
    {"indented quote with timestamps", "  [  101.525322] RIP: 0010:f", "RIP: 0010:f", 101.525322},
    {"kernel indentation stays", "   <TASK>", "   <TASK>"},
    {"kasan buggy row is the kernel's", ">ffff888100000000: fa fb fc", ">ffff888100000000: fa fb fc"},
    {"hex dump is the kernel's", "00000000: 41 41 41 41", "00000000: 41 41 41 41"},
    {"not a timestamp", "[drm] nouveau 0000:01:00.0: x", "[drm] nouveau 0000:01:00.0: x"},
    {"frame is not a prefix", "[<c04ac89c>] remove_from_page_cache+0x2f/0x4a",
     "[<c04ac89c>] remove_from_page_cache+0x2f/0x4a"},
    {"ppc frame is not a prefix", "[c000000010ff3ad0] [c00000000806b258] .eeh_report_error+0x98/0x110",
     "[c000000010ff3ad0] [c00000000806b258] .eeh_report_error+0x98/0x110"},
    {"lockdep banner is not a prefix", "[ INFO: possible recursive locking detected ]",
     "[ INFO: possible recursive locking detected ]"},
    {"text that looks like a date", "Nov 25 was a good day", "Nov 25 was a good day"},
    {"empty", "", ""},
    {"only a prefix", "[    1.000000] ", "", 1.0},
    {"unterminated timestamp", "[    1.000000 BUG", "[    1.000000 BUG"},
    {"level too long", "<12345>x", "<12345>x"},
};

INSTANTIATE_TEST_SUITE_P(All, CleanLine, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& i) {
                           std::string n;
                           for (const char* p = i.param.name; *p; ++p)
                             n.push_back(std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_');
                           return n;
                         });

TEST(CleanLine, ResetsTheLineItFills) {
  LogLine l;
  clean_line("<4>[  1.5][T9] x", l);
  clean_line("y", l);
  EXPECT_EQ(l.text, "y");
  EXPECT_FALSE(l.timestamp);
  EXPECT_EQ(l.caller, "");
  EXPECT_EQ(l.level, -1);
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

TEST(CleanLine, RandomBytesNeverCrashAndYieldCleanUtf8) {
  std::mt19937 rng(42);
  const std::string seeds[] = {"<4>[  1.5][T9] ", "Nov 25 10:00:01 h kernel: ", "6,1,2,-;", "\x1b[", "[<"};
  LogLine l;
  for (int round = 0; round < 20000; ++round) {
    std::string raw = seeds[rng() % 5];
    size_t n = rng() % 64;
    for (size_t i = 0; i < n; ++i) raw.push_back(static_cast<char>(rng() & 0xff));
    if (rng() % 2) raw = raw.substr(0, rng() % (raw.size() + 1));
    clean_line(raw, l);
    ASSERT_TRUE(valid_utf8(l.text)) << round;
    ASSERT_LE(l.text.size(), raw.size());
    for (char c : l.text) ASSERT_TRUE(static_cast<unsigned char>(c) >= 0x20 || c == '\t') << round;
  }
}

// The plain-ASCII fast path reads 16 bytes at a time: one odd byte at any
// offset, in a block or in the tail, must still send the line to cleanup.
TEST(CleanLine, OneOddByteAnywhereIsCleaned) {
  const std::string clean = "[    1.000000] abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP";
  const std::string text = clean.substr(15);
  LogLine l;
  for (size_t at = 15; at <= clean.size(); ++at) {
    for (char odd : {'\0', '\x01', '\r', '\x1f', '\x7f'}) {
      std::string raw = clean;
      raw.insert(at, 1, odd);
      clean_line(raw, l);
      EXPECT_EQ(l.text, text) << "control byte " << int(odd) << " at " << at;
    }
    std::string raw = clean;
    raw.insert(at, 1, '\t');
    clean_line(raw, l);
    EXPECT_EQ(l.text.size(), text.size() + 1) << "tab at " << at;
    raw = clean;
    raw.insert(at, 1, '\xff');
    clean_line(raw, l);
    EXPECT_EQ(l.text, std::string(text).insert(at - 15, 1, '?')) << "0xff at " << at;
  }
}

TEST(CleanLine, LongLineIsCopiedOnce) {
  std::string raw = "[    1.000000] " + std::string(100000, 'a');
  LogLine l;
  clean_line(raw, l);
  EXPECT_EQ(l.text.size(), 100000u);
}

}  // namespace
}  // namespace ktriage::logparse

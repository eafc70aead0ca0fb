// Crash logs for the report-format tests: a NULL dereference in a "vmlinux"
// built with gcc at test time (tests/cli/data/report/kernel.c), whose log
// quotes the real offsets, sizes and Code: bytes objdump shows, so the
// analysis has a listing, a fault chain and measured stack frames; and a log
// whose text is hostile to HTML and Markdown.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_util.h"

namespace ktriage::test {

struct FixtureKernel {
  std::string vmlinux;
  std::string log;
  std::string bad_register;  // the register that held NULL: "rcx"
  std::string faulting;      // objdump's text of the faulting instruction
  std::string error;         // why the fixture could not be built ("" when it was)
};

inline std::string fixture_hex(uint64_t v, int width = 16) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

// Builds the fixture kernel and its crash log in `dir`. `release` is the
// kernel release the log prints (4.4 keeps thread_info on the stack).
inline FixtureKernel build_fixture_kernel(const std::filesystem::path& dir, const std::string& release = "4.4.0-fixture") {
  namespace fs = std::filesystem;
  FixtureKernel k;
  fs::create_directories(dir);
  k.vmlinux = (dir / "vmlinux").string();
  const std::string src = std::string(KTRIAGE_SOURCE_DIR) + "/tests/cli/data/report/kernel.c";
  const std::string cmd = "gcc -g -O2 -mcmodel=kernel -fno-pie -ffreestanding -no-pie -nostdlib "
                          "-Wl,-Ttext-segment=0xffffffff81000000 -Wl,-e,entry -o '" + k.vmlinux + "' '" + src + "' 2>&1";
  if (std::system((cmd + " >/dev/null").c_str()) != 0) {
    k.error = "gcc could not build the fixture kernel: " + run_command(cmd);
    return k;
  }
  // Symbol addresses and sizes.
  std::map<std::string, std::pair<uint64_t, uint64_t>> symbols;
  std::istringstream nm(run_command("nm -S '" + k.vmlinux + "'"));
  for (std::string line; std::getline(nm, line);) {
    std::istringstream fields(line);
    std::string address, size, type, name;
    if (fields >> address >> size >> type >> name) symbols[name] = {std::stoull(address, nullptr, 16), std::stoull(size, nullptr, 16)};
  }
  auto sym = [&](const std::string& name, uint64_t address) {
    const auto& [start, size] = symbols[name];
    return "[<" + fixture_hex(address) + ">] " + name + "+0x" + fixture_hex(address - start, 1) + "/0x" + fixture_hex(size, 1);
  };
  // The return address after `caller`'s call of `callee`.
  auto return_address = [&](const std::string& caller, const std::string& callee) -> uint64_t {
    std::vector<ObjInsn> insns = objdump_function(k.vmlinux, caller);
    for (size_t i = 0; i + 1 < insns.size(); ++i) {
      if (insns[i].text.rfind("call", 0) == 0 && insns[i].target == callee) return insns[i + 1].address;
    }
    return 0;
  };
  const std::vector<ObjInsn> sum_ids = objdump_function(k.vmlinux, "sum_ids");
  const ObjInsn* load = nullptr;
  for (const ObjInsn& i : sum_ids) {
    if (i.text.find("0x18(%") != std::string::npos) load = &i;
  }
  const uint64_t ret_sum = return_address("fill", "sum_ids"), ret_fill = return_address("fill", "fill"),
                 ret_big = return_address("big_frame", "fill"), ret_entry = return_address("entry", "big_frame");
  if (!load || !symbols.count("sum_ids") || !ret_sum || !ret_fill || !ret_big || !ret_entry) {
    k.error = "the compiler laid the fixture out unexpectedly:\n" + run_command("objdump -d '" + k.vmlinux + "'");
    return k;
  }
  const size_t open = load->text.find("0x18(%") + 6;
  k.bad_register = load->text.substr(open, load->text.find(')', open) - open);
  k.faulting = load->text;

  std::string code;
  for (const ObjInsn& i : sum_ids) {
    for (size_t b = 0; b < i.bytes.size(); ++b) {
      const std::string byte = fixture_hex(i.bytes[b], 2);
      code += (code.empty() ? "" : " ") + (&i == load && b == 0 ? "<" + byte + ">" : byte);
    }
  }
  // The dump: the bad register NULL, the others plausible kernel values.
  std::map<std::string, uint64_t> regs = {
      {"rax", symbols["table"].first + 8}, {"rbx", 0}, {"rcx", 0x1234}, {"rdx", 0}, {"rsi", 0xffffffff81003018},
      {"rdi", 3}, {"rbp", 0xffff88003e1bfe00}, {"r8", 5}, {"r9", 0xdead000000000100}, {"r10", 0x7ffd5e8c1a20},
      {"r11", 0x8000000000000000}, {"r12", 0xffff88003e1bfe40}, {"r13", 0xffff88003e1b8000}, {"r14", 0},
      {"r15", 0xffff88003e1bff58}};
  regs[k.bad_register] = 0;
  auto reg = [&](const char* name) { return fixture_hex(regs[name]); };
  const std::string rsp = "ffff88003e1bfd38";
  const std::string ip = sym("sum_ids", load->address);
  std::string t = "[    1.000000] BUG: unable to handle kernel NULL pointer dereference at 0000000000000018\n"
                  "[    1.000001] IP: " + ip + "\n"
                  "[    1.000002] PGD 0 \n"
                  "[    1.000003] Oops: 0000 [#1] SMP \n"
                  "[    1.000004] Modules linked in:\n"
                  "[    1.000005] CPU: 0 PID: 1 Comm: init Not tainted " + release + " #1\n"
                  "[    1.000006] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n"
                  "[    1.000007] task: ffff88003e1b8000 ti: ffff88003e1bc000 task.ti: ffff88003e1bc000\n"
                  "[    1.000008] RIP: 0010:[<" + fixture_hex(load->address) + ">]  " + ip + "\n"
                  "[    1.000009] RSP: 0018:" + rsp + "  EFLAGS: 00010246\n"
                  "[    1.000010] RAX: " + reg("rax") + " RBX: " + reg("rbx") + " RCX: " + reg("rcx") + "\n"
                  "[    1.000011] RDX: " + reg("rdx") + " RSI: " + reg("rsi") + " RDI: " + reg("rdi") + "\n"
                  "[    1.000012] RBP: " + reg("rbp") + " R08: " + reg("r8") + " R09: " + reg("r9") + "\n"
                  "[    1.000013] R10: " + reg("r10") + " R11: " + reg("r11") + " R12: " + reg("r12") + "\n"
                  "[    1.000014] R13: " + reg("r13") + " R14: " + reg("r14") + " R15: " + reg("r15") + "\n"
                  "[    1.000015] FS:  0000000000000000(0000) GS:ffff88003fc00000(0000) knlGS:0000000000000000\n"
                  "[    1.000016] CS:  0010 DS: 0000 ES: 0000 CR0: 000000008005003b\n"
                  "[    1.000017] CR2: 0000000000000018 CR3: 0000000001c0a000 CR4: 00000000000006f0\n"
                  "[    1.000018] Call Trace:\n"
                  "[    1.000019]  " + sym("fill", ret_sum) + "\n";
  for (int i = 0; i < 5; ++i) t += "[    1.000020]  " + sym("fill", ret_fill) + "\n";
  t += "[    1.000021]  [<" + fixture_hex(symbols["sink"].first) + ">] ? sink+0x0/0x" + fixture_hex(symbols["sink"].second, 1) + "\n"
       "[    1.000022]  " + sym("big_frame", ret_big) + "\n"
       "[    1.000023]  " + sym("entry", ret_entry) + "\n"
       "[    1.000024] Code: " + code + "\n"
       "[    1.000025] RIP  " + ip + "\n"
       "[    1.000026]  RSP <" + rsp + ">\n"
       "[    1.000027] CR2: 0000000000000018\n"
       "[    1.000028] ---[ end trace 0000000000000001 ]---\n";
  k.log = (dir / "fixture-crash.log").string();
  std::ofstream(k.log) << t;
  return k;
}

// A log whose every printed string tries to become markup: HTML tags and
// attributes, Markdown emphasis, links, tables and code spans, entities.
inline constexpr const char* kHostilePayload =
    "<script>document.title='pwned'</script> \"><img src=x onerror=alert(1)> *bold* _under_ "
    "[link](http://example.com/x) | pipe | `tick` &amp; <!-- c -->";

inline std::string hostile_log() {
  return std::string("[    5.000000] BUG: unable to handle kernel paging request at 0000000000001000\n"
                     "[    5.000001] Oops: 0000 [#1] SMP\n"
                     "[    5.000002] CPU: 0 PID: 1 Comm: <b>evil</b> Not tainted 6.1.0 #1\n"
                     "[    5.000003] RIP: 0010:evil_fn+0x1/0x2 [evil_mod]\n"
                     "[    5.000004] Call Trace:\n"
                     "[    5.000005]  <TASK>\n"
                     "[    5.000006]  evil_fn+0x1/0x2 [evil_mod]\n"
                     "[    5.000007]  </TASK>\n"
                     "[    5.000008] Kernel panic - not syncing: ") +
         kHostilePayload + "\n";
}

}  // namespace ktriage::test

// libFuzzer target over the ELF/DWARF loading path of the symbolizer:
// the input is written to a memory file and opened as a vmlinux (ELF with
// or without DWARF, or a System.map when it is not ELF), then a few
// symbols and addresses are resolved. Any crash, hang or sanitizer report
// is a bug: hostile debug files must give an Error or a per-frame error.
//
// Seeds: small ELF files, e.g. the executables and .o files that
// tests/unit/symbolize_elf_test.cc builds from tests/unit/data/symbolize/.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "ktriage/symbolize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("elf_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  if (auto objOrErr = ktriage::open_debug_object(path, "fuzz")) {
    ktriage::DebugObject& obj = **objOrErr;
    for (const char* name : {"main", "twin", "outer", "mod_cold", "linux_banner"}) {
      ktriage::Symbol s;
      s.function = name;
      s.offset = size % 64;
      s.size = size % 256;
      (void)ktriage::resolve_symbol(obj, s, true);
    }
    // Addresses derived from the input, so the fuzzer can steer them.
    for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
      uint64_t a = 0;
      for (int b = 0; b < 8; ++b) a |= static_cast<uint64_t>(data[i + b]) << (8 * b);
      (void)ktriage::resolve_address(obj, a, false);
      (void)ktriage::resolve_address(obj, 0x401000 + (a & 0xffff), true);
    }
  }

  ktriage::DebugInfoOptions opts;
  opts.vmlinux = path;
  if (auto symOrErr = ktriage::Symbolizer::open(opts)) {
    ktriage::Report r;
    r.kernel_release = "6.1.0";
    ktriage::Frame f;
    f.function = "main";
    f.offset = 4;
    f.size = 0x40;
    f.address = 0xffffffff81000004;
    r.frames.push_back(f);
    r.fault_address = 0xffffffff81000010;
    (void)symOrErr->symbolize(r);
  }
  close(fd);
  return 0;
}

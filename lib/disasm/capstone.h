// RAII for Capstone handles and the one place a cs_err becomes an Error.
#pragma once

#include <capstone/capstone.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ktriage/disasm.h"
#include "ktriage/error.h"

namespace ktriage::disasm {

// Turns a Capstone failure into an Error at the failing call:

// Owns a csh (closed on destruction), like a unique_ptr with a deleter; csh
// is an integer, not a pointer, so unique_ptr itself cannot hold it.
class CapstoneHandle {
 public:
  CapstoneHandle() = default;
  explicit CapstoneHandle(csh handle) : handle_(handle), open_(true) {}
  CapstoneHandle(CapstoneHandle&& other) noexcept : handle_(other.handle_), open_(other.open_) {
    other.open_ = false;
  }
  CapstoneHandle& operator=(CapstoneHandle&& other) noexcept;
  CapstoneHandle(const CapstoneHandle&) = delete;
  CapstoneHandle& operator=(const CapstoneHandle&) = delete;
  ~CapstoneHandle();

  csh get() const { return handle_; }

 private:
  csh handle_ = 0;
  bool open_ = false;
};

// Owns instructions returned by cs_disasm / cs_malloc.
struct InsnDeleter {
  size_t count = 1;
  void operator()(cs_insn* insn) const {
    if (insn != nullptr) cs_free(insn, count);
  }
};

// A handle for `arch` (thumb selects Thumb on arm) with instruction detail on
// and the requested x86 syntax.
Expected<CapstoneHandle> open_capstone(Arch arch, bool thumb, AsmSyntax syntax);

// Capstone 4 decodes 0f b9 as `ud2b` without its ModRM byte; the CPU (and
// the kernel, which uses `ud1 %reg, off(%reg)` for UBSAN and CFI traps) reads
// ModRM and any SIB/displacement. Returns the real length, or 0 if `at` is not
// a (prefixed) 0f b9.
uint32_t x86_ud1_length(const std::vector<uint8_t>& bytes, size_t at);

}  // namespace ktriage::disasm

#include "disasm/capstone.h"

#include <fmt/format.h>

#include "support/errors.h"

namespace ktriage::disasm {

CapstoneHandle& CapstoneHandle::operator=(CapstoneHandle&& other) noexcept {
  if (this != &other) {
    if (open_) cs_close(&handle_);
    handle_ = other.handle_;
    open_ = other.open_;
    other.open_ = false;
  }
  return *this;
}

CapstoneHandle::~CapstoneHandle() {
  if (open_) cs_close(&handle_);
}

Expected<CapstoneHandle> open_capstone(Arch arch, bool thumb, AsmSyntax syntax) {
  cs_arch cs_arch_id;
  int mode;
  switch (arch) {
    case Arch::x86_64: cs_arch_id = CS_ARCH_X86; mode = CS_MODE_64; break;
    case Arch::i386: cs_arch_id = CS_ARCH_X86; mode = CS_MODE_32; break;
    case Arch::arm64: cs_arch_id = CS_ARCH_ARM64; mode = CS_MODE_LITTLE_ENDIAN; break;
    case Arch::arm: cs_arch_id = CS_ARCH_ARM; mode = thumb ? CS_MODE_THUMB : CS_MODE_ARM; break;
    default:
      return Error{fmt::format("could not decode: no disassembler for architecture {}", to_string(arch))};
  }
  csh raw = 0;
  if (cs_err err = cs_open(cs_arch_id, static_cast<cs_mode>(mode), &raw); err != CS_ERR_OK) {
    return support::capstone_error("cs_open", err);
  }
  CapstoneHandle handle(raw);
  if (cs_err err = cs_option(raw, CS_OPT_DETAIL, CS_OPT_ON); err != CS_ERR_OK) {
    return support::capstone_error("cs_option(DETAIL)", err);
  }
  if (cs_arch_id == CS_ARCH_X86) {
    cs_opt_value s = syntax == AsmSyntax::att ? CS_OPT_SYNTAX_ATT : CS_OPT_SYNTAX_INTEL;
    if (cs_err err = cs_option(raw, CS_OPT_SYNTAX, s); err != CS_ERR_OK) {
      return support::capstone_error("cs_option(SYNTAX)", err);
    }
  }
  return handle;
}

uint32_t x86_ud1_length(const std::vector<uint8_t>& bytes, size_t at) {
  size_t p = at;
  while (p < bytes.size() && p - at < 14 &&
         (bytes[p] == 0x66 || bytes[p] == 0x67 || bytes[p] == 0xf2 || bytes[p] == 0xf3 || (bytes[p] & 0xf0) == 0x40)) {
    ++p;
  }
  if (p + 2 >= bytes.size() || bytes[p] != 0x0f || bytes[p + 1] != 0xb9) return 0;
  p += 2;
  const uint8_t modrm = bytes[p++];
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  if (mod != 3 && rm == 4) {  // SIB
    if (p >= bytes.size()) return 0;
    const uint8_t sib = bytes[p++];
    if (mod == 0 && (sib & 7) == 5) p += 4;
  } else if (mod == 0 && rm == 5) {
    p += 4;  // disp32 / rip-relative
  }
  if (mod == 1) p += 1;
  if (mod == 2) p += 4;
  return p <= bytes.size() ? static_cast<uint32_t>(p - at) : 0;
}

}  // namespace ktriage::disasm

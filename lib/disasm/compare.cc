// The report's Code: bytes against the function's stored bytes. What ran is
// not byte-for-byte what was linked, for three ordinary reasons that are not
// a build mismatch:
//  - relocation: a module's fields are 0 in the .ko until loaded; vmlinux's
//    absolute address fields move by the KASLR offset;
//  - runtime patching at a few known kinds of sites: ftrace's 5-byte
//    `call __fentry__` / NOP at the entry, static keys (jmp <-> 2/5-byte
//    NOP), alternatives and paravirt (NOP padding, calls replaced inline),
//    return thunks (`jmp __x86_return_thunk` -> `ret; int3...`);
//  - nothing else. Differences elsewhere, or many of them, mean the debug
//    file is not the running kernel's build.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <memory>

#include "disasm/capstone.h"
#include "ktriage/disasm.h"

namespace ktriage {
namespace {

using InsnPtr = std::unique_ptr<cs_insn, disasm::InsnDeleter>;

constexpr size_t kMostPatchSites = 6;
constexpr int64_t kKaslrAlign = 0x200000;   // CONFIG_PHYSICAL_ALIGN on x86-64
constexpr int64_t kKaslrMax = 0x40000000;   // KERNEL_IMAGE_SIZE: the 1 GiB KASLR range

struct InsnSpan {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Instruction boundaries of the stored function (linear decode).
std::vector<InsnSpan> instruction_spans(const std::vector<uint8_t>& bytes, Arch arch) {
  std::vector<InsnSpan> out;
  Expected<disasm::CapstoneHandle> h = disasm::open_capstone(arch, false, AsmSyntax::att);
  if (!h) return out;
  InsnPtr insn(cs_malloc(h->get()));
  if (!insn) return out;
  const uint64_t unit = arch == Arch::x86_64 || arch == Arch::i386 ? 1 : 4;
  size_t off = 0;
  while (off < bytes.size()) {
    const uint8_t* code = bytes.data() + off;
    size_t size = bytes.size() - off;
    uint64_t address = off;
    uint64_t n = cs_disasm_iter(h->get(), &code, &size, &address, insn.get()) ? insn->size : unit;
    n = std::min<uint64_t>(n, bytes.size() - off);
    out.push_back({off, n});
    off += n;
  }
  return out;
}

bool is_nop_x86(const uint8_t* p, uint64_t n) {
  static const std::vector<std::vector<uint8_t>> kNops = {
      {0x90},
      {0x66, 0x90},
      {0x0f, 0x1f, 0x00},
      {0x0f, 0x1f, 0x40, 0x00},
      {0x0f, 0x1f, 0x44, 0x00, 0x00},
      {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
      {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
      {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
      {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
      {0x2e, 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
  };
  for (const auto& nop : kNops) {
    if (nop.size() == n && std::memcmp(nop.data(), p, n) == 0) return true;
  }
  return false;
}

// What kind of patch site `file` (stored) vs `run` (Code:) bytes of one
// instruction look like; "" when not a typical one.
std::string x86_patch_site(const uint8_t* file, const uint8_t* run, uint64_t n, uint64_t offset, uint64_t entry) {
  const bool file_rel32 = n == 5 && (file[0] == 0xe8 || file[0] == 0xe9);
  const bool run_rel32 = n == 5 && (run[0] == 0xe8 || run[0] == 0xe9);
  const bool file_nop = is_nop_x86(file, n);
  const bool run_nop = is_nop_x86(run, n);
  if (n == 5 && offset == entry && (file_rel32 || file_nop) && (run_rel32 || run_nop)) {
    return "ftrace's call __fentry__ / NOP at the function entry";
  }
  if (file_rel32 && file[0] == 0xe9 && run[0] == 0xc3) return "a return thunk patched to `ret`";
  if ((file_rel32 || file_nop) && (run_rel32 || run_nop) && n == 5) return "a static key or alternative (jmp/call <-> 5-byte NOP)";
  if (n == 2 && (file[0] == 0xeb || file_nop) && (run[0] == 0xeb || run_nop)) return "a static key (2-byte jmp <-> NOP)";
  if (file_nop || run_nop) return "alternatives (NOP padding replaced)";
  if (file_rel32 || run_rel32) return "an alternative or retpoline call site";
  if (n >= 6 && file[0] == 0xff && (file[1] == 0x14 || file[1] == 0x15)) return "a paravirt call site";
  return "";
}

std::string arm64_patch_site(const uint8_t* file, const uint8_t* run, uint64_t n) {
  if (n != 4) return "";
  auto word = [](const uint8_t* p) { return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24; };
  auto patchable = [](uint32_t w) {
    return w == 0xd503201f || (w & 0x7c000000) == 0x14000000;  // NOP, B/BL imm26
  };
  if (patchable(word(file)) && patchable(word(run))) return "a static key, ftrace or alternative site (NOP <-> branch)";
  return "";
}

int64_t read_le(const uint8_t* p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
  return static_cast<int64_t>(v);
}

}  // namespace

Expected<CodeComparison> compare_code(const CodeDecode& code, const FunctionCode& function, uint64_t ip_offset,
                                      const CompareOptions& options) {
  // Code: byte k sits at function offset ip_offset - faulting_offset + k.
  const int64_t shift = static_cast<int64_t>(ip_offset) - static_cast<int64_t>(code.faulting_offset);
  const int64_t first = std::max<int64_t>(0, shift);
  const int64_t last = std::min<int64_t>(static_cast<int64_t>(function.bytes.size()),
                                         shift + static_cast<int64_t>(code.bytes.size()));
  if (ip_offset >= function.bytes.size() || first >= last) {
    return Error{fmt::format("the Code: bytes do not overlap {} (ip offset {:#x}, {:#x} bytes)", function.function,
                             ip_offset, function.bytes.size())};
  }
  auto run_at = [&](int64_t off) { return code.bytes[static_cast<size_t>(off - shift)]; };
  const uint8_t* file = function.bytes.data();

  CodeComparison out;
  std::vector<bool> skip(function.bytes.size(), false);
  if (options.relocations) {
    for (const CodeRelocation& r : *options.relocations) {
      for (uint64_t i = r.offset; i < r.offset + r.size && i < skip.size(); ++i) skip[i] = true;
    }
  }
  // vmlinux's absolute address fields (sign-extended disp32/imm32 of a
  // kernel-image address) moved by KASLR at boot: a 4-byte window holding a
  // kernel address in both, whose difference is the offset. When the log did
  // not tell the offset, the multiple of the 2 MiB KASLR alignment (within
  // its 1 GiB range) that leaves the fewest bytes unexplained is taken.
  auto kernel_address_delta = [&](int64_t s) -> std::optional<int64_t> {
    uint8_t run[4];
    for (uint32_t i = 0; i < 4; ++i) run[i] = run_at(s + i);
    const int64_t r = read_le(run, 4), f = read_le(file + s, 4);
    if (r >= 0 || f >= 0) return std::nullopt;  // not 0xffffffff8xxxxxxx sign-extended
    return r - f;
  };
  auto mask_kaslr = [&](int64_t offset, std::vector<bool>& mask) {
    for (int64_t o = first; o < last; ++o) {
      if (mask[static_cast<size_t>(o)] || run_at(o) == file[o]) continue;
      for (int64_t s = std::max<int64_t>(first, o - 3); s <= o && s + 4 <= last; ++s) {
        if (kernel_address_delta(s) != offset) continue;
        for (uint32_t i = 0; i < 4; ++i) mask[static_cast<size_t>(s + i)] = true;
      }
    }
  };
  auto unexplained = [&](const std::vector<bool>& mask) {
    size_t n = 0;
    for (int64_t o = first; o < last; ++o) n += !mask[static_cast<size_t>(o)] && run_at(o) != file[o];
    return n;
  };
  std::optional<int64_t> kaslr = options.kaslr_offset;
  if (!function.relocatable && !kaslr && code.arch == Arch::x86_64) {
    std::set<int64_t> candidates;
    for (int64_t s = first; s + 4 <= last; ++s) {
      std::optional<int64_t> d = kernel_address_delta(s);
      if (d && *d > 0 && *d <= kKaslrMax && *d % kKaslrAlign == 0) candidates.insert(*d);
    }
    size_t best = unexplained(skip);
    for (int64_t d : candidates) {
      std::vector<bool> mask = skip;
      mask_kaslr(d, mask);
      if (size_t n = unexplained(mask); n < best) {
        best = n;
        kaslr = d;
      }
    }
    out.kaslr_offset = kaslr;
  }
  if (!function.relocatable && kaslr && *kaslr != 0) mask_kaslr(*kaslr, skip);
  for (int64_t o = first; o < last; ++o) {
    ++out.compared;
    if (skip[static_cast<size_t>(o)]) {
      ++out.relocated;
    } else if (run_at(o) != file[o]) {
      out.differing_offsets.push_back(static_cast<uint64_t>(o));
    }
  }

  out.object = function.object;
  out.function = function.function;
  if (out.differing_offsets.empty()) {
    out.verdict = CodeVerdict::match;
    return out;
  }

  // Group the differences by the stored instruction they fall in.
  const std::vector<InsnSpan> spans = instruction_spans(function.bytes, code.arch);
  std::vector<InsnSpan> sites;
  for (uint64_t o : out.differing_offsets) {
    auto it = std::upper_bound(spans.begin(), spans.end(), o, [](uint64_t v, const InsnSpan& s) { return v < s.offset; });
    InsnSpan s = it == spans.begin() ? InsnSpan{o, 1} : *(it - 1);
    if (sites.empty() || sites.back().offset != s.offset) sites.push_back(s);
  }
  // ftrace's site follows an `endbr64` under IBT.
  const uint64_t entry = function.bytes.size() >= 4 && file[0] == 0xf3 && file[1] == 0x0f && file[2] == 0x1e &&
                                 file[3] == 0xfa
                             ? 4
                             : 0;
  std::vector<PatchSite> kinds;
  bool all_patch_sites = sites.size() <= kMostPatchSites;
  for (const InsnSpan& s : sites) {
    std::string kind;
    const bool inside = static_cast<int64_t>(s.offset) >= first && static_cast<int64_t>(s.offset + s.size) <= last;
    if (inside) {
      uint8_t run[16] = {};
      const uint64_t n = std::min<uint64_t>(s.size, sizeof run);
      for (uint64_t i = 0; i < n; ++i) run[i] = run_at(static_cast<int64_t>(s.offset + i));
      kind = code.arch == Arch::arm64 ? arm64_patch_site(file + s.offset, run, n)
                                      : x86_patch_site(file + s.offset, run, n, s.offset, entry);
    }
    if (kind.empty()) {
      all_patch_sites = false;
    } else {
      kinds.push_back({s.offset, std::move(kind)});
    }
  }
  out.differing_sites = sites.size();
  if (all_patch_sites && out.differing_offsets.size() * 4 <= out.compared) {
    out.verdict = CodeVerdict::runtime_patched;
    out.patch_sites = std::move(kinds);
    return out;
  }
  out.verdict = CodeVerdict::different_build;
  return out;
}

std::string_view to_string(CodeVerdict verdict) {
  switch (verdict) {
    case CodeVerdict::match: return "match";
    case CodeVerdict::runtime_patched: return "runtime_patched";
    case CodeVerdict::different_build: return "different_build";
  }
  return "match";
}

}  // namespace ktriage

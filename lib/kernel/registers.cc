// The general-purpose registers of each architecture: every name of each
// (full width first, as the kernel's dumps print it; then narrower views and
// the disassembler's aliases), its width and its DWARF number. The
// disassembler's data flow, the fault explanation and the DWARF variable
// lookups all read this one table.
#include <fmt/format.h>

#include <array>
#include <vector>

#include "ktriage/kernel_facts.h"

namespace ktriage {
namespace {

struct View {
  std::string name;
  unsigned bytes;
};

struct Row {
  Arch arch;
  int dwarf;
  std::vector<View> views;  // views[0] is the family
};

std::vector<Row> build() {
  std::vector<Row> rows;
  // x86_64, DWARF numbering of the SysV psABI.
  const std::array<std::array<const char*, 5>, 8> legacy{{
      {"rax", "eax", "ax", "al", "ah"}, {"rdx", "edx", "dx", "dl", "dh"}, {"rcx", "ecx", "cx", "cl", "ch"},
      {"rbx", "ebx", "bx", "bl", "bh"}, {"rsi", "esi", "si", "sil", ""}, {"rdi", "edi", "di", "dil", ""},
      {"rbp", "ebp", "bp", "bpl", ""},  {"rsp", "esp", "sp", "spl", ""},
  }};
  const unsigned sizes[] = {8, 4, 2, 1, 1};
  for (size_t r = 0; r < legacy.size(); ++r) {
    Row row{Arch::x86_64, static_cast<int>(r), {}};
    for (size_t i = 0; i < 5; ++i)
      if (*legacy[r][i]) row.views.push_back({legacy[r][i], sizes[i]});
    rows.push_back(std::move(row));
  }
  for (int r = 8; r <= 15; ++r) {
    const std::string n = fmt::format("r{}", r);
    rows.push_back({Arch::x86_64, r, {{n, 8}, {n + "d", 4}, {n + "w", 2}, {n + "b", 1}, {n + "l", 1}}});
  }
  rows.push_back({Arch::x86_64, 16, {{"rip", 8}, {"eip", 4}, {"ip", 2}}});
  // i386: the same registers at 32 bits, i386 DWARF numbering.
  const std::array<std::pair<int, std::array<const char*, 4>>, 9> i386{{
      {0, {"eax", "ax", "al", "ah"}}, {1, {"ecx", "cx", "cl", "ch"}}, {2, {"edx", "dx", "dl", "dh"}},
      {3, {"ebx", "bx", "bl", "bh"}}, {4, {"esp", "sp", "", ""}},     {5, {"ebp", "bp", "", ""}},
      {6, {"esi", "si", "", ""}},     {7, {"edi", "di", "", ""}},     {8, {"eip", "ip", "", ""}},
  }};
  const unsigned sizes32[] = {4, 2, 1, 1};
  for (const auto& [number, names] : i386) {
    Row row{Arch::i386, number, {}};
    for (size_t i = 0; i < 4; ++i)
      if (*names[i]) row.views.push_back({names[i], sizes32[i]});
    rows.push_back(std::move(row));
  }
  // arm64: x0..x30 with their w views; x29 is fp and x30 is lr in dumps.
  for (int r = 0; r <= 30; ++r) {
    Row row{Arch::arm64, r, {{fmt::format("x{}", r), 8}, {fmt::format("w{}", r), 4}}};
    if (r == 29) row.views.push_back({"fp", 8});
    if (r == 30) row.views.push_back({"lr", 8});
    rows.push_back(std::move(row));
  }
  rows.push_back({Arch::arm64, 31, {{"sp", 8}, {"wsp", 4}}});
  // arm: r0..r15; dumps name r11..r15 fp, ip, sp, lr, pc, the disassembler
  // r9 and r10 sb and sl.
  const char* arm_names[16][2] = {{"r0", ""},  {"r1", ""},  {"r2", ""},  {"r3", ""},   {"r4", ""},   {"r5", ""},
                                  {"r6", ""},  {"r7", ""},  {"r8", ""},  {"r9", "sb"}, {"r10", "sl"}, {"fp", "r11"},
                                  {"ip", "r12"}, {"sp", "r13"}, {"lr", "r14"}, {"pc", "r15"}};
  for (int r = 0; r < 16; ++r) {
    Row row{Arch::arm, r, {{arm_names[r][0], 4}}};
    if (*arm_names[r][1]) row.views.push_back({arm_names[r][1], 4});
    rows.push_back(std::move(row));
  }
  return rows;
}

const std::vector<Row>& rows() {
  static const std::vector<Row> table = build();
  return table;
}

const Row* find(std::string_view name, Arch arch, const View** view = nullptr) {
  for (const Row& r : rows()) {
    if (r.arch != arch) continue;
    for (const View& v : r.views) {
      if (v.name != name) continue;
      if (view) *view = &v;
      return &r;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<RegisterInfo> register_info(std::string_view name, Arch arch) {
  const View* view = nullptr;
  const Row* row = find(name, arch, &view);
  if (!row) return std::nullopt;
  return RegisterInfo{row->views.front().name, view->bytes, row->dwarf};
}

std::optional<uint64_t> register_value(const RegisterSet& regs, std::string_view family, Arch arch) {
  if (family.empty()) return std::nullopt;
  if (auto v = regs.get(family)) return v;
  if (const Row* row = find(family, arch))
    for (const View& v : row->views)
      if (v.bytes == row->views.front().bytes)
        if (auto value = regs.get(v.name)) return value;
  return std::nullopt;
}

}  // namespace ktriage

// A streaming reader for one compile unit's DWARF line program (versions
// 2-5), for the vmlinux fast path: libdw 0.188's dwarf_getsrc_die() and
// dwarf_getsrcfiles() decode, store and sort the unit's whole line table
// (60% of the instructions spent symbolizing a 16-frame trace); a lookup
// only needs one pass that remembers the best row.
//
// Every length and offset comes from the file and is bounds-checked: a
// damaged program gives std::nullopt, never a read out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ktriage {

struct DwarfSections {
  std::string_view debug_line;
  std::string_view debug_line_str;
  std::string_view debug_str;
};

struct LineRow {
  uint64_t address = 0;
  uint32_t file = 0;  // index into LineProgram::files
  uint32_t line = 0;
  uint32_t column = 0;
};

class LineProgram {
 public:
  // Parses the header at `offset` (DW_AT_stmt_list). `comp_dir` stands for
  // directory 0 in DWARF < 5.
  static std::optional<LineProgram> parse(const DwarfSections& sections, uint64_t offset,
                                          std::string_view comp_dir);

  // The row covering `pc`: in the sequence holding pc, the last row whose
  // address is <= pc (what dwarf_getsrc_die() returns).
  std::optional<LineRow> lookup(uint64_t pc) const;

  // File names as the unit's DW_AT_call_file indexes them: "dir/name"
  // joined; DWARF < 5 is 1-based (index 0 is the unit's primary file).
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::string_view program_;  // opcodes, after the header
  uint8_t version_ = 0;
  uint8_t address_size_ = 8;
  uint8_t min_inst_length_ = 1;
  uint8_t max_ops_ = 1;
  bool default_is_stmt_ = true;
  int8_t line_base_ = 0;
  uint8_t line_range_ = 1;
  uint8_t opcode_base_ = 1;
  std::vector<uint8_t> standard_lengths_;
  std::vector<std::string> files_;
};

}  // namespace ktriage

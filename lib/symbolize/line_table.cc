// DWARF line programs, read once per lookup without materialising rows.
#include "symbolize/line_table.h"

#include <dwarf.h>

#include <cstring>

namespace ktriage {
namespace {

// Bounds-checked little-endian cursor; any overrun sets ok = false and
// every later read returns 0.
struct Cursor {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;

  bool has(size_t n) const { return ok && n <= data.size() - pos; }
  uint64_t fixed(size_t n) {
    if (!has(n)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(data[pos + i])) << (8 * i);
    pos += n;
    return v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; ok; shift += 7) {
      if (!has(1)) {
        ok = false;
        break;
      }
      const uint8_t b = static_cast<uint8_t>(data[pos++]);
      if (shift < 64) v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      if (shift > 70) ok = false;
    }
    return v;
  }
  int64_t sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    do {
      if (!has(1) || shift > 70) {
        ok = false;
        return 0;
      }
      b = static_cast<uint8_t>(data[pos++]);
      if (shift < 64) v |= static_cast<int64_t>(static_cast<uint64_t>(b & 0x7f) << shift);
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -(int64_t{1} << shift);
    return v;
  }
  std::string_view cstr() {
    if (!ok || pos >= data.size()) {
      ok = false;
      return {};
    }
    const void* nul = std::memchr(data.data() + pos, '\0', data.size() - pos);
    if (!nul) {
      ok = false;
      return {};
    }
    size_t len = static_cast<const char*>(nul) - (data.data() + pos);
    std::string_view s = data.substr(pos, len);
    pos += len + 1;
    return s;
  }
  void skip(uint64_t n) {
    if (!has(n)) {
      ok = false;
      return;
    }
    pos += n;
  }
};

std::string_view string_at(std::string_view section, uint64_t offset) {
  if (offset >= section.size()) return {};
  std::string_view rest = section.substr(offset);
  return rest.substr(0, rest.find('\0'));
}

std::string join(std::string_view dir, std::string_view name) {
  if (name.empty() || name.front() == '/' || dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

// One DWARF 5 entry-format field: a string (path) or a number (directory index).
struct FieldValue {
  std::string_view text;
  uint64_t number = 0;
};

bool read_form(Cursor& c, uint64_t form, unsigned offset_size, const DwarfSections& s,
               FieldValue& out) {
  switch (form) {
    case DW_FORM_string: out.text = c.cstr(); break;
    case DW_FORM_line_strp: out.text = string_at(s.debug_line_str, c.fixed(offset_size)); break;
    case DW_FORM_strp: out.text = string_at(s.debug_str, c.fixed(offset_size)); break;
    case DW_FORM_udata: out.number = c.uleb(); break;
    case DW_FORM_data1: out.number = c.fixed(1); break;
    case DW_FORM_data2: out.number = c.fixed(2); break;
    case DW_FORM_data4: out.number = c.fixed(4); break;
    case DW_FORM_data8: out.number = c.fixed(8); break;
    case DW_FORM_data16: c.skip(16); break;
    case DW_FORM_block: c.skip(c.uleb()); break;
    default: return false;  // strx forms would need .debug_str_offsets
  }
  return c.ok;
}

// DWARF 5 directory or file-name table.
bool read_entries(Cursor& c, unsigned offset_size, const DwarfSections& s,
                  std::vector<std::pair<std::string_view, uint64_t>>& out) {
  const uint64_t format_count = c.fixed(1);
  std::vector<std::pair<uint64_t, uint64_t>> formats;
  for (uint64_t i = 0; i < format_count && c.ok; ++i) {
    const uint64_t type = c.uleb();
    formats.emplace_back(type, c.uleb());
  }
  const uint64_t count = c.uleb();
  if (!c.ok || count > c.data.size()) return false;
  for (uint64_t i = 0; i < count && c.ok; ++i) {
    std::pair<std::string_view, uint64_t> entry;
    for (auto [type, form] : formats) {
      FieldValue v;
      if (!read_form(c, form, offset_size, s, v)) return false;
      if (type == DW_LNCT_path) entry.first = v.text;
      if (type == DW_LNCT_directory_index) entry.second = v.number;
    }
    out.push_back(entry);
  }
  return c.ok;
}

}  // namespace

std::optional<LineProgram> LineProgram::parse(const DwarfSections& sections, uint64_t offset,
                                              std::string_view comp_dir) {
  if (offset >= sections.debug_line.size()) return std::nullopt;
  Cursor c{sections.debug_line, offset};
  uint64_t unit_length = c.fixed(4);
  unsigned offset_size = 4;
  if (unit_length == 0xffffffff) {
    unit_length = c.fixed(8);
    offset_size = 8;
  }
  if (!c.ok || unit_length > c.data.size() - c.pos) return std::nullopt;
  const size_t unit_end = c.pos + unit_length;
  c.data = c.data.substr(0, unit_end);

  LineProgram p;
  p.version_ = static_cast<uint8_t>(c.fixed(2));
  if (p.version_ < 2 || p.version_ > 5) return std::nullopt;
  if (p.version_ >= 5) {
    p.address_size_ = static_cast<uint8_t>(c.fixed(1));
    c.fixed(1);  // segment selector size
  }
  const uint64_t header_length = c.fixed(offset_size);
  if (!c.ok || header_length > c.data.size() - c.pos) return std::nullopt;
  const size_t program_start = c.pos + header_length;
  p.min_inst_length_ = static_cast<uint8_t>(c.fixed(1));
  if (p.version_ >= 4) p.max_ops_ = static_cast<uint8_t>(c.fixed(1));
  p.default_is_stmt_ = c.fixed(1) != 0;
  p.line_base_ = static_cast<int8_t>(c.fixed(1));
  p.line_range_ = static_cast<uint8_t>(c.fixed(1));
  p.opcode_base_ = static_cast<uint8_t>(c.fixed(1));
  if (!c.ok || p.line_range_ == 0 || p.opcode_base_ == 0 || p.max_ops_ == 0) return std::nullopt;
  for (unsigned i = 1; i < p.opcode_base_; ++i) p.standard_lengths_.push_back(static_cast<uint8_t>(c.fixed(1)));

  if (p.version_ >= 5) {
    std::vector<std::pair<std::string_view, uint64_t>> dirs, files;
    if (!read_entries(c, offset_size, sections, dirs) ||
        !read_entries(c, offset_size, sections, files)) {
      return std::nullopt;
    }
    for (auto& [name, dir] : files) {
      std::string d = dir < dirs.size() ? std::string(dirs[dir].first) : std::string();
      // Directory 0 is the compilation directory; others may be relative to it.
      if (dir != 0 && !d.empty() && d.front() != '/' && !dirs.empty()) d = join(dirs[0].first, d);
      p.files_.push_back(join(d, name));
    }
  } else {
    std::vector<std::string_view> dirs{comp_dir};
    while (c.ok) {
      std::string_view d = c.cstr();
      if (d.empty()) break;
      dirs.push_back(d);
    }
    p.files_.push_back("???");  // DW_AT_call_file and DW_LNS_set_file count from 1
    while (c.ok) {
      std::string_view name = c.cstr();
      if (name.empty()) break;
      const uint64_t dir = c.uleb();
      c.uleb();  // mtime
      c.uleb();  // length
      std::string d = dir < dirs.size() ? std::string(dirs[dir]) : std::string();
      if (dir != 0 && !d.empty() && d.front() != '/') d = join(comp_dir, d);
      p.files_.push_back(join(d, name));
    }
  }
  if (!c.ok || program_start > unit_end) return std::nullopt;
  p.program_ = sections.debug_line.substr(program_start, unit_end - program_start);
  return p;
}

std::optional<LineRow> LineProgram::lookup(uint64_t pc) const {
  Cursor c{program_};
  std::optional<LineRow> best;
  // State machine registers (DWARF 5 section 6.2.2).
  LineRow row;
  auto reset = [&] { row = LineRow{0, 1, 1, 0}; };
  reset();
  std::optional<LineRow> prev;  // last row emitted in this sequence
  bool found_in_sequence = false;
  uint64_t op_index = 0;
  auto advance = [&](uint64_t operation_advance) {
    if (max_ops_ == 1) {
      row.address += min_inst_length_ * operation_advance;
    } else {
      row.address += min_inst_length_ * ((op_index + operation_advance) / max_ops_);
      op_index = (op_index + operation_advance) % max_ops_;
    }
  };
  // A row is appended: the previous row covers [prev.address, row.address).
  auto emit = [&](bool end_sequence) {
    if (prev && prev->address <= pc && pc < row.address) {
      best = prev;
      found_in_sequence = true;
    }
    prev = row;
    if (end_sequence) {
      prev.reset();
      if (found_in_sequence) return true;
      reset();
      op_index = 0;
    }
    return false;
  };
  size_t steps = 0;
  while (c.ok && c.pos < c.data.size() && ++steps < 50'000'000) {
    const uint8_t op = static_cast<uint8_t>(c.fixed(1));
    if (op >= opcode_base_) {
      const unsigned adjusted = op - opcode_base_;
      advance(adjusted / line_range_);
      row.line = static_cast<uint32_t>(row.line + line_base_ + static_cast<int>(adjusted % line_range_));
      if (emit(false)) return best;
      continue;
    }
    switch (op) {
      case 0: {  // extended opcode
        const uint64_t len = c.uleb();
        if (!c.has(len) || len == 0) return best;
        const size_t end = c.pos + len;
        const uint8_t sub = static_cast<uint8_t>(c.fixed(1));
        if (sub == DW_LNE_end_sequence) {
          if (emit(true)) return best;
        } else if (sub == DW_LNE_set_address) {
          row.address = c.fixed(len - 1 <= 8 ? len - 1 : 8);
          op_index = 0;
        }
        c.pos = end;
        break;
      }
      case DW_LNS_copy:
        if (emit(false)) return best;
        break;
      case DW_LNS_advance_pc: advance(c.uleb()); break;
      case DW_LNS_advance_line: row.line = static_cast<uint32_t>(row.line + c.sleb()); break;
      case DW_LNS_set_file: row.file = static_cast<uint32_t>(c.uleb()); break;
      case DW_LNS_set_column: row.column = static_cast<uint32_t>(c.uleb()); break;
      case DW_LNS_negate_stmt: break;
      case DW_LNS_set_basic_block: break;
      case DW_LNS_const_add_pc: advance((255 - opcode_base_) / line_range_); break;
      case DW_LNS_fixed_advance_pc:
        row.address += c.fixed(2);
        op_index = 0;
        break;
      default:  // unknown standard opcode: skip its ULEB operands
        for (unsigned i = 0; i < standard_lengths_[op - 1]; ++i) c.uleb();
        break;
    }
  }
  return best;
}

}  // namespace ktriage

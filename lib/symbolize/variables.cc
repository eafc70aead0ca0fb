// Source expressions for memory operands: which variable a register holds
// at a code address (DWARF locations, innermost inline scope first) and
// which member or element an offset from it lands on (DWARF types).
//
// Everything read from DWARF is hostile: recursion over types and scopes is
// depth-limited, sizes are checked before dividing, and a libdw failure
// means "no expression", never a crash.
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ktriage/kernel_facts.h"
#include "symbolize/debug_object.h"
#include "symbolize/dwarf_scopes.h"

namespace ktriage {
namespace {

constexpr int kMaxTypeDepth = 32;
constexpr int kMaxChildren = 1'000'000;

// The architecture of a module's ELF machine (DWARF register numbers and
// register names follow it).
Arch machine_of(Dwfl_Module* module) {
  GElf_Addr bias = 0;
  Elf* elf = module ? dwfl_module_getelf(module, &bias) : nullptr;
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf, &ehdr)) return Arch::unknown;
  switch (ehdr.e_machine) {
    case EM_X86_64: return Arch::x86_64;
    case EM_386: return Arch::i386;
    case EM_AARCH64: return Arch::arm64;
    default: return Arch::unknown;
  }
}

// The DWARF number of a register, by any of its names (lib/kernel's table).
std::optional<int> dwarf_register(Arch arch, std::string_view name) {
  std::optional<RegisterInfo> r = register_info(name, arch);
  if (!r || r->dwarf < 0) return std::nullopt;
  return r->dwarf;
}

// ---- DIE helpers -----------------------------------------------------------

std::string die_name(Dwarf_Die* die) {
  Dwarf_Attribute a;
  if (!dwarf_attr_integrate(die, DW_AT_name, &a)) return {};
  const char* s = dwarf_formstring(&a);
  return s ? s : "";
}

bool die_type(Dwarf_Die* die, Dwarf_Die* type) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, DW_AT_type, &a) && dwarf_formref_die(&a, type);
}

std::optional<uint64_t> udata(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute a;
  Dwarf_Word w = 0;
  if (!dwarf_attr_integrate(die, name, &a) || dwarf_formudata(&a, &w) != 0) return std::nullopt;
  return w;
}

bool is_qualifier(int tag) {
  return tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
         tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type;
}

// Strips typedefs and qualifiers. False for a damaged chain.
bool peel(Dwarf_Die* type, Dwarf_Die* out) {
  *out = *type;
  for (int i = 0; i < kMaxTypeDepth; ++i) {
    if (!is_qualifier(dwarf_tag(out))) return true;
    Dwarf_Die next;
    if (!die_type(out, &next)) return false;  // `const void`
    *out = next;
  }
  return false;
}

std::optional<uint64_t> size_of(Dwarf_Die* type) {
  Dwarf_Die t;
  if (!peel(type, &t)) return std::nullopt;
  Dwarf_Word size = 0;
  if (dwarf_aggregate_size(&t, &size) != 0) return std::nullopt;
  return size;
}

std::string type_name(Dwarf_Die* type, int depth = 0) {
  if (depth > kMaxTypeDepth) return "?";
  const int tag = dwarf_tag(type);
  const std::string name = die_name(type);
  Dwarf_Die inner;
  const bool has_inner = die_type(type, &inner);
  auto inner_name = [&] { return has_inner ? type_name(&inner, depth + 1) : std::string("void"); };
  switch (tag) {
    case DW_TAG_base_type:
    case DW_TAG_typedef:
    case DW_TAG_unspecified_type:
      return name.empty() ? "?" : name;
    case DW_TAG_structure_type: return "struct " + (name.empty() ? "<anonymous>" : name);
    case DW_TAG_union_type: return "union " + (name.empty() ? "<anonymous>" : name);
    case DW_TAG_class_type: return "class " + (name.empty() ? "<anonymous>" : name);
    case DW_TAG_enumeration_type: return "enum " + (name.empty() ? "<anonymous>" : name);
    case DW_TAG_pointer_type: {
      if (has_inner && dwarf_tag(&inner) == DW_TAG_subroutine_type) return "function pointer";
      std::string s = inner_name();
      return s.ends_with('*') ? s + "*" : s + " *";
    }
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: {
      const char* q = tag == DW_TAG_const_type      ? "const"
                      : tag == DW_TAG_volatile_type ? "volatile"
                      : tag == DW_TAG_restrict_type ? "restrict"
                                                    : "_Atomic";
      std::string s = inner_name();
      // Qualified pointers read "char *const"; everything else "const char".
      if (s.ends_with('*')) return s + q;
      return std::string(q) + " " + s;
    }
    case DW_TAG_array_type: {
      std::string dims;
      Dwarf_Die sub;
      if (dwarf_child(type, &sub) == 0) {
        int n = 0;
        do {
          if (dwarf_tag(&sub) != DW_TAG_subrange_type) continue;
          if (auto count = udata(&sub, DW_AT_count)) {
            dims += fmt::format("[{}]", *count);
          } else if (auto upper = udata(&sub, DW_AT_upper_bound)) {
            dims += fmt::format("[{}]", *upper + 1);
          } else {
            dims += "[]";
          }
        } while (++n < 64 && dwarf_siblingof(&sub, &sub) == 0);
      }
      return inner_name() + (dims.empty() ? "[]" : dims);
    }
    case DW_TAG_subroutine_type: return "function";
    default: return name.empty() ? "?" : name;
  }
}

// Byte offset and byte span of a struct member; bitfields span the bytes
// their bits touch.
bool member_span(Dwarf_Die* member, uint64_t* offset, uint64_t* size) {
  Dwarf_Attribute a;
  uint64_t off = 0;
  if (dwarf_attr(member, DW_AT_data_member_location, &a)) {
    Dwarf_Word w = 0;
    if (dwarf_formudata(&a, &w) == 0) {
      off = w;
    } else {
      Dwarf_Op* ops = nullptr;
      size_t n = 0;
      if (dwarf_getlocation(&a, &ops, &n) != 0 || n != 1 || ops[0].atom != DW_OP_plus_uconst) {
        return false;
      }
      off = ops[0].number;
    }
  }
  std::optional<uint64_t> bit_size = udata(member, DW_AT_bit_size);
  std::optional<uint64_t> type_size;
  Dwarf_Die type;
  if (die_type(member, &type)) type_size = size_of(&type);
  if (bit_size) {
    if (auto data_bit = udata(member, DW_AT_data_bit_offset)) {
      off += *data_bit / 8;
      *offset = off;
      *size = (*data_bit % 8 + *bit_size + 7) / 8;
      return *size > 0 && *bit_size < (uint64_t{1} << 32);
    }
    // DWARF 2/3: DW_AT_bit_offset counts from the most significant bit of
    // the storage unit of DW_AT_byte_size bytes (little-endian targets).
    std::optional<uint64_t> storage = udata(member, DW_AT_byte_size);
    if (!storage) storage = type_size;
    auto bit_offset = udata(member, DW_AT_bit_offset);
    if (storage && bit_offset && *storage <= 16 && *bit_offset + *bit_size <= *storage * 8) {
      const uint64_t low_bit = *storage * 8 - *bit_offset - *bit_size;
      *offset = off + low_bit / 8;
      *size = (low_bit % 8 + *bit_size + 7) / 8;
      return true;
    }
    *offset = off;
    *size = storage.value_or(1);
    return true;
  }
  if (!type_size) return false;
  *offset = off;
  *size = *type_size;
  return true;
}

// One step of a path into an object: ".name" or "[k]".
struct PathPart {
  bool member = true;
  std::string name;  // member name ("" for an anonymous struct/union)
  int64_t index = 0;
  uint64_t elem_size = 0;  // array parts: size of one element
  std::string index_name;  // array parts: a variable index ("i"), set by compose()
};

struct Landing {
  std::vector<PathPart> path;
  Dwarf_Die type{};       // what the path names (not peeled)
  uint64_t residual = 0;  // bytes into `type` the offset still is
  bool ok = false;
};

// Where `offset` (with `access` bytes, 0 = unknown) lands inside an object
// of `type`: members of structs and unions, elements of arrays, down to
// the smallest thing that holds the whole access.
Landing land(Dwarf_Die* type, uint64_t offset, uint32_t access, int depth = 0) {
  Landing out;
  out.type = *type;
  out.residual = offset;
  out.ok = true;
  if (depth > kMaxTypeDepth) return out;
  Dwarf_Die t;
  if (!peel(type, &t)) return out;
  const int tag = dwarf_tag(&t);
  std::optional<uint64_t> whole = size_of(&t);
  // The access covers the whole object: stop here (a struct copied by
  // value, a pointer loaded as a whole).
  if (offset == 0 && access != 0 && whole && *whole == access) return out;

  if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type) {
    Dwarf_Die child;
    if (dwarf_child(&t, &child) != 0) return out;
    std::optional<Landing> best;
    int n = 0;
    do {
      if (dwarf_tag(&child) != DW_TAG_member) continue;
      uint64_t moff = 0, msize = 0;
      if (!member_span(&child, &moff, &msize)) continue;
      if (offset < moff || offset - moff >= msize) continue;
      if (access != 0 && offset - moff + access > msize && best) continue;
      Dwarf_Die mtype;
      if (!die_type(&child, &mtype)) continue;
      Landing inner;
      if (udata(&child, DW_AT_bit_size)) {  // a bitfield is a leaf
        inner.type = mtype;
        inner.residual = 0;
        inner.ok = true;
      } else {
        inner = land(&mtype, offset - moff, access, depth + 1);
      }
      PathPart part;
      part.name = die_name(&child);
      inner.path.insert(inner.path.begin(), part);
      // A union's members overlap: prefer one the access lands on exactly,
      // then one of the accessed size.
      auto fits = [&](Landing& l) {
        std::optional<uint64_t> sz = size_of(&l.type);
        return access != 0 && sz && *sz == access;
      };
      if (!best || (best->residual != 0 && inner.residual == 0) ||
          (inner.residual == 0 && !fits(*best) && fits(inner))) {
        best = std::move(inner);
      }
      if (tag != DW_TAG_union_type && best) break;
    } while (++n < kMaxChildren && dwarf_siblingof(&child, &child) == 0);
    if (best) return *best;
    return out;
  }
  if (tag == DW_TAG_array_type) {
    Dwarf_Die elem;
    if (!die_type(&t, &elem)) return out;
    std::optional<uint64_t> es = size_of(&elem);
    if (!es || *es == 0) return out;
    // Multi-dimensional arrays are read as arrays of their last dimension.
    PathPart part;
    part.member = false;
    part.index = static_cast<int64_t>(offset / *es);
    part.elem_size = *es;
    Landing inner = land(&elem, offset % *es, access, depth + 1);
    inner.path.insert(inner.path.begin(), part);
    return inner;
  }
  return out;
}

std::string index_text(const std::string& index, int64_t extra) {
  if (extra == 0) return index;
  if (extra > 0) return fmt::format("{} + {}", index, extra);
  return fmt::format("{} - {}", index, -static_cast<uint64_t>(extra));
}

std::string render_path(const std::vector<PathPart>& path, bool arrow_first) {
  std::string s;
  bool first = true;
  for (const PathPart& p : path) {
    if (!p.member) {
      s += p.index_name.empty() ? fmt::format("[{}]", p.index)
                                : "[" + index_text(p.index_name, p.index) + "]";
    } else if (!p.name.empty()) {
      s += (first && arrow_first) ? "->" : ".";
      s += p.name;
      first = false;
    }
  }
  return s;
}

std::string last_member(const std::vector<PathPart>& path) {
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (it->member && !it->name.empty()) return it->name;
  }
  return {};
}

// ---- variable locations ----------------------------------------------------

enum class Where {
  none,         // no location covers the address (optimized out there)
  reg,          // value == register
  reg_plus,     // value == register + offset
  memory_reg,   // object in memory at register + offset
  memory_cfa,   // object in memory at frame base (CFA) + offset
  memory_addr,  // object in memory at a fixed address
  entry_reg,    // value == register's value at function entry
  other,        // described, but not in a form used here
};

// A part of a variable held in a register (DW_OP_regN, DW_OP_piece size):
// a struct passed or kept in several registers.
struct Piece {
  int reg = -1;
  uint64_t offset = 0;  // bytes into the variable
  uint64_t size = 0;
};

struct Location {
  Where where = Where::none;
  int reg = -1;
  int64_t offset = 0;
  uint64_t address = 0;
  std::vector<Piece> pieces;  // registers holding parts, for composite locations
};

std::optional<int> reg_of(const Dwarf_Op& op, int64_t* offset) {
  if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) return op.atom - DW_OP_reg0;
  if (op.atom == DW_OP_regx) return static_cast<int>(op.number);
  if (op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
    *offset = static_cast<int64_t>(op.number);
    return op.atom - DW_OP_breg0;
  }
  if (op.atom == DW_OP_bregx) {
    *offset = static_cast<int64_t>(op.number2);
    return static_cast<int>(op.number);
  }
  return std::nullopt;
}

bool is_register_op(uint8_t atom) {
  return (atom >= DW_OP_reg0 && atom <= DW_OP_reg31) || atom == DW_OP_regx;
}
bool is_breg_op(uint8_t atom) {
  return (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx;
}

Location classify(Dwarf_Attribute* attr, Dwarf_Op* ops, size_t n) {
  Location loc;
  loc.where = Where::other;
  if (n == 0) {
    loc.where = Where::none;
    return loc;
  }
  int64_t off = 0;
  // Composite: [location] DW_OP_piece size, ...; keep the register parts.
  if (std::any_of(ops, ops + n, [](const Dwarf_Op& op) { return op.atom == DW_OP_piece; })) {
    uint64_t at = 0;
    int reg = -1;  // register of the part being read, -1 for other kinds
    for (size_t i = 0; i < n; ++i) {
      if (ops[i].atom == DW_OP_piece) {
        if (reg >= 0) loc.pieces.push_back({reg, at, ops[i].number});
        if (ops[i].number > (uint64_t{1} << 32)) break;
        at += ops[i].number;
        reg = -1;
      } else if (is_register_op(ops[i].atom)) {
        reg = reg_of(ops[i], &off).value_or(-1);
      } else {
        reg = -1;
      }
    }
    return loc;
  }
  if (n == 1 && is_register_op(ops[0].atom)) {
    loc.where = Where::reg;
    loc.reg = *reg_of(ops[0], &off);
  } else if (n == 1 && is_breg_op(ops[0].atom)) {
    loc.where = Where::memory_reg;
    loc.reg = *reg_of(ops[0], &off);
    loc.offset = off;
  } else if (n == 2 && is_breg_op(ops[0].atom) && ops[1].atom == DW_OP_stack_value) {
    loc.where = Where::reg_plus;
    loc.reg = *reg_of(ops[0], &off);
    loc.offset = off;
    if (loc.offset == 0) loc.where = Where::reg;
  } else if (n == 1 && ops[0].atom == DW_OP_fbreg) {
    loc.where = Where::memory_cfa;
    loc.offset = static_cast<int64_t>(ops[0].number);
  } else if (n == 1 && ops[0].atom == DW_OP_addr) {
    loc.where = Where::memory_addr;
    loc.address = ops[0].number;
  } else if (n == 2 && (ops[0].atom == DW_OP_entry_value || ops[0].atom == DW_OP_GNU_entry_value) &&
             ops[1].atom == DW_OP_stack_value) {
    Dwarf_Attribute block;
    Dwarf_Op* inner = nullptr;
    size_t ninner = 0;
    if (dwarf_getlocation_attr(attr, &ops[0], &block) == 0 &&
        dwarf_getlocation(&block, &inner, &ninner) == 0 && ninner == 1 &&
        is_register_op(inner[0].atom)) {
      loc.where = Where::entry_reg;
      loc.reg = *reg_of(inner[0], &off);
    }
  }
  return loc;
}

Location location_at(Dwarf_Die* var, Dwarf_Addr pc) {
  Location loc;
  Dwarf_Attribute attr;
  if (!dwarf_attr(var, DW_AT_location, &attr)) return loc;
  Dwarf_Op* exprs[4] = {};
  size_t lens[4] = {};
  const int n = dwarf_getlocation_addr(&attr, pc, exprs, lens, 4);
  if (n <= 0) return loc;
  return classify(&attr, exprs[0], lens[0]);
}

struct Variable {
  Dwarf_Die die{};
  std::string name;
  Dwarf_Die type{};
  bool has_type = false;
  Location loc;
  int level = 0;  // 0 = innermost scope
};

// The frame base of the function containing pc as register + offset:
// DW_AT_frame_base of the innermost concrete subprogram, through the CFI
// when it is DW_OP_call_frame_cfa (what GCC emits).
std::optional<std::pair<int, int64_t>> frame_base(const std::vector<Dwarf_Die>& scopes,
                                                  Dwarf_Addr pc, Dwfl_Module* module) {
  for (const Dwarf_Die& scope : scopes) {
    Dwarf_Die die = scope;
    if (dwarf_tag(&die) != DW_TAG_subprogram) continue;
    Dwarf_Attribute attr;
    Dwarf_Op* ops[2] = {};
    size_t lens[2] = {};
    if (!dwarf_attr(&die, DW_AT_frame_base, &attr) ||
        dwarf_getlocation_addr(&attr, pc, ops, lens, 2) <= 0 || lens[0] != 1) {
      return std::nullopt;
    }
    int64_t off = 0;
    if (is_breg_op(ops[0][0].atom)) {
      std::optional<int> reg = reg_of(ops[0][0], &off);
      return std::pair{*reg, off};
    }
    if (ops[0][0].atom != DW_OP_call_frame_cfa || !module) return std::nullopt;
    for (int which = 0; which < 2; ++which) {
      Dwarf_Addr bias = 0;
      Dwarf_CFI* cfi = which == 0 ? dwfl_module_dwarf_cfi(module, &bias)
                                  : dwfl_module_eh_cfi(module, &bias);
      Dwarf_Frame* frame = nullptr;
      if (!cfi || dwarf_cfi_addrframe(cfi, pc, &frame) != 0 || !frame) continue;
      std::unique_ptr<Dwarf_Frame, void (*)(void*)> owned(frame, free);
      Dwarf_Op* cfa = nullptr;
      size_t ncfa = 0;
      if (dwarf_frame_cfa(frame, &cfa, &ncfa) != 0 || ncfa != 1 || !is_breg_op(cfa[0].atom)) {
        return std::nullopt;
      }
      std::optional<int> reg = reg_of(cfa[0], &off);
      return std::pair{*reg, off};
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<Variable> variables_at(Dwarf_Die* cudie, Dwarf_Addr pc) {
  std::vector<Variable> out;
  std::vector<Dwarf_Die> scopes = symbolize::concrete_scopes(cudie, pc);
  int level = 0;
  for (Dwarf_Die& scope : scopes) {
    Dwarf_Die child;
    if (dwarf_child(&scope, &child) != 0) {
      ++level;
      continue;
    }
    int n = 0;
    do {
      const int tag = dwarf_tag(&child);
      if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) continue;
      Variable v;
      v.die = child;
      v.name = die_name(&child);
      if (v.name.empty()) continue;
      v.has_type = die_type(&child, &v.type);
      v.loc = location_at(&child, pc);
      v.level = level;
      // Each register part of a composite is a variable of its own for the
      // register questions asked here: "p.n" in rsi.
      for (const Piece& piece : v.loc.pieces) {
        if (!v.has_type) break;
        Landing l = land(&v.type, piece.offset, static_cast<uint32_t>(piece.size));
        if (l.residual != 0) continue;
        Variable part;
        part.die = child;
        part.name = v.name + render_path(l.path, false);
        part.type = l.type;
        part.has_type = true;
        part.loc.where = Where::reg;
        part.loc.reg = piece.reg;
        part.level = level;
        out.push_back(std::move(part));
      }
      out.push_back(std::move(v));
    } while (++n < kMaxChildren && dwarf_siblingof(&child, &child) == 0);
    ++level;
  }
  return out;
}

// Globals of the unit (definitions and extern declarations), for absolute
// operands.
std::vector<Variable> unit_globals(Dwarf_Die* cudie) {
  std::vector<Variable> out;
  Dwarf_Die child;
  if (dwarf_child(cudie, &child) != 0) return out;
  int n = 0;
  do {
    if (dwarf_tag(&child) != DW_TAG_variable) continue;
    Variable v;
    v.die = child;
    v.name = die_name(&child);
    if (v.name.empty()) continue;
    v.has_type = die_type(&child, &v.type);
    Dwarf_Attribute attr;
    Dwarf_Op* ops = nullptr;
    size_t len = 0;
    if (dwarf_attr(&child, DW_AT_location, &attr) && dwarf_getlocation(&attr, &ops, &len) == 0) {
      v.loc = classify(&attr, ops, len);
    }
    v.level = 1 << 20;
    out.push_back(std::move(v));
  } while (++n < kMaxChildren && dwarf_siblingof(&child, &child) == 0);
  return out;
}

// The pointee of a pointer (or array parameter) type, or false.
bool pointee(Dwarf_Die* type, Dwarf_Die* out) {
  Dwarf_Die t;
  if (!peel(type, &t)) return false;
  if (dwarf_tag(&t) != DW_TAG_pointer_type) return false;
  return die_type(&t, out);
}

bool is_aggregate(Dwarf_Die* type) {
  Dwarf_Die t;
  if (!peel(type, &t)) return false;
  const int tag = dwarf_tag(&t);
  return tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_class_type;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A base to build on: a pointer value (`p`, `t->stack`) or an object in
// memory (`s` on the stack, a global) at `offset` bytes into it.
struct Base {
  std::string text;
  Dwarf_Die type{};   // pointer type for a pointer value, object type otherwise
  bool pointer = true;
  int64_t offset = 0;  // bytes from the pointer / object start
};

// Gives the deepest array in `path` whose elements are `scale` bytes the
// variable index; false when there is none.
bool index_into(std::vector<PathPart>& path, const std::string& index, int64_t scale) {
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (!it->member && static_cast<int64_t>(it->elem_size) == scale) {
      it->index_name = index;
      return true;
    }
  }
  return false;
}

// Builds the expression for base + index*scale + offset.
// `outside` is set when the address is not within the object the pointer
// points to (p[-1], p[2]): plausible, but a worse match than one inside.
std::optional<SourceExpression> compose(const Base& base, const std::string& index,
                                        int64_t scale, uint32_t access, bool* outside = nullptr) {
  SourceExpression out;
  Landing landing;
  std::string text;
  bool arrow = false;
  if (base.pointer) {
    Dwarf_Die target;
    Dwarf_Die ptype = base.type;
    if (!pointee(&ptype, &target)) return std::nullopt;
    std::optional<uint64_t> es = size_of(&target);
    if (!es || *es == 0 || *es > (uint64_t{1} << 40)) return std::nullopt;
    const int64_t esize = static_cast<int64_t>(*es);
    const int64_t k = floor_div(base.offset, esize);
    const uint64_t rem = static_cast<uint64_t>(base.offset - k * esize);
    bool indexed_here = !index.empty() && scale == esize;
    if (indexed_here) {
      text = fmt::format("{}[{}]", base.text, index_text(index, k));
    } else if (k == 0 && is_aggregate(&target)) {
      text = base.text;
      arrow = true;
    } else if (k == 0) {
      text = "*" + base.text;
    } else {
      text = fmt::format("{}[{}]", base.text, k);
      if (outside) *outside = true;
    }
    landing = land(&target, rem, access);
    if (!index.empty() && !indexed_here && !index_into(landing.path, index, scale)) {
      return std::nullopt;
    }
    if (arrow && landing.path.empty()) {
      text = "*" + base.text;
      arrow = false;
    }
  } else {
    if (base.offset < 0) return std::nullopt;
    Dwarf_Die object = base.type;
    text = base.text;
    landing = land(&object, static_cast<uint64_t>(base.offset), access);
    if (!index.empty() && !index_into(landing.path, index, scale)) return std::nullopt;
  }
  out.text = text + render_path(landing.path, arrow);
  if (landing.residual != 0) {
    out.note = fmt::format("{} bytes into {}", landing.residual, out.text);
  }
  out.type = type_name(&landing.type);
  out.member = last_member(landing.path);
  out.type_ref = dwarf_dieoffset(&landing.type);
  return out;
}

}  // namespace

std::optional<SourceExpression> DebugObject::source_expression(
    uint64_t address, std::string_view base_register, std::string_view index_register,
    int64_t scale, int64_t displacement, uint32_t access_size, const SourceExpression* base_is,
    const SourceExpression* index_is) {
  if (kind_ != Kind::elf || !module_ || !has_dwarf()) return std::nullopt;
  const Arch machine = machine_of(module_);
  std::optional<int> base_reg = dwarf_register(machine, base_register);
  std::optional<int> index_reg = dwarf_register(machine, index_register);
  if ((!base_register.empty() && !base_reg) || (!index_register.empty() && !index_reg)) {
    return std::nullopt;
  }
  Dwarf_Die cudie;
  uint64_t pc = 0;
  std::string error;
  if (!find_cu(address, &cudie, &pc, &error)) return std::nullopt;
  const uint64_t unit_ref = reinterpret_cast<uintptr_t>(cudie.cu);
  std::vector<Variable> vars = variables_at(&cudie, pc);

  std::string index;
  std::string index_var;
  if (index_reg) {
    for (const Variable& v : vars) {
      if (v.loc.where == Where::reg && v.loc.reg == *index_reg) {
        index = index_var = v.name;
        break;
      }
    }
    // What an earlier step loaded into it ("p->thread_info.cpu").
    if (index.empty() && index_is && !index_is->text.empty()) index = index_is->text;
    if (index.empty()) index = std::string(index_register);
  }

  auto finish = [&](std::optional<SourceExpression> e, const Variable* v) {
    if (!e) return e;
    e->unit_ref = unit_ref;
    if (v) {
      e->variable = v->name;
      Dwarf_Die vt = v->type;
      e->variable_type = v->has_type ? type_name(&vt) : "";
    } else if (!index_var.empty()) {
      e->variable = index_var;
    }
    if (index_reg && index_var.empty() && !(index_is && index == index_is->text)) {
      const std::string n = fmt::format("no variable is in {} here", index_register);
      e->note = e->note.empty() ? n : e->note + "; " + n;
    }
    return e;
  };

  if (base_reg) {
    // The caller already knows what the base register holds.
    if (base_is && base_is->unit_ref == unit_ref && base_is->type_ref != 0) {
      Base b;
      b.text = base_is->text;
      if (dwarf_offdie(dwarf_cu_getdwarf(cudie.cu), base_is->type_ref, &b.type)) {
        b.offset = displacement;
        if (auto e = compose(b, index, scale, access_size)) {
          auto r = finish(e, nullptr);
          if (r) r->variable = base_is->variable;
          return r;
        }
      }
    }
    // DWARF: a variable whose value is in the register, or which sits in
    // memory addressed by it.
    // Stack variables are at an offset from the frame base (the CFA): known
    // here when the CFA is an offset from the base register.
    const Variable* raw = nullptr;
    // A variable the address is outside of (l[-1] when container_of's
    // result o is in the same register): used only when nothing is inside.
    std::optional<std::pair<SourceExpression, const Variable*>> beyond;
    std::optional<std::pair<int, int64_t>> frame;
    if (std::any_of(vars.begin(), vars.end(),
                    [](const Variable& v) { return v.loc.where == Where::memory_cfa; })) {
      frame = frame_base(symbolize::concrete_scopes(&cudie, pc), pc, module_);
    }
    for (const Variable& v : vars) {
      const int reg = v.loc.where == Where::memory_cfa ? (frame ? frame->first : -1) : v.loc.reg;
      if (!v.has_type || reg != *base_reg) continue;
      Base b;
      b.text = v.name;
      b.type = v.type;
      if (v.loc.where == Where::reg) {
        b.offset = displacement;
      } else if (v.loc.where == Where::reg_plus) {
        b.offset = displacement - v.loc.offset;  // register == v - offset
      } else if (v.loc.where == Where::memory_reg || v.loc.where == Where::memory_cfa) {
        std::optional<uint64_t> size = size_of(&b.type);
        int64_t at = v.loc.offset;
        if (v.loc.where == Where::memory_cfa) at += frame->second;
        const int64_t into = displacement - at;
        if (!size || into < 0 || static_cast<uint64_t>(into) >= *size) continue;
        b.pointer = false;
        b.offset = into;
      } else {
        continue;
      }
      bool outside = false;
      if (auto e = compose(b, index, scale, access_size, &outside)) {
        if (!outside) return finish(e, &v);
        if (!beyond) beyond = {*e, &v};
        continue;
      }
      // A pointer-sized integer or a void pointer: name it, no type to
      // say what is there.
      if (b.pointer && !raw) raw = &v;
    }
    if (beyond) return finish(beyond->first, beyond->second);
    if (raw) {
      SourceExpression e;
      std::string sum = raw->name;
      if (!index.empty()) sum += scale == 1 ? " + " + index : fmt::format(" + {}*{}", index, scale);
      int64_t off = displacement;
      if (raw->loc.where == Where::reg_plus) off -= raw->loc.offset;
      if (off > 0) sum += fmt::format(" + {:#x}", off);
      if (off < 0) sum += fmt::format(" - {:#x}", -static_cast<uint64_t>(off));
      e.text = sum == raw->name ? "*" + sum : "*(" + sum + ")";
      e.note = fmt::format("the type of {} does not say what is at this offset", raw->name);
      return finish(e, raw);
    }
    // No location puts a variable there at this address (inlined helpers'
    // parameters often have gaps): the one pointer in the innermost scope
    // that has any whose pointee has a member exactly at this offset.
    if (!index_reg && displacement >= 0) {
      std::vector<const Variable*> found;
      int found_level = -1;
      for (const Variable& v : vars) {
        if (found_level >= 0 && v.level != found_level) break;
        if (!v.has_type) continue;
        if (v.loc.where != Where::none && v.loc.where != Where::other &&
            v.loc.where != Where::entry_reg) {
          continue;
        }
        Dwarf_Die target;
        Dwarf_Die vt = v.type;
        if (!pointee(&vt, &target) || !is_aggregate(&target)) continue;
        Landing l = land(&target, static_cast<uint64_t>(displacement), access_size);
        if (l.path.empty() || l.residual != 0) continue;
        if (access_size != 0) {
          std::optional<uint64_t> s = size_of(&l.type);
          if (!s || *s != access_size) continue;
        }
        found.push_back(&v);
        found_level = v.level;
      }
      if (found.size() == 1) {
        Base b;
        b.text = found[0]->name;
        b.type = found[0]->type;
        b.offset = displacement;
        auto e = finish(compose(b, "", scale, access_size), found[0]);
        if (e) {
          e->inferred = true;
          e->note = fmt::format("no DWARF location for {} at this address; the only variable in "
                                "scope whose type has a member at offset {:#x}",
                                found[0]->name, displacement);
        }
        return e;
      }
    }
    return std::nullopt;
  }

  // No base register: an absolute (or resolved PC-relative) address, a
  // global or per-CPU variable, optionally indexed.
  const uint64_t target = static_cast<uint64_t>(displacement);
  std::vector<Variable> globals = unit_globals(&cudie);
  for (const Variable& v : globals) {
    if (!v.has_type || v.loc.where != Where::memory_addr || target < v.loc.address) continue;
    Dwarf_Die vt = v.type;
    std::optional<uint64_t> size = size_of(&vt);
    if (!size || target - v.loc.address >= *size) continue;
    Base b{v.name, v.type, false, static_cast<int64_t>(target - v.loc.address)};
    if (auto e = compose(b, index, scale, access_size)) return finish(e, &v);
  }
  // Defined elsewhere: the symbol table names it, this unit's declaration
  // gives its type.
  uint64_t offset = 0;
  std::optional<ElfSymbol> sym = symbol_at(target, &offset);
  if (!sym) return std::nullopt;
  for (const Variable& v : globals) {
    if (v.name != sym->name || !v.has_type) continue;
    Base b{v.name, v.type, false, static_cast<int64_t>(offset)};
    if (auto e = compose(b, index, scale, access_size)) return finish(e, &v);
  }
  return std::nullopt;
}

std::optional<SourceVariable> DebugObject::variable_in_register(uint64_t address,
                                                                std::string_view reg) {
  if (kind_ != Kind::elf || !module_ || !has_dwarf()) return std::nullopt;
  std::optional<int> number = dwarf_register(machine_of(module_), reg);
  if (!number) return std::nullopt;
  Dwarf_Die cudie;
  uint64_t pc = 0;
  std::string error;
  if (!find_cu(address, &cudie, &pc, &error)) return std::nullopt;
  std::vector<Variable> vars = variables_at(&cudie, pc);
  const Variable* entry = nullptr;
  for (const Variable& v : vars) {
    if (v.loc.reg != *number) continue;
    if (v.loc.where == Where::entry_reg) {
      if (!entry) entry = &v;
      continue;
    }
    if (v.loc.where != Where::reg && v.loc.where != Where::reg_plus) continue;
    SourceVariable out;
    out.name = v.name;
    out.text = v.name;
    // register == v - offset
    if (v.loc.offset > 0) out.text = fmt::format("{} - {:#x}", v.name, v.loc.offset);
    if (v.loc.offset < 0) {
      out.text = fmt::format("{} + {:#x}", v.name, -static_cast<uint64_t>(v.loc.offset));
    }
    Dwarf_Die vt = v.type;
    if (v.has_type) {
      out.type = type_name(&vt);
      out.type_ref = dwarf_dieoffset(&vt);
    }
    out.unit_ref = reinterpret_cast<uintptr_t>(cudie.cu);
    return out;
  }
  if (!entry) return std::nullopt;
  SourceVariable out;
  out.name = entry->name;
  out.text = entry->name;
  out.entry_value = true;
  Dwarf_Die vt = entry->type;
  if (entry->has_type) {
    out.type = type_name(&vt);
    out.type_ref = dwarf_dieoffset(&vt);
  }
  out.unit_ref = reinterpret_cast<uintptr_t>(cudie.cu);
  return out;
}

}  // namespace ktriage

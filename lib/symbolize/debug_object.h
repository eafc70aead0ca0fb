// One file of debug information: an ELF (vmlinux or a module, DWARF
// optional), read through libdwfl, or a System.map/kallsyms text file.
// Internal to the symbolize stage.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "ktriage/error.h"
#include "ktriage/symbolize.h"
#include "support/elf_path.h"
#include "symbolize/line_table.h"


namespace ktriage {

struct ElfSymbol {
  std::string name;
  uint64_t address = 0;  // in the object's own address space (dwfl layout for .ko)
  uint64_t size = 0;     // st_size; 0 for System.map entries
  uint32_t section = 0;  // section index; 0 for System.map
  uint64_t gap = 0;      // distance to the next symbol in the same section, 0 = unknown
};

// ElfSymbol::gap of the last symbol of its section.
inline constexpr uint64_t kLastInSection = ~uint64_t{0};

class DebugObject {
 public:
  using DeclLines = std::map<std::string, std::vector<int>, std::less<>>;  // see unit_decl_lines
  enum class Kind { elf, symbol_map };

  static Expected<std::shared_ptr<DebugObject>> open_elf(const std::string& path,
                                                         const std::string& name);
  static Expected<std::shared_ptr<DebugObject>> open_symbol_map(const std::string& path,
                                                                const std::string& name);
  ~DebugObject();
  DebugObject(const DebugObject&) = delete;
  DebugObject& operator=(const DebugObject&) = delete;

  Kind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  bool relocatable() const { return relocatable_; }
  // The ELF machine (EM_X86_64, EM_AARCH64, ...); 0 for a System.map.
  uint16_t machine() const { return machine_; }
  // A user-space program (it names a program interpreter).
  bool program() const { return program_; }
  bool has_dwarf();
  std::string build_id();

  // Symbols with exactly this name. The first call for a batch of names
  // scans the symbol table once; later names found in that pass are cached.
  void prefetch(const std::vector<std::string>& names);
  const std::vector<ElfSymbol>& symbols_named(const std::string& name);
  // Fills ElfSymbol::gap of every symbol looked up so far (one more pass
  // over the symbol table; only needed when st_size alone cannot decide).
  void ensure_gaps();

  // The symbol containing `address` and the offset into it.
  std::optional<ElfSymbol> symbol_at(uint64_t address, uint64_t* offset);

  // Address ranges of executable code: SHF_EXECINSTR sections of an ELF,
  // the span of text symbols of a System.map.
  std::vector<std::pair<uint64_t, uint64_t>> text_ranges();

  // The section holding `address`: its name and [begin, end) range.
  struct Section {
    std::string name;
    uint64_t begin = 0, end = 0;
  };
  std::optional<Section> section_at(uint64_t address);

  // `size` bytes stored at `address` (object's own address space), within one
  // section; an Error when they are not all there (NOBITS, out of range).
  Expected<std::vector<uint8_t>> read_bytes(uint64_t address, uint64_t size);

  // A NUL-terminated string stored at a data symbol ("linux_banner").
  std::optional<std::string> string_at_symbol(const std::string& name);

  // Persisted index (see DebugInfoOptions::cache_dir): loaded now, written
  // by save_cache() when this run added entries.
  void use_cache(const std::string& dir);
  void save_cache();

  // Fills source, inlined (and source_context) from DWARF for `address`.
  // Sets out.symbolize_error when DWARF does not cover it.
  void describe(uint64_t address, FrameSymbolization& out, const DebugInfoOptions& options);

  // Source expressions and register variables at `address` (variables.cc);
  // see Symbolizer::source_expression / variable_in_register.
  std::optional<SourceExpression> source_expression(uint64_t address, std::string_view base,
                                                    std::string_view index, int64_t scale,
                                                    int64_t displacement, uint32_t access_size,
                                                    const SourceExpression* base_is,
                                                    const SourceExpression* index_is);
  std::optional<SourceVariable> variable_in_register(uint64_t address, std::string_view reg);

 private:
  DebugObject() = default;
  void scan_elf_symbols(const std::vector<std::string>& names);
  // Finds the compile unit DIE covering `address`; pc is the DWARF address.
  bool find_cu(uint64_t address, Dwarf_Die* cudie, uint64_t* pc, std::string* error);
  bool load_aranges();
  void describe_dwarf(uint64_t address, FrameSymbolization& out, const DebugInfoOptions& options);
  void add_source_context(FrameSymbolization& out, const DebugInfoOptions& options);
  Dwarf* unit_dwarf(uint64_t cu_offset, std::string* error);

  // What libelf/libdwfl and the unit views read: path_, or its
  // decompressed copy when the file is compressed (.ko.xz).
  const std::string& open_path() const { return elf_ ? elf_->path() : path_; }

  Kind kind_ = Kind::elf;
  std::string name_;
  std::string path_;
  std::optional<support::ElfPath> elf_;
  bool relocatable_ = false;
  uint16_t machine_ = 0;
  bool program_ = false;
  std::optional<bool> has_dwarf_;

  struct DwflCloser {
    void operator()(Dwfl* d) const;
  };
  std::unique_ptr<Dwfl, DwflCloser> dwfl_;
  Dwfl_Module* module_ = nullptr;
  int fd_ = -1;

  // Executables (vmlinux): instead of letting libdw walk every unit header
  // of a 160 MB .debug_info to reach one unit (it interns units in order),
  // .debug_aranges gives the unit and a private copy-on-write mapping of
  // the file, whose .debug_info section header is narrowed to that unit,
  // is opened with elf_memory(): only the pages of that unit are touched.
  struct UnitView;
  struct Arange {
    uint64_t begin, end, cu_offset;
  };
  std::optional<bool> aranges_ok_;
  std::vector<Arange> aranges_;
  uint64_t file_size_ = 0;
  uint64_t shoff_ = 0;
  size_t debug_info_index_ = 0;
  uint64_t debug_info_offset_ = 0, debug_info_size_ = 0;
  struct Extent {
    uint64_t offset = 0, size = 0;
  };
  Extent debug_line_, debug_line_str_, debug_str_;
  UnitView* current_unit_ = nullptr;  // set by find_cu on the fast path
  const LineProgram* unit_lines(Dwarf_Die* cudie, const std::string& comp_dir);
  // Per file (as DW_AT_decl_file names it), the sorted lines of the unit's
  // top-level functions and variables: a function's code lies between its
  // own line and the next one (lines_agree's check of the line table).
  const DeclLines& unit_decl_lines(Dwarf_Die* cudie);
  bool lines_agree(Dwarf_Die* cudie, const LineProgram* program,
                   const std::function<std::string(const char*)>& relative, const SourceLocation& at);
  std::unordered_map<uint64_t, DeclLines> decl_lines_;
  std::unordered_map<uint64_t, bool> unit_lines_agree_;  // per unit DIE offset, modules only (lines_agree)
  void* image_ = nullptr;  // private mapping of the file; unmapped after units_
  std::map<uint64_t, std::unique_ptr<UnitView>> units_;
  // Without .debug_aranges: every unit's address ranges (cu_offset = the
  // unit DIE's offset), sorted by start, built on first need.
  std::optional<std::vector<Arange>> unit_ranges_;

  struct CachedAddress {
    std::optional<SourceLocation> source;
    std::vector<InlineFrame> inlined;
    std::string error;
  };
  std::string cache_path_;
  bool cache_dirty_ = false;
  std::unordered_map<uint64_t, CachedAddress> cached_addresses_;

  std::unordered_map<std::string, std::vector<ElfSymbol>> by_name_;
  std::vector<std::string> gaps_pending_;
  // System.map: every symbol, sorted by address.
  std::vector<ElfSymbol> sorted_;
  // ELF: every defined symbol, sorted by address, for symbol_at(); names
  // point into the symbol table libelf/libdwfl keep mapped.
  struct AddressedSymbol {
    uint64_t address = 0, size = 0;
    uint32_t section = 0;
    const char* name = nullptr;
  };
  std::optional<std::vector<AddressedSymbol>> by_address_;
  std::map<std::string, std::vector<std::string>> file_cache_;  // source_root lines
};

// One DWARF unit opened on its own (unit_index.cc): a libelf/libdw view of
// the mapped file whose .debug_info is just that unit.
struct DebugObject::UnitView {
  Elf* elf = nullptr;
  Dwarf* dwarf = nullptr;
  bool lines_tried = false;
  std::optional<LineProgram> lines;
  ~UnitView() {
    if (dwarf) dwarf_end(dwarf);
    if (elf) elf_end(elf);
  }
};

}  // namespace ktriage

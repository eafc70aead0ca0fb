// Hostile debug files: empty, not ELF, truncated, section headers pointing
// past the end, corrupted DWARF (garbage units, aranges pointing nowhere,
// self-referencing DIEs). Each must give a clear Error from open or a
// per-frame error from resolution, never a crash or a hang.
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "ktriage/symbolize.h"

namespace ktriage {
namespace {

namespace fs = std::filesystem;

const std::string kSrc = std::string(KTRIAGE_SOURCE_DIR) + "/tests/unit/data/symbolize";

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct Section {
  size_t header_at = 0;  // file offset of its Elf64_Shdr
  Elf64_Shdr shdr{};
};

// Section headers of a well-formed ELF64 image, by name.
std::vector<std::pair<std::string, Section>> sections(const std::vector<char>& img) {
  std::vector<std::pair<std::string, Section>> out;
  Elf64_Ehdr eh;
  std::memcpy(&eh, img.data(), sizeof eh);
  std::vector<Section> all(eh.e_shnum);
  for (size_t i = 0; i < all.size(); ++i) {
    all[i].header_at = eh.e_shoff + i * sizeof(Elf64_Shdr);
    std::memcpy(&all[i].shdr, img.data() + all[i].header_at, sizeof(Elf64_Shdr));
  }
  const Elf64_Shdr& names = all[eh.e_shstrndx].shdr;
  for (const Section& s : all) out.emplace_back(img.data() + names.sh_offset + s.shdr.sh_name, s);
  return out;
}

Section find_section(const std::vector<char>& img, const std::string& name) {
  for (auto& [n, s] : sections(img)) {
    if (n == name) return s;
  }
  ADD_FAILURE() << "no section " << name;
  return {};
}

class SymbolizeHostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ktriage::test::ScratchDir("ktriage-hostile");
    const std::string cmd = "cd '" + kSrc + "' && gcc -g -O2 -no-pie -o '" + (dir_ / "good").string() +
                            "' main.c dup_a.c dup_b.c 2>/dev/null";
    if (std::system(cmd.c_str()) == 0) good_ = read_all(dir_ / "good");
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (good_.size() < sizeof(Elf64_Ehdr)) GTEST_SKIP() << "gcc not available";
  }

  // Writes `bytes`, opens it both ways, and returns open_debug_object's error ("" = opened).
  static std::string open_error(const std::string& name, const std::vector<char>& bytes) {
    const fs::path p = dir_ / name;
    write_all(p, bytes);
    DebugInfoOptions opts;
    opts.vmlinux = p.string();
    auto symOrErr = Symbolizer::open(opts);
    auto objOrErr = open_debug_object(p.string(), "vmlinux");
    if (objOrErr) {
      EXPECT_TRUE(symOrErr) << name;
      exercise(**objOrErr);
      return "";
    }
    EXPECT_FALSE(symOrErr) << name;
    if (!symOrErr) {
      EXPECT_FALSE(symOrErr.error().message.empty());
    }
    return objOrErr.error().message;
  }

  // Resolves everything a report could ask for; must not crash.
  static void exercise(DebugObject& obj) {
    for (const char* fn : {"outer", "caller", "twin", "main", "linux_banner"}) {
      for (uint64_t off : {0, 1, 5, 9, 17, 100000}) {
        Symbol s;
        s.function = fn;
        s.offset = off;
        (void)resolve_symbol(obj, s, true);
        (void)resolve_symbol(obj, s, false);
      }
    }
    for (uint64_t a = 0x401000; a < 0x401300; a += 7) (void)resolve_address(obj, a, false);
    (void)resolve_address(obj, ~0ull, true);
    (void)resolve_address(obj, 0, true);
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline std::vector<char> good_;
};

TEST_F(SymbolizeHostile, EmptyFile) {
  EXPECT_NE(open_error("empty", {}).find("empty file"), std::string::npos);
}

TEST_F(SymbolizeHostile, NotElf) {
  const std::string text = "this is not an ELF file, nor a System.map\n";
  EXPECT_NE(open_error("text", {text.begin(), text.end()}).find("not an ELF file"),
            std::string::npos);
  const fs::path p = dir_ / "text";
  DebugInfoOptions opts;
  opts.vmlinux = p.string();
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_FALSE(symOrErr);
  EXPECT_NE(symOrErr.error().message.find("neither ELF nor System.map"), std::string::npos);
}

TEST_F(SymbolizeHostile, MissingFileAndDirectory) {
  DebugInfoOptions opts;
  opts.vmlinux = (dir_ / "does-not-exist").string();
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_FALSE(symOrErr);
  EXPECT_NE(symOrErr.error().message.find("no such file"), std::string::npos);
  opts.vmlinux.clear();
  opts.module_dirs = {(dir_ / "no-dir").string()};
  EXPECT_FALSE(Symbolizer::open(opts));
}

TEST_F(SymbolizeHostile, Truncated) {
  for (size_t keep : {size_t{4}, size_t{16}, sizeof(Elf64_Ehdr), size_t{200}, good_.size() / 2,
                      good_.size() - 1}) {
    SCOPED_TRACE(keep);
    std::vector<char> cut(good_.begin(), good_.begin() + static_cast<long>(keep));
    EXPECT_NE(open_error("truncated", cut), "");
  }
}

TEST_F(SymbolizeHostile, BogusSectionHeaders) {
  // A section whose size runs past the end of the file.
  std::vector<char> img = good_;
  Section info = find_section(img, ".debug_info");
  info.shdr.sh_size = 0xffffffffff;
  std::memcpy(img.data() + info.header_at, &info.shdr, sizeof info.shdr);
  EXPECT_NE(open_error("bogus-size", img).find("extends past the end"), std::string::npos);

  // Offset + size overflowing 64 bits.
  img = good_;
  Section line = find_section(img, ".debug_line");
  line.shdr.sh_offset = ~0ull - 4;
  line.shdr.sh_size = 16;
  std::memcpy(img.data() + line.header_at, &line.shdr, sizeof line.shdr);
  EXPECT_NE(open_error("bogus-offset", img), "");

  // Section header table outside the file; absurd section count.
  img = good_;
  Elf64_Ehdr eh;
  std::memcpy(&eh, img.data(), sizeof eh);
  eh.e_shoff = good_.size() + 4096;
  std::memcpy(img.data(), &eh, sizeof eh);
  EXPECT_NE(open_error("bogus-shoff", img), "");
  std::memcpy(&eh, good_.data(), sizeof eh);
  eh.e_shnum = 0xffff;
  img = good_;
  std::memcpy(img.data(), &eh, sizeof eh);
  EXPECT_NE(open_error("bogus-shnum", img), "");
}

TEST_F(SymbolizeHostile, CorruptedDwarfStaysPerFrame) {
  // Garbage unit headers: every resolution reports an error or degrades,
  // the symbol-level answer survives.
  std::vector<char> img = good_;
  Section info = find_section(img, ".debug_info");
  std::fill_n(img.begin() + static_cast<long>(info.shdr.sh_offset), info.shdr.sh_size, '\xff');
  ASSERT_EQ(open_error("garbage-info", img), "");
  auto objOrErr = open_debug_object((dir_ / "garbage-info").string(), "vmlinux");
  ASSERT_TRUE(objOrErr);
  Symbol s;
  s.function = "outer";
  s.offset = 4;
  FrameSymbolization r = resolve_symbol(**objOrErr, s, false);
  EXPECT_EQ(r.function, "outer");
  EXPECT_FALSE(r.symbolize_error.empty());

  // .debug_aranges pointing at unit offsets outside .debug_info.
  img = good_;
  Section ar = find_section(img, ".debug_aranges");
  for (size_t at = ar.shdr.sh_offset; at + 4 <= ar.shdr.sh_offset + ar.shdr.sh_size;) {
    uint32_t len;
    std::memcpy(&len, img.data() + at, 4);
    uint32_t bad = 0x7ffffff0;
    std::memcpy(img.data() + at + 6, &bad, 4);  // debug_info_offset
    if (len == 0 || len > ar.shdr.sh_size) break;
    at += 4 + len;
  }
  EXPECT_EQ(open_error("bad-aranges", img), "");

  // Zeroed abbreviations: every DIE has abbrev code 0 or an unknown one.
  img = good_;
  Section ab = find_section(img, ".debug_abbrev");
  std::fill_n(img.begin() + static_cast<long>(ab.shdr.sh_offset), ab.shdr.sh_size, '\0');
  EXPECT_EQ(open_error("zero-abbrev", img), "");
}

TEST_F(SymbolizeHostile, RandomBitFlipsInDebugSections) {
  // A small deterministic fuzz: flip bytes inside the DWARF sections (this
  // makes DIE references that loop or point out of range) and resolve.
  std::mt19937 rng(12345);
  const char* names[] = {".debug_info", ".debug_abbrev", ".debug_line", ".debug_aranges",
                         ".debug_str", ".debug_rnglists", ".symtab", ".strtab"};
  for (int round = 0; round < 300; ++round) {
    std::vector<char> img = good_;
    for (int flips = 0; flips < 8; ++flips) {
      Section s = find_section(img, names[rng() % std::size(names)]);
      if (s.shdr.sh_size == 0) continue;
      img[s.shdr.sh_offset + rng() % s.shdr.sh_size] = static_cast<char>(rng());
    }
    SCOPED_TRACE(round);
    (void)open_error("flipped", img);
  }
}

}  // namespace
}  // namespace ktriage

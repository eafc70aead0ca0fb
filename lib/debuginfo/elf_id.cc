#include "debuginfo/elf_id.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "support/io.h"

namespace ktriage::debuginfo {
namespace {

struct ElfDeleter {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfDeleter>;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// A decompressed payload bigger than this is not a kernel image.
constexpr size_t kMaxImage = 1u << 30;

std::string hex(const unsigned char* p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", p[i]);
  return out;
}

// The NT_GNU_BUILD_ID note in one note-holding chunk.
std::string build_id_in(Elf_Data* data) {
  if (!data) return {};
  GElf_Nhdr nh;
  size_t off = 0, name_off = 0, desc_off = 0;
  while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
        desc_off + nh.n_descsz <= data->d_size &&
        std::memcmp(static_cast<const char*>(data->d_buf) + name_off, "GNU", 4) == 0) {
      return hex(static_cast<const unsigned char*>(data->d_buf) + desc_off, nh.n_descsz);
    }
  }
  return {};
}

// Notes from sections (relocatable .ko), else from PT_NOTE segments
// (a stripped image without section headers).
std::string elf_build_id(Elf* elf) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
    if (std::string id = build_id_in(elf_getdata(scn, nullptr)); !id.empty()) return id;
  }
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) return {};
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_NOTE) continue;
    if (std::string id = build_id_in(elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR)); !id.empty()) {
      return id;
    }
  }
  return {};
}

// Decompresses `bytes` with whatever compressor libarchive recognises.
Expected<std::vector<char>> decompress(const void* bytes, size_t size) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), bytes, size) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    return Error{archive_error_string(a.get()) ? archive_error_string(a.get()) : "not compressed data"};
  }
  if (archive_filter_count(a.get()) < 2) return Error{"not compressed data"};
  std::vector<char> out;
  char buf[1 << 16];
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
    if (out.size() + static_cast<size_t>(n) > kMaxImage) return Error{"decompressed data too large"};
    out.insert(out.end(), buf, buf + n);
  }
  if (n < 0) return Error{archive_error_string(a.get()) ? archive_error_string(a.get()) : "corrupt data"};
  return out;
}

uint32_t le32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

// x86 boot protocol (Documentation/arch/x86/boot.rst): "HdrS" at 0x202,
// setup_sects at 0x1f1, payload_offset/payload_length at 0x248/0x24c
// (protocol 2.08+), relative to the protected-mode code after the setup.
std::optional<std::pair<size_t, size_t>> bzimage_payload(const std::string& b) {
  if (b.size() < 0x250 || b.compare(0x202, 4, "HdrS") != 0) return std::nullopt;
  size_t setup_sects = static_cast<unsigned char>(b[0x1f1]);
  if (setup_sects == 0) setup_sects = 4;
  const size_t start = (setup_sects + 1) * 512 + le32(b, 0x248);
  const size_t length = le32(b, 0x24c);
  if (start >= b.size() || length == 0 || length > b.size() - start) return std::nullopt;
  return std::make_pair(start, length);
}

// "Linux version <release> ... #1 SMP ...\n" as linux_banner holds it.
std::vector<std::string> find_banners(const char* bytes, size_t size) {
  static constexpr std::string_view kMark = "Linux version ";
  const std::string_view all(bytes, size);
  std::vector<std::string> out;
  for (size_t at = all.find(kMark); at != std::string_view::npos && out.size() < 8; at = all.find(kMark, at + 1)) {
    const size_t end = all.find_first_of(std::string_view("\n\0", 2), at);
    if (end == std::string_view::npos || end - at > 512) continue;
    std::string_view line = all.substr(at, end - at);
    // The format string "Linux version %s (%s@%s) ..." is not the banner.
    if (line.find('%') == std::string_view::npos && line.find('#') != std::string_view::npos) out.emplace_back(line);
  }
  return out;
}

Expected<std::string> id_of_memory(std::vector<char>& bytes) {
  ElfPtr elf(elf_memory(bytes.data(), bytes.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return Error{"not ELF"};
  return elf_build_id(elf.get());
}

}  // namespace

Expected<std::string> build_id_of(const std::string& path, std::vector<std::string>* banners) {
  elf_version(EV_CURRENT);
  if (banners) banners->clear();
  {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
    ElfPtr elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
    const bool is_elf = elf && elf_kind(elf.get()) == ELF_K_ELF;
    std::string id = is_elf ? elf_build_id(elf.get()) : "";
    if (is_elf && banners) {
      size_t size = 0;
      if (const char* raw = elf_rawfile(elf.get(), &size)) *banners = find_banners(raw, size);
    }
    elf.reset();
    close(fd);
    if (is_elf) return id;
  }
  // Not ELF: a bzImage or a compressed module. Both are small (tens of MB).
  Expected<std::string> bytesOrErr = support::read_file(path);
  if (!bytesOrErr) return bytesOrErr.error();
  const std::string& b = *bytesOrErr;
  Expected<std::vector<char>> plainOrErr = Error{""};
  if (auto payload = bzimage_payload(b)) {
    plainOrErr = decompress(b.data() + payload->first, payload->second);
  } else {
    plainOrErr = decompress(b.data(), b.size());
  }
  if (!plainOrErr) return Error{fmt::format("{}: neither ELF, a kernel image nor a compressed ELF", path)};
  Expected<std::string> idOrErr = id_of_memory(*plainOrErr);
  if (!idOrErr) return Error{fmt::format("{}: the decompressed data is not ELF", path)};
  if (banners) *banners = find_banners(plainOrErr->data(), plainOrErr->size());
  return idOrErr;
}

bool has_debug_info(const std::string& path) {
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool found = false;
  {
    ElfPtr elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
    size_t shstrndx = 0;
    if (elf && elf_kind(elf.get()) == ELF_K_ELF && elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
      Elf_Scn* scn = nullptr;
      while (!found && (scn = elf_nextscn(elf.get(), scn)) != nullptr) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS) continue;
        const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name);
        found = name && (std::strcmp(name, ".debug_info") == 0 || std::strcmp(name, ".zdebug_info") == 0);
      }
    }
  }
  close(fd);
  return found;
}

}  // namespace ktriage::debuginfo

#include "debuginfo/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <lzma.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace ktriage::debuginfo {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown libarchive error";
}

// "./usr/lib/debug/boot/vmlinux-R" -> "usr/lib/debug/boot/vmlinux-R".
std::string_view clean(std::string_view p) {
  while (p.starts_with("./")) p.remove_prefix(2);
  while (p.starts_with("/")) p.remove_prefix(1);
  return p;
}

bool wanted(std::string_view path) {
  path = clean(path);
  if (!path.starts_with("usr/lib/debug/") || path.find("/.build-id/") != std::string_view::npos) return false;
  const std::string_view base = path.substr(path.rfind('/') + 1);
  return base.starts_with("vmlinux") || base.ends_with(".ko") || base.ends_with(".ko.debug");
}

// Copies the current entry's data to a new file.
Expected<uint64_t> write_entry(archive* a, const std::string& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Error{fmt::format("{}: {}", file, std::strerror(errno))};
  uint64_t written = 0;
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int rc;
  while ((rc = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
    // Sparse entries give offsets past what was written: seek there.
    if (static_cast<uint64_t>(offset) != written && lseek(fd, offset, SEEK_SET) < 0) break;
    const char* p = static_cast<const char*>(block);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int e = n < 0 ? errno : ENOSPC;
        close(fd);
        return Error{fmt::format("writing {}: {}", file, std::strerror(e))};
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    written = static_cast<uint64_t>(offset) + size;
  }
  if (rc != ARCHIVE_EOF) {
    close(fd);
    return Error{fmt::format("corrupt or truncated package: {}", archive_message(a))};
  }
  if (ftruncate(fd, static_cast<off_t>(written)) != 0 || close(fd) != 0) {
    return Error{fmt::format("writing {}: {}", file, std::strerror(errno))};
  }
  return written;
}

// Extracts the wanted entries of an opened archive.
Expected<std::vector<UnpackedFile>> extract(archive* a, const std::string& dest, const std::function<void()>& tick) {
  std::vector<UnpackedFile> out;
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    tick();
    const char* name = archive_entry_pathname(entry);
    if (!name || archive_entry_filetype(entry) != AE_IFREG || !wanted(name)) continue;
    UnpackedFile f;
    f.archive_path = std::string(clean(name));
    // dest/<n>/<base name>: the symbolizer finds modules by file name.
    const std::string dir = fmt::format("{}/{}", dest, out.size());
    if (mkdir(dir.c_str(), 0700) != 0) return Error{fmt::format("{}: {}", dir, std::strerror(errno))};
    f.path = dir + "/" + f.archive_path.substr(f.archive_path.rfind('/') + 1);
    Expected<uint64_t> sizeOrErr = write_entry(a, f.path);
    if (!sizeOrErr) return sizeOrErr.error();
    f.size = *sizeOrErr;
    out.push_back(std::move(f));
  }
  if (rc != ARCHIVE_EOF) return Error{fmt::format("corrupt or truncated package: {}", archive_message(a))};
  return out;
}

ArchivePtr reader() {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  return a;
}

// A .deb is an ar archive whose data.tar.* member holds the files: read it
// as a second archive streamed from the first.
struct Inner {
  archive* outer;
  char buf[1 << 16];
};

la_ssize_t read_inner(archive*, void* data, const void** block) {
  Inner* in = static_cast<Inner*>(data);
  *block = in->buf;
  return archive_read_data(in->outer, in->buf, sizeof in->buf);
}

// data.tar.xz decoded on every core: dpkg-deb compresses in independent
// blocks (72 for the 283 MB -dbg package), which libarchive's xz reader
// decodes one after the other. The tar reader then gets plain bytes.
struct InnerXz {
  archive* outer;
  lzma_stream xz = LZMA_STREAM_INIT;
  bool input_done = false;
  std::string error;
  uint8_t in[1 << 16];
  uint8_t out[1 << 20];
  ~InnerXz() { lzma_end(&xz); }
};

la_ssize_t read_inner_xz(archive* a, void* data, const void** block) {
  InnerXz* s = static_cast<InnerXz*>(data);
  s->xz.next_out = s->out;
  s->xz.avail_out = sizeof s->out;
  while (s->xz.avail_out == sizeof s->out) {
    if (s->xz.avail_in == 0 && !s->input_done) {
      const la_ssize_t n = archive_read_data(s->outer, s->in, sizeof s->in);
      if (n < 0) {
        archive_set_error(a, EIO, "%s", archive_message(s->outer).c_str());
        return -1;
      }
      s->input_done = n == 0;
      s->xz.next_in = s->in;
      s->xz.avail_in = static_cast<size_t>(n);
    }
    const lzma_ret rc = lzma_code(&s->xz, s->input_done ? LZMA_FINISH : LZMA_RUN);
    if (rc == LZMA_STREAM_END) break;
    if (rc != LZMA_OK) {
      archive_set_error(a, EIO, "xz: %s",
                        rc == LZMA_DATA_ERROR || rc == LZMA_FORMAT_ERROR ? "corrupt data"
                        : rc == LZMA_BUF_ERROR                          ? "truncated input"
                                                                        : "decoder error");
      return -1;
    }
  }
  *block = s->out;
  return static_cast<la_ssize_t>(sizeof s->out - s->xz.avail_out);
}

bool start_xz(InnerXz& s) {
  lzma_mt mt{};
  mt.threads = std::max<uint32_t>(1, lzma_cputhreads());
  mt.memlimit_threading = 1ull << 30;
  mt.memlimit_stop = UINT64_MAX;
  return lzma_stream_decoder_mt(&s.xz, &mt) == LZMA_OK;
}

// An RPM's payload against the SHA-256 its main header records
// (RPMTAG_PAYLOADDIGEST, rpm 4.14+): gzip's own check is at the end of the
// stream, which libarchive need not reach, so damage in a gzip payload could
// read as a package without vmlinux. An Error when the digest is there and
// differs; nothing to say for other files, or packages without one.
std::optional<Error> check_rpm_payload(const std::string& package) {
  std::ifstream in(package, std::ios::binary);
  auto u32 = [](const unsigned char* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; };
  unsigned char lead[96];
  if (!in.read(reinterpret_cast<char*>(lead), sizeof lead) || u32(lead) != 0xedabeedb) return std::nullopt;
  // A header: magic (8e ad e8 01), 4 reserved bytes, entry count, data size.
  auto header = [&](std::vector<unsigned char>& index, std::string& data) {
    unsigned char head[16];
    if (!in.read(reinterpret_cast<char*>(head), sizeof head) || u32(head) != 0x8eade801) return false;
    const uint32_t entries = u32(head + 8), size = u32(head + 12);
    if (entries > (1u << 16) || size > (64u << 20)) return false;
    index.resize(16 * size_t{entries});
    data.resize(size);
    return static_cast<bool>(in.read(reinterpret_cast<char*>(index.data()), static_cast<std::streamsize>(index.size())) &&
                             in.read(data.data(), static_cast<std::streamsize>(data.size())));
  };
  std::vector<unsigned char> index;
  std::string data;
  if (!header(index, data)) return std::nullopt;
  in.seekg(static_cast<std::streamoff>((16 - (index.size() + data.size()) % 8) % 8), std::ios::cur);  // padded to 8
  if (!header(index, data)) return std::nullopt;
  constexpr uint32_t kPayloadDigest = 5092, kPayloadDigestAlgo = 5093, kSha256 = 8;
  std::string want;
  uint32_t algo = kSha256;  // the default when the tag is absent
  for (size_t i = 0; i + 16 <= index.size(); i += 16) {
    const uint32_t tag = u32(&index[i]), offset = u32(&index[i + 8]);
    if (offset >= data.size()) continue;
    if (tag == kPayloadDigest) want = std::string(data.c_str() + offset, strnlen(data.c_str() + offset, data.size() - offset));
    if (tag == kPayloadDigestAlgo && offset + 4 <= data.size()) algo = u32(reinterpret_cast<const unsigned char*>(data.data()) + offset);
  }
  if (want.empty() || algo != kSha256) return std::nullopt;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string got;
  for (unsigned int i = 0; i < len; ++i) got += fmt::format("{:02x}", md[i]);
  if (got == want) return std::nullopt;
  return Error{"corrupt or truncated package: its payload does not match the SHA-256 digest in its header"};
}

}  // namespace

Expected<std::vector<UnpackedFile>> unpack_debug_files(const std::string& package, const std::string& dest,
                                                       const std::function<void(uint64_t, uint64_t)>& progress) {
  struct stat st {};
  if (stat(package.c_str(), &st) != 0) return Error{fmt::format("{}: {}", package, std::strerror(errno))};
  const uint64_t total = static_cast<uint64_t>(st.st_size);
  if (std::optional<Error> damaged = check_rpm_payload(package)) return *damaged;
  ArchivePtr outer = reader();
  if (archive_read_open_filename(outer.get(), package.c_str(), 1 << 20) != ARCHIVE_OK) {
    return Error{fmt::format("corrupt or truncated package, or not a package ({})", archive_message(outer.get()))};
  }
  auto tick = [&] {
    if (progress) progress(static_cast<uint64_t>(archive_filter_bytes(outer.get(), -1)), total);
  };
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(outer.get(), &entry);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    return Error{fmt::format("corrupt or truncated package: {}", archive_message(outer.get()))};
  }
  Expected<std::vector<UnpackedFile>> filesOrErr = Error{""};
  if ((archive_format(outer.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_AR) {
    // .deb: debian-binary, control.tar.*, data.tar.*
    while (std::string_view(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "").rfind("data.tar", 0) != 0) {
      rc = archive_read_next_header(outer.get(), &entry);
      if (rc == ARCHIVE_EOF) return Error{"a .deb without data.tar"};
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        return Error{fmt::format("corrupt or truncated package: {}", archive_message(outer.get()))};
      }
    }
    auto inner_state = std::make_unique<Inner>();
    inner_state->outer = outer.get();
    auto xz_state = std::make_unique<InnerXz>();
    xz_state->outer = outer.get();
    ArchivePtr inner = reader();
    const bool xz = std::string_view(archive_entry_pathname(entry)) == "data.tar.xz" && start_xz(*xz_state);
    const int opened = xz ? archive_read_open(inner.get(), xz_state.get(), nullptr, read_inner_xz, nullptr)
                          : archive_read_open(inner.get(), inner_state.get(), nullptr, read_inner, nullptr);
    if (opened != ARCHIVE_OK) {
      return Error{fmt::format("corrupt or truncated package: {}", archive_message(inner.get()))};
    }
    filesOrErr = extract(inner.get(), dest, tick);
  } else {
    // .rpm: libarchive's rpm filter strips the lead and headers, then cpio.
    // The first entry is already read: handle it, then the rest.
    std::vector<UnpackedFile> first;
    const char* name = archive_entry_pathname(entry);
    if (name && archive_entry_filetype(entry) == AE_IFREG && wanted(name)) {
      UnpackedFile f{std::string(clean(name)), dest + "/first/", 0};
      f.path += f.archive_path.substr(f.archive_path.rfind('/') + 1);
      if (mkdir((dest + "/first").c_str(), 0700) != 0) return Error{fmt::format("{}: {}", dest, std::strerror(errno))};
      Expected<uint64_t> sizeOrErr = write_entry(outer.get(), f.path);
      if (!sizeOrErr) return sizeOrErr.error();
      f.size = *sizeOrErr;
      first.push_back(std::move(f));
    }
    filesOrErr = extract(outer.get(), dest, tick);
    if (filesOrErr) filesOrErr->insert(filesOrErr->begin(), first.begin(), first.end());
  }
  if (progress) progress(total, total);
  return filesOrErr;
}

}  // namespace ktriage::debuginfo

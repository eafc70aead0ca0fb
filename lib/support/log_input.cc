#include "support/log_input.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace ktriage::support {
namespace {

using Sink = std::function<void(std::string_view)>;

// --- decompression --------------------------------------------------------------

// One compressed format: feed() takes file bytes and hands out what they
// decompress to; finish() says whether the data ended where it should.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Empty on success, else what is wrong with the data.
  virtual std::string feed(std::string_view in, const Sink& out) = 0;
  virtual bool complete() const = 0;
};

constexpr size_t kOut = 1 << 16;

class Gzip final : public Decoder {
 public:
  Gzip() {
    // 15 + 32: zlib or gzip header, detected.
    ok_ = inflateInit2(&z_, 15 + 32) == Z_OK;
  }
  ~Gzip() override { inflateEnd(&z_); }
  std::string feed(std::string_view in, const Sink& out) override {
    if (!ok_) return "zlib could not start";
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    // Until the input is used up and the last output did not fill the buffer.
    for (bool full = true; z_.avail_in > 0 || full;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf_);
      z_.avail_out = kOut;
      int rc = inflate(&z_, Z_NO_FLUSH);
      size_t got = kOut - z_.avail_out;
      full = got == kOut;
      if (got) out(std::string_view(buf_, got));
      if (rc == Z_STREAM_END) {
        // Concatenated members ("cat a.gz b.gz"), as gzip -d reads them.
        done_ = z_.avail_in == 0;
        if (!done_ && inflateReset(&z_) != Z_OK) return "zlib could not restart";
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return fmt::format("corrupt gzip data ({})", z_.msg ? z_.msg : "?");
      done_ = false;
      if (rc == Z_BUF_ERROR && got == 0) break;
    }
    return {};
  }
  bool complete() const override { return done_; }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool done_ = false;
  char buf_[kOut];
};

class Xz final : public Decoder {
 public:
  Xz() { ok_ = lzma_stream_decoder(&s_, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK; }
  ~Xz() override { lzma_end(&s_); }
  std::string feed(std::string_view in, const Sink& out) override { return run(in, LZMA_RUN, out); }
  bool complete() const override { return done_; }
  // LZMA_CONCATENATED needs LZMA_FINISH to say the input is over.
  std::string finish(const Sink& out) { return run({}, LZMA_FINISH, out); }

 private:
  std::string run(std::string_view in, lzma_action action, const Sink& out) {
    if (!ok_) return "liblzma could not start";
    s_.next_in = reinterpret_cast<const uint8_t*>(in.data());
    s_.avail_in = in.size();
    for (;;) {
      s_.next_out = reinterpret_cast<uint8_t*>(buf_);
      s_.avail_out = kOut;
      lzma_ret rc = lzma_code(&s_, action);
      size_t got = kOut - s_.avail_out;
      if (got) out(std::string_view(buf_, got));
      if (rc == LZMA_STREAM_END) {
        done_ = true;
        return {};
      }
      if (rc == LZMA_BUF_ERROR && action == LZMA_FINISH) return {};  // ends early: complete() says so
      if (rc != LZMA_OK) return fmt::format("corrupt xz data (liblzma error {})", static_cast<int>(rc));
      if (s_.avail_in == 0 && s_.avail_out != 0) return {};
    }
  }
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool ok_ = false;
  bool done_ = false;
  char buf_[kOut];
};

class Zstd final : public Decoder {
 public:
  Zstd() : d_(ZSTD_createDStream(), &ZSTD_freeDStream) {}
  std::string feed(std::string_view in, const Sink& out) override {
    if (!d_) return "libzstd could not start";
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    // Until the input is used up and the decoder holds no more output (the
    // last call did not fill the buffer).
    for (bool full = true; input.pos < input.size || full;) {
      ZSTD_outBuffer output{buf_, kOut, 0};
      const size_t before = input.pos;
      size_t rc = ZSTD_decompressStream(d_.get(), &output, &input);
      if (ZSTD_isError(rc)) return fmt::format("corrupt zstd data ({})", ZSTD_getErrorName(rc));
      if (output.pos) out(std::string_view(buf_, output.pos));
      full = output.pos == kOut;
      // A call that did nothing (after a finished frame: it would begin the
      // next one) says nothing about where the data ended.
      if (output.pos || input.pos != before) frame_done_ = rc == 0;
    }
    return {};
  }
  bool complete() const override { return frame_done_; }

 private:
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> d_;
  bool frame_done_ = false;
  char buf_[kOut];
};

// --- UTF-16 ----------------------------------------------------------------------

// UTF-16 to UTF-8, across chunk boundaries. Unpaired surrogates become U+FFFD.
class Utf16 {
 public:
  explicit Utf16(bool big_endian) : be_(big_endian) {}
  void feed(std::string_view in, const Sink& out) {
    std::string& o = out_;
    o.clear();
    for (char c : in) {
      if (!have_byte_) {
        byte_ = static_cast<uint8_t>(c);
        have_byte_ = true;
        continue;
      }
      have_byte_ = false;
      uint8_t b = static_cast<uint8_t>(c);
      uint32_t unit = be_ ? (uint32_t{byte_} << 8 | b) : (uint32_t{b} << 8 | byte_);
      unit_(unit, o);
    }
    if (!o.empty()) out(o);
  }

 private:
  void unit_(uint32_t u, std::string& o) {
    if (high_) {
      uint32_t hi = *high_;
      high_.reset();
      if (u >= 0xdc00 && u <= 0xdfff) return put(0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00), o);
      put(0xfffd, o);
    }
    if (u >= 0xd800 && u <= 0xdbff) {
      high_ = u;
      return;
    }
    if (u >= 0xdc00 && u <= 0xdfff) u = 0xfffd;
    if (u == 0xfeff && first_) u = 0;  // the byte order mark
    first_ = false;
    if (u) put(u, o);
  }
  static void put(uint32_t cp, std::string& o) {
    if (cp < 0x80) {
      o.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      o.push_back(static_cast<char>(0xc0 | cp >> 6));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      o.push_back(static_cast<char>(0xe0 | cp >> 12));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      o.push_back(static_cast<char>(0xf0 | cp >> 18));
      o.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  bool be_;
  bool have_byte_ = false;
  bool first_ = true;
  uint8_t byte_ = 0;
  std::optional<uint32_t> high_;
  std::string out_;
};

// Whether text that starts with `head` is UTF-16, and its byte order.
std::optional<bool> utf16_big_endian(std::string_view head) {
  if (head.size() < 2) return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  if (b(0) == 0xff && b(1) == 0xfe) return false;
  if (b(0) == 0xfe && b(1) == 0xff) return true;
  // No mark: ASCII text saved as UTF-16 has a NUL beside every character.
  size_t pairs = std::min<size_t>(head.size() / 2, 64), le = 0, be = 0;
  if (pairs < 8) return std::nullopt;
  for (size_t i = 0; i < pairs; ++i) {
    uint8_t x = b(2 * i), y = b(2 * i + 1);
    le += x != 0 && x < 0x80 && y == 0;
    be += y != 0 && y < 0x80 && x == 0;
  }
  if (le * 10 >= pairs * 9) return false;
  if (be * 10 >= pairs * 9) return true;
  return std::nullopt;
}

std::unique_ptr<Decoder> decoder_for(std::string_view head, std::string& name) {
  auto is = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (is("\x1f\x8b")) {
    name = "gzip";
    return std::make_unique<Gzip>();
  }
  if (is(std::string_view("\xfd" "7zXZ\0", 6))) {
    name = "xz";
    return std::make_unique<Xz>();
  }
  if (is("\x28\xb5\x2f\xfd")) {
    name = "zstd";
    return std::make_unique<Zstd>();
  }
  return nullptr;
}

// Decides on the text's encoding from its first bytes, then converts.
class TextStage {
 public:
  TextStage(const Sink& out, std::string& encoding) : out_(out), encoding_(encoding) {}
  void feed(std::string_view in) {
    if (!decided_) {
      head_.append(in);
      if (head_.size() < 128) return;
      decide();
      std::string h = std::move(head_);
      pass(h);
      return;
    }
    pass(in);
  }
  void finish() {
    if (!decided_) {
      decide();
      std::string h = std::move(head_);
      pass(h);
    }
  }

 private:
  void decide() {
    decided_ = true;
    if (auto be = utf16_big_endian(head_)) {
      utf16_.emplace(*be);
      encoding_ += encoding_.empty() ? "" : ", ";
      encoding_ += *be ? "utf-16be" : "utf-16le";
    }
  }
  void pass(std::string_view in) {
    if (in.empty()) return;
    if (utf16_) utf16_->feed(in, out_);
    else out_(in);
  }
  const Sink& out_;
  std::string& encoding_;
  bool decided_ = false;
  std::string head_;
  std::optional<Utf16> utf16_;
};

}  // namespace

Expected<LogStreamResult> stream_log(const std::string& path, size_t chunk_size,
                                     const std::function<void(std::string_view, const StreamProgress&)>& chunk) {
  LogStreamResult result;
  StreamProgress at;
  // Text goes out in pieces of at most chunk_size.
  Sink deliver = [&](std::string_view text) {
    while (!text.empty()) {
      std::string_view piece = text.substr(0, chunk_size);
      result.bytes += piece.size();
      chunk(piece, at);
      text.remove_prefix(piece.size());
    }
  };
  TextStage text(deliver, result.encoding);
  Sink to_text = [&](std::string_view s) { text.feed(s); };
  std::unique_ptr<Decoder> decoder;
  bool first = true;
  std::string failure;
  Expected<uint64_t> readOrErr = stream_file(path, chunk_size, [&](std::string_view raw, const StreamProgress& p) {
    at = p;
    if (!failure.empty()) return;
    if (first) {
      first = false;
      decoder = decoder_for(raw, result.encoding);
    }
    if (!decoder) return to_text(raw);
    failure = decoder->feed(raw, to_text);
  });
  if (!readOrErr) return readOrErr.error();
  if (auto* xz = dynamic_cast<Xz*>(decoder.get()); xz && failure.empty()) failure = xz->finish(to_text);
  text.finish();
  if (!failure.empty()) return Error{fmt::format("{}: {}", path, failure)};
  if (decoder && !decoder->complete()) result.problem = result.encoding + " data ends early; read what was there";
  return result;
}

Expected<std::optional<std::string>> read_decompressed(const std::string& path, size_t limit) {
  char head[6] = {};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
    in.read(head, sizeof head);
  }
  std::string name;
  std::unique_ptr<Decoder> decoder = decoder_for(std::string_view(head, sizeof head), name);
  if (!decoder) return std::optional<std::string>();
  std::string out;
  bool too_big = false;
  Sink keep = [&](std::string_view s) {
    if (too_big || out.size() + s.size() > limit) {
      too_big = true;
      return;
    }
    out.append(s);
  };
  std::string failure;
  Expected<uint64_t> readOrErr = stream_file(path, 1 << 16, [&](std::string_view raw, const StreamProgress&) {
    if (failure.empty() && !too_big) failure = decoder->feed(raw, keep);
  });
  if (!readOrErr) return readOrErr.error();
  if (auto* xz = dynamic_cast<Xz*>(decoder.get()); xz && failure.empty()) failure = xz->finish(keep);
  if (too_big) return Error{fmt::format("{}: decompresses to more than {} MiB", path, limit >> 20)};
  if (!failure.empty()) return Error{fmt::format("{}: {}", path, failure)};
  if (!decoder->complete()) return Error{fmt::format("{}: {} data ends early", path, name)};
  return std::optional<std::string>(std::move(out));
}

Expected<std::string> read_log(const std::string& path) {
  std::string data;
  Expected<LogStreamResult> r =
      stream_log(path, 1 << 16, [&](std::string_view piece, const StreamProgress&) { data.append(piece); });
  if (!r) return r.error();
  return data;
}

}  // namespace ktriage::support

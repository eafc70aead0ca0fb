// Reading numbers out of bytes an input file decided the length of (ELF
// sections, DWARF tables, cache files): every read is bounds-checked, a
// failed read latches `ok() == false` and yields 0, and offsets add without
// overflow (bloaty's CheckedAdd/StrictSubstr idea).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ktriage::support {

// a + b, or nullopt when it overflows.
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// [offset, offset + length) lies within [0, size).
inline bool within(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  // A little-endian unsigned number of `bytes` (1..8) bytes.
  uint64_t le(size_t bytes) {
    if (!ok_ || bytes > 8 || !within(pos_, bytes, size_)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += bytes;
    return v;
  }
  // Moves to `offset`; past the end latches a failure.
  void seek(size_t offset) {
    if (offset > size_) ok_ = false;
    else pos_ = offset;
  }
  void skip(size_t bytes) { seek(within(pos_, bytes, size_) ? pos_ + bytes : size_ + 1); }

  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t left() const { return ok_ ? size_ - pos_ : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ktriage::support

// Which byte values a line holds, to skip substring searches that cannot
// succeed. Every line inside a report is searched for dozens of fixed texts
// ("Call Trace", "should_fail", ", comm: ", ...), nearly always in vain; one
// pass over the line answers most of those searches with a mask test
// instead of a memchr and memcmp each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ktriage::logparse {

// A set of byte values. Bytes 0x80-0xff share bits with 0x00-0x7f, so the
// set may hold values the text lacks: it can only answer "surely absent".
class ByteSet {
 public:
  constexpr ByteSet() = default;
  constexpr explicit ByteSet(std::string_view text) {
    // Branch-free: which half a byte goes to is a coin toss for the branch
    // predictor. Locals, so the loop keeps them in registers.
    uint64_t lo = 0, hi = 0;
    for (char ch : text) {
      auto c = static_cast<unsigned char>(ch);
      uint64_t bit = uint64_t{1} << (c & 63);
      uint64_t upper = uint64_t{0} - ((c >> 6) & 1);
      lo |= bit & ~upper;
      hi |= bit & upper;
    }
    lo_ = lo;
    hi_ = hi;
  }
  // Whether every byte of `needle` may be here.
  constexpr bool covers(const ByteSet& needle) const {
    return (needle.lo_ & ~lo_) == 0 && (needle.hi_ & ~hi_) == 0;
  }
  // Whether any byte of `any` may be here.
  constexpr bool meets(const ByteSet& any) const { return (any.lo_ & lo_) != 0 || (any.hi_ & hi_) != 0; }

 private:
  uint64_t lo_ = 0;
  uint64_t hi_ = 0;
};

// Fixed text to search for, its bytes computed once. The text must outlive it.
struct Needle {
  constexpr explicit Needle(std::string_view t) : text(t), bytes(t) {}
  template <size_t N>
  constexpr Needle(const char (&literal)[N]) : Needle(std::string_view(literal, N - 1)) {}  // NOLINT: implicit
  std::string_view text;
  ByteSet bytes;
};

// One line with its bytes: searches skip the scan when a byte of the
// needle is missing.
class ScannedLine {
 public:
  explicit ScannedLine(std::string_view text) : text_(text), bytes_(text) {}
  std::string_view text() const { return text_; }
  const ByteSet& bytes() const { return bytes_; }
  bool has(const Needle& n) const {
    return bytes_.covers(n.bytes) && text_.find(n.text) != std::string_view::npos;
  }

 private:
  std::string_view text_;
  ByteSet bytes_;
};

}  // namespace ktriage::logparse

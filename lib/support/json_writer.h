// Compact JSON written as it goes, for the hot paths where building an
// nlohmann document first costs more than the work around it (ingest stores
// a parsed report per upload: the document cost as much as parsing the log).
// Strings come out as nlohmann's dump(-1) with error_handler_t::replace
// writes them (same escapes, same U+FFFD for bytes that are not UTF-8), and
// numbers read back as the same values, so nlohmann can take the text up.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ktriage::support {

// `s` as a JSON string literal (quotes included), appended to `out`.
void append_json_string(std::string& out, std::string_view s);

class JsonWriter {
 public:
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(double d);
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  JsonWriter& value(T v) {
    if constexpr (std::signed_integral<T>) return integer(static_cast<int64_t>(v), false);
    else return integer(static_cast<int64_t>(v), true);
  }
  template <typename T>
  JsonWriter& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  JsonWriter& null();
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();

  // key(k).value(v)
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    return key(k).value(v);
  }
  // A list of strings.
  JsonWriter& strings(const std::vector<std::string>& list);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  JsonWriter& integer(int64_t v, bool is_unsigned);
  void before_value();

  std::string out_;
  std::vector<bool> empty_;  // per open container: nothing in it yet
  bool after_key_ = false;
};

}  // namespace ktriage::support

// Errors as values across the library boundary (LLVM's Expected, drgn's
// error objects): a failing libdw/libelf/Capstone/SQLite call is turned into
// an Error right where it fails, with a message a user can act on.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ktriage {

// What kind of failure, for callers that act on it (exit codes, retries,
// "skip this file and go on"); the message says the rest.
enum class ErrorCode {
  unspecified,
  io,           // a read or write failed (errno)
  not_found,    // no such file, entry or record
  bad_input,    // the input is malformed: not ELF, broken DWARF, bad flags
  unsupported,  // well-formed but not handled: an architecture, a format version
  mismatch,     // valid, but not what it must match (debug info of another build)
  library,      // a library failed in a way the input does not explain
};

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::unspecified;
};

// Either a value or an Error. Usage:
//   Expected<Foo> fooOrErr = load_foo(path);
//   if (!fooOrErr) return fooOrErr.error();
template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}

  explicit operator bool() const { return std::holds_alternative<T>(v_); }
  bool has_value() const { return std::holds_alternative<T>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace ktriage

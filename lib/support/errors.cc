#include "support/errors.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fmt/format.h>
#include <libelf.h>

#include <cerrno>
#include <cstring>

namespace ktriage::support {
namespace {

Error with(std::string_view context, const char* message, const char* fallback, ErrorCode code) {
  return Error{fmt::format("{}: {}", context, message ? message : fallback), code};
}

}  // namespace

Error libelf_error(std::string_view context, ErrorCode code) {
  return with(context, elf_errmsg(-1), "unknown libelf error", code);
}

Error libdw_error(std::string_view context, ErrorCode code) {
  return with(context, dwarf_errmsg(-1), "unknown libdw error", code);
}

Error libdwfl_error(std::string_view context, ErrorCode code) {
  return with(context, dwfl_errmsg(-1), "unknown libdwfl error", code);
}

Error capstone_error(std::string_view context, cs_err err) {
  return Error{fmt::format("capstone: {}: {}", context, cs_strerror(err)),
               err == CS_ERR_ARCH || err == CS_ERR_MODE ? ErrorCode::unsupported : ErrorCode::library};
}

Error errno_error(std::string_view context, int err) {
  return Error{fmt::format("{}: {}", context, std::strerror(err)), err == ENOENT ? ErrorCode::not_found : ErrorCode::io};
}

}  // namespace ktriage::support

// One conversion per C library the stages use (drgn's drgn_error_libdw()
// idea): a failing call becomes an Error with the library's own message and
// an ErrorCode, right where it fails. SQLite's is in support/sqlite.h.
//
//   if (!gelf_getehdr(elf, &ehdr)) return support::libelf_error(path, ErrorCode::bad_input);
#pragma once

#include <capstone/capstone.h>

#include <string_view>

#include "ktriage/error.h"

namespace ktriage::support {

// "<context>: <elf_errmsg(-1)>"
Error libelf_error(std::string_view context, ErrorCode code = ErrorCode::bad_input);
// "<context>: <dwarf_errmsg(-1)>"
Error libdw_error(std::string_view context, ErrorCode code = ErrorCode::bad_input);
// "<context>: <dwfl_errmsg(-1)>"
Error libdwfl_error(std::string_view context, ErrorCode code = ErrorCode::bad_input);
// "capstone: <context>: <cs_strerror(err)>"
Error capstone_error(std::string_view context, cs_err err);
// "<context>: <strerror(err)>", ErrorCode::not_found for ENOENT.
Error errno_error(std::string_view context, int err);

}  // namespace ktriage::support

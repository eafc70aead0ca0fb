// Internal to symbolize: the one walk over a compile unit's DIE tree that
// both the inline chains (debug_object.cc) and the variable lookups
// (variables.cc) use.
#pragma once

#include <elfutils/libdw.h>

#include <vector>

namespace ktriage::symbolize {

// The concrete scopes containing pc, innermost first: subprograms, inlined
// instances, lexical blocks and entry points, found by descending only into
// DIEs whose ranges hold pc. (dwarf_getscopes() would continue an inlined
// instance with its abstract definition's scopes instead of its callers.)
// Bounded in depth and in siblings per level: the DWARF is hostile input.
std::vector<Dwarf_Die> concrete_scopes(Dwarf_Die* cudie, Dwarf_Addr pc);

}  // namespace ktriage::symbolize

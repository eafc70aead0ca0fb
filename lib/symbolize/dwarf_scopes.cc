#include "symbolize/dwarf_scopes.h"

#include <dwarf.h>

namespace ktriage::symbolize {
namespace {

constexpr int kMaxScopeDepth = 256;
constexpr int kMaxSiblings = 1'000'000;

}  // namespace

std::vector<Dwarf_Die> concrete_scopes(Dwarf_Die* cudie, Dwarf_Addr pc) {
  std::vector<Dwarf_Die> path;
  Dwarf_Die parent = *cudie;
  for (int depth = 0; depth < kMaxScopeDepth; ++depth) {
    Dwarf_Die child;
    if (dwarf_child(&parent, &child) != 0) break;
    bool descended = false;
    int siblings = 0;
    do {
      const int tag = dwarf_tag(&child);
      if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
           tag == DW_TAG_entry_point) &&
          dwarf_haspc(&child, pc) == 1) {
        path.push_back(child);
        parent = child;
        descended = true;
        break;
      }
    } while (++siblings < kMaxSiblings && dwarf_siblingof(&child, &child) == 0);
    if (!descended) break;
  }
  return {path.rbegin(), path.rend()};
}

}  // namespace ktriage::symbolize

// SignatureRules' compiled state (lib/bucket internal).
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <vector>

#include "ktriage/bucket.h"

namespace ktriage {

struct SignatureRules::Impl {
  size_t frames = 1;
  size_t frames_when_corrupted = 0;
  size_t max_title = 120;
  std::vector<std::unique_ptr<RE2>> suffixes;  // "((?:\.isra\.\d+))$": group 1 is the suffix
  std::unique_ptr<RE2> skip;                   // every skip pattern as one alternation
  std::string out_of_tree_flags = "POE";
};

}  // namespace ktriage

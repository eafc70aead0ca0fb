// Compiled form of a KbEntry's patterns, shared by the loader and matcher.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <vector>

#include "ktriage/kb.h"

namespace ktriage {

struct KnowledgeBase::Compiled {
  std::vector<std::unique_ptr<re2::RE2>> titles, types, frames;
};

}  // namespace ktriage

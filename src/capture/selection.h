// Internal: turning layer_regex into the list of selected modules.
#pragma once

#include <string>
#include <vector>

namespace attnhook::detail {

struct ModuleCandidate {
  std::string name;   // dotted named_modules() path, "" for the root
  bool is_attention;  // a multi-head attention module (torch::nn or scripted)
};

// Indexes of the selected candidates, in candidate (model) order.
// pattern "" selects every attention module; otherwise RE2 partial match on the name.
// Throws attnhook::Error when the pattern does not compile or selects nothing.
std::vector<size_t> select_modules(const std::vector<ModuleCandidate>& modules,
                                   const std::string& pattern);

}  // namespace attnhook::detail

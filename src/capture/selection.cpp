#include "capture/selection.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "attnhook/error.h"

namespace attnhook::detail {
namespace {

std::string attention_list(const std::vector<ModuleCandidate>& modules) {
  std::string list;
  for (const auto& module : modules) {
    if (!module.is_attention) continue;
    list += (list.empty() ? "" : ", ") + (module.name.empty() ? "(root)" : module.name);
  }
  return list.empty() ? "none" : list;
}

}  // namespace

std::vector<size_t> select_modules(const std::vector<ModuleCandidate>& modules,
                                   const std::string& pattern) {
  std::vector<size_t> selected;
  if (pattern.empty()) {
    for (size_t i = 0; i < modules.size(); ++i) {
      if (modules[i].is_attention) selected.push_back(i);
    }
    if (selected.empty()) {
      throw Error(
          "layer_regex '' selects every multi-head attention module, but the model has "
          "none; name its hand-written attention modules with a pattern");
    }
    return selected;
  }
  RE2::Options re2_options;
  re2_options.set_log_errors(false);
  const RE2 regex(pattern, re2_options);
  if (!regex.ok()) {
    throw Error(fmt::format("layer_regex '{}' does not compile: {}", pattern, regex.error()));
  }
  for (size_t i = 0; i < modules.size(); ++i) {
    if (RE2::PartialMatch(modules[i].name, regex)) selected.push_back(i);
  }
  if (selected.empty()) {
    throw Error(fmt::format("layer_regex '{}' selects no module; attention modules of this model: {}",
                            pattern, attention_list(modules)));
  }
  return selected;
}

}  // namespace attnhook::detail

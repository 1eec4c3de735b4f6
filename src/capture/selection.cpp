#include "capture/selection.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "check.h"

namespace attnhook::detail {
namespace {

constexpr size_t kListed = 16;  // names listed in a message before "and N more"

std::string display(const std::string& name) { return name.empty() ? "(root)" : name; }

std::string name_list(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string list;
  for (size_t i = 0; i < names.size() && i < kListed; ++i) list += (i ? ", " : "") + display(names[i]);
  if (names.size() > kListed) list += fmt::format(" and {} more", names.size() - kListed);
  return list;
}

std::vector<std::string> attention_inside(const std::vector<ModuleCandidate>& modules,
                                          const std::string& ancestor) {
  std::vector<std::string> names;
  for (const auto& module : modules) {
    if (module.attention && is_inside(ancestor, module.name)) names.push_back(module.name);
  }
  return names;
}

// "layers.0 (TransformerEncoderLayer), which contains layers.0.self_attn", per match.
std::string describe_matches(const std::vector<ModuleCandidate>& modules, const std::vector<size_t>& matched) {
  std::string text;
  for (size_t i = 0; i < matched.size() && i < kListed; ++i) {
    const ModuleCandidate& module = modules[matched[i]];
    const auto inside = attention_inside(modules, module.name);
    text += fmt::format("{}{} ({}){}", i ? "; " : "", display(module.name), module.type_name,
                        inside.empty() ? ", which holds no attention module"
                                       : ", which contains " + name_list(inside));
  }
  if (matched.size() > kListed) text += fmt::format("; and {} more", matched.size() - kListed);
  return text;
}

}  // namespace

std::vector<size_t> select_attention(const std::vector<ModuleCandidate>& modules, const std::string& pattern) {
  std::vector<std::string> all_attention;
  for (const auto& module : modules) {
    if (module.attention) all_attention.push_back(module.name);
  }
  std::vector<size_t> selected;
  if (pattern.empty()) {
    for (size_t i = 0; i < modules.size(); ++i) {
      if (modules[i].attention) selected.push_back(i);
    }
    ATTNHOOK_CHECK(!selected.empty(),
                   "layer_regex '' selects every attention module, but this model has none: no "
                   "MultiheadAttention, and no module of the model's own types computes a softmax "
                   "or scaled_dot_product_attention");
    return selected;
  }
  RE2::Options re2_options;
  re2_options.set_log_errors(false);
  const RE2 regex(pattern, re2_options);
  ATTNHOOK_CHECK(regex.ok(), "layer_regex '{}' does not compile: {}", pattern, regex.error());
  std::vector<size_t> matched;
  for (size_t i = 0; i < modules.size(); ++i) {
    if (!RE2::PartialMatch(modules[i].name, regex)) continue;
    matched.push_back(i);
    if (modules[i].attention) selected.push_back(i);
  }
  ATTNHOOK_CHECK(!matched.empty(), "layer_regex '{}' selects no module; attention modules of this model: {}",
                 pattern, name_list(all_attention));
  ATTNHOOK_CHECK(!selected.empty(),
                 "layer_regex '{}' selects no attention module: it matches {}; attention modules of "
                 "this model: {}",
                 pattern, describe_matches(modules, matched), name_list(all_attention));
  return selected;
}

bool is_inside(const std::string& ancestor, const std::string& name) {
  if (ancestor.empty()) return !name.empty();
  return name.size() > ancestor.size() && name.compare(0, ancestor.size(), ancestor) == 0 &&
         name[ancestor.size()] == '.';
}

std::string short_type_name(const std::string& qualified) {
  const size_t colons = qualified.rfind("::");
  const size_t dot = qualified.rfind('.');
  size_t start = 0;
  if (colons != std::string::npos) start = colons + 2;
  if (dot != std::string::npos && dot + 1 > start) start = dot + 1;
  std::string name = qualified.substr(start);
  constexpr char kImpl[] = "Impl";  // torch::nn's pimpl classes: LinearImpl is Linear
  if (name.size() > 4 && name.compare(name.size() - 4, 4, kImpl) == 0) name.resize(name.size() - 4);
  return name;
}

}  // namespace attnhook::detail

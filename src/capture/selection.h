// Internal: the one selection policy of both capture mechanisms (README, "What is
// selected"). Each mechanism describes its model's modules as ModuleCandidates and says
// which are attention modules; this file turns layer_regex into the selected ones and
// words every selection error the same way for both.
//
// An attention module is
//   - a multi-head attention module (torch::nn MultiheadAttention, scripted or traced
//     nn.MultiheadAttention), or
//   - a module of the user's own type (not a built-in torch::nn / torch.nn layer) that
//     computes a softmax or scaled_dot_product_attention in its own forward (directly or
//     in functions it calls) and contains no other attention module.
// layer_regex "" selects every attention module; a pattern selects the attention modules
// whose dotted name it matches (RE2::PartialMatch, like Python's re.search). Each
// attention call is recorded under the one selected attention module that computes it.
#pragma once

#include <string>
#include <vector>

namespace attnhook::detail {

struct ModuleCandidate {
  std::string name;       // dotted named_modules() path, "" for the root
  std::string type_name;  // short class name for messages, e.g. "TransformerEncoderLayer"
  bool attention = false;
};

// Indexes of the selected attention modules, in candidate (model) order. Throws
// attnhook::Error when the pattern does not compile, or selects no attention module: the
// message names the pattern, what it matched instead (with the attention modules inside
// those matches) and the model's attention modules.
std::vector<size_t> select_attention(const std::vector<ModuleCandidate>& modules,
                                     const std::string& pattern);

// True when `name` is strictly inside `ancestor` ("" is the root: it holds every other name).
bool is_inside(const std::string& ancestor, const std::string& name);

// "__torch__.a.___torch_mangle_3.B" / "torch::nn::TransformerEncoderLayerImpl" -> the
// class's own name: "B" / "TransformerEncoderLayer".
std::string short_type_name(const std::string& qualified);

}  // namespace attnhook::detail

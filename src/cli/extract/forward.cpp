#include "extract/forward.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

using detail::printable;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

bool starts_with(const std::string& text, const std::string& start) { return text.compare(0, start.size(), start) == 0; }

std::string shape_of(const at::Tensor& tensor) {
  return fmt::format("[{}] {}", fmt::join(tensor.sizes(), ", "), c10::toString(tensor.scalar_type()));
}

// [1, len] tensor of `values`.
at::Tensor row(const std::vector<int64_t>& values, at::ScalarType type) {
  return torch::tensor(values, torch::kLong).unsqueeze(0).to(type);
}

}  // namespace

std::string ForwardPlan::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kIds: return "ids";
    case Kind::kMask: return "mask";
    case Kind::kPadMask: return "pad_mask";
    case Kind::kTypeIds: return "type_ids";
    case Kind::kTgtIds: return "tgt_ids";
    case Kind::kTgtMask: return "tgt_mask";
    case Kind::kTgtPadMask: return "tgt_pad_mask";
  }
  return "?";
}

ForwardPlan::ForwardPlan(const torch::jit::Module& model, const std::string& forward_args) {
  const auto& arguments = model.get_method("forward").function().getSchema().arguments();
  std::vector<std::string> shown;
  for (size_t a = 1; a < arguments.size(); ++a) {  // 0 is self
    const c10::Argument& argument = arguments[a];
    c10::TypePtr type = argument.type();
    if (auto optional = type->cast<c10::OptionalType>()) type = optional->getElementType();
    names_.push_back(argument.name());
    required_.push_back(!argument.default_value().has_value());
    is_tensor_.push_back(type->kind() == c10::TypeKind::TensorType);
    types_.push_back(argument.type()->str());
    shown.push_back(required_.back() ? argument.name() : argument.name() + "=...");
  }
  signature_ = fmt::format("forward({})", fmt::join(shown, ", "));

  if (forward_args != "auto") {
    const std::vector<std::pair<std::string, Kind>> known = {
        {"ids", Kind::kIds},         {"mask", Kind::kMask},       {"pad_mask", Kind::kPadMask},
        {"type_ids", Kind::kTypeIds}, {"tgt_ids", Kind::kTgtIds}, {"tgt_mask", Kind::kTgtMask},
        {"tgt_pad_mask", Kind::kTgtPadMask}};
    std::stringstream list(forward_args);
    for (std::string item; std::getline(list, item, ',');) {
      const auto found = std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == item; });
      if (found == known.end()) {
        throw Error(fmt::format("--forward-args: '{}' is not an input kind; kinds: ids, mask, pad_mask, type_ids, "
                                "tgt_ids, tgt_mask, tgt_pad_mask",
                                printable(item, 40)));
      }
      bound_.push_back({"", found->second});
    }
    if (bound_.size() > names_.size()) {
      throw Error(fmt::format("--forward-args lists {} inputs, but the model's {} takes {}", bound_.size(), signature_,
                              names_.size()));
    }
    for (size_t p = bound_.size(); p < names_.size(); ++p) {
      if (required_[p]) {
        throw Error(fmt::format("--forward-args lists {} inputs, but the model's {} needs '{}' (parameter {}) too",
                                bound_.size(), signature_, names_[p], p + 1));
      }
    }
    for (size_t p = 0; p < bound_.size(); ++p) {
      if (!is_tensor_[p]) {
        throw Error(fmt::format("--forward-args: {} goes to forward() parameter '{}', which is a {}, not a Tensor",
                                kind_name(bound_[p].kind), names_[p], types_[p]));
      }
    }
    return;
  }
  // By name: see the table in forward.h.
  for (size_t p = 0; p < names_.size(); ++p) {
    const std::string name = lower(names_[p]);
    const bool decoder = starts_with(name, "tgt") || starts_with(name, "decoder");
    std::optional<Kind> kind;
    if (name == "attention_mask") kind = Kind::kMask;
    else if (name == "decoder_attention_mask" || name == "tgt_attention_mask") kind = Kind::kTgtMask;
    else if (name == "token_type_ids") kind = Kind::kTypeIds;
    else if (ends_with(name, "padding_mask") || ends_with(name, "pad_mask")) kind = decoder ? Kind::kTgtPadMask : Kind::kPadMask;
    else if (name == "decoder_input_ids" || name == "tgt" || name == "tgt_ids" || name == "target_ids") kind = Kind::kTgtIds;
    else if (p == 0) kind = Kind::kIds;
    if (kind && is_tensor_[p]) {
      bound_.push_back({names_[p], *kind});
    } else if (required_[p]) {
      throw Error(fmt::format("the model's {} needs '{}' (parameter {}), which extract does not know how to fill; "
                              "name the inputs in order with --forward-args (e.g. --forward-args ids,mask; kinds: "
                              "ids, mask, pad_mask, type_ids, tgt_ids, tgt_mask, tgt_pad_mask)",
                              signature_, names_[p], p + 1));
    }
  }
}

ForwardCall ForwardPlan::call(const ModelInput& input, const c10::Device& device) const {
  ForwardCall call;
  for (size_t b = 0; b < bound_.size(); ++b) {
    const Bound& bound = bound_[b];
    const bool positional = bound.parameter.empty();
    const std::string parameter = positional ? names_[b] : bound.parameter;
    const bool decoder = bound.kind == Kind::kTgtIds || bound.kind == Kind::kTgtMask || bound.kind == Kind::kTgtPadMask;
    const Sequence& sequence = decoder ? input.tgt : input.src;
    if (sequence.empty()) {
      const size_t p = std::find(names_.begin(), names_.end(), parameter) - names_.begin();
      if (!positional && !required_[p]) continue;  // left at its default
      throw Error(fmt::format("{}: forward() parameter '{}' takes {}, but the input has no {}; give it with {}",
                              input.where, parameter, kind_name(bound.kind),
                              decoder ? "decoder input" : "token ids",
                              decoder ? "--tgt-ids or --tgt-text (\"tgt_ids\" or \"tgt_text\" in an inputs file)"
                                      : "--ids or --text"));
    }
    at::Tensor value;
    switch (bound.kind) {
      case Kind::kIds:
      case Kind::kTgtIds: value = row(sequence.ids, torch::kLong); break;
      case Kind::kMask:
      case Kind::kTgtMask: value = row(sequence.mask, torch::kLong); break;
      case Kind::kPadMask:
      case Kind::kTgtPadMask: value = row(sequence.mask, torch::kLong).eq(0); break;
      case Kind::kTypeIds: value = row(sequence.type_ids, torch::kLong); break;
    }
    value = value.to(device);
    call.described.push_back(fmt::format("{} = {} {}", parameter, kind_name(bound.kind), shape_of(value)));
    call.parameters.push_back(parameter);
    if (positional) {
      call.args.emplace_back(value);
    } else {
      call.kwargs.emplace(parameter, value);
    }
  }
  return call;
}

ForwardCall ForwardPlan::call(const std::vector<at::Tensor>& tensors, const c10::Device& device) const {
  if (tensors.size() > names_.size()) {
    throw Error(fmt::format("the model's {} takes {} input{}, but {} --input-tensor were given", signature_,
                            names_.size(), names_.size() == 1 ? "" : "s", tensors.size()));
  }
  for (size_t p = tensors.size(); p < names_.size(); ++p) {
    if (required_[p]) {
      throw Error(fmt::format("the model's {} needs '{}' (input {}) too: give one --input-tensor per parameter, in "
                              "order",
                              signature_, names_[p], p));
    }
  }
  ForwardCall call;
  for (size_t k = 0; k < tensors.size(); ++k) {
    if (!is_tensor_[k]) {
      throw Error(fmt::format("--input-tensor {} goes to forward() parameter '{}', which is a {}, not a Tensor", k,
                              names_[k], types_[k]));
    }
    call.args.emplace_back(tensors[k].to(device));
    call.described.push_back(fmt::format("{} = input {} {}", names_[k], k, shape_of(tensors[k])));
    call.parameters.push_back(names_[k]);
  }
  return call;
}

namespace {

// The number of positions of the model's learned position table, if it has one that
// looks like it: a parameter or buffer whose name says "pos", [positions, dim] or
// [1, positions] (HF's position_ids). The smallest, with its name and shape.
std::optional<std::pair<int64_t, std::string>> learned_positions(const torch::jit::Module& model) {
  std::optional<std::pair<int64_t, std::string>> best;
  auto consider = [&](const std::string& name, const at::Tensor& tensor) {
    if (lower(name).find("pos") == std::string::npos || tensor.dim() < 1 || tensor.dim() > 3) return;
    int64_t d = 0;
    while (d + 1 < tensor.dim() && tensor.size(d) == 1) ++d;  // leading 1s: [1, P] or [1, P, dim]
    const int64_t positions = tensor.size(d);
    if (positions < 2 || (best && best->first <= positions)) return;
    best = {positions, fmt::format("'{}' is [{}]", name, fmt::join(tensor.sizes(), ", "))};
  };
  for (const auto& p : model.named_parameters(true)) consider(p.name, p.value);
  for (const auto& b : model.named_buffers(true)) consider(b.name, b.value);
  return best;
}

// LibTorch's reason without the TorchScript traceback: its last non-empty line.
std::string last_line(const std::string& reason) {
  std::string last, line;
  std::stringstream lines(reason);
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  return last.empty() ? reason : last;
}

}  // namespace

std::string explain_failure(const torch::jit::Module& model, const std::string& model_path, const ModelInput& input,
                            const ForwardCall& call, const std::string& signature, const std::string& reason) {
  std::string message = fmt::format("model '{}' failed on {}: {}", printable(model_path, 4096), input.where,
                                    printable(last_line(reason), 400));
  message += fmt::format("; it was called as {} with {}", signature, fmt::join(call.described, ", "));
  const Sequence* longest = nullptr;
  for (const Sequence* s : {&input.src, &input.tgt}) {
    if (s->from_text && (!longest || s->ids.size() > longest->ids.size())) longest = s;
  }
  if (longest) {
    const auto positions = learned_positions(model);
    const int64_t length = static_cast<int64_t>(longest->ids.size());
    if (positions && length > positions->first) {
      message += fmt::format(". The text is {} tokens long, but the model has {} positions ({}): add --truncation "
                             "--max-length {}",
                             length, positions->first, positions->second, positions->first);
    } else {
      message += fmt::format(". If the text ({} tokens) is longer than the model's positions, add --truncation "
                             "--max-length <positions>",
                             length);
    }
  }
  return message;
}

}  // namespace attnhook::cli

#include "extract/outputs.h"

#include <fmt/format.h>

#include <sstream>

#include "atomic_file.h"
#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

void collect(const c10::IValue& value, const std::string& name, std::vector<NamedOutput<at::Tensor>>& out) {
  if (value.isTensor()) {
    const at::Tensor& tensor = value.toTensor();
    if (tensor.defined()) out.push_back({name, tensor.detach().to(at::kCPU)});
  } else if (value.isTuple()) {
    const auto& items = value.toTupleRef().elements();
    for (size_t i = 0; i < items.size(); ++i) collect(items[i], fmt::format("{}.{}", name, i), out);
  } else if (value.isList()) {
    const c10::List<c10::IValue> items = value.toList();
    for (size_t i = 0; i < items.size(); ++i) collect(items.get(i), fmt::format("{}.{}", name, i), out);
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      const c10::IValue& key = entry.key();
      const std::string text = key.isString() ? key.toStringRef() : key.isInt() ? std::to_string(key.toInt()) : "?";
      collect(entry.value(), name == "output" ? text : name + "." + text, out);
    }
  }
}

}  // namespace

std::vector<NamedOutput<at::Tensor>> named_outputs(const c10::IValue& output) {
  std::vector<NamedOutput<at::Tensor>> out;
  collect(output, "output", out);
  return out;
}

std::vector<std::string> read_class_names(const std::string& path) {
  const std::string text = detail::read_file(path, "labels file");
  std::vector<std::string> names;
  std::stringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      throw Error(fmt::format("--labels '{}': line {} is empty; the file names one class per line",
                              detail::printable(path, 4096), names.size() + 1));
    }
    names.push_back(line);
  }
  if (names.empty()) throw Error(fmt::format("--labels '{}' names no class (one class name per line)", detail::printable(path, 4096)));
  return names;
}

Prediction predict(const std::vector<NamedOutput<at::Tensor>>& outputs, const std::vector<std::string>& class_names,
                   const std::string& labels_path) {
  const NamedOutput<at::Tensor>* chosen = nullptr;
  for (const auto& output : outputs) {
    if (output.name == "logits" && at::isFloatingType(output.values.scalar_type()) && output.values.dim() >= 1 &&
        output.values.size(-1) > 0) {
      chosen = &output;
    }
  }
  for (const auto& output : outputs) {
    if (!chosen && at::isFloatingType(output.values.scalar_type()) && output.values.dim() >= 1 &&
        output.values.size(-1) > 0) {
      chosen = &output;
    }
  }
  if (!chosen) {
    if (class_names.empty()) return {};
    throw Error(fmt::format("--labels '{}': the model returned no floating-point tensor to name the classes of",
                            detail::printable(labels_path, 4096)));
  }
  const at::Tensor logits = chosen->values.to(at::kFloat);  // [..., classes]
  const int64_t classes = logits.size(-1);
  if (!class_names.empty() && static_cast<int64_t>(class_names.size()) != classes) {
    throw Error(fmt::format("--labels '{}' names {} classes, but the model's output '{}' (shape [{}]) has {}",
                            detail::printable(labels_path, 4096), class_names.size(), chosen->name,
                            fmt::join(logits.sizes(), ", "), classes));
  }
  Prediction prediction;
  prediction.output = chosen->name;
  prediction.shape = logits.sizes().vec();
  prediction.shape.pop_back();
  const at::Tensor flat = logits.reshape({-1, classes});
  const at::Tensor ids = flat.argmax(-1);                                                  // [n]
  const at::Tensor probabilities = flat.softmax(-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1);  // [n]
  for (int64_t i = 0; i < ids.size(0); ++i) {
    const int64_t id = ids[i].item<int64_t>();
    prediction.class_ids.push_back(id);
    prediction.probabilities.push_back(probabilities[i].item<float>());
    if (!class_names.empty()) prediction.class_names.push_back(class_names[id]);
  }
  return prediction;
}

}  // namespace attnhook::cli

// Internal (extract plugin): what the model returned, kept in the attention file: its
// tensors by name, and the prediction read off the logits (attnhook/formats.h).
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "attnhook/export.h"

namespace attnhook::cli {

// Every tensor in `output`, detached, on the CPU: a tensor is "output"; the i-th item of
// a tuple or list "output.<i>" (nested: "output.<i>.<j>"); a dict's entry its key (nested:
// "<key>.<i>"). Other values (None, numbers, strings) are left out.
std::vector<NamedOutput<at::Tensor>> named_outputs(const c10::IValue& output);

// The class names of a --labels file: one per line (a final newline ends the last line;
// "\r\n" is read as a line end). An empty file or an empty line is an error.
std::vector<std::string> read_class_names(const std::string& path);

// The prediction from the output named "logits", else the first floating-point output with
// at least one dimension: arg-max over its last dimension, the softmax there, and with
// `class_names` their names. Errors (attnhook::Error): class names whose count is not the
// size of that dimension, class names and no such output. `labels_path` names the file in
// messages. Empty when the model returned no such output and no class names were given.
Prediction predict(const std::vector<NamedOutput<at::Tensor>>& outputs, const std::vector<std::string>& class_names,
                   const std::string& labels_path);

}  // namespace attnhook::cli

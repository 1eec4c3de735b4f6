// Internal: the at::Tensor API over the torch-free core (src/view/): tensors become
// FloatArrays (CPU float32, sharing the tensor's storage when it already is one) and back.
#pragma once

#include <ATen/Tensor.h>

#include <string>

#include "attnhook/values.h"
#include "float_array.h"

namespace attnhook::detail {

// Detached, on the CPU, float32, contiguous; the array keeps the tensor alive.
FloatArray to_array(const at::Tensor& tensor);
// A tensor over the array's numbers (no copy); it keeps the array alive.
at::Tensor to_tensor(const FloatArray& array);

// Throws attnhook::Error "<what> is an undefined tensor" / "<what> must be a floating-point
// tensor; got dtype Long": the checks only a tensor needs; the core checks the rest.
void check_floating(const at::Tensor& tensor, const std::string& what);

NamedCalls to_calls(const Values& values);
Values to_values(const NamedCalls& calls);

}  // namespace attnhook::detail

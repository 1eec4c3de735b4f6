#include "tensor/tensor_array.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "attnhook/error.h"
#include "layout.h"
#include "check.h"

namespace attnhook::detail {

FloatArray to_array(const at::Tensor& tensor) {
  const at::Tensor cpu = tensor.detach().to(at::kCPU, at::kFloat).contiguous();
  return FloatArray(cpu.sizes().vec(), std::shared_ptr<const float>(cpu.data_ptr<float>(), [cpu](const float*) {}));
}

at::Tensor to_tensor(const FloatArray& array) {
  return at::from_blob(const_cast<float*>(array.data()), array.shape(), [array](void*) {}, at::kFloat);
}

void check_floating(const at::Tensor& tensor, const std::string& what) {
  ATTNHOOK_CHECK(!(!tensor.defined()), "{} is an undefined tensor", what);
  ATTNHOOK_CHECK(!(!at::isFloatingType(tensor.scalar_type())), "{} must be a floating-point tensor; got dtype {}", what,
                            c10::toString(tensor.scalar_type()));
}

NamedCalls to_calls(const Values& values) {
  NamedCalls out;
  for (const auto& [name, calls] : values) {
    std::vector<FloatArray> arrays;
    for (size_t c = 0; c < calls.size(); ++c) {
      ATTNHOOK_CHECK(!(!calls[c].defined()), "{} is an undefined tensor", call_label(name, c, calls.size()));
      arrays.push_back(to_array(calls[c]));
    }
    out.emplace_back(name, std::move(arrays));
  }
  return out;
}

Values to_values(const NamedCalls& calls) {
  Values out;
  for (const auto& [name, arrays] : calls) {
    std::vector<at::Tensor> tensors;
    for (const auto& array : arrays) tensors.push_back(to_tensor(array));
    out.append(name, std::move(tensors));
  }
  return out;
}

}  // namespace attnhook::detail

// Internal: a read-only float32 array on the CPU, row-major. The torch-free half of
// attnhook (attention files, pictures, the command-line viewer) works on these; the
// at::Tensor API converts (src/tensor_array.h). Copies share the numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attnhook::detail {

class FloatArray {
 public:
  FloatArray() = default;
  // Owns `values`; an attnhook::Error when their count is not the shape's.
  FloatArray(std::vector<int64_t> shape, std::vector<float> values);
  // Shares `data`, which holds at least numel() numbers (and whatever owns them).
  FloatArray(std::vector<int64_t> shape, std::shared_ptr<const float> data);

  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const { return shape_[d]; }
  int64_t numel() const { return numel_; }
  const float* data() const { return data_.get(); }
  // Item `index` of the first dimension, sharing the numbers (index is not checked).
  FloatArray operator[](int64_t index) const;
  // The same numbers seen with `shape` (same count; an attnhook::Error otherwise).
  FloatArray reshaped(std::vector<int64_t> shape) const;

 private:
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;  // product of shape_, kept: loops over the numbers test it every step
  std::shared_ptr<const float> data_;
};

// "[2, 12, 128, 128]", for messages.
std::string shape_text(const std::vector<int64_t>& shape);

// Layer name -> its calls, in model order (what attnhook::Values holds, as arrays).
using NamedCalls = std::vector<std::pair<std::string, std::vector<FloatArray>>>;

// "'name'" or "'name' call k" (when the layer has several calls): how messages name one
// call of a layer, in Values and NamedCalls alike.
std::string call_label(const std::string& name, size_t call, size_t calls);

}  // namespace attnhook::detail

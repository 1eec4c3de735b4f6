#include "float_array.h"

#include <fmt/format.h>

#include "attnhook/error.h"

namespace attnhook::detail {

namespace {
// Checked: a shape whose count is negative or overflows is an error, never a wrapped count.
int64_t product(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  bool zero = false;
  for (int64_t size : shape) {
    if (size < 0) throw Error(fmt::format("shape {} has a negative dimension", shape_text(shape)));
    zero |= size == 0;
  }
  if (zero) return 0;
  for (int64_t size : shape) {
    if (__builtin_mul_overflow(count, size, &count))
      throw Error(fmt::format("shape {} has more elements than an int64 counts", shape_text(shape)));
  }
  return count;
}
}  // namespace

FloatArray::FloatArray(std::vector<int64_t> shape, std::vector<float> values)
    : shape_(std::move(shape)), numel_(product(shape_)) {
  if (static_cast<int64_t>(values.size()) != numel_)
    throw Error(fmt::format("{} numbers do not fill shape {}", values.size(), shape_text(shape_)));
  auto owner = std::make_shared<std::vector<float>>(std::move(values));
  data_ = std::shared_ptr<const float>(owner, owner->data());
}

FloatArray::FloatArray(std::vector<int64_t> shape, std::shared_ptr<const float> data)
    : shape_(std::move(shape)), numel_(product(shape_)), data_(std::move(data)) {}

FloatArray FloatArray::operator[](int64_t index) const {
  std::vector<int64_t> inner(shape_.begin() + 1, shape_.end());
  const int64_t stride = product(inner);
  return FloatArray(std::move(inner), std::shared_ptr<const float>(data_, data_.get() + index * stride));
}

FloatArray FloatArray::reshaped(std::vector<int64_t> shape) const {
  if (product(shape) != numel_)
    throw Error(fmt::format("cannot view shape {} as {}", shape_text(shape_), shape_text(shape)));
  return FloatArray(std::move(shape), data_);
}

std::string call_label(const std::string& name, size_t call, size_t calls) {
  return calls > 1 ? fmt::format("'{}' call {}", name, call) : fmt::format("'{}'", name);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace attnhook::detail

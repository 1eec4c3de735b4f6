#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include "capture/recorder.h"

namespace attnhook::detail {

Recorder::Recorder(std::vector<std::string> names, HookerOptions options)
    : names_(std::move(names)), options_(std::move(options)), calls_(names_.size()) {}

void Recorder::record(size_t module_index, const at::Tensor& weights) {
  if (!active()) return;
  // The conversions below are ATen ops; they must not be observed themselves.
  at::DisableRecordFunctionGuard no_observation;
  at::Tensor stored = options_.keep_grad() ? weights : weights.detach();
  if (options_.to_cpu() && !stored.device().is_cpu()) stored = stored.to(at::kCPU);
  if (options_.dtype() && stored.scalar_type() != *options_.dtype()) {
    stored = stored.to(*options_.dtype());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  calls_[module_index].push_back(std::move(stored));
}

Values Recorder::values() const {
  Values values;
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (!calls_[i].empty()) values.append(names_[i], calls_[i]);
  }
  return values;
}

void Recorder::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& calls : calls_) calls.clear();
}

}  // namespace attnhook::detail

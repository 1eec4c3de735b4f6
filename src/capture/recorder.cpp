#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include "capture/recorder.h"

namespace attnhook::detail {

Recorder::Recorder(std::vector<std::string> names, HookerOptions options, std::vector<bool> confirmed)
    : names_(std::move(names)),
      options_(std::move(options)),
      states_(new std::atomic<uint8_t>[names_.size()]),
      calls_(names_.size()) {
  for (size_t i = 0; i < names_.size(); ++i) states_[i] = confirmed.empty() || confirmed[i] ? kConfirmed : kUnknown;
}

void Recorder::note_run(size_t module_index) {
  uint8_t unknown = kUnknown;
  states_[module_index].compare_exchange_strong(unknown, kRanWithoutRecord, std::memory_order_relaxed);
}

std::vector<std::string> Recorder::hooked_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i].find('/') != std::string::npos) continue;  // a module's scores or values
    if (states_[i].load(std::memory_order_relaxed) != kRanWithoutRecord) names.push_back(names_[i]);
  }
  return names;
}

void Recorder::record(size_t module_index, const at::Tensor& weights, bool copy) {
  if (!active()) return;
  // The conversions below are ATen ops; they must not be observed themselves.
  at::DisableRecordFunctionGuard no_observation;
  at::Tensor stored = options_.keep_grad() ? weights : weights.detach();
  if (copy) stored = stored.clone();
  if (options_.to_cpu() && !stored.device().is_cpu()) stored = stored.to(at::kCPU);
  if (options_.dtype() && stored.scalar_type() != *options_.dtype()) {
    stored = stored.to(*options_.dtype());
  }
  states_[module_index].store(kConfirmed, std::memory_order_relaxed);
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

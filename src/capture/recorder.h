// Internal: the record a hooker fills, whichever capture mechanism runs.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "attnhook/options.h"
#include "attnhook/values.h"

namespace attnhook::detail {

// Thread-safe store of what one hooker recorded: for each selected module (in
// model order) the tensors of its calls, in call order.
class Recorder {
 public:
  Recorder(std::vector<std::string> names, HookerOptions options);

  // weights: [batch, heads, tgt_len, src_len]. Applies the options (detach unless
  // keep_grad, to_cpu, dtype). Does nothing while the recorder is inactive.
  void record(size_t module_index, const at::Tensor& weights);

  void set_active(bool active) { active_.store(active, std::memory_order_release); }
  bool active() const { return active_.load(std::memory_order_acquire); }

  Values values() const;
  void clear();
  const std::vector<std::string>& names() const { return names_; }
  const HookerOptions& options() const { return options_; }

 private:
  const std::vector<std::string> names_;
  const HookerOptions options_;
  std::atomic<bool> active_{false};
  mutable std::mutex mutex_;
  std::vector<std::vector<at::Tensor>> calls_;  // [module][call]
};

}  // namespace attnhook::detail

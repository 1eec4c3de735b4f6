// Internal: the interface both capture mechanisms implement, and the record they
// fill. Nothing above this header knows which mechanism ran.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "attnhook/options.h"
#include "attnhook/values.h"

namespace torch::jit {
struct Module;
}

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

// A softmax output as [batch, heads, tgt_len, src_len]: 4-D as is; [batch * heads, tgt,
// src] viewed with num_heads when it divides dim 0, else [n, 1, tgt, src]; [tgt, src] as
// [1, 1, tgt, src]. Undefined for other ranks (not attention).
at::Tensor as_batch_heads(const at::Tensor& probs, int64_t num_heads);

class CaptureMechanism {
 public:
  virtual ~CaptureMechanism() = default;
  // Starts recording into recorder(). May throw attnhook::Error.
  virtual void install() = 0;
  // Stops recording. Idempotent.
  virtual void uninstall() noexcept = 0;
  virtual const std::shared_ptr<Recorder>& recorder() const = 0;
  // The module to run (TorchScript: the hooked clone); nullptr for torch::nn models.
  virtual torch::jit::Module* hooked_module() { return nullptr; }
};

}  // namespace attnhook::detail

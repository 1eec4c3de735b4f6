// Internal: the record a hooker fills, whichever capture mechanism runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "attnhook/options.h"
#include "attnhook/values.h"

namespace attnhook::detail {

// Thread-safe store of what one hooker recorded: for each selected module (in
// model order) the tensors of its calls, in call order.
//
// Which selected modules compute attention: `confirmed[i]` says module i is known to
// (a MultiheadAttention; every module TorchScript selects, from its graph). The others
// (torch::nn modules of the user's own types, whose C++ code cannot be read) are
// confirmed by their first record, and ruled out when they ran — an op read their
// parameters while capturing — without recording anything.
class Recorder {
 public:
  // confirmed: empty = every module is confirmed.
  Recorder(std::vector<std::string> names, HookerOptions options, std::vector<bool> confirmed = {});

  // weights: [batch, heads, tgt_len, src_len]. Applies the options (detach unless
  // keep_grad, to_cpu, dtype); `copy` stores a copy, for values the model may later
  // change in place. Does nothing while the recorder is inactive.
  void record(size_t module_index, const at::Tensor& weights, bool copy = false);

  void set_active(bool active) { active_.store(active, std::memory_order_release); }
  bool active() const { return active_.load(std::memory_order_acquire); }

  // Module `module_index` ran while capturing (its parameters were read).
  void note_run(size_t module_index);

  Values values() const;
  void clear();
  // Every entry, in model order: the selected modules, each followed by its
  // "<module>/scores" and "<module>/<value>" entries (HookerOptions).
  const std::vector<std::string>& names() const { return names_; }
  // The selected modules that can record: all but those ruled out; not the "/" entries.
  std::vector<std::string> hooked_names() const;
  const HookerOptions& options() const { return options_; }

 private:
  const std::vector<std::string> names_;
  const HookerOptions options_;
  std::atomic<bool> active_{false};
  enum State : uint8_t { kUnknown, kRanWithoutRecord, kConfirmed };
  std::unique_ptr<std::atomic<uint8_t>[]> states_;  // [module]
  mutable std::mutex mutex_;
  std::vector<std::vector<at::Tensor>> calls_;  // [module][call]
};

}  // namespace attnhook::detail

// Internal: the interface both capture mechanisms implement (torch::nn op observer,
// TorchScript IR rewrite). Nothing above this header knows which mechanism ran.
#pragma once

#include <memory>

#include "capture/recorder.h"

namespace torch::jit {
struct Module;
}

namespace attnhook::detail {

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

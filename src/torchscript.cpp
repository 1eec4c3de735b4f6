// PLACEHOLDER until the TorchScript mechanism lands: fails loudly, never silently.
#include "torchscript.h"

#include "attnhook/error.h"

namespace attnhook::detail {

std::unique_ptr<CaptureMechanism> make_torchscript_capture(const torch::jit::Module&, const HookerOptions&) {
  throw Error("AttentionHooker: TorchScript models are not supported yet");
}

}  // namespace attnhook::detail

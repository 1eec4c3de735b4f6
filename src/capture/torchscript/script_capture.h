// Internal: the capture mechanism for TorchScript modules (an IR rewrite of a clone).
#pragma once

#include <memory>

#include <torch/csrc/jit/api/module.h>

#include "capture/mechanism.h"

namespace attnhook::detail {

// Selects the attention modules of `model` by options.layer_regex() (selection.h) and
// prepares a hooked clone (hooked_module()) that shares the original's parameters.
// Throws attnhook::Error on a bad pattern, an empty selection, or a selected module
// whose attention cannot be captured (a trace that baked in a fused kernel instead).
std::unique_ptr<CaptureMechanism> make_torchscript_capture(const torch::jit::Module& model,
                                                           const HookerOptions& options);

}  // namespace attnhook::detail

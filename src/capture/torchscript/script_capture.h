// Internal: the capture mechanism for TorchScript modules (an IR wrap of forward).
#pragma once

#include <memory>

#include <torch/csrc/jit/api/module.h>

#include "capture/mechanism.h"

namespace attnhook::detail {

// Selects modules of `model` by options.layer_regex() and prepares a hooked clone
// (hooked_module()) that shares the original's parameters. Throws attnhook::Error on a
// bad pattern, an empty selection, or a selected module where no attention is found.
std::unique_ptr<CaptureMechanism> make_torchscript_capture(const torch::jit::Module& model,
                                                           const HookerOptions& options);

}  // namespace attnhook::detail

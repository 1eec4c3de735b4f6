// Internal: the capture mechanism for torch::nn module trees (an ATen op observer).
#pragma once

#include <memory>

#include <torch/nn/module.h>

#include "capture/mechanism.h"

namespace attnhook::detail {

// Selects modules of `model` by options.layer_regex(); throws attnhook::Error on a
// null model, a bad pattern, an empty selection, or a selection of modules that own no
// parameter (the observer could never attribute an op to them; such matches are
// dropped when the pattern also selects modules with parameters).
std::unique_ptr<CaptureMechanism> make_op_observer(std::shared_ptr<torch::nn::Module> model,
                                                   const HookerOptions& options);

}  // namespace attnhook::detail

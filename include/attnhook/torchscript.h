// TorchScript models: loading, and what an AttentionHooker does to them.
//
//   torch::jit::Module model = attnhook::load_torchscript("model.pt");
//   attnhook::AttentionHooker hooker(model, attnhook::HookerOptions());
//   hooker.setup();
//   hooker.module().forward(inputs);      // the hooked module; `model` stays untouched
//   hooker.values().at("layers.0.self_attn")[0];   // [batch, heads, tgt_len, src_len]
//
// The hooked module is model.clone(/*inplace=*/true): new TorchScript classes with the
// original's parameters and buffers (the same tensors, not copies), so it works whether
// or not the model already ran, and in-place parameter updates are seen by both.
// Non-tensor attributes such as `training` are copied: call module().eval() /
// .train() on the hooked module itself.
//
// What is captured, per call of a selected module: every softmax and every
// scaled_dot_product_attention its methods compute (forward, the methods it calls, and
// forward1, forward2, ... that a traced parent calls when it called the module several
// times), including those in the free functions they call, which are inlined into the
// hooked clone — not those of its submodules — before dropout, as [batch, heads,
// tgt_len, src_len]:
//   - scripted nn.MultiheadAttention: the per-head softmax [batch * heads, tgt, src] of
//     F.multi_head_attention_forward when need_weights is true, viewed with the module's
//     num_heads; when it is false (every nn.Transformer*Layer), torch >= 2.0's code calls
//     SDPA instead, whose weights attnhook::record_sdpa recomputes from the node's inputs.
//     What the caller gets back is unchanged;
//   - hand-written attention (scripted or traced; F.softmax, torch.softmax, Tensor.softmax,
//     F.scaled_dot_product_attention, HF's eager_attention_forward / sdpa_attention_forward):
//     a 4-D softmax is [batch, heads, tgt, src] already; a 3-D one [n, tgt, src] is viewed
//     as [n / heads, heads, tgt, src] with the head count from an int attribute num_heads,
//     n_head, n_heads, num_attention_heads, nhead or heads (first found), or for a traced
//     nn.MultiheadAttention (which has no attributes) from the constant c in the
//     `bsz * c` that sizes its [batch * heads, len, head_dim] views. When no head count is
//     known, or it does not divide n, the record is [n, 1, tgt, src]. 5-D and more (window
//     attention) is folded into batch; 2-D is [1, 1, tgt, src].
//   - with HookerOptions::capture_scores / capture_values, the softmax input and named
//     locals too (attnhook/options.h).
//
// Selection (attnhook/options.h): names are the dotted named_modules() paths (no root
// prefix: "" is the root), the same strings Python shows; a module reachable under two
// names keeps the first, as in Python. An attention module is an nn.MultiheadAttention
// (class __torch__.torch.nn.modules.activation.MultiheadAttention, mangled or not,
// scripted or traced) or a module of the user's own class (not __torch__.torch.nn.*) whose
// methods compute a softmax or SDPA, and that contains no other attention module — known
// from its graphs before any forward.
//
// Fused fast paths. In eval, without grad, PyTorch bypasses the attention module:
// nn.MultiheadAttention runs aten::_native_multi_head_attention,
// nn.TransformerEncoderLayer aten::_transformer_encoder_layer_fwd, and
// nn.TransformerEncoder turns padded input into a nested tensor
// (aten::_nested_tensor_from_mask). In the hooked module each such branch starts with
// `if attnhook::capturing(): <a copy of the unfused branch>`, in the whole module tree:
// while a hooker captures, the model runs its unfused path — the one it runs with grad
// enabled — so outputs match the model's grad-enabled output (bit-identical), and differ
// from the fused output by rounding (~1e-7), except that the nested-tensor path writes 0
// at padded positions of the encoder output where the unfused path writes the layer's
// value. The branch's own condition is untouched, so when the JIT folds it to a constant
// (a None mask inlined from a user's wrapper) the fused branch and the guard vanish
// together. With hooks removed (or before setup()) the fused paths run as in the original.
// A model traced under no_grad runs the fused kernels unconditionally and never calls
// its attention modules: selecting them is an attnhook::Error that names each module,
// the kernel, and the fix (trace in eval with grad enabled).
//
// Saving: module() holds attnhook's ops (attnhook::record, attnhook::capturing), so a
// file saved from it needs libattnhook to load. Save the original module instead.
//
// Errors (attnhook::Error): a missing or unreadable file names the path and LibTorch's
// reason; an empty selection names the pattern and the attention modules; hooking a
// module that is itself a hooked module() is refused.
#pragma once

#include <torch/csrc/jit/api/module.h>

#include <string>

namespace attnhook {

// torch::jit::load(path) on the CPU; an attnhook::Error naming the path and LibTorch's
// reason when the file is missing or not a TorchScript archive.
torch::jit::Module load_torchscript(const std::string& path);

}  // namespace attnhook

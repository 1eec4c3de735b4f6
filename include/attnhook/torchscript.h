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
// What is captured, per call of a selected module: the output of every softmax its
// forward computes (in its own methods and the free functions they call, not in its
// submodules), before dropout, as [batch, heads, tgt_len, src_len]:
//   - scripted nn.MultiheadAttention: the per-head softmax [batch * heads, tgt, src]
//     inside F.multi_head_attention_forward, viewed with the module's num_heads —
//     whatever need_weights / average_attn_weights the caller passed, and what the
//     caller gets back is unchanged;
//   - hand-written attention (scripted or traced; F.softmax, torch.softmax or
//     Tensor.softmax): a 4-D softmax output is [batch, heads, tgt, src] already; a
//     3-D one [n, tgt, src] is viewed as [n / heads, heads, tgt, src] with the head
//     count from an int attribute num_heads, n_head, n_heads, num_attention_heads,
//     nhead or heads (first found), or for a traced nn.MultiheadAttention (which has
//     no attributes) from the constant in the `bsz * num_heads` of its graph. When no
//     head count is known, or it does not divide n, the record is [n, 1, tgt, src].
//     A 2-D softmax [tgt, src] becomes [1, 1, tgt, src].
//
// Selection: names are the dotted named_modules() paths (no root prefix: "" is the
// root), the same strings Python shows; a module reachable under two names keeps the
// first, as in Python. layer_regex "" selects every nn.MultiheadAttention (TorchScript
// class __torch__.torch.nn.modules.activation.MultiheadAttention, mangled or not,
// scripted or traced). Selected modules whose forward computes no softmax (a Linear,
// a container, a TransformerEncoderLayer whose attention is its self_attn child) are
// left out of hooked_names(); when every selected module is such a module, the hooker
// throws an attnhook::Error that names each one and why.
//
// Fused fast paths. In eval, without grad, PyTorch 1.13 bypasses the attention
// softmax: nn.MultiheadAttention runs aten::_native_multi_head_attention,
// nn.TransformerEncoderLayer aten::_transformer_encoder_layer_fwd, and
// nn.TransformerEncoder turns padded input into a nested tensor
// (aten::_nested_tensor_from_mask). In the hooked module these branches are taken
// only while no hooker is capturing the module (or a module inside it): while
// capturing, the model runs its unfused path — the one it runs with grad enabled — so
// outputs match the model's grad-enabled output (bit-identical), and differ from the
// fused output by rounding (~1e-7), except that the nested-tensor path writes 0 at
// padded positions of the encoder output where the unfused path writes the layer's
// value. With hooks removed (or before setup()) the fused paths run as in the original.
// A traced module that always runs a fused kernel (traced under no_grad) cannot be
// captured: an attnhook::Error says so.
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

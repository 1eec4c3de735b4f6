// Internal: graph surgery on the ClassTypes of a cloned TorchScript module.
//
// Methods belong to a ClassType, not to an instance, so every rewrite here applies to
// all instances of the type; what tells them apart at run time is the int attribute
// kSlotAttribute (torchscript_ops.h) that each instance carries. Rewrites keep what the
// graph computes: they only add attnhook::record after softmax nodes and make fused
// fast-path branches also depend on attnhook::capturing.
#pragma once

#include <ATen/core/jit_type.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attnhook::detail {

// The methods of `type` that forward runs on its own instance: forward, plus the
// methods it calls on self, transitively. Empty when the type has no forward (a
// traced submodule whose code was inlined into its parent, a ModuleList).
std::vector<std::string> methods_run_by_forward(const c10::ClassTypePtr& type);

// Softmax nodes those methods run, counting those inside the free functions they call
// (F.softmax, F.multi_head_attention_forward: prim::CallFunction, not inlined by load).
size_t count_softmax(const c10::ClassTypePtr& type);

// Names of the fused attention kernels (aten::_native_multi_head_attention,
// aten::_transformer_encoder_layer_fwd, aten::_nested_tensor_from_mask) in any method
// of `type`, deduplicated.
std::vector<std::string> fused_ops(const c10::ClassTypePtr& type);

// Adds kSlotAttribute (int) to `type` if it does not have it yet.
void add_slot_attribute(const c10::ClassTypePtr& type);

// In the methods run by forward, inlines the free functions that compute a softmax and
// inserts attnhook::record(softmax_output, self.<kSlotAttribute>) after every
// aten::softmax. Needs add_slot_attribute first. Returns the softmax nodes instrumented.
size_t instrument_softmax(const c10::ClassTypePtr& type);

// For every fused kernel in `type`'s methods, makes the innermost prim::If around it
// take the other (unfused) branch while attnhook::capturing(self.<kSlotAttribute>).
// Throws attnhook::Error naming `module_name` when a fused kernel runs unconditionally.
void guard_fused_paths(const c10::ClassTypePtr& type, const std::string& module_name);

// The head count of a traced nn.MultiheadAttention, read from its graph: the constant
// c in the `bsz * c` that sizes its [batch * heads, len, head_dim] views. 0 if absent
// or ambiguous.
int64_t heads_from_graph(const c10::ClassTypePtr& type);

}  // namespace attnhook::detail

// Internal: graph surgery on the ClassTypes of a cloned TorchScript module.
//
// Methods belong to a ClassType, not to an instance, so every rewrite here applies to
// all instances of the type; what tells them apart at run time is the int attribute
// kSlotAttribute (script_ops.h) that each instance carries. Rewrites keep what the graph
// computes: they add attnhook::record after softmax nodes and attnhook::record_sdpa after
// scaled_dot_product_attention nodes (both return nothing), and give fused fast-path
// branches an unfused alternative taken while attnhook::capturing.
//
// The methods of a type are all its graph methods: forward, the methods it calls, and
// forward1, forward2, ... that a traced parent calls when the module ran several times
// while tracing.
#pragma once

#include <ATen/core/jit_type.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attnhook::detail {

// True when the type has at least one method with a graph (a traced submodule whose
// code was inlined into its parent, or that never ran while tracing, has none).
bool has_methods(const c10::ClassTypePtr& type);

// Softmax and scaled_dot_product_attention nodes in the type's methods, counting those
// inside the free functions they call (F.softmax, F.multi_head_attention_forward:
// prim::CallFunction, not inlined by torch::jit::load).
size_t count_attention_ops(const c10::ClassTypePtr& type);

// Names of the fused attention kernels (aten::_native_multi_head_attention,
// aten::_transformer_encoder_layer_fwd, aten::_nested_tensor_from_mask) in the type's
// methods, deduplicated.
std::vector<std::string> fused_ops(const c10::ClassTypePtr& type);
// Those of them that run unconditionally (not inside any prim::If).
std::vector<std::string> unconditional_fused_ops(const c10::ClassTypePtr& type);

// Adds kSlotAttribute (int) to `type` if it does not have it yet.
void add_slot_attribute(const c10::ClassTypePtr& type);

// In the type's methods, inlines the free functions that compute a softmax or SDPA and
// inserts attnhook::record(softmax_output, self.<slot>) after every aten::softmax and
// attnhook::record_sdpa(query, key, attn_mask, is_causal, scale, enable_gqa, self.<slot>)
// after every aten::scaled_dot_product_attention. Needs add_slot_attribute first.
// Returns the nodes instrumented.
// With `scores`, also attnhook::record_scores(softmax_input, self.<slot>) after every
// softmax (record_sdpa computes SDPA's scores itself when its slot asks for them).
size_t instrument_attention(const c10::ClassTypePtr& type, bool scores);

// For capture_values: in the type's methods (and the free functions they call, which
// are inlined), inserts attnhook::record_value(value, name_index, ordinal,
// self.<slot>) after every tensor value whose debug name is names[name_index] — exactly,
// or followed by digits (TorchScript's names for a reassigned local) — `ordinal`
// counting the assignments of that name in each method in graph order. Returns, per
// name, the number of ordinals found (0: the type has no such value).
std::vector<size_t> instrument_values(const c10::ClassTypePtr& type, const std::vector<std::string>& names);

// The local names of the tensor values in the type's methods and the free functions
// they call, sorted, without TorchScript's suffixes for reassignments (for messages).
std::vector<std::string> named_tensor_values(const c10::ClassTypePtr& type);

// Whether a value whose debugNameBase() is `debug_name` is the local `name`: the same,
// or `name` followed by digits (a reassignment).
bool is_local_named(const std::string& debug_name, const std::string& name);

// For every fused kernel inside a prim::If in the type's methods, makes the branch that
// holds it start with `if attnhook::capturing(self.<slot>):` running a copy of the other
// (unfused) branch. The original condition is left as it is, so when the JIT folds it to
// a constant (a None mask inlined from the caller) the fused branch and the guard vanish
// together and the graph stays valid. Kernels outside any prim::If are left alone.
void guard_fused_paths(const c10::ClassTypePtr& type);

// The head count of a traced nn.MultiheadAttention, read from its graph: the constant
// c in the `bsz * c` that sizes the [batch * heads, len, head_dim] views of q, k and v.
// 0 if absent or ambiguous.
int64_t heads_from_graph(const c10::ClassTypePtr& type);

}  // namespace attnhook::detail

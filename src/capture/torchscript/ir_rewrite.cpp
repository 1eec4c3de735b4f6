#include "capture/torchscript/ir_rewrite.h"

#include <ATen/core/class_type.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "capture/torchscript/script_ops.h"

namespace attnhook::detail {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::GraphFunction;
using torch::jit::Node;
using torch::jit::Value;

// Kernels that compute attention without the module's softmax (and without calling
// the attention module at all, for the layer- and encoder-level ones).
const std::set<std::string>& fused_kernels() {
  static const std::set<std::string> kernels = {
      "aten::_native_multi_head_attention",
      "aten::_transformer_encoder_layer_fwd",
      "aten::_nested_tensor_from_mask",
  };
  return kernels;
}

bool is_fused(const Node* node) { return fused_kernels().count(node->kind().toQualString()) > 0; }
bool is_softmax(const Node* node) { return node->kind() == c10::aten::softmax; }
bool is_sdpa(const Node* node) { return std::string(node->kind().toQualString()) == "aten::scaled_dot_product_attention"; }
bool is_attention_op(const Node* node) { return is_softmax(node) || is_sdpa(node); }

void collect_nodes(Block* block, std::vector<Node*>& nodes) {
  for (Node* node : block->nodes()) {
    nodes.push_back(node);
    for (Block* inner : node->blocks()) collect_nodes(inner, nodes);
  }
}

// A snapshot: the graph may be edited while the list is walked.
std::vector<Node*> all_nodes(Graph& graph) {
  std::vector<Node*> nodes;
  collect_nodes(graph.block(), nodes);
  return nodes;
}

std::vector<std::shared_ptr<Graph>> method_graphs(const c10::ClassTypePtr& type) {
  std::vector<std::shared_ptr<Graph>> graphs;
  for (torch::jit::Function* method : type->methods()) {
    if (GraphFunction* function = torch::jit::tryToGraphFunction(*method)) graphs.push_back(function->graph());
  }
  return graphs;
}

GraphFunction* called_function(Node* node) {
  if (node->kind() != c10::prim::CallFunction) return nullptr;
  const auto function_type = node->input(0)->type()->cast<c10::FunctionType>();
  return function_type ? torch::jit::tryToGraphFunction(*function_type->function()) : nullptr;
}

using NodeFilter = std::function<bool(Node*)>;

// Nodes `wanted` selects in a free function, through the functions it calls.
size_t count_in_function(GraphFunction* function, const NodeFilter& wanted,
                         std::unordered_map<GraphFunction*, size_t>& memo) {
  if (const auto it = memo.find(function); it != memo.end()) return it->second;
  memo[function] = 0;  // a recursive call counts nothing
  size_t count = 0;
  for (Node* node : all_nodes(*function->graph())) {
    if (wanted(node)) {
      ++count;
    } else if (GraphFunction* callee = called_function(node)) {
      count += count_in_function(callee, wanted, memo);
    }
  }
  return memo[function] = count;
}

size_t attention_in_function(GraphFunction* function, std::unordered_map<GraphFunction*, size_t>& memo) {
  return count_in_function(function, is_attention_op, memo);
}

// Replaces every call of a free function that holds a node `wanted` selects by the
// function's body, until those nodes stand in `graph` itself. Free functions are shared
// by every caller in the compilation unit, so they are never edited in place.
void inline_functions_with(Graph& graph, const NodeFilter& wanted) {
  std::unordered_map<GraphFunction*, size_t> memo;
  for (bool changed = true; changed;) {
    changed = false;
    for (Node* node : all_nodes(graph)) {
      GraphFunction* callee = called_function(node);
      if (!callee || count_in_function(callee, wanted, memo) == 0) continue;
      node->removeInput(0);  // the function constant; the rest are the arguments
      torch::jit::inlineCallTo(node, callee);
      changed = true;
    }
  }
}

// debugNameBase() is "attn" for %attn and %attn.1, "attn0" for a reassigned attn.
bool has_local_name(const Value* value, const std::string& name) {
  return value->hasDebugName() && is_local_named(value->debugNameBase(), name);
}

bool is_tensor(const Value* value) { return value->type()->isSubtypeOf(*c10::TensorType::get()); }

Value* insert_slot(Graph& graph) { return graph.insertGetAttr(graph.inputs()[0], kSlotAttribute); }

void insert_record_after(Graph& graph, Node* softmax, bool scores) {
  torch::jit::WithInsertPoint insert_point(softmax->next());
  Value* slot = insert_slot(graph);
  graph.insertNode(graph.create(c10::Symbol::fromQualString(kRecordOp), {softmax->output(), slot}, 0));
  if (scores) graph.insertNode(graph.create(c10::Symbol::fromQualString(kRecordScoresOp), {softmax->input(0), slot}, 0));
}

// aten::scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal,
// scale, enable_gqa): enable_gqa exists from LibTorch 2.5, scale from 2.1.
void insert_record_sdpa_after(Graph& graph, Node* sdpa) {
  torch::jit::WithInsertPoint insert_point(sdpa->next());
  const size_t count = sdpa->inputs().size();
  Value* scale = count > 6 ? sdpa->input(6) : graph.insertConstant(c10::IValue());
  Value* enable_gqa = count > 7 ? sdpa->input(7) : graph.insertConstant(false);
  Value* slot = insert_slot(graph);
  graph.insertNode(graph.create(c10::Symbol::fromQualString(kRecordSdpaOp),
                                {sdpa->input(0), sdpa->input(1), sdpa->input(3), sdpa->input(5), scale,
                                 enable_gqa, slot},
                                0));
}

// The innermost prim::If around `node`, and whether `node` sits in its true branch.
std::pair<Node*, bool> enclosing_branch(Node* node) {
  Block* block = node->owningBlock();
  Node* branch = block->owningNode();
  while (branch && branch->kind() != c10::prim::If) {
    block = branch->owningBlock();
    branch = block->owningNode();
  }
  return {branch, branch && block == branch->blocks()[0]};
}

// See guard_fused_paths.
void guard_branch(Graph& graph, Node* branch, bool fused_when_true) {
  Block* fused = branch->blocks()[fused_when_true ? 0 : 1];
  Block* unfused = branch->blocks()[fused_when_true ? 1 : 0];
  Node* first = fused->nodes().front();  // the return node when the block is empty
  torch::jit::WithInsertPoint insert_point(first);
  Node* capturing_node = graph.create(c10::Symbol::fromQualString(kCapturingOp), {insert_slot(graph)}, 1);
  Value* capturing = graph.insertNode(capturing_node)->output()->setType(c10::BoolType::get());
  Node* guard = graph.insertNode(graph.create(c10::prim::If, {capturing}, fused->outputs().size()));
  Block* while_capturing = guard->addBlock();
  Block* otherwise = guard->addBlock();
  while_capturing->cloneFrom(unfused, [](Value* value) { return value; });
  for (Node* node = guard->next(); node != fused->return_node();) {
    Node* next = node->next();
    node->moveBefore(otherwise->return_node());
    node = next;
  }
  for (size_t i = 0; i < fused->outputs().size(); ++i) {
    otherwise->registerOutput(fused->outputs()[i]);
    // The branch's type unifies both of its blocks' (a None on one side, Tensor? on the other).
    guard->output(i)->setType(branch->outputs()[i]->type());
  }
  for (size_t i = 0; i < fused->outputs().size(); ++i) fused->replaceOutput(i, guard->output(i));
}

// An int, or a one-element integral tensor (what tracing makes of Python ints).
std::optional<int64_t> integer_constant(const Value* value) {
  const auto constant = torch::jit::toIValue(value);
  if (!constant) return std::nullopt;
  if (constant->isInt()) return constant->toInt();
  if (constant->isTensor()) {
    const at::Tensor& tensor = constant->toTensor();
    if (tensor.numel() == 1 && !tensor.is_floating_point() && tensor.scalar_type() != at::kBool) {
      return tensor.item<int64_t>();
    }
  }
  return std::nullopt;
}

bool is_size(const Value* value) {
  const Node* node = value->node();
  if (node->kind() == c10::prim::NumToTensor) node = node->input(0)->node();
  return node->kind() == c10::aten::size;
}

// Whether `value` ends up in the shape list of an aten::view or aten::reshape, through
// aten::Int, prim::NumToTensor and prim::ListConstruct.
bool sizes_a_view(const Value* value, int depth = 0) {
  if (depth > 4) return false;
  for (const auto& use : value->uses()) {
    const Node* user = use.user;
    if (user->kind() == c10::aten::view || user->kind() == c10::aten::reshape) return use.offset == 1;
    if (user->kind() == c10::aten::Int || user->kind() == c10::prim::NumToTensor ||
        user->kind() == c10::prim::ListConstruct) {
      if (sizes_a_view(user->output(), depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

bool is_local_named(const std::string& debug_name, const std::string& name) {
  if (debug_name.compare(0, name.size(), name) != 0) return false;
  return std::all_of(debug_name.begin() + static_cast<std::ptrdiff_t>(name.size()), debug_name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool has_methods(const c10::ClassTypePtr& type) { return !method_graphs(type).empty(); }

size_t count_attention_ops(const c10::ClassTypePtr& type) {
  std::unordered_map<GraphFunction*, size_t> memo;
  size_t count = 0;
  for (const auto& graph : method_graphs(type)) {
    for (Node* node : all_nodes(*graph)) {
      if (is_attention_op(node)) {
        ++count;
      } else if (GraphFunction* callee = called_function(node)) {
        count += attention_in_function(callee, memo);
      }
    }
  }
  return count;
}

std::vector<std::string> fused_ops(const c10::ClassTypePtr& type) {
  std::set<std::string> found;
  for (const auto& graph : method_graphs(type)) {
    for (Node* node : all_nodes(*graph)) {
      if (is_fused(node)) found.insert(node->kind().toQualString());
    }
  }
  return {found.begin(), found.end()};
}

std::vector<std::string> unconditional_fused_ops(const c10::ClassTypePtr& type) {
  std::set<std::string> found;
  for (const auto& graph : method_graphs(type)) {
    for (Node* node : all_nodes(*graph)) {
      if (is_fused(node) && !enclosing_branch(node).first) found.insert(node->kind().toQualString());
    }
  }
  return {found.begin(), found.end()};
}

void add_slot_attribute(const c10::ClassTypePtr& type) {
  if (!type->hasAttribute(kSlotAttribute)) type->addAttribute(kSlotAttribute, c10::IntType::get());
}

size_t instrument_attention(const c10::ClassTypePtr& type, bool scores) {
  size_t count = 0;
  for (const auto& graph : method_graphs(type)) {
    inline_functions_with(*graph, is_attention_op);
    for (Node* node : all_nodes(*graph)) {
      if (is_softmax(node)) {
        insert_record_after(*graph, node, scores);
      } else if (is_sdpa(node)) {
        insert_record_sdpa_after(*graph, node);
      } else {
        continue;
      }
      ++count;
    }
  }
  return count;
}

std::vector<size_t> instrument_values(const c10::ClassTypePtr& type, const std::vector<std::string>& names) {
  std::vector<size_t> found(names.size(), 0);
  const NodeFilter names_a_value = [&](Node* node) {
    for (const Value* output : node->outputs()) {
      for (const auto& name : names) {
        if (is_tensor(output) && has_local_name(output, name)) return true;
      }
    }
    return false;
  };
  for (const auto& graph : method_graphs(type)) {
    inline_functions_with(*graph, names_a_value);
    std::vector<size_t> ordinal(names.size(), 0);
    for (Node* node : all_nodes(*graph)) {
      for (Value* output : node->outputs()) {
        if (!is_tensor(output)) continue;
        for (size_t n = 0; n < names.size(); ++n) {
          if (!has_local_name(output, names[n])) continue;
          torch::jit::WithInsertPoint insert_point(node->next());
          Value* slot = insert_slot(*graph);
          graph->insertNode(graph->create(c10::Symbol::fromQualString(kRecordValueOp),
                                          {output, graph->insertConstant(static_cast<int64_t>(n)),
                                           graph->insertConstant(static_cast<int64_t>(ordinal[n])), slot},
                                          0));
          found[n] = std::max(found[n], ++ordinal[n]);
        }
      }
    }
  }
  return found;
}

std::vector<std::string> named_tensor_values(const c10::ClassTypePtr& type) {
  std::set<std::string> names;
  std::unordered_set<GraphFunction*> seen;
  std::function<void(Graph&)> visit = [&](Graph& graph) {
    for (Node* node : all_nodes(graph)) {
      for (const Value* output : node->outputs()) {
        if (!is_tensor(output) || !output->hasDebugName()) continue;
        std::string name = output->debugNameBase();  // "attn1": the second reassignment of attn
        while (name.size() > 1 && name.back() >= '0' && name.back() <= '9') name.pop_back();
        names.insert(name);
      }
      if (GraphFunction* callee = called_function(node); callee && seen.insert(callee).second) visit(*callee->graph());
    }
  };
  for (const auto& graph : method_graphs(type)) visit(*graph);
  return {names.begin(), names.end()};
}

void guard_fused_paths(const c10::ClassTypePtr& type) {
  for (const auto& graph : method_graphs(type)) {
    std::unordered_set<Node*> guarded;
    for (Node* node : all_nodes(*graph)) {
      if (!is_fused(node)) continue;
      const auto [branch, fused_when_true] = enclosing_branch(node);
      if (!branch || !guarded.insert(branch).second) continue;
      guard_branch(*graph, branch, fused_when_true);
    }
  }
}

int64_t heads_from_graph(const c10::ClassTypePtr& type) {
  std::set<int64_t> candidates;
  for (const auto& graph : method_graphs(type)) {
    for (Node* node : all_nodes(*graph)) {
      if (node->kind() != c10::aten::mul || node->inputs().size() != 2) continue;
      for (size_t i = 0; i < 2; ++i) {
        const auto constant = integer_constant(node->input(i));
        if (constant && *constant > 0 && is_size(node->input(1 - i)) && sizes_a_view(node->output())) {
          candidates.insert(*constant);
        }
      }
    }
  }
  return candidates.size() == 1 ? *candidates.begin() : 0;
}

}  // namespace attnhook::detail

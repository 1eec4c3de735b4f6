#include "capture/torchscript/ir_rewrite.h"

#include <ATen/core/class_type.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "attnhook/error.h"
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

std::shared_ptr<Graph> method_graph(const c10::ClassTypePtr& type, const std::string& name) {
  torch::jit::Function* method = type->findMethod(name);
  GraphFunction* function = method ? torch::jit::tryToGraphFunction(*method) : nullptr;
  return function ? function->graph() : nullptr;
}

GraphFunction* called_function(Node* node) {
  if (node->kind() != c10::prim::CallFunction) return nullptr;
  const auto function_type = node->input(0)->type()->cast<c10::FunctionType>();
  return function_type ? torch::jit::tryToGraphFunction(*function_type->function()) : nullptr;
}

bool is_softmax(const Node* node) { return node->kind() == c10::aten::softmax; }

// Softmax nodes in a free function, through the functions it calls.
size_t softmax_in_function(GraphFunction* function,
                           std::unordered_map<GraphFunction*, size_t>& memo) {
  if (const auto it = memo.find(function); it != memo.end()) return it->second;
  memo[function] = 0;  // a recursive call counts nothing
  size_t count = 0;
  for (Node* node : all_nodes(*function->graph())) {
    if (is_softmax(node)) {
      ++count;
    } else if (GraphFunction* callee = called_function(node)) {
      count += softmax_in_function(callee, memo);
    }
  }
  return memo[function] = count;
}

// Replaces every call of a free function that computes a softmax by the function's
// body, until the softmax nodes stand in `graph` itself. Free functions are shared by
// every caller in the compilation unit, so they are never edited in place.
void inline_softmax_functions(Graph& graph) {
  std::unordered_map<GraphFunction*, size_t> memo;
  for (bool changed = true; changed;) {
    changed = false;
    for (Node* node : all_nodes(graph)) {
      GraphFunction* callee = called_function(node);
      if (!callee || softmax_in_function(callee, memo) == 0) continue;
      node->removeInput(0);  // the function constant; the rest are the arguments
      torch::jit::inlineCallTo(node, callee);
      changed = true;
    }
  }
}

Value* insert_slot(Graph& graph) { return graph.insertGetAttr(graph.inputs()[0], kSlotAttribute); }

void insert_record_after(Graph& graph, Node* softmax) {
  torch::jit::WithInsertPoint insert_point(softmax->next());
  Value* slot = insert_slot(graph);
  graph.insertNode(
      graph.create(c10::Symbol::fromQualString(kRecordOp), {softmax->output(), slot}, 0));
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

}  // namespace

std::vector<std::string> methods_run_by_forward(const c10::ClassTypePtr& type) {
  std::vector<std::string> methods;
  if (!method_graph(type, "forward")) return methods;
  methods.push_back("forward");
  for (size_t i = 0; i < methods.size(); ++i) {
    const auto graph = method_graph(type, methods[i]);
    for (Node* node : all_nodes(*graph)) {
      if (node->kind() != c10::prim::CallMethod || node->input(0) != graph->inputs()[0]) continue;
      const std::string& name = node->s(c10::attr::name);
      if (method_graph(type, name) &&
          std::find(methods.begin(), methods.end(), name) == methods.end()) {
        methods.push_back(name);
      }
    }
  }
  return methods;
}

size_t count_softmax(const c10::ClassTypePtr& type) {
  std::unordered_map<GraphFunction*, size_t> memo;
  size_t count = 0;
  for (const std::string& name : methods_run_by_forward(type)) {
    for (Node* node : all_nodes(*method_graph(type, name))) {
      if (is_softmax(node)) {
        ++count;
      } else if (GraphFunction* callee = called_function(node)) {
        count += softmax_in_function(callee, memo);
      }
    }
  }
  return count;
}

std::vector<std::string> fused_ops(const c10::ClassTypePtr& type) {
  std::set<std::string> found;
  for (torch::jit::Function* method : type->methods()) {
    GraphFunction* function = torch::jit::tryToGraphFunction(*method);
    if (!function) continue;
    for (Node* node : all_nodes(*function->graph())) {
      const std::string kind = node->kind().toQualString();
      if (fused_kernels().count(kind)) found.insert(kind);
    }
  }
  return {found.begin(), found.end()};
}

void add_slot_attribute(const c10::ClassTypePtr& type) {
  if (!type->hasAttribute(kSlotAttribute)) type->addAttribute(kSlotAttribute, c10::IntType::get());
}

size_t instrument_softmax(const c10::ClassTypePtr& type) {
  size_t count = 0;
  for (const std::string& name : methods_run_by_forward(type)) {
    const auto graph = method_graph(type, name);
    inline_softmax_functions(*graph);
    for (Node* node : all_nodes(*graph)) {
      if (!is_softmax(node)) continue;
      insert_record_after(*graph, node);
      ++count;
    }
  }
  return count;
}

void guard_fused_paths(const c10::ClassTypePtr& type, const std::string& module_name) {
  for (torch::jit::Function* method : type->methods()) {
    GraphFunction* function = torch::jit::tryToGraphFunction(*method);
    if (!function) continue;
    Graph& graph = *function->graph();
    std::unordered_set<Node*> guarded;
    for (Node* node : all_nodes(graph)) {
      const std::string kind = node->kind().toQualString();
      if (!fused_kernels().count(kind)) continue;
      Block* block = node->owningBlock();
      Node* branch = block->owningNode();
      while (branch && branch->kind() != c10::prim::If) {
        block = branch->owningBlock();
        branch = block->owningNode();
      }
      if (!branch) {
        throw Error(fmt::format(
            "module '{}' ({}) always runs the fused kernel {}, which computes attention "
            "without its softmax (traced under no_grad?); trace the model with grad enabled",
            module_name, type->name()->qualifiedName(), kind));
      }
      if (!guarded.insert(branch).second) continue;
      const bool fused_when_true = block == branch->blocks()[0];
      torch::jit::WithInsertPoint insert_point(branch);
      Value* capturing = graph
                             .insertNode(graph.create(c10::Symbol::fromQualString(kCapturingOp),
                                                      {insert_slot(graph)}, 1))
                             ->output()
                             ->setType(c10::BoolType::get());
      Value* condition = branch->input(0);
      Value* guarded_condition =
          fused_when_true ? graph.insert(c10::aten::__and__,
                                         {condition, graph.insert(c10::aten::__not__, {capturing})})
                          : graph.insert(c10::aten::__or__, {condition, capturing});
      branch->replaceInput(0, guarded_condition);
    }
  }
}

int64_t heads_from_graph(const c10::ClassTypePtr& type) {
  const auto graph = method_graph(type, "forward");
  if (!graph) return 0;
  std::set<int64_t> candidates;
  for (Node* node : all_nodes(*graph)) {
    if (node->kind() != c10::aten::mul || node->inputs().size() != 2) continue;
    for (size_t i = 0; i < 2; ++i) {
      const auto constant = integer_constant(node->input(i));
      if (constant && *constant > 0 && is_size(node->input(1 - i))) candidates.insert(*constant);
    }
  }
  return candidates.size() == 1 ? *candidates.begin() : 0;
}

}  // namespace attnhook::detail

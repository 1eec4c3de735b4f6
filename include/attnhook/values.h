// attnhook::Values — what a hooker recorded: dotted module name -> one tensor per call.
//
//   for (const auto& [name, calls] : hooker.values())   // model order, not alphabetical
//     for (const torch::Tensor& w : calls)               // call order
//       ...                                              // w: [batch, heads, tgt_len, src_len]
//
// Only modules that recorded at least one call appear.
//
// AttentionHooker::values() returns a snapshot by value (tensors are shared handles, the
// copy is cheap). Keep the snapshot, or copy out of it: a reference into a temporary
// snapshot dangles at the end of the statement.
//   attnhook::Values values = hooker.values();               // fine
//   at::Tensor w = hooker.values().at("layers.0.self_attn")[0];   // fine: a copy of the handle
//   const auto& calls = hooker.values().at("layers.0.self_attn"); // fine: at() on a temporary
//                                                                  //   returns the calls by value
//   const at::Tensor& w = hooker.values().at("...")[0];       // dangles
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>

namespace attnhook {

class Values {
 public:
  using Entry = std::pair<std::string, std::vector<at::Tensor>>;
  using const_iterator = std::vector<Entry>::const_iterator;

  // The calls recorded for `name`; an unknown name is an attnhook::Error that
  // lists the names that are there.
  const std::vector<at::Tensor>& at(const std::string& name) const&;
  std::vector<at::Tensor> at(const std::string& name) &&;
  // 1 when `name` recorded at least one call, else 0 (like std::map::count).
  size_t count(const std::string& name) const;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

  // Appends `calls` under `name`; names must be added in model order.
  void append(std::string name, std::vector<at::Tensor> calls);
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace attnhook

#include "attnhook/values.h"

#include <fmt/format.h>

#include <utility>

#include "attnhook/error.h"
#include "check.h"

namespace attnhook {

const std::vector<at::Tensor>& Values::at(const std::string& name) const& {
  for (const auto& entry : entries_) {
    if (entry.first == name) return entry.second;
  }
  std::string known;
  for (const auto& entry : entries_) known += (known.empty() ? "" : ", ") + entry.first;
  ATTNHOOK_FAIL("no attention recorded for '{}'; recorded: {}", name,
                          known.empty() ? "(nothing)" : known);
}

std::vector<at::Tensor> Values::at(const std::string& name) && { return std::as_const(*this).at(name); }

size_t Values::count(const std::string& name) const {
  for (const auto& entry : entries_) {
    if (entry.first == name) return 1;
  }
  return 0;
}

void Values::append(std::string name, std::vector<at::Tensor> calls) {
  entries_.emplace_back(std::move(name), std::move(calls));
}

}  // namespace attnhook

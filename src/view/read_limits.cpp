#include "read_limits.h"

#include <fmt/format.h>

#include <algorithm>

#include "attnhook/error.h"
#include "float_array.h"

namespace attnhook::detail {

bool multiply_within(uint64_t a, uint64_t b, uint64_t limit, uint64_t& product) {
  if (a != 0 && b > limit / a) return false;
  product = a * b;
  return product <= limit;
}

int64_t checked_element_count(const std::vector<int64_t>& shape, int64_t max_elements,
                              const std::string& where) {
  for (int64_t size : shape) {
    if (size < 0)
      throw Error(fmt::format("{}: shape {} has a negative dimension", where, shape_text(shape)));
  }
  // A zero anywhere makes the array empty, but readers still loop over its other
  // dimensions (batch items, heads, rows): their product is held to the same limit.
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  uint64_t count = 1;
  for (int64_t size : shape) {
    if (size == 0) continue;
    if (!multiply_within(count, static_cast<uint64_t>(size), static_cast<uint64_t>(max_elements),
                         count)) {
      throw Error(fmt::format("{}: shape {} has more than {} {} (the limit of one array)", where,
                              shape_text(shape), max_elements,
                              empty ? "positions in its non-empty dimensions" : "elements"));
    }
  }
  if (empty) return 0;
  return static_cast<int64_t>(count);
}

}  // namespace attnhook::detail

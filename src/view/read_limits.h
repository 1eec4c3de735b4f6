// Internal: the hard limits on what reading one attention file may cost. Attention files
// are shared and downloaded, so they are untrusted: every size a file declares is checked
// against these before memory is reserved for it, with arithmetic that cannot overflow.
//
//   detail::ReadLimits()
//       .max_input_bytes(16 << 30)      // default 16 GiB; the CLI's --max-input-bytes
//       .max_array_elements(1 << 30)    // default 2^30 (4 GiB of float32) per array
//       .max_nesting_depth(64);         // default 64 JSON arrays/objects
//
// max_input_bytes: the largest input file. Regular files are mapped, not copied, so a
// large file costs memory only for the parts read; pipes are read into memory, up to it.
// max_array_elements: the most numbers in one call [batch, heads, tgt, src] of a layer,
// and the most characters (strings x width) in one unicode array of an .npz.
// max_nesting_depth: attnhook's schema nests 4 deep, the flat schema 6.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnhook::detail {

class ReadLimits {
 public:
  ReadLimits& max_input_bytes(uint64_t bytes) {
    max_input_bytes_ = bytes;
    return *this;
  }
  ReadLimits& max_array_elements(int64_t count) {
    max_array_elements_ = count;
    return *this;
  }
  ReadLimits& max_nesting_depth(int depth) {
    max_nesting_depth_ = depth;
    return *this;
  }
  uint64_t max_input_bytes() const { return max_input_bytes_; }
  int64_t max_array_elements() const { return max_array_elements_; }
  int max_nesting_depth() const { return max_nesting_depth_; }

 private:
  uint64_t max_input_bytes_ = uint64_t{16} << 30;
  int64_t max_array_elements_ = int64_t{1} << 30;
  int max_nesting_depth_ = 64;
};

// The product of `shape`, or an attnhook::Error "<where>: ..." when a dimension is
// negative or the product exceeds `max_elements` (checked step by step, so a product
// that would overflow int64 is reported, never wrapped). An empty shape (a 0 in it) is
// held to the same limit over its other dimensions, which readers still loop over.
int64_t checked_element_count(const std::vector<int64_t>& shape, int64_t max_elements,
                              const std::string& where);

// a * b, or false when it exceeds `limit` (a, b, limit >= 0; no overflow).
bool multiply_within(uint64_t a, uint64_t b, uint64_t limit, uint64_t& product);

}  // namespace attnhook::detail

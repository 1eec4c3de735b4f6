// Test support for the PNG renderer tests (render_*_test.cpp): one-hot attention to draw,
// and the pixels of the PNG that was written (read back with picture_testing.h).
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "attnhook/values.h"
#include "colormap.h"
#include "picture_testing.h"
#include "testing.h"

namespace attnhook_test {

using attnhook::detail::Rgb;

// matplotlib's viridis end colours, rounded to 8 bits.
inline constexpr Rgb kViridisBottom{68, 1, 84};
inline constexpr Rgb kViridisTop{253, 231, 37};

inline Rgb pixel(const Picture& image, int x, int y) { return colour_at<Rgb>(image, x, y); }

// Text and axes are drawn dark on white.
inline bool is_ink(const Rgb& c) { return c[0] < 160 && c[1] < 160 && c[2] < 160; }

// Ink pixels in [x0, x1) x [y0, y1), clipped to the image.
inline int count_ink(const Picture& image, int x0, int y0, int x1, int y1) {
  int count = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, image.height()); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, image.width()); ++x)
      count += is_ink(pixel(image, x, y));
  return count;
}

// [batch, heads, tgt_len, src_len]: in sample b, head h, query i attends only key
// (shift + h + i + b) % src_len.
inline torch::Tensor one_hot(int64_t batch, int64_t heads, int64_t tgt_len, int64_t src_len,
                             int64_t shift = 0) {
  auto weights = torch::zeros({batch, heads, tgt_len, src_len});
  auto a = weights.accessor<float, 4>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < tgt_len; ++i) a[b][h][i][(shift + h + i + b) % src_len] = 1;
  return weights;
}

// Token labels stem0, stem1, ...
inline std::vector<std::string> words(int64_t count, const std::string& stem = "tok") {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < count; ++i) labels.push_back(stem + std::to_string(i));
  return labels;
}

// Layer l of one_hot_values(specs) is one_hot(..., shift = l) with that layer's shape;
// call c of it is shifted by a further 10 c.
struct LayerSpec {
  std::string name;
  int64_t heads, tgt_len, src_len;
  int calls = 1;
};

inline attnhook::Values one_hot_values(const std::vector<LayerSpec>& specs, int64_t batch = 1) {
  attnhook::Values values;
  for (size_t l = 0; l < specs.size(); ++l) {
    std::vector<torch::Tensor> calls;
    for (int c = 0; c < specs[l].calls; ++c)
      calls.push_back(one_hot(batch, specs[l].heads, specs[l].tgt_len, specs[l].src_len,
                              static_cast<int64_t>(l) + 10 * c));
    values.append(specs[l].name, calls);
  }
  return values;
}

}  // namespace attnhook_test

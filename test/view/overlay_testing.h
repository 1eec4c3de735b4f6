// Test support for the overlay tests (overlay_*_test.cpp, image_io_test.cpp): pictures
// made and read back with CImg and libjpeg (not with the decoders under test), attention
// weights with a known answer, and the colour the overlay laid over each pixel.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "float_array.h"
#include "picture_testing.h"
#include "testing.h"

namespace attnhook_test {

using Colour = std::array<int, 3>;

// matplotlib's viridis end colours, rounded to 8 bits (its _viridis_data[0] and [255]).
inline constexpr Colour kViridisBottom{68, 1, 84};
inline constexpr Colour kViridisTop{253, 231, 37};

// A smooth RGB test picture: no pure white or black anywhere (every channel in 40..200),
// so that outlines can be told apart; smooth, so that JPEG keeps it close.
inline Picture test_picture(int width, int height) {
  Picture picture(width, height, 1, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      picture(x, y, 0, 0) = static_cast<unsigned char>(40 + 160 * x / std::max(1, width - 1));
      picture(x, y, 0, 1) = static_cast<unsigned char>(40 + 160 * y / std::max(1, height - 1));
      picture(x, y, 0, 2) = 120;
    }
  return picture;
}

inline Colour at(const Picture& picture, int x, int y) { return colour_at<Colour>(picture, x, y); }

inline int distance(const Colour& a, const Colour& b) {
  int most = 0;
  for (int c = 0; c < 3; ++c) most = std::max(most, std::abs(a[c] - b[c]));
  return most;
}

// The colour the overlay laid over (x, y) of `input` at opacity alpha, recovered from the
// output pixel: out = (1 - alpha) * input + alpha * colour.
inline Colour laid_colour(const Picture& output, int out_x, int out_y, const Picture& input, int x,
                          int y, double alpha) {
  Colour colour{};
  for (int c = 0; c < 3; ++c)
    colour[c] = static_cast<int>(
        std::lround((output(out_x, out_y, 0, c) - (1 - alpha) * input(x, y, 0, c)) / alpha));
  return colour;
}

// Viridis brightens monotonically from bottom to top: luma orders the weights.
inline double luma(const Colour& c) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]; }

// [batch, heads, tgt_len, src_len] of zeros, then `set` (b, h, i, j, value) entries.
struct Entry {
  int64_t batch, head, query, key;
  float value;
};
inline attnhook::detail::FloatArray weights_of(std::vector<int64_t> shape,
                                               const std::vector<Entry>& entries) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(static_cast<size_t>(count), 0.0f);
  for (const Entry& e : entries)
    values[((e.batch * shape[1] + e.head) * shape[2] + e.query) * shape[3] + e.key] = e.value;
  return attnhook::detail::FloatArray(std::move(shape), std::move(values));
}

}  // namespace attnhook_test

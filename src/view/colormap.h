// Internal: colour tables and colour-scale ticks for the PNG renderer.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "attnhook/render_options.h"

namespace attnhook::detail {

using Rgb = std::array<uint8_t, 3>;

// 256 colours: entry 0 is the bottom of the scale (vmin), entry 255 the top (vmax).
// Built once by linear interpolation between control points taken from matplotlib's
// 256-entry tables (every 8th entry, and the last); off by at most 2/255 from them.
const std::array<Rgb, 256>& colormap_table(Colormap map);

// Index into colormap_table for `value` on the scale [vmin, vmax] (clamped).
inline int colormap_index(double value, double vmin, double vmax) {
  const double t = (value - vmin) / (vmax - vmin);
  if (!(t > 0)) return 0;  // also NaN
  if (t >= 1) return 255;
  return static_cast<int>(t * 255 + 0.5);
}

struct ScaleTick {
  double value;
  std::string label;
};

// "Nice" ticks (1, 2, 2.5 or 5 times a power of ten) inside [vmin, vmax], at most
// max_count of them and at least two (vmin and vmax themselves when nothing nicer fits).
std::vector<ScaleTick> scale_ticks(double vmin, double vmax, int max_count);

}  // namespace attnhook::detail

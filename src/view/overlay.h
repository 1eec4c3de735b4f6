// Internal: attention over a picture for ViT-style models, without LibTorch — the entry
// points over arrays (the command-line tool calls these directly), where things are drawn
// (so tests can find each patch) and the steps tests check on their own. The public
// at::Tensor function save_attention_overlay (attnhook/render.h, which documents the
// picture, options and errors) converts and calls these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/render_options.h"
#include "float_array.h"
#include "image_io.h"
#include "layout.h"

namespace attnhook::detail {

constexpr int kMaxOverlayImageSize = 8192;  // OverlayOptions::image_size

// What the options and the weights' shape resolve to (validated).
struct OverlayQuery {
  int64_t batch = 0;
  int64_t token = 0;      // the query's index in tgt_len
  int64_t grid_rows = 0;  // the patch grid
  int64_t grid_columns = 0;
  int64_t prefix_tokens = 0;  // keys [0, prefix_tokens) are not patches and not drawn
  std::optional<std::pair<int64_t, int64_t>> patch;  // the query's (row, column), if a patch
};

// Pixel layout. Panel p shows head heads[p] (OverlayOptions::kMeanOfHeads: the mean) over
// the image resized to image_width x image_height, at panels[p]. Pixel (x, y) of a panel
// belongs to patch (floor((y + 0.5) * rows / height), floor((x + 0.5) * columns / width)):
// see patch_pixels.
struct OverlayLayout {
  int width = 0;  // whole image
  int height = 0;
  int image_width = 0;  // each panel's picture
  int image_height = 0;
  OverlayQuery query;
  std::vector<int64_t> heads;  // per panel, row-major panel order
  std::vector<Rect> panels;
  std::vector<std::pair<double, double>> scales;  // per panel: vmin, vmax
  Rect colorbar;                                  // top pixel row = vmax, bottom row = vmin
  double vmin = 0;  // the colorbar's scale: the shared scale, or 0..1 (a share of each
  double vmax = 0;  //   panel's largest weight) for kAllHeads by default
  int columns = 0;  // panels a row
};

// The pixels of patch (row, column) inside `panel` (of the layout's image size).
Rect patch_pixels(const OverlayLayout& layout, const Rect& panel, int64_t row, int64_t column);

// The overlay of `weights` ([batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len])
// on `image`, written to `path` as a PNG. The tensor-specific checks (defined, floating
// dtype) are the caller's; every other check is here.
void save_overlay(const FloatArray& weights, const RgbImage& image, const std::string& path,
                  const OverlayOptions& options);
// The same, reading the picture from `image_path` (PNG or JPEG, at most
// `max_image_bytes`). The weights and options are checked before the image is read.
void save_overlay(const FloatArray& weights, const std::string& image_path, const std::string& path,
                  const OverlayOptions& options, uint64_t max_image_bytes = kMaxImageBytes);
// Same validation and layout as save_overlay for an image of image_width x image_height;
// nothing is drawn or written.
OverlayLayout overlay_layout(const FloatArray& weights, int image_width, int image_height,
                             const OverlayOptions& options);

// --- steps, exposed for tests -------------------------------------------------------

// The query's weights over the patch grid, one map per panel head:
// [panels, grid_rows, grid_columns]; kMeanOfHeads is the mean over heads.
// Also validates: the checks of save_overlay that concern weights and options.
struct OverlayMaps {
  OverlayQuery query;
  std::vector<int64_t> heads;  // per map
  FloatArray maps;             // [panels, grid_rows, grid_columns]
  int64_t head_count = 0;      // heads in the weights
};
OverlayMaps overlay_maps(const FloatArray& weights, const OverlayOptions& options);

// `map` ([rows, columns]) sampled at width x height pixels as torch.nn.functional.interpolate
// (mode bilinear / bicubic / nearest-exact, align_corners=False) does: row-major, height rows.
std::vector<float> upsample(const float* map, int64_t rows, int64_t columns, int width, int height,
                            Interpolation method);

}  // namespace attnhook::detail

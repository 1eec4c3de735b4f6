// The options of attnhook's pictures: Colormap, GridOptions, ModelViewOptions,
// OverlayOptions (with Interpolation). What each
// option does is documented in attnhook/render.h, which draws with them. This header
// needs no LibTorch: the command-line tool's torch-free viewer uses it too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnhook {

// Perceptually uniform maps from matplotlib, dark = low, bright = high.
enum class Colormap {
  kViridis,  // dark purple -> blue -> green -> yellow
  kMagma,    // black -> purple -> orange -> pale yellow
  kGray,     // black -> white
};

struct GridOptions {
  GridOptions& tokens(std::vector<std::string> labels) {
    tokens_ = std::move(labels);
    return *this;
  }
  GridOptions& tgt_tokens(std::vector<std::string> labels) {
    tgt_tokens_ = std::move(labels);
    return *this;
  }
  GridOptions& src_tokens(std::vector<std::string> labels) {
    src_tokens_ = std::move(labels);
    return *this;
  }
  GridOptions& title(std::string text) {
    title_ = std::move(text);
    return *this;
  }
  GridOptions& batch(int64_t index) {
    batch_ = index;
    return *this;
  }
  // Heads to draw in save_attention_grid, in this order; save_attention_heatmap ignores it.
  GridOptions& heads(std::vector<int64_t> indexes) {
    heads_ = std::move(indexes);
    return *this;
  }
  GridOptions& colormap(Colormap map) {
    colormap_ = map;
    return *this;
  }
  GridOptions& vmin(std::optional<double> value) {
    vmin_ = value;
    return *this;
  }
  GridOptions& vmax(std::optional<double> value) {
    vmax_ = value;
    return *this;
  }
  GridOptions& columns(int count) {
    columns_ = count;
    return *this;
  }
  GridOptions& cell_size(int pixels) {
    cell_size_ = pixels;
    return *this;
  }

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<std::string>& tgt_tokens() const { return tgt_tokens_; }
  const std::vector<std::string>& src_tokens() const { return src_tokens_; }
  const std::string& title() const { return title_; }
  int64_t batch() const { return batch_; }
  const std::vector<int64_t>& heads() const { return heads_; }
  Colormap colormap() const { return colormap_; }
  std::optional<double> vmin() const { return vmin_; }
  std::optional<double> vmax() const { return vmax_; }
  int columns() const { return columns_; }
  int cell_size() const { return cell_size_; }

 private:
  std::vector<std::string> tokens_;
  std::vector<std::string> tgt_tokens_;
  std::vector<std::string> src_tokens_;
  std::string title_;
  int64_t batch_ = 0;
  std::vector<int64_t> heads_;
  Colormap colormap_ = Colormap::kViridis;
  std::optional<double> vmin_;
  std::optional<double> vmax_;
  int columns_ = 0;
  int cell_size_ = 0;
};

struct ModelViewOptions {
  ModelViewOptions& title(std::string text) {
    title_ = std::move(text);
    return *this;
  }
  ModelViewOptions& batch(int64_t index) {
    batch_ = index;
    return *this;
  }
  ModelViewOptions& colormap(Colormap map) {
    colormap_ = map;
    return *this;
  }
  // false: each thumbnail scaled to its own range; true: one scale for all of them.
  ModelViewOptions& shared_scale(bool shared) {
    shared_scale_ = shared;
    return *this;
  }
  // Pixels a side of each square thumbnail slot; 0 = automatic.
  ModelViewOptions& thumbnail_size(int pixels) {
    thumbnail_size_ = pixels;
    return *this;
  }

  const std::string& title() const { return title_; }
  int64_t batch() const { return batch_; }
  Colormap colormap() const { return colormap_; }
  bool shared_scale() const { return shared_scale_; }
  int thumbnail_size() const { return thumbnail_size_; }

 private:
  std::string title_;
  int64_t batch_ = 0;
  Colormap colormap_ = Colormap::kViridis;
  bool shared_scale_ = false;
  int thumbnail_size_ = 0;
};

// How a map over the patch grid is enlarged to the image's pixels. Sample positions are
// those of torch.nn.functional.interpolate with align_corners=False: the centre of a
// patch's pixels takes exactly that patch's weight.
enum class Interpolation {
  kBilinear,  // smooth, never beyond the weights' range
  kBicubic,   // smoother (a = -0.75, as PyTorch); may overshoot, clipped by the colour scale
  kNearest,   // each patch one flat colour, as nearest-exact: shows the grid itself
};

struct OverlayOptions {
  // head(): a head index, or one of these.
  static constexpr int64_t kMeanOfHeads = -1;  // one overlay: the mean of every head
  static constexpr int64_t kAllHeads = -2;     // a grid: every head, then their mean

  // Patches a column (rows) and a row (columns); 0 x 0 = automatic: a square grid.
  OverlayOptions& patch_grid(int64_t rows, int64_t columns) {
    patch_rows_ = rows;
    patch_columns_ = columns;
    return *this;
  }
  // Tokens before the patches in the sequence (class token, distillation token, registers).
  OverlayOptions& prefix_tokens(int64_t count) {
    prefix_tokens_ = count;
    return *this;
  }
  // The query: token `index` of the query sequence (0, the class token, by default).
  OverlayOptions& query_token(int64_t index) {
    query_token_ = index;
    query_patch_.reset();
    return *this;
  }
  // The query: the patch at (row, column) of the grid (self-attention only).
  OverlayOptions& query_patch(int64_t row, int64_t column) {
    query_patch_ = std::make_pair(row, column);
    return *this;
  }
  OverlayOptions& head(int64_t index) {
    head_ = index;
    return *this;
  }
  OverlayOptions& batch(int64_t index) {
    batch_ = index;
    return *this;
  }
  // Opacity of the colour map over the image: 0 = the image alone, 1 = the map alone.
  OverlayOptions& alpha(double opacity) {
    alpha_ = opacity;
    return *this;
  }
  OverlayOptions& colormap(Colormap map) {
    colormap_ = map;
    return *this;
  }
  OverlayOptions& interpolation(Interpolation method) {
    interpolation_ = method;
    return *this;
  }
  OverlayOptions& vmin(std::optional<double> value) {
    vmin_ = value;
    return *this;
  }
  OverlayOptions& vmax(std::optional<double> value) {
    vmax_ = value;
    return *this;
  }
  // kAllHeads: false = each panel on its own scale, true = one scale for all panels.
  OverlayOptions& shared_scale(bool shared) {
    shared_scale_ = shared;
    return *this;
  }
  // Pixels of the longer side of each overlay; 0 = automatic.
  OverlayOptions& image_size(int pixels) {
    image_size_ = pixels;
    return *this;
  }
  // kAllHeads: panels a row; 0 = automatic.
  OverlayOptions& columns(int count) {
    columns_ = count;
    return *this;
  }
  OverlayOptions& title(std::string text) {
    title_ = std::move(text);
    return *this;
  }

  int64_t patch_rows() const { return patch_rows_; }
  int64_t patch_columns() const { return patch_columns_; }
  int64_t prefix_tokens() const { return prefix_tokens_; }
  int64_t query_token() const { return query_token_; }
  const std::optional<std::pair<int64_t, int64_t>>& query_patch() const { return query_patch_; }
  int64_t head() const { return head_; }
  int64_t batch() const { return batch_; }
  double alpha() const { return alpha_; }
  Colormap colormap() const { return colormap_; }
  Interpolation interpolation() const { return interpolation_; }
  std::optional<double> vmin() const { return vmin_; }
  std::optional<double> vmax() const { return vmax_; }
  bool shared_scale() const { return shared_scale_; }
  int image_size() const { return image_size_; }
  int columns() const { return columns_; }
  const std::string& title() const { return title_; }

 private:
  int64_t patch_rows_ = 0;
  int64_t patch_columns_ = 0;
  int64_t prefix_tokens_ = 1;
  int64_t query_token_ = 0;
  std::optional<std::pair<int64_t, int64_t>> query_patch_;
  int64_t head_ = kMeanOfHeads;
  int64_t batch_ = 0;
  double alpha_ = 0.5;
  Colormap colormap_ = Colormap::kViridis;
  Interpolation interpolation_ = Interpolation::kBilinear;
  std::optional<double> vmin_;
  std::optional<double> vmax_;
  bool shared_scale_ = false;
  int image_size_ = 0;
  int columns_ = 0;
  std::string title_;
};

}  // namespace attnhook

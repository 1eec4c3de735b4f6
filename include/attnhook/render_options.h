// The options of attnhook's pictures: Colormap, GridOptions, ModelViewOptions. What each
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

}  // namespace attnhook

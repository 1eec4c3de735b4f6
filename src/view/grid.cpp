// PNG rendering of attention weights: validate, lay out, draw into memory, write atomically.
// Torch-free: attnhook/render.h's at::Tensor functions convert and call save_grid.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <tuple>

#include "attnhook/error.h"
#include "colormap.h"
#include "render_canvas.h"
#include "layout.h"

namespace attnhook {
namespace {

using detail::Canvas;
using detail::Colorbar;
using detail::Layout;
using detail::Rect;
using detail::Rgb;
using detail::Text;
using detail::kFrame;
using detail::kInk;
using detail::kLabelInk;
using detail::FloatArray;
using detail::kFontHeight;
using detail::kMargin;
using detail::kMinColorbarHeight;
using detail::kTitleFontHeight;
using detail::widest;

constexpr int kPanelGapX = 28;
constexpr int kPanelGapY = 16;
constexpr int kPanelTitleHeight = 18;  // "head h" above each heatmap
constexpr int kTickLength = 3;
constexpr int kLabelGap = 2;
constexpr int kLabelPitch = 12;  // pixels a label needs across its line of text
constexpr detail::SideLimit kSides{"picture", "cell_size or show fewer heads"};
constexpr int kGridTarget = 384, kGridMaxCell = 24;  // automatic cell size
constexpr int kSingleTarget = 640, kSingleMaxCell = 48;
constexpr int kPngCompression = 3;  // zlib level: heatmaps are runs, 3 is as small as 9 here


// What is drawn, validated and on the CPU.
struct Prepared {
  FloatArray maps;             // [panels, tgt_len, src_len]
  std::vector<int64_t> heads;  // head index of each panel
  int64_t tgt_len = 0;
  int64_t src_len = 0;
  std::vector<std::string> tgt_labels;  // empty = no labels
  std::vector<std::string> src_labels;
  double vmin = 0;
  double vmax = 1;
  std::string note;  // the line under the title
};

std::vector<std::string> pick_labels(const std::vector<std::string>& specific, const char* name,
                                     const std::vector<std::string>& shared, int64_t length,
                                     const char* axis, bool square) {
  const bool use_specific = !specific.empty();
  const std::vector<std::string>& labels = use_specific ? specific : shared;
  if (labels.empty() || static_cast<int64_t>(labels.size()) == length) return labels;
  throw Error(fmt::format("{} has {} labels but {} is {}{}", use_specific ? name : "tokens",
                          labels.size(), axis, length,
                          use_specific || square ? ""
                                                 : "; for cross-attention give tgt_tokens and "
                                                   "src_tokens"));
}

void check_scale_option(const char* name, std::optional<double> value) {
  if (value && !std::isfinite(*value))
    throw Error(fmt::format("{} {} must be a finite number", name, *value));
}

// single_head: the head of save_attention_heatmap; none for a grid.
Prepared prepare(const FloatArray& weights, std::optional<int64_t> single_head,
                 const GridOptions& options) {
  const int64_t rank = weights.dim();
  const std::string shape = detail::shape_text(weights.shape());
  if (rank != 4 && rank != 3 && !(single_head && rank == 2))
    throw Error(fmt::format(
        "weights must be [batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len]{}; got "
        "shape {}",
        single_head ? " or [tgt_len, src_len]" : "", shape));
  if (weights.numel() == 0) throw Error(fmt::format("weights is empty (shape {})", shape));
  if (options.columns() < 0)
    throw Error(fmt::format("columns {} must be >= 0 (0 = automatic)", options.columns()));
  if (options.cell_size() < 0)
    throw Error(fmt::format("cell_size {} must be >= 0 (0 = automatic)", options.cell_size()));
  check_scale_option("vmin", options.vmin());
  check_scale_option("vmax", options.vmax());

  const int64_t batch = options.batch();
  const int64_t batch_size = rank == 4 ? weights.size(0) : 1;
  if (batch < 0 || batch >= batch_size)
    throw Error(rank == 4 ? fmt::format("batch {} is out of range for weights of shape {} "
                                        "(batch size {})",
                                        batch, shape, batch_size)
                          : fmt::format("batch {} is out of range: weights of shape {} have no "
                                        "batch dimension (batch must be 0)",
                                        batch, shape));
  // maps: [heads, tgt_len, src_len]
  const FloatArray maps = rank == 4 ? weights[batch]
                          : rank == 3
                              ? weights
                              : weights.reshaped({1, weights.size(0), weights.size(1)});
  const int64_t head_count = maps.size(0);

  Prepared p;
  if (single_head) {
    p.heads = {*single_head};
  } else if (!options.heads().empty()) {
    p.heads = options.heads();
  } else {
    p.heads.resize(head_count);
    std::iota(p.heads.begin(), p.heads.end(), 0);
  }
  for (int64_t head : p.heads)
    if (head < 0 || head >= head_count)
      throw Error(fmt::format("head {} is out of range for weights of shape {} ({} head{})", head,
                              shape, head_count, head_count == 1 ? "" : "s"));
  p.tgt_len = maps.size(1);
  p.src_len = maps.size(2);
  const bool square = p.tgt_len == p.src_len;
  p.tgt_labels = pick_labels(options.tgt_tokens(), "tgt_tokens", options.tokens(), p.tgt_len,
                             "tgt_len (rows)", square);
  p.src_labels = pick_labels(options.src_tokens(), "src_tokens", options.tokens(), p.src_len,
                             "src_len (columns)", square);

  const int64_t per_panel = p.tgt_len * p.src_len;
  if (static_cast<int64_t>(p.heads.size()) == head_count &&
      std::is_sorted(p.heads.begin(), p.heads.end())) {
    p.maps = maps;  // every head, in order
  } else {
    std::vector<float> chosen;
    chosen.reserve(p.heads.size() * per_panel);
    for (int64_t head : p.heads)
      chosen.insert(chosen.end(), maps.data() + head * per_panel, maps.data() + (head + 1) * per_panel);
    p.maps = FloatArray({static_cast<int64_t>(p.heads.size()), p.tgt_len, p.src_len}, std::move(chosen));
  }

  // One pass: reject NaN/Inf (naming the index in the caller's tensor) and find the range.
  const float* data = p.maps.data();
  float lowest = data[0], highest = data[0];
  for (int64_t n = 0; n < p.maps.numel(); ++n) {
    const float v = data[n];
    if (!std::isfinite(v)) {
      const int64_t head = p.heads[n / per_panel], i = n % per_panel / p.src_len, j = n % p.src_len;
      const std::string index = rank == 4   ? fmt::format("{}, {}, {}, {}", batch, head, i, j)
                                : rank == 3 ? fmt::format("{}, {}, {}", head, i, j)
                                            : fmt::format("{}, {}", i, j);
      throw Error(fmt::format("weights[{}] is {}; weights must be finite", index, v));
    }
    lowest = std::min(lowest, v);
    highest = std::max(highest, v);
  }
  p.vmin = options.vmin().value_or(std::min(0.0, static_cast<double>(lowest)));
  p.vmax = options.vmax().value_or(highest);
  if (p.vmax <= p.vmin) {
    if (options.vmax())
      throw Error(fmt::format("vmax {} must be greater than vmin {}", p.vmax, p.vmin));
    p.vmax = p.vmin + 1;  // flat map: draw it with the bottom colour
  }
  p.note = fmt::format("{}rows: query positions (tgt_len {}), columns: key positions (src_len {})",
                       rank == 4 ? fmt::format("batch {} of {}; ", batch, batch_size) : "",
                       p.tgt_len, p.src_len);
  return p;
}

int label_step(int cell) {
  for (int step = 1;; step *= 10)
    for (int m : {1, 2, 5})
      if (m * step * cell >= kLabelPitch) return m * step;
}

// Prepared + rendered text + layout: everything draw() needs.
struct Scene {
  Layout layout;
  Text title, note;
  std::vector<Text> panel_titles;   // one per panel
  std::vector<Text> row_labels;     // one per query position; empty when not shown
  std::vector<Text> column_labels;  // one per key position, rotated to read upwards
  Colorbar colorbar;
};

// The tallest of `texts`: the width a rotated column label takes across its line.
int tallest(const std::vector<Text>& texts) {
  int most = 0;
  for (const Text& t : texts) most = std::max(most, t.height());
  return most;
}

std::vector<Text> label_texts(const std::vector<std::string>& labels, int step, bool rotated) {
  std::vector<Text> texts(labels.size());
  for (size_t i = 0; i < labels.size(); i += step) {
    texts[i] = detail::render_text(detail::printable_label(labels[i]), kFontHeight);
    if (rotated) texts[i] = detail::rotate_counterclockwise(texts[i]);
  }
  return texts;
}

Scene compose(const Prepared& p, const GridOptions& options, bool single) {
  Scene s;
  Layout& l = s.layout;
  l.tgt_len = p.tgt_len;
  l.src_len = p.src_len;
  l.heads = p.heads;
  l.vmin = p.vmin;
  l.vmax = p.vmax;
  const int64_t longer = std::max(p.tgt_len, p.src_len);
  const int64_t target = single ? kSingleTarget : kGridTarget;
  const int64_t most = single ? kSingleMaxCell : kGridMaxCell;
  l.cell = options.cell_size() > 0
               ? options.cell_size()
               : static_cast<int>(std::clamp<int64_t>(target / longer, 1, most));
  const int64_t map_width = p.src_len * l.cell, map_height = p.tgt_len * l.cell;
  kSides.check("wide", map_width);
  kSides.check("tall", map_height);

  if (!p.tgt_labels.empty()) l.tgt_label_step = label_step(l.cell);
  if (!p.src_labels.empty()) l.src_label_step = label_step(l.cell);
  s.row_labels = label_texts(p.tgt_labels, l.tgt_label_step, false);
  s.column_labels = label_texts(p.src_labels, l.src_label_step, true);
  const int64_t label_room = kTickLength + kLabelGap + 1;
  const int64_t row_label_width =
      s.row_labels.empty() ? 0 : widest(s.row_labels) + label_room;
  const int64_t column_label_height =
      s.column_labels.empty() ? 0 : tallest(s.column_labels) + label_room;
  for (int64_t head : p.heads)
    s.panel_titles.push_back(detail::render_text(fmt::format("head {}", head), kFontHeight));

  const int64_t panels = static_cast<int64_t>(p.heads.size());
  const int64_t automatic = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(panels))));
  const int64_t columns =
      std::min<int64_t>(options.columns() > 0 ? options.columns() : automatic, panels);
  const int64_t rows = (panels + columns - 1) / columns;
  l.columns = static_cast<int>(columns);
  const int64_t panel_width =
      row_label_width + std::max<int64_t>(map_width, widest(s.panel_titles) + 2);
  const int64_t panel_height = kPanelTitleHeight + map_height + 1 + column_label_height;
  const int64_t grid_width = columns * panel_width + (columns - 1) * kPanelGapX;
  const int64_t grid_height = rows * panel_height + (rows - 1) * kPanelGapY;
  kSides.check("wide", grid_width);
  kSides.check("tall", grid_height);

  if (!options.title().empty()) s.title = detail::text_line(options.title(), kTitleFontHeight);
  s.note = detail::render_text(p.note, kFontHeight);
  const int64_t grid_x = kMargin;
  const int64_t grid_y = detail::header_bottom(s.title, s.note) + 10;
  for (int64_t n = 0; n < panels; ++n) {
    const int64_t x = grid_x + n % columns * (panel_width + kPanelGapX) + row_label_width;
    const int64_t y = grid_y + n / columns * (panel_height + kPanelGapY) + kPanelTitleHeight;
    l.heatmaps.push_back({static_cast<int>(x), static_cast<int>(y), static_cast<int>(map_width),
                          static_cast<int>(map_height)});
  }
  const Rect& first = l.heatmaps.front();
  const Rect& last_row = l.heatmaps[(rows - 1) * columns];
  s.colorbar = detail::make_colorbar(
      grid_x + grid_width, first.y,
      std::max(kMinColorbarHeight, last_row.y + last_row.height - first.y), p.vmin, p.vmax);
  l.colorbar = s.colorbar.bar;
  std::tie(l.width, l.height) =
      detail::frame_size(grid_y + grid_height, s.colorbar, s.title, s.note, kSides);
  return s;
}

void draw_heatmap(Canvas& canvas, const Rect& area, const float* map, const Prepared& p, int cell,
                  const std::array<Rgb, 256>& table) {
  std::vector<uint8_t> row(static_cast<size_t>(area.width) * 3);
  for (int64_t i = 0; i < p.tgt_len; ++i) {
    uint8_t* out = row.data();
    for (int64_t j = 0; j < p.src_len; ++j) {
      const Rgb& colour = table[detail::colormap_index(map[i * p.src_len + j], p.vmin, p.vmax)];
      for (int k = 0; k < cell; ++k, out += 3) std::memcpy(out, colour.data(), 3);
    }
    for (int k = 0; k < cell; ++k)
      std::memcpy(canvas.pixel(area.x, area.y + static_cast<int>(i) * cell + k), row.data(),
                  row.size());
  }
}

Canvas draw(const Prepared& p, const Scene& s, const GridOptions& options) {
  const Layout& l = s.layout;
  const auto& table = detail::colormap_table(options.colormap());
  Canvas canvas(l.width, l.height);
  detail::draw_header(canvas, s.title, s.note, kMargin);

  const float* data = p.maps.data();
  for (size_t n = 0; n < l.heatmaps.size(); ++n) {
    const Rect& area = l.heatmaps[n];
    draw_heatmap(canvas, area, data + n * p.tgt_len * p.src_len, p, l.cell, table);
    canvas.frame(kFrame, area);
    const Text& title = s.panel_titles[n];
    canvas.blend(title, area.x + (area.width - title.width()) / 2, area.y - kPanelTitleHeight + 2,
                 kInk);
    for (size_t i = 0; i < s.row_labels.size(); i += l.tgt_label_step) {
      const int center = area.y + static_cast<int>(i) * l.cell + l.cell / 2;
      canvas.fill({area.x - 1 - kTickLength, center, kTickLength, 1}, kFrame);
      const Text& label = s.row_labels[i];
      canvas.blend(label, area.x - 1 - kTickLength - kLabelGap - label.width(),
                   center - label.height() / 2, kLabelInk);
    }
    for (size_t j = 0; j < s.column_labels.size(); j += l.src_label_step) {
      const int center = area.x + static_cast<int>(j) * l.cell + l.cell / 2;
      const int top = area.y + area.height + 1;
      canvas.fill({center, top, 1, kTickLength}, kFrame);
      const Text& label = s.column_labels[j];
      canvas.blend(label, center - label.width() / 2, top + kTickLength + kLabelGap, kLabelInk);
    }
  }

  detail::draw_colorbar(canvas, s.colorbar, table);
  return canvas;
}

}  // namespace

namespace detail {

void save_grid(const FloatArray& weights, std::optional<int64_t> head, const std::string& path,
               const GridOptions& options) {
  if (path.empty()) throw Error("path is empty");
  const Prepared prepared = prepare(weights, head, options);
  const Scene scene = compose(prepared, options, head.has_value());
  save_png_atomically(draw(prepared, scene, options), path, kPngCompression);
}

Layout grid_layout(const FloatArray& weights, std::optional<int64_t> head,
                   const GridOptions& options) {
  return compose(prepare(weights, head, options), options, head.has_value()).layout;
}

}  // namespace detail
}  // namespace attnhook

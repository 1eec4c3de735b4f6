// The model view: every head of every recorded layer as thumbnails in one PNG.
// Same pipeline as the grid (grid.cpp): validate, lay out, draw into memory, write
// atomically. Torch-free: attnhook::save_model_view converts and calls this.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "attnhook/error.h"
#include "colormap.h"
#include "render_canvas.h"
#include "layout.h"

namespace attnhook {
namespace {

using detail::Canvas;
using detail::Colorbar;
using detail::ModelViewLayout;
using detail::ModelViewRow;
using detail::ModelViewThumbnail;
using detail::Rect;
using detail::Rgb;
using detail::Text;
using detail::kFrame;
using detail::kInk;
using detail::kLabelInk;
using detail::FloatArray;
using detail::NamedCalls;
using detail::kFontHeight;
using detail::kMargin;
using detail::kTitleFontHeight;
using detail::text_line;
using detail::widest;

constexpr int kSlotGap = 6;      // between thumbnail slots, both ways
constexpr int kLabelGap = 10;    // between the row labels and the first slot
constexpr int kHeaderGap = 4;    // between the head indexes and the first row
constexpr int kAutoRowWidth = 1536, kMinSlot = 32, kMaxSlot = 128;  // automatic slot size
constexpr int kSecondLineMinSlot = 30;  // room for "<tgt> queries x <src> keys" under a name
constexpr size_t kMaxNameChars = 48;
constexpr detail::SideLimit kSides{"model view", "thumbnail_size"};
// Thumbnails of long sequences change colour nearly every pixel, which makes deflate most
// of the time. For 12 x 12 heads x 128 tokens, level 1 without a row filter takes ~90 ms
// for 1.7 MB; the grid's level 3 + Up filter ~240 ms for 2.3 MB.
constexpr int kPngCompression = 1;
constexpr auto kPngFilter = detail::PngFilter::kNone;


// What is drawn, validated and on the CPU.
struct Prepared {
  std::vector<ModelViewRow> rows;
  std::vector<FloatArray> maps;  // per row: [heads, tgt_len, src_len]
  std::vector<std::pair<double, double>> scales;  // per thumbnail, row by row: vmin, vmax
  double vmin = 0;                                // the colorbar's scale
  double vmax = 1;
  int64_t batch = 0;
};

// [heads, tgt_len, src_len] of one call, checked; `where` names it in errors.
FloatArray select_batch(const FloatArray& weights, const std::string& where, int64_t batch) {
  const std::string shape = detail::shape_text(weights.shape());
  if (weights.dim() != 4)
    throw Error(
        fmt::format("{} must be [batch, heads, tgt_len, src_len]; got shape {}", where, shape));
  if (weights.numel() == 0) throw Error(fmt::format("{} is empty (shape {})", where, shape));
  if (batch < 0 || batch >= weights.size(0))
    throw Error(fmt::format("batch {} is out of range for {} of shape {} (batch size {})", batch,
                            where, shape, weights.size(0)));
  return weights[batch];
}

// Each head's [lowest, highest], rejecting NaN/Inf with its index in the caller's tensor.
std::vector<std::pair<float, float>> head_ranges(const FloatArray& map, const std::string& where,
                                                 int64_t batch) {
  const int64_t heads = map.size(0), src_len = map.size(2);
  const int64_t per_head = map.size(1) * src_len;
  const float* data = map.data();
  std::vector<std::pair<float, float>> ranges;
  for (int64_t h = 0; h < heads; ++h) {
    const float* head = data + h * per_head;
    float lowest = head[0], highest = head[0];
    for (int64_t n = 0; n < per_head; ++n) {
      const float v = head[n];
      if (!std::isfinite(v))
        throw Error(fmt::format("{} weights[{}, {}, {}, {}] is {}; weights must be finite", where,
                                batch, h, n / src_len, n % src_len, v));
      lowest = std::min(lowest, v);
      highest = std::max(highest, v);
    }
    ranges.emplace_back(lowest, highest);
  }
  return ranges;
}

// The bottom of a scale is 0 unless weights go below it; a flat scale gets a top above it.
std::pair<double, double> scale_of(double lowest, double highest) {
  const double vmin = std::min(0.0, lowest);
  return {vmin, highest > vmin ? highest : vmin + 1};
}

Prepared prepare(const NamedCalls& values, const ModelViewOptions& options) {
  if (options.thumbnail_size() < 0)
    throw Error(
        fmt::format("thumbnail_size {} must be >= 0 (0 = automatic)", options.thumbnail_size()));
  Prepared p;
  p.batch = options.batch();
  std::vector<std::pair<float, float>> ranges;  // per thumbnail
  for (const auto& [name, calls] : values) {
    for (size_t call = 0; call < calls.size(); ++call) {
      const bool several = calls.size() > 1;
      const std::string where = detail::call_label(name, call, calls.size());
      FloatArray map = select_batch(calls[call], where, p.batch);  // [heads, tgt_len, src_len]
      const auto found = head_ranges(map, where, p.batch);
      ranges.insert(ranges.end(), found.begin(), found.end());
      p.rows.push_back({several ? fmt::format("{} #{}", name, call) : name, map.size(0),
                        map.size(1), map.size(2)});
      p.maps.push_back(std::move(map));
    }
  }
  if (p.rows.empty()) throw Error("values is empty: no attention was recorded");

  float lowest = ranges[0].first, highest = ranges[0].second;
  for (const auto& [low, high] : ranges) {
    lowest = std::min(lowest, low);
    highest = std::max(highest, high);
  }
  const auto shared = scale_of(lowest, highest);
  for (const auto& [low, high] : ranges)
    p.scales.push_back(options.shared_scale() ? shared : scale_of(low, high));
  std::tie(p.vmin, p.vmax) = options.shared_scale() ? shared : std::pair<double, double>(0, 1);
  return p;
}

// Prepared + rendered text + layout: everything draw() needs.
struct Scene {
  ModelViewLayout layout;
  Text title, note;
  std::vector<Text> names, shapes;  // per row; shapes empty when slots are too small
  Text head_word;
  std::vector<Text> head_indexes;  // per column
  Colorbar colorbar;
};

// The map's rectangle inside a square slot at (x, y): the longer axis fills the slot,
// in whole pixels a token when the slot has room for every token.
Rect fit_map(int x, int y, int slot, int64_t tgt_len, int64_t src_len) {
  const int64_t longer = std::max(tgt_len, src_len);
  int64_t width, height;
  if (longer <= slot) {
    const int64_t cell = slot / longer;
    width = src_len * cell;
    height = tgt_len * cell;
  } else {
    width = std::max<int64_t>(1, std::llround(static_cast<double>(src_len) * slot / longer));
    height = std::max<int64_t>(1, std::llround(static_cast<double>(tgt_len) * slot / longer));
  }
  return {x + static_cast<int>(slot - width) / 2, y + static_cast<int>(slot - height) / 2,
          static_cast<int>(width), static_cast<int>(height)};
}

Scene compose(const Prepared& p, const ModelViewOptions& options) {
  Scene s;
  ModelViewLayout& l = s.layout;
  l.rows = p.rows;
  l.vmin = p.vmin;
  l.vmax = p.vmax;
  int64_t columns = 0;
  for (const auto& row : p.rows) columns = std::max(columns, row.heads);
  const int64_t slot = options.thumbnail_size() > 0
                           ? options.thumbnail_size()
                           : std::clamp<int64_t>(kAutoRowWidth / columns, kMinSlot, kMaxSlot);
  const int64_t rows = static_cast<int64_t>(p.rows.size());
  const int64_t grid_width = columns * slot + (columns - 1) * kSlotGap;
  const int64_t grid_height = rows * slot + (rows - 1) * kSlotGap;
  kSides.check("wide", grid_width);
  kSides.check("tall", grid_height);
  l.slot = static_cast<int>(slot);
  l.columns = static_cast<int>(columns);

  for (const auto& row : p.rows) {
    const std::string& label = row.label;
    s.names.push_back(text_line(label.size() > kMaxNameChars
                                    ? ".." + label.substr(label.size() - (kMaxNameChars - 2))
                                    : label));
    if (slot >= kSecondLineMinSlot)
      s.shapes.push_back(text_line(fmt::format("{} queries x {} keys", row.tgt_len, row.src_len)));
  }
  s.head_word = text_line("head");
  for (int64_t h = 0; h < columns; ++h) s.head_indexes.push_back(text_line(std::to_string(h)));
  if (!options.title().empty()) s.title = text_line(options.title(), kTitleFontHeight);
  s.note = text_line(fmt::format(
      "batch {}; a row per layer call, a column per head; in each thumbnail, rows are query "
      "positions and columns key positions",
      p.batch));

  const int label_width = std::max({widest(s.names), widest(s.shapes), s.head_word.width()});
  const int grid_x = kMargin + label_width + kLabelGap;
  const int header_y = detail::header_bottom(s.title, s.note) + 12;
  const int grid_y = header_y + kFontHeight + kHeaderGap;
  for (size_t r = 0; r < p.rows.size(); ++r)
    for (int64_t h = 0; h < p.rows[r].heads; ++h) {
      ModelViewThumbnail t;
      t.row = r;
      t.head = h;
      t.slot = {grid_x + static_cast<int>(h * (slot + kSlotGap)),
                grid_y + static_cast<int>(r * (slot + kSlotGap)), l.slot, l.slot};
      t.map = fit_map(t.slot.x, t.slot.y, l.slot, p.rows[r].tgt_len, p.rows[r].src_len);
      std::tie(t.vmin, t.vmax) = p.scales[l.thumbnails.size()];
      l.thumbnails.push_back(t);
    }

  Text caption = detail::rotate_counterclockwise(text_line(
      options.shared_scale() ? "attention weight" : "share of each head's largest weight"));
  const int bar_height = detail::colorbar_height(grid_height, caption);
  s.colorbar = detail::make_colorbar(grid_x + grid_width, grid_y, bar_height, p.vmin, p.vmax,
                                     std::move(caption));
  l.colorbar = s.colorbar.bar;
  std::tie(l.width, l.height) =
      detail::frame_size(grid_y + grid_height, s.colorbar, s.title, s.note, kSides);
  return s;
}

// One thumbnail: each pixel shows the largest weight among the tokens it covers.
void draw_thumbnail(Canvas& canvas, const ModelViewThumbnail& t, const float* map,
                    const ModelViewRow& row, const std::array<Rgb, 256>& table) {
  const Rect& area = t.map;
  std::vector<int64_t> first_key(area.width), last_key(area.width);  // per pixel column
  for (int x = 0; x < area.width; ++x) {
    first_key[x] = x * row.src_len / area.width;
    last_key[x] = std::max(first_key[x] + 1, ((x + 1) * row.src_len + area.width - 1) / area.width);
  }
  std::vector<float> strongest(row.src_len);  // per key, over this pixel row's queries
  for (int y = 0; y < area.height; ++y) {
    const int64_t first_query = y * row.tgt_len / area.height;
    const int64_t last_query =
        std::max(first_query + 1, ((y + 1) * row.tgt_len + area.height - 1) / area.height);
    std::copy_n(map + first_query * row.src_len, row.src_len, strongest.begin());
    for (int64_t i = first_query + 1; i < last_query; ++i)
      for (int64_t j = 0; j < row.src_len; ++j)
        strongest[j] = std::max(strongest[j], map[i * row.src_len + j]);
    uint8_t* out = canvas.pixel(area.x, area.y + y);
    for (int x = 0; x < area.width; ++x, out += 3) {
      float value = strongest[first_key[x]];
      for (int64_t j = first_key[x] + 1; j < last_key[x]; ++j)
        value = std::max(value, strongest[j]);
      std::memcpy(out, table[detail::colormap_index(value, t.vmin, t.vmax)].data(), 3);
    }
  }
}

Canvas draw(const Prepared& p, const Scene& s, const ModelViewOptions& options) {
  const ModelViewLayout& l = s.layout;
  const auto& table = detail::colormap_table(options.colormap());
  Canvas canvas(l.width, l.height);
  detail::draw_header(canvas, s.title, s.note, kMargin);

  const Rect& first_slot = l.thumbnails.front().slot;
  const int header_y = first_slot.y - kHeaderGap - kFontHeight;
  canvas.blend(s.head_word, first_slot.x - kLabelGap - s.head_word.width(), header_y, kLabelInk);
  for (int h = 0; h < l.columns; ++h) {
    const Text& index = s.head_indexes[h];
    canvas.blend(index, first_slot.x + h * (l.slot + kSlotGap) + (l.slot - index.width()) / 2,
                 header_y, kLabelInk);
  }

  for (const ModelViewThumbnail& t : l.thumbnails) {
    const FloatArray& map = p.maps[t.row];  // [heads, tgt_len, src_len]
    const ModelViewRow& row = p.rows[t.row];
    draw_thumbnail(canvas, t, map.data() + t.head * row.tgt_len * row.src_len, row,
                   table);
    canvas.frame(kFrame, t.map);
    if (t.head) continue;
    const Text& name = s.names[t.row];
    const Text* shape = s.shapes.empty() ? nullptr : &s.shapes[t.row];
    const int block = name.height() + (shape ? shape->height() + 1 : 0);
    const int top = t.slot.y + (t.slot.height - block) / 2;
    canvas.blend(name, t.slot.x - kLabelGap - name.width(), top, kInk);
    if (shape)
      canvas.blend(*shape, t.slot.x - kLabelGap - shape->width(), top + name.height() + 1,
                   kLabelInk);
  }

  detail::draw_colorbar(canvas, s.colorbar, table);
  return canvas;
}

}  // namespace

namespace detail {

ModelViewLayout model_view_layout(const NamedCalls& values, const ModelViewOptions& options) {
  return compose(prepare(values, options), options).layout;
}

void save_model_view(const NamedCalls& values, const std::string& path,
                     const ModelViewOptions& options) {
  if (path.empty()) throw Error("path is empty");
  const Prepared prepared = prepare(values, options);
  const Scene scene = compose(prepared, options);
  save_png_atomically(draw(prepared, scene, options), path, kPngCompression, kPngFilter);
}

}  // namespace detail
}  // namespace attnhook

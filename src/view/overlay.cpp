// Attention overlays, second half: lay out the panels (one overlay, or every head and
// their mean), draw each map over the resized image, outline the query patch, write the
// PNG atomically. The maps come from overlay_map.cpp.
#include "overlay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "attnhook/error.h"
#include "colormap.h"
#include "render_canvas.h"

namespace attnhook::detail {
namespace {

constexpr int kPanelGap = 16;
constexpr int kPanelTitleHeight = 18;  // "head h" above each panel
constexpr SideLimit kSides{"overlay", "image_size or columns"};
// Automatic image_size: the image's longer side, brought within these.
constexpr int kSingleMin = 320, kSingleMax = 640;
constexpr int kGridMin = 160, kGridMax = 320;
// Photographs change colour every pixel; the Up filter and level 6 make the README's
// picture 167 KB instead of 234 KB without a filter at level 3.
constexpr int kPngCompression = 6;
constexpr Rgb kOutlineInner{255, 255, 255};
constexpr Rgb kOutlineOuter{0, 0, 0};

struct Scene {
  OverlayLayout layout;
  Text title, note;
  std::vector<Text> panel_titles;
  Colorbar colorbar;
};

// The bottom of a scale is 0 unless weights go below it; a flat scale gets a top above it.
std::pair<double, double> scale_of(const float* map, int64_t count, const OverlayOptions& options) {
  const auto [low, high] = std::minmax_element(map, map + count);
  const double vmin = options.vmin().value_or(std::min(0.0, static_cast<double>(*low)));
  double vmax = options.vmax().value_or(*high);
  if (vmax <= vmin) {
    if (options.vmax())
      throw Error(fmt::format("vmax {} must be greater than vmin {}", vmax, vmin));
    vmax = vmin + 1;  // flat map: drawn in the bottom colour
  }
  return {vmin, vmax};
}

std::string query_text(const OverlayQuery& q) {
  if (q.patch)
    return fmt::format("query: patch (row {}, column {}), token {}", q.patch->first,
                       q.patch->second, q.token);
  if (q.token < q.prefix_tokens)
    return fmt::format("query: token {} ({})", q.token,
                       q.token == 0 ? "the class token in ViTs" : "a prefix token");
  return fmt::format("query: token {}", q.token);
}

Scene compose(const OverlayMaps& m, int source_width, int source_height,
              const OverlayOptions& options, int64_t batch_size) {
  Scene s;
  OverlayLayout& l = s.layout;
  l.query = m.query;
  l.heads = m.heads;
  const bool several = m.heads.size() > 1;
  const int64_t panels = static_cast<int64_t>(m.heads.size());

  // Each panel's picture: the image's aspect, its longer side image_size (or automatic).
  const int longer = std::max(source_width, source_height);
  const int side = options.image_size() > 0 ? options.image_size()
                                            : std::clamp(longer, several ? kGridMin : kSingleMin,
                                                         several ? kGridMax : kSingleMax);
  auto scaled = [&](int length) {
    return std::max(1, static_cast<int>(std::lround(static_cast<double>(length) * side / longer)));
  };
  l.image_width = scaled(source_width);
  l.image_height = scaled(source_height);

  const int64_t patches = m.query.grid_rows * m.query.grid_columns;
  const bool shared = !several || options.shared_scale() || options.vmin() || options.vmax();
  const auto whole = scale_of(m.maps.data(), m.maps.numel(), options);
  for (int64_t p = 0; p < panels; ++p)
    l.scales.push_back(shared ? whole : scale_of(m.maps.data() + p * patches, patches, options));
  std::tie(l.vmin, l.vmax) = shared ? whole : std::pair<double, double>(0, 1);

  for (int64_t head : m.heads)
    s.panel_titles.push_back(text_line(
        head >= 0 ? fmt::format("head {}", head)
                  : fmt::format("mean of {} head{}", m.head_count, m.head_count == 1 ? "" : "s")));
  if (!options.title().empty()) s.title = text_line(options.title(), kTitleFontHeight);
  const OverlayQuery& q = m.query;
  s.note = text_line(fmt::format(
      "{}{}; keys: {} x {} patches{}", batch_size > 1 ? fmt::format("batch {}; ", q.batch) : "",
      query_text(q), q.grid_rows, q.grid_columns,
      q.prefix_tokens ? fmt::format(" after {} prefix token{} (not drawn)", q.prefix_tokens,
                                    q.prefix_tokens == 1 ? "" : "s")
                      : ""));

  const int64_t automatic = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(panels))));
  const int64_t columns =
      std::min<int64_t>(options.columns() > 0 ? options.columns() : automatic, panels);
  const int64_t rows = (panels + columns - 1) / columns;
  l.columns = static_cast<int>(columns);
  const int64_t panel_width = std::max<int64_t>(l.image_width, widest(s.panel_titles));
  const int64_t panel_height = kPanelTitleHeight + l.image_height;
  const int64_t grid_width = columns * panel_width + (columns - 1) * kPanelGap;
  const int64_t grid_height = rows * panel_height + (rows - 1) * kPanelGap;
  kSides.check("wide", grid_width);
  kSides.check("tall", grid_height);

  const int64_t grid_y = header_bottom(s.title, s.note) + 10;
  for (int64_t p = 0; p < panels; ++p)
    l.panels.push_back(
        {static_cast<int>(kMargin + p % columns * (panel_width + kPanelGap) +
                          (panel_width - l.image_width) / 2),
         static_cast<int>(grid_y + p / columns * (panel_height + kPanelGap) + kPanelTitleHeight),
         l.image_width, l.image_height});

  Text caption = rotate_counterclockwise(
      text_line(shared ? "attention weight" : "share of each panel's largest weight"));
  const int bar_height = colorbar_height(grid_height - kPanelTitleHeight, caption);
  s.colorbar = make_colorbar(kMargin + grid_width, l.panels.front().y, bar_height, l.vmin, l.vmax,
                             std::move(caption));
  l.colorbar = s.colorbar.bar;
  std::tie(l.width, l.height) =
      frame_size(grid_y + grid_height, s.colorbar, s.title, s.note, kSides);
  return s;
}

// The map over the image: out = (1 - alpha) * image + alpha * colour of the weight.
void draw_panel(Canvas& canvas, const Rect& area, const RgbImage& image, const float* map,
                const OverlayLayout& l, std::pair<double, double> scale,
                const OverlayOptions& options) {
  const auto& table = colormap_table(options.colormap());
  const std::vector<float> weights = upsample(map, l.query.grid_rows, l.query.grid_columns,
                                              area.width, area.height, options.interpolation());
  const double alpha = options.alpha();
  for (int y = 0; y < area.height; ++y) {
    uint8_t* out = canvas.pixel(area.x, area.y + y);
    const uint8_t* in = image.rgb.data() + static_cast<size_t>(y) * area.width * 3;
    const float* row = weights.data() + static_cast<size_t>(y) * area.width;
    for (int x = 0; x < area.width; ++x, out += 3, in += 3) {
      const Rgb& colour = table[colormap_index(row[x], scale.first, scale.second)];
      for (int c = 0; c < 3; ++c)
        out[c] = static_cast<uint8_t>(std::lround((1 - alpha) * in[c] + alpha * colour[c]));
    }
  }
}

// A white line along the inside of the patch's edge (2 pixels, 1 when the patch is under
// 6 pixels either way) and a black line of 1 pixel around it: visible on any colour.
void outline(Canvas& canvas, const Rect& patch) {
  const int thickness = std::min(patch.width, patch.height) < 6 ? 1 : 2;
  canvas.frame(kOutlineOuter, patch);
  for (int k = 0; k < thickness; ++k)
    canvas.frame(kOutlineInner, {patch.x + 1 + k, patch.y + 1 + k, patch.width - 2 - 2 * k,
                                 patch.height - 2 - 2 * k});
}

Canvas draw(const OverlayMaps& m, const Scene& s, const RgbImage& image,
            const OverlayOptions& options) {
  const OverlayLayout& l = s.layout;
  Canvas canvas(l.width, l.height);
  draw_header(canvas, s.title, s.note, kMargin);
  const RgbImage fitted = resized(image, l.image_width, l.image_height);
  const int64_t patches = l.query.grid_rows * l.query.grid_columns;
  for (size_t p = 0; p < l.panels.size(); ++p) {
    const Rect& area = l.panels[p];
    draw_panel(canvas, area, fitted, m.maps.data() + p * patches, l, l.scales[p], options);
    canvas.frame(kFrame, area);
    if (l.query.patch)
      outline(canvas, patch_pixels(l, area, l.query.patch->first, l.query.patch->second));
    const Text& title = s.panel_titles[p];
    canvas.blend(title, area.x + (area.width - title.width()) / 2, area.y - kPanelTitleHeight + 2,
                 kInk);
  }
  draw_colorbar(canvas, s.colorbar, colormap_table(options.colormap()));
  return canvas;
}

int64_t batch_size(const FloatArray& weights) { return weights.dim() == 4 ? weights.size(0) : 1; }

}  // namespace

Rect patch_pixels(const OverlayLayout& layout, const Rect& panel, int64_t row, int64_t column) {
  // The first pixel x with floor((x + 0.5) * columns / width) >= c: ceil(c * width / columns
  // - 0.5), in integers.
  auto first = [](int64_t index, int64_t cells, int64_t pixels) {
    return static_cast<int>((2 * index * pixels + cells - 1) / (2 * cells));
  };
  const int64_t rows = layout.query.grid_rows, columns = layout.query.grid_columns;
  const int x0 = first(column, columns, layout.image_width);
  const int x1 = first(column + 1, columns, layout.image_width);
  const int y0 = first(row, rows, layout.image_height);
  const int y1 = first(row + 1, rows, layout.image_height);
  return {panel.x + x0, panel.y + y0, x1 - x0, y1 - y0};
}

OverlayLayout overlay_layout(const FloatArray& weights, int image_width, int image_height,
                             const OverlayOptions& options) {
  return compose(overlay_maps(weights, options), image_width, image_height, options,
                 batch_size(weights))
      .layout;
}

void save_overlay(const FloatArray& weights, const RgbImage& image, const std::string& path,
                  const OverlayOptions& options) {
  if (path.empty()) throw Error("path is empty");
  if (!image_size_ok(image.width, image.height) ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error(
        fmt::format("image is {} x {} pixels with {} bytes; expected RGB within {} pixels "
                    "a side and {} pixels",
                    image.width, image.height, image.rgb.size(), kMaxImageSide, kMaxImagePixels));
  const OverlayMaps maps = overlay_maps(weights, options);
  const Scene scene = compose(maps, image.width, image.height, options, batch_size(weights));
  save_png_atomically(draw(maps, scene, image, options), path, kPngCompression, PngFilter::kUp);
}

void save_overlay(const FloatArray& weights, const std::string& image_path, const std::string& path,
                  const OverlayOptions& options, uint64_t max_image_bytes) {
  if (path.empty()) throw Error("path is empty");
  overlay_maps(weights, options);  // bad weights or options fail before the image is read
  save_overlay(weights, read_image(image_path, max_image_bytes), path, options);
}

}  // namespace attnhook::detail

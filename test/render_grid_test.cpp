// Tests for save_attention_grid / save_attention_heatmap: every test decodes the PNG that
// was written and checks its pixels against the layout the renderer reports. Errors and
// the file written: render_errors_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "attnhook/render.h"
#include "colormap.h"
#include "png_testing.h"
#include "tensor/render_layout.h"

namespace attnhook_test {
namespace {

using attnhook::Colormap;
using attnhook::GridOptions;
using attnhook::detail::colormap_table;
using attnhook::detail::Layout;
using attnhook::detail::Rect;
// One fixture type for RenderTest in every file: gtest requires it of a suite.
using RenderTest = TempDirTest;

// matplotlib's magma end colours, rounded to 8 bits.
constexpr Rgb kMagmaBottom{0, 0, 4};
constexpr Rgb kMagmaTop{252, 253, 191};

// Every pixel of every cell: the top colour where query i attends key (h + i + shift) % S,
// the bottom colour elsewhere.
::testing::AssertionResult cells_are_one_hot(const Picture& image, const Layout& layout, int shift,
                                             const Rgb& top, const Rgb& bottom) {
  if (image.width() != layout.width || image.height() != layout.height)
    return ::testing::AssertionFailure() << "image " << image.width() << "x" << image.height()
                                         << ", layout " << layout.width << "x" << layout.height;
  for (size_t p = 0; p < layout.heatmaps.size(); ++p) {
    const Rect& area = layout.heatmaps[p];
    const int64_t head = layout.heads[p];
    for (int64_t i = 0; i < layout.tgt_len; ++i)
      for (int64_t j = 0; j < layout.src_len; ++j) {
        const Rgb& expected = j == (head + i + shift) % layout.src_len ? top : bottom;
        for (int dy = 0; dy < layout.cell; ++dy)
          for (int dx = 0; dx < layout.cell; ++dx) {
            const int x = area.x + static_cast<int>(j) * layout.cell + dx;
            const int y = area.y + static_cast<int>(i) * layout.cell + dy;
            if (pixel(image, x, y) != expected)
              return ::testing::AssertionFailure()
                     << "head " << head << " cell (" << i << ", " << j << ") pixel (" << x << ", "
                     << y << ") is " << describe(pixel(image, x, y)) << ", expected "
                     << describe(expected);
          }
      }
  }
  return ::testing::AssertionSuccess();
}

TEST_F(RenderTest, GridImageSizeAndPanelsFollowTheLayout) {
  const auto weights = one_hot(1, 12, 16, 16);
  const auto options = GridOptions().tokens(words(16)).title("layers.0.self_attn");
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  const Picture image = load_png(path("grid.png"));
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);

  EXPECT_EQ(image.spectrum(), 3);
  EXPECT_EQ(image.width(), layout.width);
  EXPECT_EQ(image.height(), layout.height);
  EXPECT_EQ(layout.columns, 4);  // ceil(sqrt(12))
  ASSERT_EQ(layout.heatmaps.size(), 12u);
  EXPECT_EQ(layout.heads, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  for (size_t p = 0; p < 12; ++p) {
    const Rect& area = layout.heatmaps[p];
    EXPECT_EQ(area.width, 16 * layout.cell);
    EXPECT_EQ(area.height, 16 * layout.cell);
    EXPECT_LT(area.x + area.width, layout.colorbar.x);
    EXPECT_LE(area.y + area.height, layout.height);
    if (p % 4) EXPECT_GT(area.x, layout.heatmaps[p - 1].x + area.width);  // same row, no overlap
    if (p >= 4) EXPECT_GT(area.y, layout.heatmaps[p - 4].y + area.height);
  }
  EXPECT_LE(layout.colorbar.x + layout.colorbar.width, layout.width);
}

TEST_F(RenderTest, OneHotAttentionLightsExactlyTheAttendedCells) {
  const auto weights = one_hot(1, 6, 9, 9);
  const auto options = GridOptions().tokens(words(9));
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("grid.png")),
                                attnhook::detail::layout_attention_grid(weights, options), 0,
                                kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, ColumnsAndCellSizeOptionsShapeTheGrid) {
  const auto weights = one_hot(1, 6, 7, 7);
  const auto options = GridOptions().columns(4).cell_size(5);
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_EQ(layout.cell, 5);
  EXPECT_EQ(layout.columns, 4);
  EXPECT_EQ(layout.heatmaps[4].x, layout.heatmaps[0].x);  // second row starts under the first
  EXPECT_GT(layout.heatmaps[4].y, layout.heatmaps[3].y);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("grid.png")), layout, 0, kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, BatchOptionPicksTheSample) {
  const auto weights = one_hot(3, 4, 6, 6);  // sample b is shifted by b
  const auto options = GridOptions().batch(2);
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("grid.png")),
                                attnhook::detail::layout_attention_grid(weights, options), 2,
                                kViridisTop, kViridisBottom));
  // [heads, tgt_len, src_len] works too.
  attnhook::save_attention_grid(weights[1], path("rank3.png"));
  EXPECT_TRUE(cells_are_one_hot(load_png(path("rank3.png")),
                                attnhook::detail::layout_attention_grid(weights[1], {}), 1,
                                kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, HeadsOptionDrawsTheChosenHeadsInOrder) {
  const auto weights = one_hot(1, 5, 6, 6);
  const auto options = GridOptions().heads({3, 1});
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_EQ(layout.heads, (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(cells_are_one_hot(load_png(path("grid.png")), layout, 0, kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, MagmaAndGrayColormaps) {
  const auto weights = one_hot(1, 2, 5, 5);
  auto options = GridOptions().colormap(Colormap::kMagma);
  attnhook::save_attention_grid(weights, path("magma.png"), options);
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("magma.png")), layout, 0, kMagmaTop, kMagmaBottom));
  options.colormap(Colormap::kGray);
  attnhook::save_attention_grid(weights, path("gray.png"), options);
  EXPECT_TRUE(
      cells_are_one_hot(load_png(path("gray.png")), layout, 0, Rgb{255, 255, 255}, Rgb{0, 0, 0}));
}

TEST_F(RenderTest, ViridisTableInterpolatesMatplotlib) {
  const auto& table = colormap_table(Colormap::kViridis);
  EXPECT_EQ(table[0], kViridisBottom);
  EXPECT_EQ(table[255], kViridisTop);
  // matplotlib _viridis_data[128] = (0.127568, 0.566949, 0.550556) -> (33, 145, 140), a
  // control point; [100] = (0.166617, 0.463708, 0.558119) -> (42, 118, 142), interpolated.
  EXPECT_EQ(table[128], (Rgb{33, 145, 140}));
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(table[100][c], (Rgb{42, 118, 142})[c], 2);
}

TEST_F(RenderTest, ColorbarRunsFromBottomToTopColourWithTickValues) {
  const auto weights = one_hot(1, 4, 8, 8);
  attnhook::save_attention_grid(weights, path("grid.png"));
  const Picture image = load_png(path("grid.png"));
  const Layout layout = attnhook::detail::layout_attention_grid(weights, {});
  const Rect& bar = layout.colorbar;
  ASSERT_GE(bar.height, 50);
  EXPECT_GE(bar.width, 8);
  const auto& table = colormap_table(Colormap::kViridis);
  const int x = bar.x + bar.width / 2;
  EXPECT_EQ(pixel(image, x, bar.y), kViridisTop);
  EXPECT_EQ(pixel(image, x, bar.y + bar.height - 1), kViridisBottom);
  for (int r = 0; r < bar.height; ++r) {
    const double t = 1.0 - static_cast<double>(r) / (bar.height - 1);
    ASSERT_EQ(pixel(image, x, bar.y + r), table[static_cast<int>(t * 255 + 0.5)]) << "row " << r;
    ASSERT_EQ(pixel(image, bar.x, bar.y + r), pixel(image, bar.x + bar.width - 1, bar.y + r));
  }
  // Tick values are printed to its right, over the bar's height.
  EXPECT_GT(
      count_ink(image, bar.x + bar.width + 6, bar.y - 6, layout.width, bar.y + bar.height + 6), 30);
  EXPECT_DOUBLE_EQ(layout.vmin, 0.0);
  EXPECT_DOUBLE_EQ(layout.vmax, 1.0);
}

TEST_F(RenderTest, ScaleTicksAreNiceNumbers) {
  const auto ticks = attnhook::detail::scale_ticks(0.0, 0.87, 10);
  ASSERT_EQ(ticks.size(), 9u);  // 0.0 .. 0.8
  EXPECT_EQ(ticks.front().label, "0.0");
  EXPECT_EQ(ticks.back().label, "0.8");
  const auto wide = attnhook::detail::scale_ticks(-2.0, 2.0, 5);
  ASSERT_EQ(wide.size(), 5u);
  EXPECT_EQ(wide[0].label, "-2");
  EXPECT_EQ(wide[2].label, "0");
}

TEST_F(RenderTest, ScaleDefaultsToTheLargestShownWeightAndVmaxOverridesIt) {
  const auto weights = one_hot(1, 2, 4, 4) * 0.25;
  attnhook::save_attention_grid(weights, path("default.png"));
  const Layout layout = attnhook::detail::layout_attention_grid(weights, {});
  EXPECT_DOUBLE_EQ(layout.vmax, 0.25);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("default.png")), layout, 0, kViridisTop, kViridisBottom));

  const auto options = GridOptions().vmax(0.5);  // 0.25 is now mid-scale
  attnhook::save_attention_grid(weights, path("vmax.png"), options);
  const auto& table = colormap_table(Colormap::kViridis);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("vmax.png")),
                                attnhook::detail::layout_attention_grid(weights, options), 0,
                                table[128], kViridisBottom));

  const auto negative = one_hot(1, 1, 3, 3) - 0.5;  // e.g. gradients: vmin follows the data
  EXPECT_DOUBLE_EQ(attnhook::detail::layout_attention_grid(negative, {}).vmin, -0.5);
}

TEST_F(RenderTest, CrossAttentionKeepsSquareCells) {
  // One head, 4 queries x 12 keys; query i attends key i (a one-hot with shift 0, head 0).
  const auto weights = one_hot(1, 1, 4, 12);
  const auto options = GridOptions().tgt_tokens(words(4, "q")).src_tokens(words(12, "k"));
  attnhook::save_attention_grid(weights, path("cross.png"), options);
  const Picture image = load_png(path("cross.png"));
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_EQ(layout.heatmaps[0].width, 12 * layout.cell);
  EXPECT_EQ(layout.heatmaps[0].height, 4 * layout.cell);
  EXPECT_TRUE(cells_are_one_hot(image, layout, 0, kViridisTop, kViridisBottom));

  // Measured on the picture alone: the colour-mapped region left of the colorbar.
  int x0 = image.width(), y0 = image.height(), x1 = -1, y1 = -1;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < layout.colorbar.x - 1; ++x) {
      const Rgb c = pixel(image, x, y);
      if (c == kViridisTop || c == kViridisBottom) {
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
    }
  const int width = x1 - x0 + 1, height = y1 - y0 + 1;
  EXPECT_EQ(width, 3 * height);
  EXPECT_EQ(width, 12 * layout.cell);
}

TEST_F(RenderTest, TokenLabelsAreDrawnBesideRowsAndUnderColumns) {
  const auto weights = one_hot(1, 1, 6, 6);
  attnhook::save_attention_grid(weights, path("bare.png"));
  const auto options = GridOptions().tokens(words(6, "word"));
  attnhook::save_attention_grid(weights, path("labels.png"), options);
  const Layout bare = attnhook::detail::layout_attention_grid(weights, {});
  const Layout labelled = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_EQ(bare.tgt_label_step, 0);
  EXPECT_EQ(labelled.tgt_label_step, 1);
  EXPECT_EQ(labelled.src_label_step, 1);

  const Picture image = load_png(path("labels.png"));
  const Rect& area = labelled.heatmaps[0];
  for (int i = 0; i < 6; ++i) {  // ink left of every row
    const int center = area.y + i * labelled.cell + labelled.cell / 2;
    EXPECT_GT(count_ink(image, 0, center - 4, area.x - 4, center + 4), 10) << "row " << i;
  }
  // Column labels are rotated: their ink is taller than wide.
  const int center = area.x + labelled.cell / 2;
  int top = image.height(), bottom = -1, left = image.width(), right = -1;
  for (int y = area.y + area.height + 5; y < image.height(); ++y)
    for (int x = center - labelled.cell / 2; x < center + labelled.cell / 2; ++x)
      if (is_ink(pixel(image, x, y)))
        top = std::min(top, y), bottom = std::max(bottom, y), left = std::min(left, x),
        right = std::max(right, x);
  ASSERT_GE(bottom, 0) << "no column label under column 0";
  EXPECT_GT(bottom - top, 2 * (right - left));

  // Without tokens, nothing is written there.
  const Picture plain = load_png(path("bare.png"));
  const Rect& bare_area = bare.heatmaps[0];
  EXPECT_EQ(count_ink(plain, 0, bare_area.y, bare_area.x - 2, bare_area.y + bare_area.height), 0);
}

TEST_F(RenderTest, LongSequencesLabelEveryKthToken) {
  const auto weights = one_hot(1, 12, 128, 128);
  const auto options = GridOptions().tokens(words(128));
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_GT(layout.tgt_label_step, 1);
  EXPECT_GE(layout.tgt_label_step * layout.cell, 12);  // one 13-pixel line of text per label
  attnhook::save_attention_grid(weights, path("long.png"), options);
  const Picture image = load_png(path("long.png"));
  EXPECT_TRUE(cells_are_one_hot(image, layout, 0, kViridisTop, kViridisBottom));
  const Rect& area = layout.heatmaps[0];
  for (int i = 0; i < 128; i += layout.tgt_label_step) {
    const int center = area.y + i * layout.cell + layout.cell / 2;
    EXPECT_GT(count_ink(image, 0, center - 3, area.x - 4, center + 3), 5) << "row " << i;
  }
}

TEST_F(RenderTest, TitleIsDrawnAboveThePanels) {
  const auto weights = one_hot(1, 2, 4, 4);
  const auto options = GridOptions().title("layers.3.self_attn");
  attnhook::save_attention_grid(weights, path("title.png"), options);
  const Layout plain = attnhook::detail::layout_attention_grid(weights, {});
  const Layout titled = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_GT(titled.heatmaps[0].y, plain.heatmaps[0].y + 15);
  const Picture image = load_png(path("title.png"));
  // The band the title pushed the panels down by, after the top margin (16 pixels).
  const int title_bottom = 16 + titled.heatmaps[0].y - plain.heatmaps[0].y;
  EXPECT_GT(count_ink(image, 0, 0, image.width(), title_bottom), 100);
}

TEST_F(RenderTest, HeatmapDrawsOneHeadLarger) {
  const auto weights = one_hot(1, 4, 6, 6);
  attnhook::save_attention_heatmap(weights, 2, path("head2.png"));
  const Layout layout = attnhook::detail::layout_attention_heatmap(weights, 2, {});
  EXPECT_EQ(layout.heads, (std::vector<int64_t>{2}));
  EXPECT_GT(layout.cell, attnhook::detail::layout_attention_grid(weights, {}).cell);
  EXPECT_TRUE(cells_are_one_hot(load_png(path("head2.png")), layout, 0, kViridisTop, kViridisBottom));

  const auto map = weights[0][1];  // [tgt_len, src_len]: query i attends key (1 + i) % 6
  attnhook::save_attention_heatmap(map, 0, path("map.png"));
  EXPECT_TRUE(cells_are_one_hot(load_png(path("map.png")),
                                attnhook::detail::layout_attention_heatmap(map, 0, {}), 1,
                                kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, AnyFloatingDtypeAndLayoutDrawTheSame) {
  const auto weights = one_hot(2, 3, 5, 5);
  attnhook::save_attention_grid(weights, path("float.png"));
  const Picture reference = load_png(path("float.png"));
  const std::vector<std::pair<std::string, torch::Tensor>> variants = {
      {"double", weights.to(torch::kDouble)},
      {"half", weights.to(torch::kHalf)},
      {"bfloat16", weights.to(torch::kBFloat16)},
      {"transposed", weights.transpose(2, 3).contiguous().transpose(2, 3)},
      {"requires_grad", weights.clone().requires_grad_(true)}};
  for (const auto& [name, variant] : variants) {
    attnhook::save_attention_grid(variant, path(name + ".png"));
    EXPECT_TRUE(load_png(path(name + ".png")) == reference) << name;
  }
}

}  // namespace
}  // namespace attnhook_test

// Tests for save_model_view: every test decodes the PNG that was written and checks its
// pixels against the layout the renderer reports (detail::layout_model_view). Errors and
// the file written: render_model_view_errors_test.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "attnhook/render.h"
#include "attnhook/values.h"
#include "colormap.h"
#include "png_testing.h"
#include "tensor/render_layout.h"

namespace attnhook_test {
namespace {

using attnhook::Colormap;
using attnhook::ModelViewOptions;
using attnhook::Values;
using attnhook::detail::colormap_table;
using attnhook::detail::ModelViewLayout;
using attnhook::detail::ModelViewRow;
using attnhook::detail::ModelViewThumbnail;
using attnhook::detail::Rect;
// One fixture type for ModelViewTest in every file: gtest requires it of a suite.
using ModelViewTest = TempDirTest;

bool attended(int64_t shift, int64_t head, int64_t i, int64_t j, int64_t src_len) {
  return j == (shift + head + i) % src_len;
}

// Every pixel of every thumbnail: the top colour when any (query, key) it covers is
// attended by the one-hot of `shift_of_row`, else the bottom colour.
::testing::AssertionResult thumbnails_are_one_hot(const Picture& image, const ModelViewLayout& l,
                                                  const std::vector<int64_t>& shift_of_row,
                                                  int64_t batch = 0) {
  if (image.width() != l.width || image.height() != l.height)
    return ::testing::AssertionFailure() << "image " << image.width() << "x" << image.height()
                                         << ", layout " << l.width << "x" << l.height;
  for (const ModelViewThumbnail& t : l.thumbnails) {
    const ModelViewRow& row = l.rows[t.row];
    const Rect& m = t.map;
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x) {
        const int64_t i0 = y * row.tgt_len / m.height, j0 = x * row.src_len / m.width;
        const int64_t i1 = std::max(i0 + 1, ((y + 1) * row.tgt_len + m.height - 1) / m.height);
        const int64_t j1 = std::max(j0 + 1, ((x + 1) * row.src_len + m.width - 1) / m.width);
        bool hot = false;
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j)
            hot = hot || attended(shift_of_row[t.row] + batch, t.head, i, j, row.src_len);
        const Rgb& expected = hot ? kViridisTop : kViridisBottom;
        if (pixel(image, m.x + x, m.y + y) != expected)
          return ::testing::AssertionFailure()
                 << row.label << " head " << t.head << " map pixel (" << x << ", " << y << ") is "
                 << describe(pixel(image, m.x + x, m.y + y)) << ", expected " << describe(expected);
      }
  }
  return ::testing::AssertionSuccess();
}

std::vector<int64_t> iota_shifts(size_t rows) {
  std::vector<int64_t> shifts(rows);
  for (size_t r = 0; r < rows; ++r) shifts[r] = static_cast<int64_t>(r);
  return shifts;
}

TEST_F(ModelViewTest, ImageSizeAndSlotsFollowTheLayout) {
  const Values values = one_hot_values(
      {{"layers.0.self_attn", 4, 8, 8}, {"layers.1.self_attn", 4, 8, 8}, {"layers.2", 4, 8, 8}});
  attnhook::save_model_view(values, path("model.png"), ModelViewOptions().title("bert"));
  const Picture image = load_png(path("model.png"));
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, ModelViewOptions());
  const ModelViewLayout titled =
      attnhook::detail::layout_model_view(values, ModelViewOptions().title("bert"));

  EXPECT_EQ(image.spectrum(), 3);
  EXPECT_EQ(image.width(), titled.width);
  EXPECT_EQ(image.height(), titled.height);
  EXPECT_GT(titled.thumbnails[0].slot.y, l.thumbnails[0].slot.y + 15);  // the title's line
  EXPECT_EQ(l.columns, 4);
  EXPECT_EQ(l.slot, 128);  // 1536 / 4 heads, at most 128
  ASSERT_EQ(l.rows.size(), 3u);
  EXPECT_EQ(l.rows[1].label, "layers.1.self_attn");
  ASSERT_EQ(l.thumbnails.size(), 12u);
  for (size_t n = 0; n < 12; ++n) {
    const ModelViewThumbnail& t = l.thumbnails[n];
    EXPECT_EQ(t.row, n / 4);
    EXPECT_EQ(t.head, static_cast<int64_t>(n % 4));
    EXPECT_EQ(t.slot.width, l.slot);
    EXPECT_EQ(t.slot.height, l.slot);
    EXPECT_EQ(t.map.width, 8 * 16);  // 8 tokens, 16 pixels each: the slot exactly
    EXPECT_EQ(t.map.x, t.slot.x);
    if (n % 4) {  // a gap, no overlap
      EXPECT_GT(t.slot.x, l.thumbnails[n - 1].slot.x + l.slot);
    }
    if (n >= 4) {
      EXPECT_GT(t.slot.y, l.thumbnails[n - 4].slot.y + l.slot);
    }
    EXPECT_LT(t.slot.x + t.slot.width, l.colorbar.x);
    EXPECT_LE(t.slot.y + t.slot.height, l.height);
  }
  EXPECT_LE(l.colorbar.x + l.colorbar.width, l.width);
  EXPECT_EQ(l.thumbnails[4].slot.x, l.thumbnails[0].slot.x);  // columns are heads
}

TEST_F(ModelViewTest, EachLayerAndHeadLandsInItsThumbnail) {
  // Layer l, head h: query i attends key (l + h + i) % 7.
  const Values values = one_hot_values({{"a", 5, 7, 7}, {"b", 5, 7, 7}, {"c", 5, 7, 7}});
  attnhook::save_model_view(values, path("model.png"));
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, {});
  EXPECT_EQ(l.thumbnails[0].map.width, 7 * (l.slot / 7));
  EXPECT_TRUE(thumbnails_are_one_hot(load_png(path("model.png")), l, iota_shifts(3)));
}

TEST_F(ModelViewTest, LongSequencesShowTheLargestWeightEachPixelCovers) {
  // 128 tokens in 48-pixel slots: a pixel covers 2 or 3 tokens each way; the one-hot
  // diagonal must stay lit, not be averaged away.
  const Values values = one_hot_values({{"layers.0", 3, 128, 128}, {"layers.1", 3, 128, 128}});
  const auto options = ModelViewOptions().thumbnail_size(48);
  attnhook::save_model_view(values, path("model.png"), options);
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, options);
  EXPECT_EQ(l.slot, 48);
  EXPECT_EQ(l.thumbnails[0].map.width, 48);
  EXPECT_EQ(l.thumbnails[0].map.height, 48);
  EXPECT_TRUE(thumbnails_are_one_hot(load_png(path("model.png")), l, iota_shifts(2)));
}

TEST_F(ModelViewTest, LayersWithDifferentHeadCountsAndRectangularMaps) {
  // An encoder-decoder: 4-head self-attention over 12 tokens, 2-head decoder self-attention
  // over 5, and 3-head cross-attention 5 x 12 called twice (" #0", " #1").
  const Values values = one_hot_values({{"encoder.layers.0.self_attn", 4, 12, 12},
                                        {"decoder.layers.0.self_attn", 2, 5, 5},
                                        {"decoder.layers.0.multihead_attn", 3, 5, 12, 2}});
  attnhook::save_model_view(values, path("model.png"));
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, {});
  ASSERT_EQ(l.rows.size(), 4u);
  EXPECT_EQ(l.rows[2].label, "decoder.layers.0.multihead_attn #0");
  EXPECT_EQ(l.rows[3].label, "decoder.layers.0.multihead_attn #1");
  EXPECT_EQ(l.rows[1].heads, 2);
  EXPECT_EQ(l.columns, 4);
  ASSERT_EQ(l.thumbnails.size(), 4u + 2 + 3 + 3);
  EXPECT_EQ(l.thumbnails[4].row, 1u);
  EXPECT_EQ(l.thumbnails[5].head, 1);
  EXPECT_EQ(l.thumbnails[6].row, 2u);

  const ModelViewThumbnail& cross = l.thumbnails[6];  // 5 queries x 12 keys
  const int cell = l.slot / 12;
  EXPECT_EQ(cross.map.width, 12 * cell);
  EXPECT_EQ(cross.map.height, 5 * cell);
  EXPECT_EQ(cross.map.x - cross.slot.x, (l.slot - cross.map.width) / 2);  // centred
  EXPECT_EQ(cross.map.y - cross.slot.y, (l.slot - cross.map.height) / 2);
  const ModelViewThumbnail& small = l.thumbnails[4];  // 5 x 5: larger cells, same slot
  EXPECT_EQ(small.map.width, 5 * (l.slot / 5));
  EXPECT_EQ(small.slot.width, cross.slot.width);

  // Calls are rows in order: call c of layer 2 was made with shift 2 + 10 c.
  EXPECT_TRUE(thumbnails_are_one_hot(load_png(path("model.png")), l, {0, 1, 2, 12}));
}

TEST_F(ModelViewTest, BatchOptionPicksTheSample) {
  const Values values = one_hot_values({{"a", 2, 6, 6}, {"b", 3, 6, 6}}, 3);
  const auto options = ModelViewOptions().batch(2);
  attnhook::save_model_view(values, path("model.png"), options);
  EXPECT_TRUE(thumbnails_are_one_hot(load_png(path("model.png")),
                                     attnhook::detail::layout_model_view(values, options),
                                     iota_shifts(2), 2));
}

TEST_F(ModelViewTest, EachThumbnailHasItsOwnScaleUnlessShared) {
  // Head 0 peaks at 0.2, head 1 at 1.0.
  const auto weights = one_hot(1, 2, 4, 4, 0) * torch::tensor({0.2f, 1.0f}).view({1, 2, 1, 1});
  Values values;
  values.append("layer", {weights});
  attnhook::save_model_view(values, path("own.png"));
  const ModelViewLayout own = attnhook::detail::layout_model_view(values, {});
  EXPECT_DOUBLE_EQ(own.thumbnails[0].vmax, 0.2f);
  EXPECT_DOUBLE_EQ(own.thumbnails[1].vmax, 1.0);
  EXPECT_DOUBLE_EQ(own.vmin, 0.0);  // colorbar: a share of each thumbnail's range
  EXPECT_DOUBLE_EQ(own.vmax, 1.0);
  EXPECT_TRUE(thumbnails_are_one_hot(load_png(path("own.png")), own, {0}));

  const auto options = ModelViewOptions().shared_scale(true);
  attnhook::save_model_view(values, path("shared.png"), options);
  const ModelViewLayout shared = attnhook::detail::layout_model_view(values, options);
  EXPECT_DOUBLE_EQ(shared.thumbnails[0].vmax, 1.0);
  const Picture image = load_png(path("shared.png"));
  const Rect& dim = shared.thumbnails[0].map;  // query 0 attends key 0
  EXPECT_EQ(pixel(image, dim.x, dim.y), colormap_table(Colormap::kViridis)[51]);  // 0.2 * 255
  const Rect& bright = shared.thumbnails[1].map;  // query 0 attends key 1
  EXPECT_EQ(pixel(image, bright.x + bright.width / 4, bright.y), kViridisTop);

  // An all-zero head takes the bottom colour; shared scales start at negative weights.
  Values zero;
  zero.append("zero", {torch::zeros({1, 1, 3, 3})});
  attnhook::save_model_view(zero, path("zero.png"));
  const ModelViewLayout flat = attnhook::detail::layout_model_view(zero, {});
  EXPECT_EQ(pixel(load_png(path("zero.png")), flat.thumbnails[0].map.x, flat.thumbnails[0].map.y),
            kViridisBottom);
  // A scale starts at 0, not at the smallest weight: a floor of 0.1 under a peak of 0.5
  // is a fifth of the way up.
  Values raised;
  raised.append("raised", {one_hot(1, 1, 3, 3, 0) * 0.4 + 0.1});
  attnhook::save_model_view(raised, path("raised.png"));
  const ModelViewLayout floor = attnhook::detail::layout_model_view(raised, {});
  EXPECT_DOUBLE_EQ(floor.thumbnails[0].vmin, 0.0);
  const Rect& m = floor.thumbnails[0].map;  // query 0 attends key 0, not key 1
  EXPECT_EQ(pixel(load_png(path("raised.png")), m.x + m.width / 2, m.y),
            colormap_table(Colormap::kViridis)[51]);
  Values negative;
  negative.append("negative", {one_hot(1, 1, 3, 3, 0) - 0.5});
  EXPECT_DOUBLE_EQ(attnhook::detail::layout_model_view(negative, options).vmin, -0.5);
}

TEST_F(ModelViewTest, ColorbarRunsFromBottomToTopColourWithTicksAndCaption) {
  const Values values = one_hot_values({{"a", 2, 4, 4}, {"b", 2, 4, 4}});
  const auto options = ModelViewOptions().colormap(Colormap::kMagma);
  attnhook::save_model_view(values, path("model.png"), options);
  const Picture image = load_png(path("model.png"));
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, options);
  const Rect& bar = l.colorbar;
  ASSERT_GE(bar.height, 96);
  const auto& table = colormap_table(Colormap::kMagma);
  const int x = bar.x + bar.width / 2;
  for (int r = 0; r < bar.height; ++r) {
    const double t = 1.0 - static_cast<double>(r) / (bar.height - 1);
    ASSERT_EQ(pixel(image, x, bar.y + r), table[static_cast<int>(t * 255 + 0.5)]) << "row " << r;
  }
  // Tick values, then the rotated caption, to its right.
  EXPECT_GT(count_ink(image, bar.x + bar.width + 6, bar.y - 6, bar.x + bar.width + 36,
                      bar.y + bar.height + 6),
            30);
  EXPECT_GT(count_ink(image, bar.x + bar.width + 36, bar.y, l.width, bar.y + bar.height), 100);
}

TEST_F(ModelViewTest, RowsAreLabelledWithLayerNamesAndColumnsWithHeadIndexes) {
  const Values values = one_hot_values({{"layers.0.self_attn", 3, 6, 6}, {"x", 3, 6, 6}});
  attnhook::save_model_view(values, path("model.png"));
  const Picture image = load_png(path("model.png"));
  const ModelViewLayout l = attnhook::detail::layout_model_view(values, {});
  for (size_t r = 0; r < 2; ++r) {
    const Rect& slot = l.thumbnails[r * 3].slot;
    EXPECT_GT(count_ink(image, 0, slot.y, slot.x - 2, slot.y + slot.height), 40) << "row " << r;
  }
  // A longer name takes more ink; the name is right-aligned against the first slot.
  const Rect& first = l.thumbnails[0].slot;
  const Rect& second = l.thumbnails[3].slot;
  EXPECT_GT(count_ink(image, 0, first.y, first.x, first.y + first.height),
            count_ink(image, 0, second.y, second.x, second.y + second.height));
  for (int h = 0; h < 3; ++h) {  // a head index above each column
    const Rect& slot = l.thumbnails[h].slot;
    EXPECT_GT(count_ink(image, slot.x, slot.y - 20, slot.x + slot.width, slot.y - 1), 5) << h;
  }
  // The gaps between slots stay blank.
  EXPECT_EQ(count_ink(image, first.x + first.width + 1, first.y, l.thumbnails[1].slot.x - 1,
                      first.y + first.height),
            0);
}

TEST_F(ModelViewTest, LongNamesKeepTheirEnd) {
  const std::string tail(46, 'x');
  const std::string name = "model.encoder.layer.11.attention.self." + tail;  // 84 characters
  const ModelViewLayout cut =
      attnhook::detail::layout_model_view(one_hot_values({{name, 1, 3, 3}}), {});
  EXPECT_EQ(cut.rows[0].label, name);
  // Drawn as ".." + the last 46 characters: the label column is that wide.
  EXPECT_EQ(cut.thumbnails[0].slot.x,
            attnhook::detail::layout_model_view(one_hot_values({{".." + tail, 1, 3, 3}}), {})
                .thumbnails[0]
                .slot.x);
}

TEST_F(ModelViewTest, AnyFloatingDtypeDrawsTheSame) {
  const Values values = one_hot_values({{"a", 2, 5, 5}});
  attnhook::save_model_view(values, path("float.png"));
  const Picture reference = load_png(path("float.png"));
  for (const auto dtype : {torch::kDouble, torch::kHalf, torch::kBFloat16}) {
    Values converted;
    converted.append("a", {values.at("a")[0].to(dtype)});
    attnhook::save_model_view(converted, path("converted.png"));
    EXPECT_TRUE(load_png(path("converted.png")) == reference) << dtype;
  }
}

}  // namespace
}  // namespace attnhook_test

// Tests for save_attention_grid / save_attention_heatmap: every test decodes the PNG that
// was written and checks its pixels against the layout the renderer reports.
#include "attnhook/render.h"

#include <CImg.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "colormap.h"
#include "render_layout.h"

namespace {

namespace fs = std::filesystem;
using attnhook::Colormap;
using attnhook::GridOptions;
using attnhook::detail::colormap_table;
using attnhook::detail::Layout;
using attnhook::detail::Rect;
using attnhook::detail::Rgb;
using Image = cimg_library::CImg<unsigned char>;

// matplotlib's end colours, rounded to 8 bits.
constexpr Rgb kViridisBottom{68, 1, 84};
constexpr Rgb kViridisTop{253, 231, 37};
constexpr Rgb kMagmaBottom{0, 0, 4};
constexpr Rgb kMagmaTop{252, 253, 191};

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("attnhook_render_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
    return names;
  }
  fs::path dir_;
};

Image load(const std::string& path) {
  Image image;
  image.load_png(path.c_str());
  return image;
}

Rgb pixel(const Image& image, int x, int y) {
  return {image(x, y, 0, 0), image(x, y, 0, 1), image(x, y, 0, 2)};
}

std::string describe(const Rgb& c) {
  return "(" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " + std::to_string(c[2]) +
         ")";
}

bool is_ink(const Rgb& c) { return c[0] < 160 && c[1] < 160 && c[2] < 160; }

int count_ink(const Image& image, int x0, int y0, int x1, int y1) {
  int count = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, image.height()); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, image.width()); ++x)
      count += is_ink(pixel(image, x, y));
  return count;
}

std::vector<std::string> words(int64_t count, const std::string& stem = "tok") {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < count; ++i) labels.push_back(stem + std::to_string(i));
  return labels;
}

// [batch, heads, tgt_len, src_len]: in sample b, head h, query i attends only key
// (h + i + b) % src_len.
torch::Tensor one_hot(int64_t batch, int64_t heads, int64_t tgt_len, int64_t src_len) {
  auto weights = torch::zeros({batch, heads, tgt_len, src_len});
  auto a = weights.accessor<float, 4>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < tgt_len; ++i) a[b][h][i][(h + i + b) % src_len] = 1;
  return weights;
}

// Every pixel of every cell: the top colour where query i attends key (h + i + shift) % S,
// the bottom colour elsewhere.
::testing::AssertionResult cells_are_one_hot(const Image& image, const Layout& layout, int shift,
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
  const Image image = load(path("grid.png"));
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
  EXPECT_TRUE(cells_are_one_hot(load(path("grid.png")),
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
  EXPECT_TRUE(cells_are_one_hot(load(path("grid.png")), layout, 0, kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, BatchOptionPicksTheSample) {
  const auto weights = one_hot(3, 4, 6, 6);  // sample b is shifted by b
  const auto options = GridOptions().batch(2);
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  EXPECT_TRUE(cells_are_one_hot(load(path("grid.png")),
                                attnhook::detail::layout_attention_grid(weights, options), 2,
                                kViridisTop, kViridisBottom));
  // [heads, tgt_len, src_len] works too.
  attnhook::save_attention_grid(weights[1], path("rank3.png"));
  EXPECT_TRUE(cells_are_one_hot(load(path("rank3.png")),
                                attnhook::detail::layout_attention_grid(weights[1], {}), 1,
                                kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, HeadsOptionDrawsTheChosenHeadsInOrder) {
  const auto weights = one_hot(1, 5, 6, 6);
  const auto options = GridOptions().heads({3, 1});
  attnhook::save_attention_grid(weights, path("grid.png"), options);
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_EQ(layout.heads, (std::vector<int64_t>{3, 1}));
  EXPECT_TRUE(cells_are_one_hot(load(path("grid.png")), layout, 0, kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, MagmaAndGrayColormaps) {
  const auto weights = one_hot(1, 2, 5, 5);
  auto options = GridOptions().colormap(Colormap::kMagma);
  attnhook::save_attention_grid(weights, path("magma.png"), options);
  const Layout layout = attnhook::detail::layout_attention_grid(weights, options);
  EXPECT_TRUE(cells_are_one_hot(load(path("magma.png")), layout, 0, kMagmaTop, kMagmaBottom));
  options.colormap(Colormap::kGray);
  attnhook::save_attention_grid(weights, path("gray.png"), options);
  EXPECT_TRUE(
      cells_are_one_hot(load(path("gray.png")), layout, 0, Rgb{255, 255, 255}, Rgb{0, 0, 0}));
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
  const Image image = load(path("grid.png"));
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
  EXPECT_TRUE(cells_are_one_hot(load(path("default.png")), layout, 0, kViridisTop, kViridisBottom));

  const auto options = GridOptions().vmax(0.5);  // 0.25 is now mid-scale
  attnhook::save_attention_grid(weights, path("vmax.png"), options);
  const auto& table = colormap_table(Colormap::kViridis);
  EXPECT_TRUE(cells_are_one_hot(load(path("vmax.png")),
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
  const Image image = load(path("cross.png"));
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

  const Image image = load(path("labels.png"));
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
  const Image plain = load(path("bare.png"));
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
  const Image image = load(path("long.png"));
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
  const Image image = load(path("title.png"));
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
  EXPECT_TRUE(cells_are_one_hot(load(path("head2.png")), layout, 0, kViridisTop, kViridisBottom));

  const auto map = weights[0][1];  // [tgt_len, src_len]: query i attends key (1 + i) % 6
  attnhook::save_attention_heatmap(map, 0, path("map.png"));
  EXPECT_TRUE(cells_are_one_hot(load(path("map.png")),
                                attnhook::detail::layout_attention_heatmap(map, 0, {}), 1,
                                kViridisTop, kViridisBottom));
}

TEST_F(RenderTest, AnyFloatingDtypeAndLayoutDrawTheSame) {
  const auto weights = one_hot(2, 3, 5, 5);
  attnhook::save_attention_grid(weights, path("float.png"));
  const Image reference = load(path("float.png"));
  const std::vector<std::pair<std::string, torch::Tensor>> variants = {
      {"double", weights.to(torch::kDouble)},
      {"half", weights.to(torch::kHalf)},
      {"bfloat16", weights.to(torch::kBFloat16)},
      {"transposed", weights.transpose(2, 3).contiguous().transpose(2, 3)},
      {"requires_grad", weights.clone().requires_grad_(true)}};
  for (const auto& [name, variant] : variants) {
    attnhook::save_attention_grid(variant, path(name + ".png"));
    EXPECT_TRUE(load(path(name + ".png")) == reference) << name;
  }
}

TEST_F(RenderTest, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  attnhook::save_attention_grid(one_hot(1, 1, 3, 3), path("out.png"));
  attnhook::save_attention_grid(one_hot(1, 4, 3, 3), path("out.png"));
  EXPECT_EQ(files(), std::vector<std::string>{"out.png"});
  EXPECT_EQ(load(path("out.png")).width(),
            attnhook::detail::layout_attention_grid(one_hot(1, 4, 3, 3), {}).width);
}

// A copy of `tensor` with one element set to `value`.
torch::Tensor with_value(const torch::Tensor& tensor, const std::vector<int64_t>& index,
                         float value) {
  torch::Tensor copy = tensor.clone();
  int64_t flat = 0;
  for (size_t d = 0; d < index.size(); ++d) flat = flat * copy.size(d) + index[d];
  copy.view(-1)[flat] = value;
  return copy;
}

constexpr std::optional<int64_t> kGrid;  // save_attention_grid; a head: save_attention_heatmap

struct BadCall {
  std::string name;
  torch::Tensor weights;
  std::optional<int64_t> head;
  GridOptions options;
  std::vector<std::string> expected;  // substrings of the message
};

TEST_F(RenderTest, ErrorsNameTheBadValueAndWriteNothing) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const auto ok = torch::rand({2, 3, 4, 4});
  const auto cross = torch::rand({1, 2, 2, 5});
  const std::vector<BadCall> cases = {
      {"undefined", torch::Tensor(), kGrid, {}, {"undefined"}},
      {"rank 2 grid",
       torch::rand({4, 4}),
       kGrid,
       {},
       {"[batch, heads, tgt_len, src_len]", "got shape [4, 4]"}},
      {"rank 5", torch::rand({1, 1, 2, 2, 2}), kGrid, {}, {"got shape [1, 1, 2, 2, 2]"}},
      {"rank 1 heatmap", torch::rand({4}), 0, {}, {"[tgt_len, src_len]", "got shape [4]"}},
      {"empty", torch::rand({1, 2, 0, 3}), kGrid, {}, {"empty", "[1, 2, 0, 3]"}},
      {"integer", torch::ones({2, 3, 3}, torch::kLong), kGrid, {}, {"floating-point", "Long"}},
      {"batch too big",
       ok,
       kGrid,
       GridOptions().batch(2),
       {"batch 2", "[2, 3, 4, 4]", "batch size 2"}},
      {"batch negative", ok, kGrid, GridOptions().batch(-1), {"batch -1"}},
      {"batch of rank 3", ok[0], kGrid, GridOptions().batch(1), {"batch 1", "no batch dimension"}},
      {"head too big", ok, 3, {}, {"head 3", "[2, 3, 4, 4]", "3 heads"}},
      {"head negative", ok, -1, {}, {"head -1"}},
      {"heads option", ok, kGrid, GridOptions().heads({0, 5}), {"head 5", "[2, 3, 4, 4]"}},
      {"head of a map", ok[0][0], 1, {}, {"head 1", "[4, 4]", "1 head)"}},
      {"tokens",
       ok,
       kGrid,
       GridOptions().tokens(words(3)),
       {"tokens has 3 labels", "tgt_len (rows) is 4"}},
      {"tgt_tokens",
       cross,
       kGrid,
       GridOptions().tgt_tokens(words(3)).src_tokens(words(5)),
       {"tgt_tokens has 3 labels", "tgt_len (rows) is 2"}},
      {"src_tokens",
       cross,
       kGrid,
       GridOptions().tgt_tokens(words(2)).src_tokens(words(4)),
       {"src_tokens has 4 labels", "src_len (columns) is 5"}},
      {"tokens for cross",
       cross,
       kGrid,
       GridOptions().tokens(words(2)),
       {"tokens has 2 labels", "src_len (columns) is 5", "tgt_tokens and src_tokens"}},
      {"nan", with_value(ok, {0, 1, 2, 3}, nan), kGrid, {}, {"weights[0, 1, 2, 3] is nan"}},
      {"inf rank 3", with_value(ok[0], {1, 0, 2}, inf), kGrid, {}, {"weights[1, 0, 2] is inf"}},
      {"-inf heatmap",
       with_value(ok, {1, 2, 3, 0}, -inf),
       2,
       GridOptions().batch(1),
       {"weights[1, 2, 3, 0] is -inf"}},
      {"vmin >= vmax", ok, kGrid, GridOptions().vmin(0.5).vmax(0.25), {"vmax 0.25", "vmin 0.5"}},
      {"vmin nan", ok, kGrid, GridOptions().vmin(nan), {"vmin nan"}},
      {"columns", ok, kGrid, GridOptions().columns(-1), {"columns -1"}},
      {"cell_size", ok, kGrid, GridOptions().cell_size(-2), {"cell_size -2"}},
      {"too large", ok, kGrid, GridOptions().cell_size(20000), {"80000 pixels", "cell_size"}},
  };
  const std::string target = path("out.png");
  for (const auto& bad : cases) {
    try {
      if (bad.head) {
        attnhook::save_attention_heatmap(bad.weights, *bad.head, target, bad.options);
      } else {
        attnhook::save_attention_grid(bad.weights, target, bad.options);
      }
      ADD_FAILURE() << bad.name << ": no error";
    } catch (const attnhook::Error& e) {
      for (const auto& part : bad.expected)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
            << bad.name << ": '" << e.what() << "' lacks '" << part << "'";
    }
    EXPECT_FALSE(fs::exists(target)) << bad.name;
    EXPECT_TRUE(files().empty()) << bad.name << ": left " << files().front();
  }
}

TEST_F(RenderTest, AnErrorLeavesAnExistingFileAsItWas) {
  { std::ofstream(path("out.png")) << "previous picture"; }
  const auto weights = one_hot(1, 2, 3, 3);
  EXPECT_THROW(
      attnhook::save_attention_grid(weights, path("out.png"), GridOptions().tokens(words(2))),
      attnhook::Error);
  EXPECT_THROW(attnhook::save_attention_heatmap(weights, 7, path("out.png")), attnhook::Error);
  std::ifstream in(path("out.png"));
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "previous picture");
  EXPECT_EQ(files(), std::vector<std::string>{"out.png"});
}

TEST_F(RenderTest, UnwritablePathIsAnErrorNamingThePath) {
  const auto weights = one_hot(1, 2, 3, 3);
  const std::string missing = path("no/such/dir/out.png");
  try {
    attnhook::save_attention_grid(weights, missing);
    ADD_FAILURE() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + missing + "'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(files().empty());

  fs::create_directory(path("a_directory"));  // the rename fails: no temporary file stays
  try {
    attnhook::save_attention_grid(weights, path("a_directory"));
    ADD_FAILURE() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path("a_directory")), std::string::npos) << e.what();
  }
  EXPECT_EQ(files(), std::vector<std::string>{"a_directory"});
  EXPECT_TRUE(fs::is_empty(path("a_directory")));

  try {
    attnhook::save_attention_grid(weights, "");
    ADD_FAILURE() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_NE(std::string(e.what()).find("path is empty"), std::string::npos) << e.what();
  }
}

}  // namespace

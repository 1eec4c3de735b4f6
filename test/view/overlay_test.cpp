// Attention overlays with known answers: weights built so that the query attends one known
// patch, drawn over a PNG or JPEG picture, the PNG read back with CImg, and the colour the
// overlay laid over each pixel recovered from out = (1 - alpha) * picture + alpha * colour
// with the picture as CImg decodes it. Patch pixels are computed by hand here (16-pixel
// patches), not taken from the code under test.
#include "overlay.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "overlay_testing.h"

namespace attnhook_test {
namespace {

using attnhook::Interpolation;
using attnhook::OverlayOptions;
using attnhook::detail::FloatArray;
using attnhook::detail::OverlayLayout;
using attnhook::detail::Rect;
using OverlayTest = TempDirTest;

constexpr double kAlpha = 0.5;  // the default

// 4 x 4 patches after a class token (17 keys); the class token gives 0.9 to patch (2, 3)
// (key 1 + 2 * 4 + 3 = 12) and 0.1 to itself.
FloatArray class_token_on_patch_2_3() {
  return weights_of({1, 1, 17, 17}, {{0, 0, 0, 12, 0.9f}, {0, 0, 0, 0, 0.1f}});
}

struct Box {
  int x0, y0, x1, y1;  // [x0, x1) x [y0, y1), in panel pixels
  bool contains(int x, int y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};
Box patch_box(int row, int column, int patch_pixels = 16) {
  return {column * patch_pixels, row * patch_pixels, (column + 1) * patch_pixels,
          (row + 1) * patch_pixels};
}

// The colours laid over the panel at `panel` of `out`, whose picture is `input` itself.
std::vector<std::vector<Colour>> laid(const Picture& out, const Rect& panel, const Picture& input,
                                      double alpha = kAlpha) {
  EXPECT_EQ(panel.width, input.width());
  EXPECT_EQ(panel.height, input.height());
  std::vector<std::vector<Colour>> colours(panel.height, std::vector<Colour>(panel.width));
  for (int y = 0; y < panel.height; ++y)
    for (int x = 0; x < panel.width; ++x)
      colours[y][x] = laid_colour(out, panel.x + x, panel.y + y, input, x, y, alpha);
  return colours;
}

// The attended patch is the bright area: the brightest pixel, and every pixel brighter than
// halfway between viridis' ends, lie in `bright`; patches two or more away from it carry
// the bottom colour (bilinear reaches only the neighbours' centres).
void expect_bright_area(const std::vector<std::vector<Colour>>& colours, int row, int column,
                        int tolerance) {
  const Box bright = patch_box(row, column);
  const double halfway = (luma(kViridisBottom) + luma(kViridisTop)) / 2;
  int brightest_x = 0, brightest_y = 0, bright_pixels = 0, far_checked = 0;
  for (int y = 0; y < static_cast<int>(colours.size()); ++y)
    for (int x = 0; x < static_cast<int>(colours[y].size()); ++x) {
      const Colour& c = colours[y][x];
      if (luma(c) > luma(colours[brightest_y][brightest_x])) brightest_x = x, brightest_y = y;
      if (luma(c) > halfway) {
        ++bright_pixels;
        EXPECT_TRUE(bright.contains(x, y))
            << "bright pixel outside the patch at " << x << ", " << y;
      }
      if (std::abs(y / 16 - row) >= 2 || std::abs(x / 16 - column) >= 2) {
        ++far_checked;
        EXPECT_LE(distance(c, kViridisBottom), tolerance)
            << "at " << x << ", " << y << ": " << describe(c);
      }
    }
  EXPECT_TRUE(bright.contains(brightest_x, brightest_y)) << brightest_x << ", " << brightest_y;
  EXPECT_GE(bright_pixels, 8 * 8);  // at least the patch's middle
  EXPECT_GT(far_checked, 0);
}

TEST_F(OverlayTest, ClassTokenOnOnePatchOfAPngIsTheBrightArea) {
  const Picture input = test_picture(64, 64);
  input.save_png(path("in.png").c_str());
  const auto weights = class_token_on_patch_2_3();
  const auto options = OverlayOptions().image_size(64);  // grid automatic: 4 x 4 after 1 prefix
  attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"), options);
  const OverlayLayout layout = attnhook::detail::overlay_layout(weights, 64, 64, options);
  ASSERT_EQ(layout.panels.size(), 1u);
  EXPECT_EQ(layout.query.grid_rows, 4);
  EXPECT_EQ(layout.query.grid_columns, 4);
  EXPECT_FALSE(layout.query.patch);  // the class token is no patch: nothing outlined
  const Picture out = load_png(path("out.png"));
  ASSERT_EQ(out.width(), layout.width);
  expect_bright_area(laid(out, layout.panels[0], input), 2, 3, 3);
}

TEST_F(OverlayTest, ClassTokenOnOnePatchOfAJpegIsTheBrightArea) {
  test_picture(64, 64).save_jpeg(path("in.jpg").c_str(), 95);
  const Picture input = load_jpeg(path("in.jpg"));  // what the JPEG holds, decoded by CImg
  const auto weights = class_token_on_patch_2_3();
  const auto options = OverlayOptions().image_size(64);
  attnhook::detail::save_overlay(weights, path("in.jpg"), path("out.png"), options);
  const OverlayLayout layout = attnhook::detail::overlay_layout(weights, 64, 64, options);
  expect_bright_area(laid(load_png(path("out.png")), layout.panels[0], input), 2, 3, 3);
}

// kNearest: every pixel of a patch carries its weight's colour exactly, at any opacity
// (out is rounded to 8 bits: recovering the colour at alpha 0.3 amplifies that by 3.3).
TEST_F(OverlayTest, NearestColoursEachPatchFlat) {
  const Picture input = test_picture(64, 64);
  input.save_png(path("in.png").c_str());
  const auto weights = class_token_on_patch_2_3();
  for (const double alpha : {0.5, 0.3, 1.0}) {
    const auto options =
        OverlayOptions().image_size(64).interpolation(Interpolation::kNearest).alpha(alpha);
    attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"), options);
    const auto layout = attnhook::detail::overlay_layout(weights, 64, 64, options);
    const auto colours = laid(load_png(path("out.png")), layout.panels[0], input, alpha);
    const Box bright = patch_box(2, 3);
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x)
        ASSERT_LE(distance(colours[y][x], bright.contains(x, y) ? kViridisTop : kViridisBottom),
                  alpha < 0.5 ? 4 : 3)
            << "alpha " << alpha << " at " << x << ", " << y << ": " << describe(colours[y][x]);
  }
  // alpha 0: the picture itself.
  attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"),
                                 OverlayOptions().image_size(64).alpha(0));
  const auto layout =
      attnhook::detail::overlay_layout(weights, 64, 64, OverlayOptions().image_size(64));
  const Picture out = load_png(path("out.png"));
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      ASSERT_EQ(at(out, layout.panels[0].x + x, layout.panels[0].y + y), at(input, x, y));
}

// A 2 x 4 grid without prefix tokens over a 128 x 64 picture (32-pixel patches), one
// query of cross-attention on key 6 = patch (1, 2).
TEST_F(OverlayTest, RectangularGridWithoutPrefixTokens) {
  const Picture input = test_picture(128, 64);
  input.save_png(path("in.png").c_str());
  const auto weights = weights_of({1, 1, 1, 8}, {{0, 0, 0, 6, 0.7f}, {0, 0, 0, 0, 0.1f}});
  const auto options =
      OverlayOptions().patch_grid(2, 4).prefix_tokens(0).image_size(128).interpolation(
          Interpolation::kNearest);
  attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"), options);
  const auto layout = attnhook::detail::overlay_layout(weights, 128, 64, options);
  EXPECT_FALSE(layout.query.patch);  // cross-attention: the query is no patch
  const auto colours = laid(load_png(path("out.png")), layout.panels[0], input);
  const Box bright = patch_box(1, 2, 32);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 128; ++x) {
      if (x < 32 && y < 32) continue;  // patch (0, 0), key 0's 0.1: neither end of the scale
      ASSERT_LE(distance(colours[y][x], bright.contains(x, y) ? kViridisTop : kViridisBottom), 3)
          << x << ", " << y << ": " << describe(colours[y][x]);
    }
}

// Mean luma of the laid colours over each 16-pixel patch of a 4 x 4 grid; the brightest.
std::pair<int, int> brightest_patch(const std::vector<std::vector<Colour>>& colours) {
  double best = -1;
  std::pair<int, int> where{-1, -1};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      double sum = 0;
      for (int y = r * 16; y < r * 16 + 16; ++y)
        for (int x = c * 16; x < c * 16 + 16; ++x) sum += luma(colours[y][x]);
      if (sum > best) best = sum, where = {r, c};
    }
  return where;
}

// Two heads whose mean looks somewhere neither head looks most: patch A = (0, 0) (key 1),
// B = (0, 3) (key 4), C = (3, 1) (key 14). Head 0: A 0.5, C 0.4, B 0.1; head 1: B 0.5,
// C 0.4, A 0.1; the mean: A 0.3, B 0.3, C 0.4.
FloatArray two_heads() {
  return weights_of({1, 2, 17, 17}, {{0, 0, 0, 1, 0.5f},
                                     {0, 0, 0, 14, 0.4f},
                                     {0, 0, 0, 4, 0.1f},
                                     {0, 1, 0, 4, 0.5f},
                                     {0, 1, 0, 14, 0.4f},
                                     {0, 1, 0, 1, 0.1f}});
}

class OverlayHeadsTest : public OverlayTest {
 protected:
  void SetUp() override {
    OverlayTest::SetUp();
    input_ = test_picture(64, 64);
    input_.save_png(path("in.png").c_str());
  }
  // Draws with `options` (+ 64 pixels, nearest) and returns each panel's laid colours.
  std::vector<std::vector<std::vector<Colour>>> draw(OverlayOptions options, OverlayLayout* out) {
    options.image_size(64).interpolation(Interpolation::kNearest);
    attnhook::detail::save_overlay(two_heads(), path("in.png"), path("out.png"), options);
    *out = attnhook::detail::overlay_layout(two_heads(), 64, 64, options);
    const Picture picture = load_png(path("out.png"));
    std::vector<std::vector<std::vector<Colour>>> panels;
    for (const Rect& panel : out->panels) panels.push_back(laid(picture, panel, input_));
    return panels;
  }
  Picture input_;
};

TEST_F(OverlayHeadsTest, TheMeanOfHeadsIsTheDefault) {
  OverlayLayout layout;
  const auto panels = draw(OverlayOptions(), &layout);
  ASSERT_EQ(panels.size(), 1u);
  EXPECT_EQ(layout.heads, std::vector<int64_t>{OverlayOptions::kMeanOfHeads});
  EXPECT_EQ(brightest_patch(panels[0]), std::make_pair(3, 1));         // C
  EXPECT_LE(distance(panels[0][3 * 16 + 8][16 + 8], kViridisTop), 3);  // 0.4 tops the scale
}

TEST_F(OverlayHeadsTest, OneHead) {
  OverlayLayout layout;
  EXPECT_EQ(brightest_patch(draw(OverlayOptions().head(0), &layout)[0]), std::make_pair(0, 0));
  EXPECT_EQ(brightest_patch(draw(OverlayOptions().head(1), &layout)[0]), std::make_pair(0, 3));
}

TEST_F(OverlayHeadsTest, AllHeadsThenTheirMeanEachOnItsOwnScale) {
  OverlayLayout layout;
  const auto panels = draw(OverlayOptions().head(OverlayOptions::kAllHeads), &layout);
  ASSERT_EQ(panels.size(), 3u);
  EXPECT_EQ(layout.heads, (std::vector<int64_t>{0, 1, OverlayOptions::kMeanOfHeads}));
  EXPECT_EQ(brightest_patch(panels[0]), std::make_pair(0, 0));
  EXPECT_EQ(brightest_patch(panels[1]), std::make_pair(0, 3));
  EXPECT_EQ(brightest_patch(panels[2]), std::make_pair(3, 1));
  // Own scales: the mean's 0.4 is its top; the colorbar reads shares, 0..1.
  EXPECT_LE(distance(panels[2][3 * 16 + 8][16 + 8], kViridisTop), 3);
  EXPECT_EQ(layout.vmin, 0);
  EXPECT_EQ(layout.vmax, 1);
}

TEST_F(OverlayHeadsTest, AllHeadsOnOneSharedScale) {
  OverlayLayout layout;
  const auto panels =
      draw(OverlayOptions().head(OverlayOptions::kAllHeads).shared_scale(true), &layout);
  ASSERT_EQ(panels.size(), 3u);
  EXPECT_DOUBLE_EQ(layout.vmax, 0.5);
  // The mean's 0.4 is 0.8 of the shared scale: viridis(0.8) = #7ad151.
  EXPECT_LE(distance(panels[2][3 * 16 + 8][16 + 8], Colour{122, 209, 81}), 3)
      << describe(panels[2][3 * 16 + 8][16 + 8]);
  EXPECT_LE(distance(panels[0][8][8], kViridisTop), 3);  // head 0's 0.5 tops it
}

// A patch query (patch-to-patch map): the query patch is outlined, white 2 pixels wide
// along the inside of its edge, black 1 pixel around it.
void expect_outline(const Picture& out, const Rect& panel, int row, int column) {
  const Box patch = patch_box(row, column);
  auto colour = [&](int x, int y) { return at(out, panel.x + x, panel.y + y); };
  const Colour white{255, 255, 255}, black{0, 0, 0};
  for (int k = patch.x0; k < patch.x1; ++k) {
    for (int y : {patch.y0, patch.y0 + 1, patch.y1 - 2, patch.y1 - 1})
      EXPECT_EQ(colour(k, y), white) << k << ", " << y;
    for (int x : {patch.x0, patch.x0 + 1, patch.x1 - 2, patch.x1 - 1})
      EXPECT_EQ(colour(x, patch.y0 + (k - patch.x0)), white) << x;
    EXPECT_EQ(colour(k, patch.y0 - 1), black) << k;
    EXPECT_EQ(colour(k, patch.y1), black) << k;
    EXPECT_EQ(colour(patch.x0 - 1, patch.y0 + (k - patch.x0)), black);
    EXPECT_EQ(colour(patch.x1, patch.y0 + (k - patch.x0)), black);
  }
  // Inside the line and elsewhere: the blended picture, never pure white.
  int white_pixels = 0;
  for (int y = 0; y < panel.height; ++y)
    for (int x = 0; x < panel.width; ++x) white_pixels += colour(x, y) == white;
  EXPECT_EQ(white_pixels, 4 * 16 + 4 * 12);  // two rings: 60 + 52 pixels
  EXPECT_NE(colour(patch.x0 + 2, patch.y0 + 2), white);
}

TEST_F(OverlayTest, QueryPatchIsOutlinedAndItsMapDrawn) {
  const Picture input = test_picture(64, 64);
  input.save_png(path("in.png").c_str());
  // Self-attention: patch (1, 1) is token 1 + 4 + 1 = 6; it attends patch (2, 3).
  const auto weights = weights_of({1, 1, 17, 17}, {{0, 0, 6, 12, 0.9f}, {0, 0, 0, 1, 1.0f}});
  for (const auto& options : {OverlayOptions().image_size(64).query_patch(1, 1),
                              OverlayOptions().image_size(64).query_token(6)}) {
    attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"), options);
    const auto layout = attnhook::detail::overlay_layout(weights, 64, 64, options);
    ASSERT_TRUE(layout.query.patch);
    EXPECT_EQ(*layout.query.patch, std::make_pair(int64_t{1}, int64_t{1}));
    EXPECT_EQ(layout.query.token, 6);
    const Picture out = load_png(path("out.png"));
    expect_outline(out, layout.panels[0], 1, 1);
    // The map is query 6's, not the class token's (which looks at patch (0, 0)).
    const Rect& panel = layout.panels[0];
    const Colour far = laid_colour(out, panel.x + 4, panel.y + 4, input, 4, 4, kAlpha);
    EXPECT_LE(distance(far, kViridisBottom), 3) << describe(far);
    const Colour peak = laid_colour(out, panel.x + 56, panel.y + 40, input, 56, 40, kAlpha);
    EXPECT_GT(luma(peak), (luma(kViridisBottom) + luma(kViridisTop)) / 2) << describe(peak);
  }
}

TEST_F(OverlayTest, BatchAndRankThree) {
  const Picture input = test_picture(64, 64);
  input.save_png(path("in.png").c_str());
  // Sample 0's class token looks at patch (2, 3) (key 12), sample 1's at (1, 1) (key 6).
  const auto weights = weights_of({2, 1, 17, 17}, {{0, 0, 0, 12, 1.0f}, {1, 0, 0, 6, 1.0f}});
  const auto options = OverlayOptions().image_size(64).interpolation(Interpolation::kNearest);
  attnhook::detail::save_overlay(weights, path("in.png"), path("out.png"),
                                 OverlayOptions(options).batch(1));
  const auto layout = attnhook::detail::overlay_layout(weights, 64, 64, options);
  EXPECT_EQ(brightest_patch(laid(load_png(path("out.png")), layout.panels[0], input)),
            std::make_pair(1, 1));
  // [heads, tgt_len, src_len]: sample 1 alone.
  attnhook::detail::save_overlay(weights[1], path("in.png"), path("out3.png"), options);
  EXPECT_EQ(brightest_patch(laid(load_png(path("out3.png")), layout.panels[0], input)),
            std::make_pair(1, 1));
}

TEST_F(OverlayTest, AutomaticImageSize) {
  const auto weights = class_token_on_patch_2_3();
  auto layout = attnhook::detail::overlay_layout(weights, 300, 200, OverlayOptions());
  EXPECT_EQ(layout.image_width, 320);  // enlarged to 320 on the longer side
  EXPECT_EQ(layout.image_height, 213);
  layout = attnhook::detail::overlay_layout(weights, 1600, 1200, OverlayOptions());
  EXPECT_EQ(layout.image_width, 640);
  EXPECT_EQ(layout.image_height, 480);
  layout = attnhook::detail::overlay_layout(two_heads(), 300, 200,
                                            OverlayOptions().head(OverlayOptions::kAllHeads));
  EXPECT_EQ(layout.image_width, 300);  // within 160..320: kept
  EXPECT_EQ(layout.columns, 2);        // 3 panels: ceil(sqrt(3))
}

// torch.nn.functional.interpolate(x, size=(4, 4), mode=..., align_corners=False) of
// [[0, 1], [2, 3]], worked by hand: bilinear samples at (i + 0.5) / 2 - 0.5 = -0.25
// (clamped to 0), 0.25, 0.75, 1.25 (the last between 1 and the clamped 1).
TEST(OverlayUpsample, BilinearAndNearestAsPyTorch) {
  const float map[] = {0, 1, 2, 3};
  const std::vector<float> bilinear =
      attnhook::detail::upsample(map, 2, 2, 4, 4, Interpolation::kBilinear);
  const std::vector<float> expected = {0,   0.25, 0.75, 1,   0.5, 0.75, 1.25, 1.5,
                                       1.5, 1.75, 2.25, 2.5, 2,   2.25, 2.75, 3};
  for (size_t n = 0; n < expected.size(); ++n) EXPECT_FLOAT_EQ(bilinear[n], expected[n]) << n;
  const std::vector<float> nearest =
      attnhook::detail::upsample(map, 2, 2, 4, 4, Interpolation::kNearest);
  EXPECT_EQ(nearest, (std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3}));
}

// Bicubic's weights sum to 1, so a flat map stays flat. One row [0, 0, 1, 0] to 8 pixels:
// pixel x samples at (x + 0.5) / 2 - 0.5 with weights W(1 + t), W(t), W(1 - t), W(2 - t) on
// keys floor - 1 .. floor + 2 (clamped), W PyTorch's cubic convolution with A = -0.75:
// W(x) = 1.25 x^3 - 2.25 x^2 + 1 (x <= 1), -0.75 x^3 + 3.75 x^2 - 6 x + 3 (1 < x < 2).
TEST(OverlayUpsample, BicubicAsPyTorch) {
  const std::vector<float> flat(6 * 6, 0.25f);
  for (float v : attnhook::detail::upsample(flat.data(), 6, 6, 48, 48, Interpolation::kBicubic))
    ASSERT_NEAR(v, 0.25f, 1e-6);
  const float row[] = {0, 0, 1, 0};
  const auto up = attnhook::detail::upsample(row, 1, 4, 8, 1, Interpolation::kBicubic);
  EXPECT_NEAR(up[2], -0.10546875, 1e-6);  // at 0.75: key 2 is floor + 2, W(1.25)
  EXPECT_NEAR(up[3], 0.26171875, 1e-6);   // at 1.25: key 2 is floor + 1, W(0.75)
  EXPECT_NEAR(up[4], 0.87890625, 1e-6);   // at 1.75: W(0.25)
}

}  // namespace
}  // namespace attnhook_test

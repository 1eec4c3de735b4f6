// The README's overlay picture (demo/images/overlay.png): a landscape drawn here (nothing
// downloaded) and a toy ViT's class-token attention with one head for each thing in it,
// each head a softmax over the 14 x 14 patches of a feature computed from the picture.
// The test checks that each head's panel is brightest on its thing; with
// ATTNHOOK_README_PICTURE=<path> it also writes the picture there (from the repository:
//   ATTNHOOK_README_PICTURE=$PWD/demo/images/overlay.png
//   build/test/view/attnhook_view_tests --gtest_filter='OverlayPicture*').
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "overlay.h"
#include "overlay_testing.h"

namespace attnhook_test {
namespace {

using attnhook::OverlayOptions;
using attnhook::detail::FloatArray;

constexpr int kSide = 224, kPatch = 16, kGrid = kSide / kPatch;  // ViT-B/16's input

// Sky, sun, hills, a red-roofed house and a tree, with a little grain.
Picture landscape() {
  Picture p(kSide, kSide, 1, 3);
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      const double t = y / 130.0;
      p(x, y, 0, 0) = static_cast<unsigned char>(110 + 100 * t);
      p(x, y, 0, 1) = static_cast<unsigned char>(160 + 70 * t);
      p(x, y, 0, 2) = static_cast<unsigned char>(235 - 10 * t);
    }
  const unsigned char sun[] = {255, 222, 90}, far_hill[] = {96, 150, 82}, hill[] = {62, 128, 52},
                      wall[] = {226, 208, 168}, roof[] = {178, 40, 34}, door[] = {92, 60, 40},
                      window[] = {120, 170, 210}, trunk[] = {96, 64, 38}, leaves[] = {40, 100, 44};
  p.draw_circle(176, 44, 22, sun);
  for (int x = 0; x < kSide; ++x) {  // two rolling hills
    const int far_top = static_cast<int>(128 + 10 * std::sin(x / 30.0));
    const int near_top = static_cast<int>(150 + 14 * std::sin(x / 45.0 + 2));
    p.draw_line(x, far_top, x, kSide - 1, far_hill);
    p.draw_line(x, near_top, x, kSide - 1, hill);
  }
  p.draw_rectangle(40, 128, 104, 184, wall);
  p.draw_triangle(30, 130, 114, 130, 72, 92, roof);
  p.draw_rectangle(64, 152, 80, 184, door);
  p.draw_rectangle(46, 140, 58, 152, window).draw_rectangle(86, 140, 98, 152, window);
  p.draw_rectangle(166, 120, 174, 178, trunk);
  p.draw_circle(170, 108, 24, leaves);
  cimg_library::CImg<float> photo(p);
  cimg_library::CImg<float> grain(kSide, kSide, 1, 3);
  cimg_library::cimg::srand(7);  // the same picture every run
  grain.rand(-6, 6);
  photo += grain;
  return Picture(photo.blur(0.6f).cut(0, 255));
}

struct PatchColours {
  std::vector<double> red, green, blue;  // mean of each patch, row-major
};
PatchColours patch_colours(const Picture& p) {
  PatchColours c;
  for (int r = 0; r < kGrid; ++r)
    for (int col = 0; col < kGrid; ++col) {
      double sum[3] = {0, 0, 0};
      for (int y = r * kPatch; y < (r + 1) * kPatch; ++y)
        for (int x = col * kPatch; x < (col + 1) * kPatch; ++x)
          for (int k = 0; k < 3; ++k) sum[k] += p(x, y, 0, k);
      c.red.push_back(sum[0] / (kPatch * kPatch));
      c.green.push_back(sum[1] / (kPatch * kPatch));
      c.blue.push_back(sum[2] / (kPatch * kPatch));
    }
  return c;
}

// [1, heads, 1 + 196, 1 + 196]: only the class token's row is filled, 0.1 on itself and
// 0.9 spread over the patches by softmax(sharpness * feature).
FloatArray toy_vit(const PatchColours& c) {
  const int patches = kGrid * kGrid, keys = 1 + patches;
  std::vector<std::vector<double>> features(4, std::vector<double>(patches));
  for (int n = 0; n < patches; ++n) {
    features[0][n] = (c.red[n] - (c.green[n] + c.blue[n]) / 2) / 40;  // red: the roof
    features[1][n] = (c.red[n] + c.green[n] - 2 * c.blue[n]) / 40;    // yellow: the sun
    features[2][n] = -(c.red[n] + c.green[n] + c.blue[n]) / 40;       // dark: the tree
    features[3][n] = (c.blue[n] - (c.red[n] + c.green[n]) / 2) / 40;  // blue: the sky
  }
  std::vector<float> weights(4 * keys * keys, 0.0f);
  for (int h = 0; h < 4; ++h) {
    const double top = *std::max_element(features[h].begin(), features[h].end());
    double sum = 0;
    for (double f : features[h]) sum += std::exp(2 * (f - top));
    float* row = weights.data() + h * keys * keys;  // query 0, the class token
    row[0] = 0.1f;
    for (int n = 0; n < patches; ++n)
      row[1 + n] = static_cast<float>(0.9 * std::exp(2 * (features[h][n] - top)) / sum);
  }
  return FloatArray({1, 4, keys, keys}, std::move(weights));
}

using OverlayPictureTest = TempDirTest;

TEST_F(OverlayPictureTest, EachHeadIsBrightestOnItsThing) {
  const Picture picture = landscape();
  picture.save_jpeg(path("landscape.jpg").c_str(), 92);
  const FloatArray weights = toy_vit(patch_colours(picture));
  const auto options = OverlayOptions()
                           .head(OverlayOptions::kAllHeads)
                           .image_size(kSide)
                           .columns(5)
                           .title("class token attention of a toy 4-head ViT, 16-pixel patches");
  attnhook::detail::save_overlay(weights, path("landscape.jpg"), path("overlay.png"), options);
  if (const char* readme = std::getenv("ATTNHOOK_README_PICTURE"))
    attnhook::detail::save_overlay(weights, path("landscape.jpg"), readme, options);

  const auto layout = attnhook::detail::overlay_layout(weights, kSide, kSide, options);
  ASSERT_EQ(layout.heads, (std::vector<int64_t>{0, 1, 2, 3, OverlayOptions::kMeanOfHeads}));
  const Picture out = load_png(path("overlay.png"));
  const Picture input = load_jpeg(path("landscape.jpg"));
  // Where each head's strongest patch must be, from how the landscape was drawn.
  struct Thing {
    const char* name;
    int x0, y0, x1, y1;  // pixels
  };
  const Thing things[] = {{"the roof", 30, 92, 115, 131},
                          {"the sun", 154, 22, 199, 67},
                          {"the tree", 146, 84, 195, 179},
                          {"the sky", 0, 0, 224, 128}};
  for (int h = 0; h < 4; ++h) {
    const auto& panel = layout.panels[h];
    int best_x = 0, best_y = 0;
    double best = -1;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const double l =
            luma(laid_colour(out, panel.x + x, panel.y + y, input, x, y, options.alpha()));
        if (l > best) best = l, best_x = x, best_y = y;
      }
    const Thing& t = things[h];
    EXPECT_TRUE(best_x >= t.x0 && best_x < t.x1 && best_y >= t.y0 && best_y < t.y1)
        << "head " << h << " is brightest at " << best_x << ", " << best_y << ", not on " << t.name;
  }
}

}  // namespace
}  // namespace attnhook_test

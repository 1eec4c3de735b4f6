// The at::Tensor overlay API (attnhook::save_attention_overlay) and the map's enlargement
// checked against PyTorch's own torch::nn::functional::interpolate.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "attnhook/render.h"
#include "overlay.h"
#include "png_testing.h"

namespace attnhook_test {
namespace {

namespace F = torch::nn::functional;
using attnhook::Interpolation;
using attnhook::OverlayOptions;
using RenderOverlayTest = TempDirTest;

torch::Tensor interpolate(const torch::Tensor& map, int width, int height, Interpolation method) {
  const torch::Tensor input = map.view({1, 1, map.size(0), map.size(1)});
  // F::interpolate's nearest-exact warns about align_corners on every call: its kernel direct.
  if (method == Interpolation::kNearest)
    return at::_upsample_nearest_exact2d(input, {height, width}).view({height, width});
  auto options = F::InterpolateFuncOptions()
                     .size(std::vector<int64_t>{height, width})
                     .mode(method == Interpolation::kBicubic
                               ? F::InterpolateFuncOptions::mode_t(torch::kBicubic)
                               : torch::kBilinear)
                     .align_corners(false);
  return F::interpolate(input, options).view({height, width});
}

TEST(OverlayUpsampleVsPyTorch, EveryMethodAndSize) {
  torch::manual_seed(3);
  struct Size {
    int64_t rows, columns;
    int width, height;
  };
  // ViT-B/16 at 224, rectangular grids, odd ratios, shrinking.
  const Size sizes[] = {{14, 14, 224, 224}, {7, 5, 50, 33}, {3, 3, 13, 8},
                        {14, 14, 10, 9},    {1, 4, 9, 1},   {24, 24, 320, 320}};
  for (const Size& s : sizes)
    for (Interpolation method :
         {Interpolation::kBilinear, Interpolation::kBicubic, Interpolation::kNearest}) {
      const torch::Tensor map = torch::rand({s.rows, s.columns});
      const torch::Tensor expected = interpolate(map, s.width, s.height, method);
      const std::vector<float> ours = attnhook::detail::upsample(
          map.data_ptr<float>(), s.rows, s.columns, s.width, s.height, method);
      const torch::Tensor got =
          torch::from_blob(const_cast<float*>(ours.data()), {s.height, s.width}, torch::kFloat);
      EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-5))
          << s.rows << "x" << s.columns << " -> " << s.width << "x" << s.height << ", method "
          << static_cast<int>(method) << ": largest difference "
          << (got - expected).abs().max().item<float>();
    }
}

// [1, 2, 17, 17]: both heads' class tokens look at patch (2, 3) of a 4 x 4 grid.
torch::Tensor vit_weights() {
  auto weights = torch::zeros({1, 2, 17, 17}, torch::kDouble);
  weights.index_put_({0, torch::indexing::Slice(), 0, 12}, 0.9);
  weights.index_put_({0, torch::indexing::Slice(), 0, 0}, 0.1);
  return weights;
}

// A 48 x 32 picture as uint8 [height, width, 3].
torch::Tensor picture() {
  auto image = torch::empty({32, 48, 3}, torch::kByte);
  auto a = image.accessor<uint8_t, 3>();
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 48; ++x) {
      a[y][x][0] = static_cast<uint8_t>(40 + 3 * x);
      a[y][x][1] = static_cast<uint8_t>(40 + 4 * y);
      a[y][x][2] = 120;
    }
  return image;
}

Picture as_cimg(const torch::Tensor& hwc) {
  Picture image(static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)), 1, 3);
  auto a = hwc.accessor<uint8_t, 3>();
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      for (int c = 0; c < 3; ++c) image(x, y, 0, c) = a[y][x][c];
  return image;
}

bool same_pixels(const Picture& a, const Picture& b) {
  return a.width() == b.width() && a.height() == b.height() && a == b;
}

// The image given as a file or as a tensor in each layout: the same picture.
TEST_F(RenderOverlayTest, ImageTensorsInEveryLayoutMatchTheFile) {
  const torch::Tensor hwc = picture();
  as_cimg(hwc).save_png(path("in.png").c_str());
  const auto options = OverlayOptions().head(OverlayOptions::kAllHeads);
  attnhook::save_attention_overlay(vit_weights(), path("in.png"), path("file.png"), options);
  const Picture reference = load_png(path("file.png"));
  const torch::Tensor chw_float = hwc.permute({2, 0, 1}).to(torch::kFloat) / 255;
  const std::vector<std::pair<std::string, torch::Tensor>> images = {
      {"uint8 [h, w, 3]", hwc},
      {"uint8 [3, h, w]", hwc.permute({2, 0, 1})},
      {"float [3, h, w]", chw_float},
      {"double [h, w, 3]", hwc.to(torch::kDouble) / 255},
  };
  for (const auto& [name, image] : images) {
    attnhook::save_attention_overlay(vit_weights(), image, path("tensor.png"), options);
    EXPECT_TRUE(same_pixels(load_png(path("tensor.png")), reference)) << name;
  }
  // Grey: [h, w] and [1, h, w] are the grey picture as RGB.
  const torch::Tensor grey = hwc.select(2, 0).contiguous();
  as_cimg(grey.unsqueeze(2).expand({32, 48, 3}).contiguous()).save_png(path("grey.png").c_str());
  attnhook::save_attention_overlay(vit_weights(), path("grey.png"), path("grey_file.png"), options);
  for (const torch::Tensor& image : {grey, grey.unsqueeze(0)}) {
    attnhook::save_attention_overlay(vit_weights(), image, path("grey_tensor.png"), options);
    EXPECT_TRUE(same_pixels(load_png(path("grey_tensor.png")), load_png(path("grey_file.png"))));
  }
}

// Where the bright area is: on patch (2, 3) of the 4 x 4 grid, whatever the weights' dtype.
TEST_F(RenderOverlayTest, BrightAreaOnTheAttendedPatch) {
  const torch::Tensor weights = vit_weights().to(torch::kHalf).requires_grad_(false);
  const auto options = OverlayOptions().image_size(64).interpolation(Interpolation::kNearest);
  attnhook::save_attention_overlay(weights, picture(), path("out.png"), options);
  const auto layout = attnhook::detail::overlay_layout(
      attnhook::detail::FloatArray({1, 2, 17, 17}, std::vector<float>(2 * 17 * 17, 0.0f)), 48, 32,
      options);
  const Picture out = load_png(path("out.png"));
  const auto& panel = layout.panels[0];
  ASSERT_EQ(panel.width, 64);  // 48 x 32 enlarged to 64 x 43: patches 16 x 10.75
  ASSERT_EQ(panel.height, 43);
  // The mean of both heads: 0.9 on patch (2, 3) = pixels x 48..63 and y 21..31, those
  // whose centre y + 0.5 lies in [2 x 10.75, 3 x 10.75) (43 / 4 = 10.75-pixel rows).
  auto bright = [&](int x, int y) {
    const Rgb c = pixel(out, panel.x + x, panel.y + y);
    return c[1] > 160 && c[2] < 110;  // viridis' yellow end over the picture
  };
  for (int y = 0; y < 43; ++y)
    for (int x = 0; x < 64; ++x)
      EXPECT_EQ(bright(x, y), x >= 48 && y >= 21 && y < 32) << x << ", " << y;
}

TEST_F(RenderOverlayTest, TensorErrors) {
  as_cimg(picture()).save_png(path("in.png").c_str());
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(torch::ones({1, 1, 17, 17}, torch::kLong),
                                               path("in.png"), path("out.png"));
            }),
            "weights must be a floating-point tensor; got dtype Long");
  EXPECT_EQ(
      error_of([&] {
        attnhook::save_attention_overlay(vit_weights(), torch::zeros({4, 5, 6}), path("out.png"));
      }),
      "image must be [height, width, 3 or 1], [3 or 1, height, width] or [height, width]; "
      "got shape [4, 5, 6]");
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(vit_weights(), torch::zeros({4, 5}, torch::kInt),
                                               path("out.png"));
            }),
            "image must be a uint8 (0..255) or floating (0..1) tensor; got dtype Int");
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(vit_weights(), torch::Tensor(), path("out.png"));
            }),
            "image is an undefined tensor");
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(vit_weights(), torch::full({4, 5}, std::nan("")),
                                               path("out.png"));
            }),
            "image of shape [4, 5] holds NaN or Inf");
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(vit_weights(), torch::zeros({3, 20000, 2}),
                                               path("out.png"));
            }),
            "image of shape [3, 20000, 2]: it is 2 x 20000 pixels; the limit is 16384 pixels a "
            "side and 67108864 pixels");
  // Weights and options are checked before the image.
  EXPECT_EQ(error_of([&] {
              attnhook::save_attention_overlay(vit_weights(), torch::zeros({4, 5, 6}),
                                               path("out.png"), OverlayOptions().head(7));
            }).rfind("head 7 is out of range", 0),
            0u);
  EXPECT_EQ(files(), std::vector<std::string>{"in.png"});
}

}  // namespace
}  // namespace attnhook_test

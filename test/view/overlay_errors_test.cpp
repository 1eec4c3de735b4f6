// save_overlay's errors: each bad call is an attnhook::Error whose whole text is asserted,
// and writes nothing (no picture, no temporary file).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "overlay.h"
#include "overlay_testing.h"

namespace attnhook_test {
namespace {

using attnhook::OverlayOptions;
using attnhook::detail::FloatArray;
using OverlayErrorsTest = TempDirTest;

struct BadCall {
  std::string name;
  FloatArray weights;
  OverlayOptions options;
  std::string message;
  std::string image = "in.png";
};

// [batch, heads, tgt_len, src_len] filled with 1 / src_len.
FloatArray uniform(std::vector<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return FloatArray(shape, std::vector<float>(count, 1.0f / static_cast<float>(shape.back())));
}

TEST_F(OverlayErrorsTest, EachBadCallNamesTheBadValueAndWritesNothing) {
  test_picture(32, 32).save_png(path("in.png").c_str());
  test_picture(32, 32).save_jpeg(path("in.jpg").c_str(), 90);
  {
    std::ifstream in(path("in.jpg"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(path("cut.jpg"), std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
    std::ofstream(path("text.png"), std::ios::binary) << "<html>";
  }
  const auto vit = uniform({2, 3, 17, 17});  // 4 x 4 patches after a class token
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> with_nan(2 * 3 * 17 * 17, 0.1f);
  with_nan[((1 * 3 + 2) * 17 + 0) * 17 + 9] = nan;  // batch 1, head 2, query 0, key 9
  const double inf = std::numeric_limits<double>::infinity();

  const std::vector<BadCall> calls = {
      {"rank", uniform({17, 17}), OverlayOptions(),
       "weights must be [batch, heads, tgt_len, src_len] or [heads, tgt_len, src_len]; got shape "
       "[17, 17]"},
      {"empty", uniform({1, 0, 17, 17}), OverlayOptions(),
       "weights is empty (shape [1, 0, 17, 17])"},
      {"batch", vit, OverlayOptions().batch(2),
       "batch 2 is out of range for weights of shape [2, 3, 17, 17] (batch size 2)"},
      {"batch of rank 3", uniform({3, 17, 17}), OverlayOptions().batch(1),
       "batch 1 is out of range: weights of shape [3, 17, 17] have no batch dimension (batch must "
       "be 0)"},
      {"head", vit, OverlayOptions().head(3),
       "head 3 is out of range for weights of shape [2, 3, 17, 17] (3 heads); "
       "OverlayOptions::kMeanOfHeads (-1) draws their mean, kAllHeads (-2) every one"},
      {"negative head", vit, OverlayOptions().head(-3),
       "head -3 is out of range for weights of shape [2, 3, 17, 17] (3 heads); "
       "OverlayOptions::kMeanOfHeads (-1) draws their mean, kAllHeads (-2) every one"},
      {"query token", vit, OverlayOptions().query_token(17),
       "query_token 17 is out of range for the weights of shape [2, 3, 17, 17] (tgt_len 17)"},
      {"query patch", vit, OverlayOptions().query_patch(4, 0),
       "query_patch (4, 0) is outside the 4 x 4 patch grid"},
      {"query patch, negative", vit, OverlayOptions().query_patch(0, -1),
       "query_patch (0, -1) is outside the 4 x 4 patch grid"},
      {"query patch in cross-attention", uniform({1, 1, 5, 17}), OverlayOptions().query_patch(0, 0),
       "query_patch needs self-attention over the patches (tgt_len == src_len); the weights of "
       "shape [1, 1, 5, 17] have tgt_len 5, src_len 17: use query_token"},
      {"grid", uniform({1, 1, 1, 197}), OverlayOptions().patch_grid(14, 15),
       "the weights have src_len 197 keys, but prefix_tokens 1 + patch_grid 14 x 15 makes 211"},
      {"grid overflow", uniform({1, 1, 1, 197}),
       OverlayOptions().patch_grid(int64_t{1} << 40, int64_t{1} << 40),
       "the weights have src_len 197 keys, but prefix_tokens 1 + patch_grid 1099511627776 x "
       "1099511627776 makes more than an int64 counts"},
      {"not square", uniform({1, 1, 1, 197}), OverlayOptions().prefix_tokens(2),
       "src_len 197 - prefix_tokens 2 = 195 patches is not a square grid; set patch_grid(rows, "
       "columns) (and prefix_tokens)"},
      {"no patches", uniform({1, 1, 1, 1}), OverlayOptions(),
       "the weights have src_len 1 keys, no more than prefix_tokens 1: there are no patches"},
      {"grid side", vit, OverlayOptions().patch_grid(0, 4),
       "patch_grid 0 x 4 must have at least one patch each way (0 x 0 = automatic: a square grid)"},
      {"prefix", vit, OverlayOptions().prefix_tokens(-1), "prefix_tokens -1 must be >= 0"},
      {"alpha", vit, OverlayOptions().alpha(1.5), "alpha 1.5 must be between 0 and 1"},
      {"alpha nan", vit, OverlayOptions().alpha(std::nan("")), "alpha nan must be between 0 and 1"},
      {"image size", vit, OverlayOptions().image_size(9000),
       "image_size 9000 must be between 0 (automatic) and 8192"},
      {"columns", vit, OverlayOptions().columns(-1), "columns -1 must be >= 0 (0 = automatic)"},
      {"vmin", vit, OverlayOptions().vmin(inf), "vmin inf must be a finite number"},
      {"vmax <= vmin", vit, OverlayOptions().vmin(0.5).vmax(0.5),
       "vmax 0.5 must be greater than vmin 0.5"},
      {"vmax below the default vmin", vit, OverlayOptions().vmax(-0.5),
       "vmax -0.5 must be greater than vmin 0"},
      {"nan", FloatArray({2, 3, 17, 17}, with_nan), OverlayOptions().batch(1),
       "weights[1, 2, 0, 9] is nan; weights must be finite"},
      {"missing image", vit, OverlayOptions(),
       "cannot read image '" + path("none.png") + "': No such file or directory", "none.png"},
      {"not an image", vit, OverlayOptions(),
       "cannot read image '" + path("text.png") +
           "': it is not a PNG or JPEG image (it starts with bytes 3c 68 74 6d 6c 3e)",
       "text.png"},
      {"truncated JPEG", vit, OverlayOptions(),
       "cannot read image '" + path("cut.jpg") +
           "': the JPEG file is truncated (it ends before the image does)",
       "cut.jpg"},
  };
  const std::vector<std::string> inputs = {"cut.jpg", "in.jpg", "in.png", "text.png"};
  for (const BadCall& call : calls) {
    EXPECT_EQ(error_of([&] {
                attnhook::detail::save_overlay(call.weights, path(call.image), path("out.png"),
                                               call.options);
              }),
              call.message)
        << call.name;
    EXPECT_EQ(files(), inputs) << call.name;
  }
  // A NaN among keys that are not drawn (the prefix) or in another query is no error.
  std::vector<float> elsewhere(17 * 17, 0.1f);
  elsewhere[0] = nan;       // query 0, key 0: the class token itself
  elsewhere[17 + 5] = nan;  // query 1
  attnhook::detail::save_overlay(FloatArray({1, 17, 17}, elsewhere), path("in.png"),
                                 path("out.png"), OverlayOptions());
  EXPECT_TRUE(std::filesystem::exists(path("out.png")));
}

TEST_F(OverlayErrorsTest, OutputThatCannotBeWritten) {
  test_picture(32, 32).save_png(path("in.png").c_str());
  const std::string out = path("no/such/dir/out.png");
  const std::string message = error_of([&] {
    attnhook::detail::save_overlay(uniform({1, 1, 17, 17}), path("in.png"), out, OverlayOptions());
  });
  EXPECT_EQ(message.rfind("cannot write attention image '" + out + "': ", 0), 0u) << message;
  EXPECT_EQ(error_of([&] {
              attnhook::detail::save_overlay(uniform({1, 1, 17, 17}), path("in.png"), "",
                                             OverlayOptions());
            }),
            "path is empty");
}

TEST_F(OverlayErrorsTest, AnInMemoryImageIsChecked) {
  attnhook::detail::RgbImage image;
  image.width = 4;
  image.height = 4;
  image.rgb.resize(10);
  EXPECT_EQ(error_of([&] {
              attnhook::detail::save_overlay(uniform({1, 1, 17, 17}), image, path("out.png"),
                                             OverlayOptions());
            }),
            "image is 4 x 4 pixels with 10 bytes; expected RGB within 16384 pixels a side and "
            "67108864 pixels");
}

}  // namespace
}  // namespace attnhook_test

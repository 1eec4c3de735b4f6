// attnhook overlay, end to end and torch-free: the attnhook executable on hand-written
// attention files. The class token attends one known patch of a 3 x 4 grid; the PNG the
// CLI writes is read back with CImg and the bright area must sit on that patch's pixels,
// found by hand (the panel by its colour, the patch by arithmetic), not by the code under
// test. The CLI's picture equals the library's (detail::save_overlay) for the same weights
// and options; errors name the flag and the value, exit 1 or 2, and leave no file.
#include <CImg.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "attention_data.h"
#include "commands.h"
#include "overlay.h"
#include "overlay_testing.h"
#include "view_testing.h"

namespace fs = std::filesystem;

namespace attnhook_test {
namespace {

using attnhook::OverlayOptions;
using attnhook::detail::FloatArray;

// 13 keys: a class token, then a grid of 3 rows x 4 columns. The class token (row 0) gives
// all its attention to patch (1, 2) (key 1 + 1 * 4 + 2 = 7) in head 0 and to patch (2, 0)
// (key 9) in head 1; the other rows spread theirs evenly. Batch `batch`: item b's class
// token looks at key 7 + b (batch items differ, so --batch shows).
FloatArray class_token_weights(int64_t batch = 1, int64_t keys = 13, int64_t first_patch = 1) {
  std::vector<Entry> entries;
  for (int64_t b = 0; b < batch; ++b) {
    entries.push_back({b, 0, 0, first_patch + 6 + b, 1.0f});
    entries.push_back({b, 1, 0, first_patch + 8, 1.0f});
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 1; i < keys; ++i)
        for (int64_t j = 0; j < keys; ++j)
          entries.push_back({b, h, i, j, 1.0f / static_cast<float>(keys)});
  }
  return weights_of({batch, 2, keys, keys}, entries);
}

std::string numbers(const FloatArray& weights) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < weights.numel(); ++i) {
    const float value = weights.data()[i];
    out.push_back(std::isfinite(value) ? fmt::format("{}", value) : "null");  // JSON's NaN
  }
  return fmt::format("{}", fmt::join(out, ","));
}

// attn.json with one layer "blocks.0.attn" holding `calls`, and `top` (e.g. the grid).
std::string attention_json(const std::vector<FloatArray>& calls, const std::string& top) {
  std::vector<std::string> texts;
  for (const FloatArray& call : calls)
    texts.push_back(fmt::format(R"({{"shape": [{}], "values": [{}]}})",
                                fmt::join(call.shape(), ", "), numbers(call)));
  return fmt::format(
      R"({{"format": "attnhook", "version": 1, "tokens": []{}, "layers": [{{"name": "blocks.0.attn", )"
      R"("calls": [{}]}}]}})",
      top.empty() ? "" : ", " + top, fmt::join(texts, ", "));
}

constexpr const char* kStoredGrid = R"("patch_grid": [3, 4], "prefix_tokens": 1)";

class CliOverlay : public TempDirTest {
 protected:
  CliRun cli(const std::vector<std::string>& args) {
    return run_cli(args, path("../err_overlay_" + std::to_string(::getpid())));
  }
  // A uniform blue picture of 64 x 48 pixels (4:3, like the grid), written by CImg.
  std::string blue_picture() {
    Picture picture(64, 48, 1, 3);
    picture.get_shared_channel(0).fill(0);
    picture.get_shared_channel(1).fill(0);
    picture.get_shared_channel(2).fill(255);
    picture.save_png(path("blue.png").c_str());
    return path("blue.png");
  }
};

struct Box {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // [x0, x1) x [y0, y1)
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

// The panel: pixels that are the blue picture blended at alpha 0.5 with a viridis colour
// (blue >= 146, red <= 127). The colorbar (pure viridis, blue <= 142), white and the grey
// text and frames are none of them.
Box panel_of(const Picture& out) {
  Box box{out.width(), out.height(), 0, 0};
  for (int y = 0; y < out.height(); ++y)
    for (int x = 0; x < out.width(); ++x) {
      const Colour c = at(out, x, y);
      if (c[2] < 145 || c[0] > 130) continue;
      box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x + 1),
             std::max(box.y1, y + 1)};
    }
  return box;
}

// Pixels of the panel whose laid colour is brighter than viridis' middle (33, 145, 140):
// weights above half the scale. Their bounding box, in panel coordinates.
Box bright_area(const Picture& out, const Box& panel) {
  const Colour blue{0, 0, 255};
  const double middle = luma({33, 145, 140});
  Box box{panel.width(), panel.height(), 0, 0};
  for (int y = 0; y < panel.height(); ++y)
    for (int x = 0; x < panel.width(); ++x) {
      const Colour o = at(out, panel.x0 + x, panel.y0 + y);
      const Colour laid{2 * o[0] - blue[0], 2 * o[1] - blue[1], 2 * o[2] - blue[2]};  // alpha 0.5
      if (luma(laid) <= middle) continue;
      box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x + 1),
             std::max(box.y1, y + 1)};
    }
  return box;
}

void expect_near(const Box& found, const Box& expected, int tolerance, const std::string& what) {
  EXPECT_NEAR(found.x0, expected.x0, tolerance) << what;
  EXPECT_NEAR(found.y0, expected.y0, tolerance) << what;
  EXPECT_NEAR(found.x1, expected.x1, tolerance) << what;
  EXPECT_NEAR(found.y1, expected.y1, tolerance) << what;
}

TEST_F(CliOverlay, TheBrightAreaSitsOnTheAttendedPatch) {
  write_bytes(path("attn.json"), attention_json({class_token_weights()}, kStoredGrid));
  const std::string picture = blue_picture();
  struct Case {
    std::string head;
    std::vector<std::pair<int, int>> patches;  // (row, column) expected bright
  } cases[] = {{"0", {{1, 2}}}, {"1", {{2, 0}}}, {"mean", {{1, 2}, {2, 0}}}};
  for (const auto& c : cases) {
    SCOPED_TRACE("--head " + c.head);
    const auto run = cli({"overlay", "-i", path("attn.json"), "--image", picture, "--layer", "0",
                          "--query", "cls", "--head", c.head, "-o", path("out.png")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const Picture out = load_png(path("out.png"));
    const Box panel = panel_of(out);
    // The picture's longer side brought to 320 pixels (render.h): 320 x 240, 80-pixel patches.
    ASSERT_EQ(panel.width(), 320);
    ASSERT_EQ(panel.height(), 240);
    if (c.patches.size() == 1) {
      const auto [row, column] = c.patches[0];
      expect_near(bright_area(out, panel),
                  {column * 80, row * 80, (column + 1) * 80, (row + 1) * 80}, 1, "bright");
    } else {
      // The mean: half the weight on each patch, both at the top of the scale.
      expect_near(bright_area(out, panel), {0, 80, 240, 240}, 1, "both patches");
    }
    // Two patches away from every bright one, the bottom colour (weight 0): a panel corner.
    const Colour corner = at(out, panel.x1 - 1, panel.y0);
    EXPECT_LE(distance({2 * corner[0], 2 * corner[1], 2 * corner[2] - 255}, kViridisBottom), 3)
        << describe(corner);
  }
}

// The same picture from the command line and from the library: every option the CLI
// passes reaches the drawing as the library's own setter would.
TEST_F(CliOverlay, EqualsTheLibrarysOverlayForTheSameWeights) {
  const FloatArray call0 = class_token_weights(2), call1 = class_token_weights(2, 13, 1);
  std::vector<float> shifted(call1.data(), call1.data() + call1.numel());
  std::rotate(shifted.begin(), shifted.begin() + 1, shifted.end());  // call 1 differs from call 0
  const FloatArray second(call1.shape(), shifted);
  write_bytes(path("attn.json"), attention_json({call0, second}, kStoredGrid));
  test_picture(64, 48).save_png(path("picture.png").c_str());
  struct Case {
    std::vector<std::string> flags;
    const FloatArray* weights;
    OverlayOptions options;
  } cases[] = {
      {{"--query", "cls", "--head", "all"},
       &call0,
       OverlayOptions().query_token(0).head(OverlayOptions::kAllHeads)},
      {{"--query", "1,2", "--head", "1", "--alpha", "0.3"},
       &call0,
       OverlayOptions().query_patch(1, 2).head(1).alpha(0.3)},
      {{"--query", "5", "--batch", "1", "--call", "1"},
       &second,
       OverlayOptions().query_token(5).batch(1)},
      {{"--query", "cls", "--patch-grid", "4x3"},
       &call0,
       OverlayOptions().query_token(0).patch_grid(4, 3)},
      {{"--query", "0,0", "--patch-grid", "2x6", "--prefix-tokens", "1", "--head", "mean"},
       &call0,
       OverlayOptions().query_patch(0, 0).patch_grid(2, 6)},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.flags, " ")));
    std::vector<std::string> args = {"overlay",           "-i",      path("attn.json"), "--image",
                                     path("picture.png"), "--layer", "blocks.0.attn",   "-o",
                                     path("cli.png")};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const auto run = cli(args);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    OverlayOptions options = c.options;
    if (options.patch_rows() == 0) options.patch_grid(3, 4);  // the file's
    const bool second_call = c.weights == &second;
    options.prefix_tokens(1).title(second_call ? "blocks.0.attn, call 1" : "blocks.0.attn, call 0");
    attnhook::detail::save_overlay(*c.weights, path("picture.png"), path("library.png"), options);
    const Picture from_cli = load_png(path("cli.png")),
                  from_library = load_png(path("library.png"));
    ASSERT_EQ(from_cli.width(), from_library.width());
    ASSERT_EQ(from_cli.height(), from_library.height());
    EXPECT_TRUE(from_cli == from_library);
  }
  // An .npz holding the same call and grid draws the same picture as the .json.
  attnhook::detail::AttentionData data;
  data.patch_grid = {3, 4, 1};
  data.values.push_back({"blocks.0.attn", {call0}});
  attnhook::detail::write_npz(data, path("attn.npz"));
  ASSERT_EQ(cli({"overlay", "-i", path("attn.npz"), "--image", path("picture.png"), "--layer", "0",
                 "--query", "cls", "-o", path("npz.png")})
                .exit_code,
            0);
  attnhook::detail::save_overlay(
      call0, path("picture.png"), path("npz_library.png"),
      OverlayOptions().patch_grid(3, 4).prefix_tokens(1).title("blocks.0.attn"));
  EXPECT_TRUE(load_png(path("npz.png")) == load_png(path("npz_library.png")));
}

TEST_F(CliOverlay, ErrorsNameTheFlagAndTheValueAndLeaveNoFile) {
  write_bytes(path("stored.json"), attention_json({class_token_weights()}, kStoredGrid));
  write_bytes(path("bare.json"), attention_json({class_token_weights(1, 17)}, ""));
  write_bytes(path("no_prefix.json"), attention_json({class_token_weights(1, 12, 0)}, ""));
  FloatArray nan = class_token_weights();
  std::vector<float> values(nan.data(), nan.data() + nan.numel());
  values[5] = std::numeric_limits<float>::quiet_NaN();  // batch 0, head 0, query 0, key 5
  write_bytes(path("nan.json"), attention_json({FloatArray(nan.shape(), values)}, kStoredGrid));
  write_bytes(path("cross.json"),
              attention_json({weights_of({1, 1, 2, 13}, {{0, 0, 0, 7, 1.0f}})}, kStoredGrid));
  const std::string picture = blue_picture();
  Picture noise(200, 200, 1, 3);
  noise.rand(0, 255);  // incompressible: a PNG larger than the attention file
  noise.save_png(path("noise.png").c_str());
  const std::string out = path("out/overlay.png");
  auto args = [&](const std::string& file, std::vector<std::string> flags) {
    std::vector<std::string> all = {"overlay", "-i", path(file), "--image", picture,
                                    "--layer", "0",  "-o",       out};
    all.insert(all.end(), flags.begin(), flags.end());
    return all;
  };
  const std::string usage = "\nRun with --help for more information.\n";
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string err;
  } cases[] = {
      {args("bare.json", {"--query", "cls"}), 1,
       "attnhook: attention file '" + path("bare.json") +
           "' holds no patch grid (extract stores one for ViT-style models with a Conv2d patch "
           "embedding); give it "
           "with --patch-grid ROWSxCOLUMNS [--prefix-tokens N]: layer 'blocks.0.attn' has 17 keys "
           "(a class token and "
           "a square grid would be --patch-grid 4x4 --prefix-tokens 1)\n"},
      {args("stored.json", {"--query", "3,4"}), 1,
       "attnhook: --query 3,4: the patch grid is 3x4 (rows 0..2, columns 0..3)\n"},
      {args("stored.json", {"--query", "13"}), 1,
       "attnhook: --query 13: layer 'blocks.0.attn' has 13 query tokens (0..12)\n"},
      {args("stored.json", {"--query", "cls", "--patch-grid", "3by4"}), 2,
       "--patch-grid: '3by4' is not a patch grid; expected ROWSxCOLUMNS with both at least 1, e.g. "
       "14x14" +
           usage},
      {args("stored.json", {"--query", "cls", "--patch-grid", "0x4"}), 2,
       "--patch-grid: '0x4' is not a patch grid; expected ROWSxCOLUMNS with both at least 1, e.g. "
       "14x14" +
           usage},
      {args("stored.json", {"--query", "-1"}), 2,
       "--query: '-1' is not a query; expected cls, <row>,<col> (a patch, e.g. 3,5) or a token "
       "index" +
           usage},
      {args("stored.json", {"--query", "cls", "--head", "first"}), 2,
       "--head: 'first' is not a head; expected a head index, mean or all" + usage},
      {{"overlay", "-i", path("stored.json"), "--image", path("missing.png"), "--layer", "0",
        "--query", "cls", "-o", out},
       1,
       "attnhook: cannot read image '" + path("missing.png") + "': No such file or directory\n"},
      {args("stored.json", {"--query", "cls", "--head", "2"}), 1,
       "attnhook: --head '2': layer 'blocks.0.attn' has 2 heads (0..1) — or use mean or all\n"},
      {args("no_prefix.json", {"--query", "cls", "--patch-grid", "3x4"}), 1,
       "attnhook: --query cls: the keys of layer 'blocks.0.attn' are 3x4 patches with no prefix "
       "token before them, "
       "so there is no class token; give <row>,<col> or a token index\n"},
      {args("stored.json", {"--query", "cls", "--patch-grid", "4x4"}), 1,
       "attnhook: --patch-grid 4x4 has more patches than layer 'blocks.0.attn' has keys (13)\n"},
      {args("stored.json", {"--query", "cls", "--patch-grid", "2x5", "--prefix-tokens", "1"}), 1,
       "attnhook: --patch-grid and --prefix-tokens (2x5 + 1 prefix token) makes 11 keys, but layer "
       "'blocks.0.attn' "
       "has 13\n"},
      {args("stored.json", {"--query", "cls", "--prefix-tokens", "2"}), 1,
       "attnhook: the file's patch grid with --prefix-tokens (3x4 + 2 prefix tokens) makes 14 "
       "keys, but layer "
       "'blocks.0.attn' has 13\n"},
      {args("cross.json", {"--query", "1,1"}), 1,
       "attnhook: --query 1,1: a patch as query needs self-attention, and layer 'blocks.0.attn' "
       "has 2 queries for 13 "
       "keys; give a token index\n"},
      {args("nan.json", {"--query", "cls", "--head", "0"}), 1,  // the drawing code's own check
       "attnhook: weights[0, 0, 0, 5] is nan; weights must be finite\n"},
      {{"overlay", "-i", path("stored.json"), "--image", picture, "--layer", "all", "--query",
        "cls", "-o", out},
       1,
       "attnhook: --layer 'all' is neither a layer index (0..0) nor a layer name; layers: 0 "
       "blocks.0.attn\n"},
      {args("stored.json", {"--query", "cls", "--alpha", "1.5"}), 2,
       "--alpha: 1.5 is not an opacity between 0 and 1" + usage},
      {args("stored.json", {"--query", "cls", "--max-input-bytes", "100"}), 1,
       "attnhook: cannot read attention file '" + path("stored.json") + "': it is " +
           std::to_string(fs::file_size(path("stored.json"))) +
           " bytes, over the limit of 100 bytes (--max-input-bytes)\n"},
      {{"overlay", "-i", path("stored.json"), "--image", path("noise.png"), "--layer", "0",
        "--query", "cls", "--max-input-bytes", std::to_string(fs::file_size(path("stored.json"))),
        "-o", out},
       1,
       "attnhook: cannot read image '" + path("noise.png") + "': it is " +
           std::to_string(fs::file_size(path("noise.png"))) + " bytes, over the limit of " +
           std::to_string(fs::file_size(path("stored.json"))) + " bytes (--max-input-bytes)\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{}", fmt::join(c.args, " ")));
    const auto run = cli(c.args);
    EXPECT_EQ(run.exit_code, c.exit_code);
    EXPECT_EQ(run.err, c.err);
    EXPECT_FALSE(fs::exists(path("out"))) << "left " << out;
  }
}

// The small grammars of --patch-grid, --query and --image-mean: what --help documents, no
// more (no signs, spaces or trailing text).
TEST(CliOverlayGrammar, AcceptsExactlyTheDocumentedText) {
  using attnhook::cli::parse_numbers;
  using attnhook::cli::parse_patch_grid;
  using attnhook::cli::parse_query;
  using Kind = attnhook::cli::QuerySpec::Kind;
  EXPECT_EQ(parse_patch_grid("14x14"), std::make_pair(int64_t{14}, int64_t{14}));
  EXPECT_EQ(parse_patch_grid("2X16"), std::make_pair(int64_t{2}, int64_t{16}));
  EXPECT_EQ(parse_patch_grid("3,4"), std::make_pair(int64_t{3}, int64_t{4}));
  for (const char* bad : {"", "14", "x14", "14x", "0x4", "4x0", "-1x4", "+1x4", " 1x4", "1x4 ",
                          "1x2x3", "1.5x2", "99999999999999999999x1"})
    EXPECT_FALSE(parse_patch_grid(bad)) << bad;

  EXPECT_EQ(parse_query("cls")->kind, Kind::kClassToken);
  const auto patch = parse_query("3,5");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->kind, Kind::kPatch);
  EXPECT_EQ(patch->row, 3);
  EXPECT_EQ(patch->column, 5);
  const auto token = parse_query("0");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->kind, Kind::kToken);
  EXPECT_EQ(token->token, 0);
  for (const char* bad : {"", "CLS", "-1", "+1", "1,", ",1", "1,2,3", "1, 2", "1.5", "x"})
    EXPECT_FALSE(parse_query(bad)) << bad;

  EXPECT_EQ(parse_numbers("0.485,0.456,0.406", 3), (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(parse_numbers("1, 2 ,3", 3), (std::vector<double>{1, 2, 3}));
  for (const char* bad :
       {"", "1,2", "1,2,3,4", "1,2,3,", "1,2,x", "1,2,nan", "1,2,inf", "1,2,3e999"})
    EXPECT_FALSE(parse_numbers(bad, 3)) << bad;
}

}  // namespace
}  // namespace attnhook_test

// The CLI on vision transformers (issue 13): extract stores the patch grid of the committed
// ViT fixtures — compared with the grid each model's config gives by hand (image side /
// patch side, one class token) — or takes it from --patch-grid; extract --image feeds a
// picture, normalised, and records what a hooker records on the same tensor made here with
// torch from the pixels CImg decodes; overlay draws the same pixels as the library's
// save_attention_overlay on an in-process hooker's weights. Errors have their texts.
#include <CImg.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attnhook/attnhook.h"
#include "picture_testing.h"
#include "testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::load_png;
using attnhook_test::Picture;

const std::string kCli = ATTNHOOK_CLI;
const std::string kFixtures = std::string(ATTNHOOK_FIXTURES_DIR) + "/torch" +
                              std::to_string(TORCH_VERSION_MAJOR) + "." +
                              std::to_string(TORCH_VERSION_MINOR);
const std::string kPicture = std::string(ATTNHOOK_FIXTURES_DIR) + "/../examples/picture.png";

struct CliResult {
  int exit_code;
  std::string err;
};

// The CLI with `arguments` (shell words), stdout dropped, stderr kept.
CliResult cli(const std::string& arguments, const std::string& err_path) {
  const int status = std::system((kCli + " " + arguments + " > /dev/null 2> " + err_path).c_str());
  std::ifstream in(err_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(std::ifstream(path));
}

// A ViT fixture, its input and the grid its config implies (test/fixtures/README.md,
// zoo_README.md, make_intermediates.py): image side / patch side each way, one class token.
struct VitCase {
  std::string model;  // <name>.pt, with <name>_ref.pt holding input_0 [2, 3, H, W]
  int64_t image, patch;
  std::string last_layer;
  int64_t heads;
};
const VitCase kVits[] = {
    {"vit_encoder", 16, 4, "encoder.layers.2.self_attn", 2},  // Conv2d 4 of 16 x 16, scripted
    {"hf_vit", 32, 8, "model.layers.1.attention", 4},  // HF ViTModel, image 32, patch 8, traced
    {"intermediates_timm_vit", 16, 4, "blocks.1.attn", 2},  // timm-style, fused qkv, scripted
};

class CliVit : public attnhook_test::TempDirTest {
 protected:
  CliResult run(const std::string& arguments) {
    return cli(arguments, path("../err_vit_" + std::to_string(::getpid())));
  }

  // input_0 of the fixture's reference, torch.save'd for --input-tensor.
  std::string save_input(const std::string& name) {
    const auto bytes = torch::pickle_save(
        torch::jit::load(kFixtures + "/" + name + "_ref.pt").attr("input_0").toTensor());
    std::ofstream(path(name + ".pt"), std::ios::binary).write(bytes.data(), bytes.size());
    return path(name + ".pt");
  }

  // The hooker's record of `model` run on `input` in this process.
  attnhook::Values hooked(const std::string& model, const at::Tensor& input) {
    torch::jit::Module module = attnhook::load_torchscript(kFixtures + "/" + model + ".pt");
    module.eval();
    attnhook::AttentionHooker hooker(module);
    hooker.setup();
    torch::NoGradGuard no_grad;
    hooker.module().forward({input});
    return hooker.values();
  }
};

bool have(const VitCase& vit) { return fs::exists(kFixtures + "/" + vit.model + ".pt"); }

TEST_F(CliVit, ExtractStoresThePatchGridOfEachVitFixture) {
  for (const VitCase& vit : kVits) {
    SCOPED_TRACE(vit.model);
    if (!have(vit)) {
      // make_intermediates.py's fixtures come with the named-intermediates work.
      std::printf("skipped: %s.pt is not in %s\n", vit.model.c_str(), kFixtures.c_str());
      continue;
    }
    const std::string input = save_input(vit.model), model = kFixtures + "/" + vit.model + ".pt";
    const auto json_run =
        run("extract --model " + model + " --input-tensor " + input + " -o " + path("attn.json"));
    ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
    EXPECT_EQ(json_run.err, "");  // detected: nothing to say
    ASSERT_EQ(
        run("extract --model " + model + " --input-tensor " + input + " -o " + path("attn.npz"))
            .exit_code,
        0);
    const int64_t side = vit.image / vit.patch;
    const auto json = read_json(path("attn.json"));
    EXPECT_EQ(json["patch_grid"], nlohmann::json({side, side}));
    EXPECT_EQ(json["prefix_tokens"], 1);
    for (const auto& layer : json["layers"])
      EXPECT_EQ(layer["calls"][0]["shape"][3], 1 + side * side);
    const attnhook::AttentionFile npz = attnhook::load_attention(path("attn.npz"));
    EXPECT_EQ(npz.patch_grid.rows, side);
    EXPECT_EQ(npz.patch_grid.columns, side);
    EXPECT_EQ(npz.patch_grid.prefix_tokens, 1);
  }
}

// The picture the CLI draws from its own files equals the library's from the weights an
// in-process hooker records, with the grid written down from the config.
TEST_F(CliVit, OverlayEqualsTheLibrarysOverlayOfTheHookersWeights) {
  struct Case {
    const VitCase& vit;
    std::string flags;
    attnhook::OverlayOptions options;
  } cases[] = {
      {kVits[0], "--query cls --head all --batch 1",
       attnhook::OverlayOptions()
           .query_token(0)
           .head(attnhook::OverlayOptions::kAllHeads)
           .batch(1)},
      {kVits[1], "--query 2,1 --head 3 --alpha 0.7",
       attnhook::OverlayOptions().query_patch(2, 1).head(3).alpha(0.7)},
      {kVits[2], "--query 5", attnhook::OverlayOptions().query_token(5)},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.vit.model + " " + c.flags);
    if (!have(c.vit)) continue;
    const std::string input = save_input(c.vit.model);
    ASSERT_EQ(run("extract --model " + kFixtures + "/" + c.vit.model + ".pt --input-tensor " +
                  input + " -o " + path("attn.json"))
                  .exit_code,
              0);
    const auto drawn =
        run("overlay -i " + path("attn.json") + " --image " + kPicture + " --layer " +
            c.vit.last_layer + " " + c.flags + " -o " + path("cli.png"));
    ASSERT_EQ(drawn.exit_code, 0) << drawn.err;

    const at::Tensor image =
        torch::jit::load(kFixtures + "/" + c.vit.model + "_ref.pt").attr("input_0").toTensor();
    const attnhook::Values values = hooked(c.vit.model, image);
    const int64_t side = c.vit.image / c.vit.patch;
    attnhook::save_attention_overlay(
        values.at(c.vit.last_layer)[0], kPicture, path("library.png"),
        c.options.patch_grid(side, side).prefix_tokens(1).title(c.vit.last_layer));
    const Picture from_cli = load_png(path("cli.png")), from_library = load_png(path("library.png"));
    ASSERT_EQ(from_cli.width(), from_library.width());
    ASSERT_EQ(from_cli.height(), from_library.height());
    EXPECT_TRUE(from_cli == from_library);
  }
}

// --image: the picture resized to --image-size, scaled to 0..1 and normalised reaches the
// model as [1, 3, size, size]. The reference tensor is made here from CImg's pixels.
TEST_F(CliVit, ExtractImageFeedsTheNormalisedPicture) {
  // 16 x 16 (no resize), and 32 x 32 of uniform 2 x 2 blocks: halving averages each block
  // to its own colour, so the resized picture is known exactly.
  Picture small(16, 16, 1, 3), large(32, 32, 1, 3);
  cimg_forXYC(small, x, y, c) small(x, y, 0, c) =
      static_cast<unsigned char>((x * 13 + y * 7 + c * 50) % 256);
  cimg_forXYC(large, x, y, c) large(x, y, 0, c) = small(x / 2, y / 2, 0, c);
  small.save_png(path("small.png").c_str());
  large.save_png(path("large.png").c_str());
  at::Tensor pixels = torch::empty({1, 3, 16, 16});
  cimg_forXYC(small, x, y, c) pixels[0][c][y][x] = small(x, y, 0, c) / 255.0f;
  struct Case {
    std::string picture, flags;
    std::vector<float> mean, std;
  } cases[] = {
      {"small.png",
       "",
       {0.485f, 0.456f, 0.406f},
       {0.229f, 0.224f, 0.225f}},  // ImageNet's, the default
      {"large.png",
       " --image-mean 0.5,0.5,0.5 --image-std 0.25,0.5,1",
       {0.5f, 0.5f, 0.5f},
       {0.25f, 0.5f, 1.0f}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.picture);
    const auto extracted =
        run("extract --model " + kFixtures + "/vit_encoder.pt --image " + path(c.picture) +
            " --image-size 16" + c.flags + " -o " + path("attn.json"));
    ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
    const at::Tensor input = (pixels - torch::tensor(c.mean).view({1, 3, 1, 1})) /
                             torch::tensor(c.std).view({1, 3, 1, 1});
    const attnhook::Values expected = hooked("vit_encoder", input);
    const attnhook::AttentionFile file = attnhook::load_attention(path("attn.json"));
    ASSERT_EQ(file.values.size(), expected.size());
    for (const auto& [name, calls] : expected) {
      ASSERT_EQ(file.values.at(name)[0].sizes(), calls[0].sizes()) << name;  // [1, 2, 17, 17]
      EXPECT_TRUE(torch::allclose(file.values.at(name)[0], calls[0], 0, 1e-6)) << name;
    }
    EXPECT_EQ(file.patch_grid.rows, 4);  // 16 / 4
    EXPECT_EQ(file.patch_grid.prefix_tokens, 1);
  }
}

// The README's example, as a reader runs it from the repository root.
TEST_F(CliVit, TheReadmeExampleRuns) {
  const fs::path root = dir() / "root";
  fs::create_directories(root);
  fs::create_directory_symlink(fs::path(kCli).parent_path(), root / "build");
  fs::create_directory_symlink(fs::path(ATTNHOOK_FIXTURES_DIR).parent_path(), root / "test");
  const std::string script = "cd " + root.string() + R"( && set -e
build/attnhook extract --model test/fixtures/torch2.13/vit_encoder.pt \
    --image test/examples/picture.png --image-size 16 -o out/vit.json
build/attnhook overlay -i out/vit.json --image test/examples/picture.png \
    --layer 2 --query cls --head all -o out/vit_cls.png
build/attnhook overlay -i out/vit.json --image test/examples/picture.png \
    --layer 2 --query 1,2 -o out/vit_patch.png
)";
  if (TORCH_VERSION_MAJOR != 2) GTEST_SKIP() << "the README's example uses the torch 2.13 fixtures";
  ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0);
  EXPECT_EQ(read_json((root / "out/vit.json").string())["patch_grid"], nlohmann::json({4, 4}));
  EXPECT_TRUE(fs::is_regular_file(root / "out/vit_cls.png"));
  EXPECT_TRUE(fs::is_regular_file(root / "out/vit_patch.png"));
}

TEST_F(CliVit, WhatExtractSaysWhenTheGridCannotBeTold) {
  const std::string model = kFixtures + "/window_attention.pt",
                    input = save_input("window_attention");
  // Windowed attention ([B*G, heads, P, P]): the keys are windows, not the image's patches.
  const auto window =
      run("extract --model " + model + " --input-tensor " + input + " -o " + path("window.json"));
  ASSERT_EQ(window.exit_code, 0) << window.err;
  EXPECT_EQ(window.err,
            "attnhook: note: no patch grid stored: the layers differ in their number of keys (4 in "
            "'blocks.0.attn', 16 "
            "in 'blocks.1.attn'); attnhook overlay will need --patch-grid ROWSxCOLUMNS (or give it "
            "to extract)\n");
  EXPECT_FALSE(read_json(path("window.json")).contains("patch_grid"));
  // A text model ([len, batch, dim] input): not a vision model, nothing to say.
  auto reference = torch::jit::load(kFixtures + "/encoder_seqfirst_ref.pt");
  std::string flags;
  for (int64_t i = 0; i < reference.attr("num_inputs").toInt(); ++i) {
    const auto bytes = torch::pickle_save(reference.attr("input_" + std::to_string(i)).toTensor());
    std::ofstream(path(std::to_string(i) + ".pt"), std::ios::binary)
        .write(bytes.data(), bytes.size());
    flags += " --input-tensor " + path(std::to_string(i) + ".pt");
  }
  const auto text = run("extract --model " + kFixtures + "/encoder_seqfirst.pt" + flags + " -o " +
                        path("text.json"));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.err, "");
  EXPECT_FALSE(read_json(path("text.json")).contains("patch_grid"));
}

TEST_F(CliVit, ExtractTakesTheGridFromPatchGridAndChecksIt) {
  const std::string model = " --model " + kFixtures + "/vit_encoder.pt",
                    input = " --input-tensor " + save_input("vit_encoder");
  ASSERT_EQ(run("extract" + model + input + " --patch-grid 2x8 -o " + path("a.json")).exit_code, 0);
  EXPECT_EQ(read_json(path("a.json"))["patch_grid"], nlohmann::json({2, 8}));
  EXPECT_EQ(read_json(path("a.json"))["prefix_tokens"], 1);  // 17 keys - 16 patches
  ASSERT_EQ(
      run("extract" + model + input + " --patch-grid 4x4 --prefix-tokens 1 -o " + path("b.json"))
          .exit_code,
      0);
  EXPECT_EQ(read_json(path("b.json"))["patch_grid"], nlohmann::json({4, 4}));

  const std::string usage = "\nRun with --help for more information.\n";
  const std::string keys =
      "keys: 17 in 'encoder.layers.0.self_attn', 17 in 'encoder.layers.1.self_attn', 17 in "
      "'encoder.layers.2.self_attn'";
  struct Case {
    std::string arguments;
    int exit_code;
    std::string err;
  } cases[] = {
      {model + input + " --patch-grid 5x5", 1,
       "attnhook: --patch-grid 5x5 has 25 patches, more than any layer has keys (" + keys + ")\n"},
      {model + input + " --patch-grid 4x4 --prefix-tokens 2", 1,
       "attnhook: --patch-grid 4x4 with --prefix-tokens 2 makes 18 keys, and no layer has that "
       "many (" +
           keys + ")\n"},
      {model + input + " --patch-grid 4by4", 2,
       "--patch-grid: '4by4' is not a patch grid; expected ROWSxCOLUMNS with both at least 1, e.g. "
       "14x14" +
           usage},
      {model + input + " --prefix-tokens 1", 2, "--prefix-tokens requires --patch-grid" + usage},
      {model + " --image " + path("missing.png"), 1,
       "attnhook: cannot read image '" + path("missing.png") + "': No such file or directory\n"},
      {model + " --image " + kPicture + " --tokens 'a b'", 2, "--tokens excludes --image" + usage},
      {model + " --image " + kPicture + " --image-mean 0.5,0.5", 2,
       "--image-mean: '0.5,0.5' is not three numbers r,g,b (e.g. 0.485,0.456,0.406)" + usage},
      {model + " --image " + kPicture + " --image-std 0.2,0,0.2", 2,
       "--image-std: '0.2,0,0.2' is not three positive numbers r,g,b (e.g. 0.229,0.224,0.225)" +
           usage},
      {model + input + " --image-size 16", 2, "--image-size requires --image" + usage},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arguments);
    const auto result = run("extract" + c.arguments + " -o " + path("out/x.json"));
    EXPECT_EQ(result.exit_code, c.exit_code);
    EXPECT_EQ(result.err, c.err);
    EXPECT_FALSE(fs::exists(path("out"))) << "left a file";
  }
}

}  // namespace

// The drawing subcommands' additions of issue 12, torch-free: plot --layer all into a
// directory it creates, output directories for every subcommand, position numbers on axes
// without tokens, and padding left out of prepare and html by the attention mask.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "attnhook/render_options.h"
#include "layout.h"
#include "picture_testing.h"
#include "view_testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::read_bytes;
using attnhook_test::write_bytes;
using attnhook_test::load_png;
using attnhook_test::Picture;

class CliPlot : public attnhook_test::TempDirTest {
 protected:
  attnhook_test::CliRun cli(const std::vector<std::string>& args) { return attnhook_test::run_cli(args, path("../err_" + std::to_string(::getpid()))); }
};

// Attention [1, heads, t, s] with row i's weight on key (i + shift) % s, as attnhook JSON values.
std::string one_hot_values(int heads, int t, int s, int shift) {
  std::vector<std::string> values;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < t; ++i)
      for (int j = 0; j < s; ++j) values.push_back((i + shift + h) % s == j ? "1" : "0");
  return fmt::format("{}", fmt::join(values, ","));
}

std::string layer(const std::string& name, int t, int s, int shift, const std::string& extra = "") {
  return fmt::format(R"({{"name": {}, {}"calls": [{{"shape": [1, 2, {}, {}], "values": [{}]}}]}})",
                     nlohmann::json(name).dump(), extra, t, s, one_hot_values(2, t, s, shift));
}

std::string attention_file(const std::vector<std::string>& layers, const std::string& top = R"("tokens": [])") {
  return fmt::format(R"({{"format": "attnhook", "version": 1, {}, "layers": [{}]}})", top, fmt::join(layers, ","));
}

bool is_ink(const Picture& image, int x, int y) {
  return image(x, y, 0, 0) < 160 && image(x, y, 0, 1) < 160 && image(x, y, 0, 2) < 160;
}

// Runs of image rows with ink in columns [0, right): one per row label.
int label_runs(const Picture& image, int top, int bottom, int right) {
  int runs = 0;
  bool inside = false;
  for (int y = top; y < bottom; ++y) {
    bool ink = false;
    for (int x = 0; x < right && !ink; ++x) ink = is_ink(image, x, y);
    runs += ink && !inside;
    inside = ink;
  }
  return runs;
}

TEST_F(CliPlot, LayerAllWritesOneGridPerLayerIntoADirectoryItCreates) {
  write_bytes(path("attn.json"), attention_file({layer("enc/0", 3, 3, 0), layer("enc_0", 3, 3, 1), layer("..", 4, 4, 2),
                                                 layer("layers.1.self_attn", 3, 5, 1)}));
  const auto all = cli({"plot", "-i", path("attn.json"), "--layer", "all", "-o", path("grids/nested")});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<std::string> written;
  for (const auto& entry : fs::directory_iterator(path("grids/nested"))) written.push_back(entry.path().filename());
  std::sort(written.begin(), written.end());
  // Names a file system takes: '/' replaced, never hidden or "..", unique.
  EXPECT_EQ(written, (std::vector<std::string>{"enc_0.png", "enc_0_2.png", "layer...png", "layers.1.self_attn.png"}));
  // Each is the grid `plot --layer <index>` draws.
  const char* names[] = {"enc_0.png", "enc_0_2.png", "layer...png", "layers.1.self_attn.png"};
  for (int index = 0; index < 4; ++index) {
    const auto one = cli({"plot", "-i", path("attn.json"), "--layer", std::to_string(index), "-o", path("one.png")});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(read_bytes(path("grids/nested/") + names[index]), read_bytes(path("one.png"))) << names[index];
  }
  // A layer named "all" is still drawn by name.
  write_bytes(path("named.json"), attention_file({layer("x", 2, 2, 0), layer("all", 2, 2, 1)}));
  const auto named = cli({"plot", "-i", path("named.json"), "--layer", "all", "-o", path("all.png")});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_TRUE(fs::is_regular_file(path("all.png")));
}

TEST_F(CliPlot, LayerAllNeedsADirectory) {
  write_bytes(path("attn.json"), attention_file({layer("a", 2, 2, 0)}));
  write_bytes(path("file.png"), "x");
  const auto to_stdout = cli({"plot", "-i", path("attn.json"), "--layer", "all", "-o", "-"});
  EXPECT_EQ(to_stdout.exit_code, 1);
  EXPECT_EQ(to_stdout.err, "attnhook: --layer all writes one file per layer: -o must name a directory, not -\n");
  const auto to_file = cli({"plot", "-i", path("attn.json"), "--layer", "all", "-o", path("file.png")});
  EXPECT_EQ(to_file.exit_code, 1);
  EXPECT_EQ(to_file.err, "attnhook: --layer all writes one file per layer: -o '" + path("file.png") +
                             "' must be a directory, and it is a file\n");
  EXPECT_EQ(read_bytes(path("file.png")), "x");
  const auto unknown = cli({"plot", "-i", path("attn.json"), "--layer", "b", "-o", path("b.png")});
  EXPECT_EQ(unknown.err, "attnhook: --layer 'b' is neither a layer index (0..0) nor a layer name (nor all); layers: 0 a\n");
}

TEST_F(CliPlot, EverySubcommandCreatesTheDirectoriesOfItsOutput) {
  write_bytes(path("attn.json"), attention_file({layer("a", 2, 2, 0)}));
  const std::pair<std::string, std::string> runs[] = {
      {"plot", "p/q/grid.png"}, {"model-view", "m/n/model.png"}, {"prepare", "r/s/backend.json"}, {"html", "h/i/view.html"}};
  for (const auto& [command, output] : runs) {
    const auto run = cli({command, "-i", path("attn.json"), "-o", path(output)});
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.err;
    EXPECT_TRUE(fs::is_regular_file(path(output))) << output;
  }
  // A directory that cannot be made is an error naming it; nothing is left.
  write_bytes(path("blocker"), "");
  const auto blocked = cli({"plot", "-i", path("attn.json"), "-o", path("blocker/sub/grid.png")});
  EXPECT_EQ(blocked.exit_code, 1);
  const std::string expected = "attnhook: cannot create directory '" + path("blocker/sub") +
                               "' for attention image '" + path("blocker/sub/grid.png") + "': ";
  EXPECT_EQ(blocked.err.rfind(expected, 0), 0u) << blocked.err;
}

// Without tokens, rows and columns carry their position numbers, thinned as tokens are:
// at 512 positions every 20th (one label per 12 pixels at least).
TEST_F(CliPlot, AxesWithoutTokensShowThinnedPositionNumbers) {
  for (const int positions : {6, 512}) {
    SCOPED_TRACE(positions);
    write_bytes(path("attn.json"), attention_file({layer("attn", positions, positions, 1)}));
    const auto run = cli({"plot", "-i", path("attn.json"), "-o", path("grid.png")});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const Picture image = load_png(path("grid.png"));
    // Where the CLI's grid puts things: the same options, labels being the numbers.
    std::vector<std::string> numbers;
    for (int i = 0; i < positions; ++i) numbers.push_back(std::to_string(i));
    std::vector<float> values(2 * positions * positions, 0.0f);
    const attnhook::detail::Layout layout = attnhook::detail::grid_layout(
        attnhook::detail::FloatArray({1, 2, positions, positions}, values), std::nullopt,
        attnhook::GridOptions().title("attn").tgt_tokens(numbers).src_tokens(numbers));
    ASSERT_GT(layout.tgt_label_step, 0);
    EXPECT_GE(layout.tgt_label_step * layout.cell, 12);
    const auto& map = layout.heatmaps[0];
    const int expected = (positions + layout.tgt_label_step - 1) / layout.tgt_label_step;
    EXPECT_EQ(label_runs(image, map.y - 6, map.y + map.height + 6, map.x - 5), expected);
    if (positions == 512) {
      EXPECT_LE(expected, 52);  // legible: at most one label per ~10 rows
    }
  }
}

// prepare and html leave out what the attention mask marks as padding, whatever the
// tokens are called; files without masks fall back to pad tokens; --keep-padding keeps all.
TEST_F(CliPlot, PaddingByTheMaskIsLeftOutOfPrepareAndHtml) {
  // Row i attends key i + 1 (mod 5) in head 0; the mask drops positions 3 and 4.
  const std::string top = R"("tokens": ["[CLS]", "a", "[SEP]", "x", "y"], "attention_mask": [1, 1, 1, 0, 0])";
  write_bytes(path("masked.json"), attention_file({layer("l0", 5, 5, 1)}, top));
  ASSERT_EQ(cli({"prepare", "-i", path("masked.json"), "-o", path("backend.json")}).exit_code, 0);
  const auto backend = nlohmann::json::parse(read_bytes(path("backend.json")));
  EXPECT_EQ(backend["tokens"], nlohmann::json({"[CLS]", "a", "[SEP]"}));
  EXPECT_EQ(backend["layers"][0]["heads"][0]["attention"],
            nlohmann::json({{0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}, {0.0, 0.0, 0.0}}));  // row 2's key 3 is gone
  ASSERT_EQ(cli({"prepare", "--keep-padding", "-i", path("masked.json"), "-o", path("kept.json")}).exit_code, 0);
  const auto kept = nlohmann::json::parse(read_bytes(path("kept.json")));
  EXPECT_EQ(kept["tokens"].size(), 5u);
  EXPECT_EQ(kept["layers"][0]["heads"][0]["attention"].size(), 5u);

  // No mask: tokens named like padding are left out, as before masks existed.
  write_bytes(path("named.json"), attention_file({layer("l0", 4, 4, 0)}, R"("tokens": ["a", "b", "[PAD]", "<pad>"])"));
  ASSERT_EQ(cli({"prepare", "-i", path("named.json"), "-o", path("named_backend.json")}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_bytes(path("named_backend.json")))["tokens"], nlohmann::json({"a", "b"}));

  // A decoder layer with its own axes and masks (cross-attention 3 x 4 -> 2 x 3).
  const std::string own =
      R"("tgt_tokens": ["<s>", "3", "[PAD]"], "src_tokens": ["<s>", "three", "</s>", "[PAD]"],
         "tgt_attention_mask": [1, 1, 0], "src_attention_mask": [1, 1, 1, 0], )";
  write_bytes(path("cross.json"), attention_file({layer("decoder.cross", 3, 4, 0, own)}));
  ASSERT_EQ(cli({"prepare", "-i", path("cross.json"), "-o", path("cross_backend.json")}).exit_code, 0);
  const auto cross = nlohmann::json::parse(read_bytes(path("cross_backend.json")))["layers"][0];
  EXPECT_EQ(cross["tgt_tokens"], nlohmann::json({"<s>", "3"}));
  EXPECT_EQ(cross["src_tokens"], nlohmann::json({"<s>", "three", "</s>"}));
  EXPECT_EQ(cross["heads"][0]["attention"], nlohmann::json({{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}}));

  ASSERT_EQ(cli({"html", "-i", path("cross.json"), "-o", path("view.html")}).exit_code, 0);
  const std::string page = read_bytes(path("view.html"));
  EXPECT_NE(page.find(R"("tgt_tokens":["<s>","3"],"src_tokens":["<s>","three","<\/s>"],"heads":[[[1,0,0],[0,1,0]])"),
            std::string::npos);
  ASSERT_EQ(cli({"html", "--keep-padding", "-i", path("cross.json"), "-o", path("all.html")}).exit_code, 0);
  EXPECT_NE(read_bytes(path("all.html")).find(R"("tgt_tokens":["<s>","3","[PAD]"])"), std::string::npos);
}

TEST_F(CliPlot, ThePredictionReachesTheModelViewTitleAndThePage) {
  const std::string top = R"("tokens": ["a", "b"],
    "outputs": [{"name": "logits", "shape": [1, 2], "values": [-1.5, 2.25]}],
    "prediction": {"output": "logits", "shape": [1], "class_ids": [1], "class_names": ["positive"], "probabilities": [0.97]})";
  write_bytes(path("attn.json"), attention_file({layer("l0", 2, 2, 0)}, top));
  ASSERT_EQ(cli({"html", "-i", path("attn.json"), "-o", path("view.html")}).exit_code, 0);
  const std::string page = read_bytes(path("view.html"));
  EXPECT_NE(page.find(R"("answer":{"outputs":[{"name":"logits","shape":[1,2],"values":[-1.5,2.25]}],)"
                      R"("prediction":{"class_ids":[1],"class_names":["positive"],"output":"logits",)"),
            std::string::npos);
  // The model view's title is drawn: a longer title, a wider or equal picture, and different pixels.
  write_bytes(path("plain.json"), attention_file({layer("l0", 2, 2, 0)}, R"("tokens": ["a", "b"])"));
  ASSERT_EQ(cli({"model-view", "-i", path("attn.json"), "-o", path("with.png")}).exit_code, 0);
  ASSERT_EQ(cli({"model-view", "-i", path("plain.json"), "-o", path("without.png")}).exit_code, 0);
  const Picture with = load_png(path("with.png")), without = load_png(path("without.png"));
  EXPECT_GT(with.width(), without.width());  // "... | predicted: positive (class 1, p = 0.97)"
}

}  // namespace

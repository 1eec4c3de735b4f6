// save_attention_grid / save_attention_heatmap and the file they write: a bad call is an
// attnhook::Error naming the bad value and writes nothing; an existing file is replaced
// only by a finished picture; no temporary file stays.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "attnhook/render.h"
#include "png_testing.h"
#include "tensor/render_layout.h"

namespace attnhook_test {
namespace {

namespace fs = std::filesystem;
using attnhook::GridOptions;
// One fixture type for RenderTest in every file: gtest requires it of a suite.
using RenderTest = TempDirTest;

TEST_F(RenderTest, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  attnhook::save_attention_grid(one_hot(1, 1, 3, 3), path("out.png"));
  attnhook::save_attention_grid(one_hot(1, 4, 3, 3), path("out.png"));
  EXPECT_EQ(files(), std::vector<std::string>{"out.png"});
  EXPECT_EQ(load_png(path("out.png")).width(),
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
}  // namespace attnhook_test

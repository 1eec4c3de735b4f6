// save_model_view and the file it writes: a bad call is an attnhook::Error naming the bad
// layer and value and writes nothing; an existing file is replaced only by a finished
// picture.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "attnhook/error.h"
#include "attnhook/render.h"
#include "attnhook/values.h"
#include "png_testing.h"
#include "tensor/render_layout.h"

namespace attnhook_test {
namespace {

namespace fs = std::filesystem;
using attnhook::ModelViewOptions;
using attnhook::Values;
// One fixture type for ModelViewTest in every file: gtest requires it of a suite.
using ModelViewTest = TempDirTest;

// A copy of `tensor` with one element set to `value`.
torch::Tensor with_value(const torch::Tensor& tensor, const std::vector<int64_t>& index,
                         float value) {
  torch::Tensor copy = tensor.clone();
  copy.index_put_({index[0], index[1], index[2], index[3]}, value);
  return copy;
}

Values values_of(const std::vector<std::pair<std::string, std::vector<torch::Tensor>>>& layers) {
  Values values;
  for (const auto& [name, calls] : layers) values.append(name, calls);
  return values;
}

struct BadCall {
  std::string name;
  Values values;
  ModelViewOptions options;
  std::vector<std::string> expected;  // substrings of the message
};

TEST_F(ModelViewTest, ErrorsNameTheBadLayerAndWriteNothing) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const auto ok = torch::rand({2, 3, 4, 4});
  const auto single = torch::rand({1, 3, 4, 4});
  const std::vector<BadCall> cases = {
      {"empty", Values(), {}, {"values is empty"}},
      {"no calls", values_of({{"a", {}}}), {}, {"values is empty"}},
      {"undefined",
       values_of({{"a", {ok}}, {"b", {torch::Tensor()}}}),
       {},
       {"'b' is an undefined tensor"}},
      {"rank 3",
       values_of({{"a", {ok}}, {"layers.1", {ok[0]}}}),
       {},
       {"'layers.1' must be [batch, heads, tgt_len, src_len]", "got shape [3, 4, 4]"}},
      {"rank 3 of a second call",
       values_of({{"dec", {ok, ok[0]}}}),
       {},
       {"'dec' call 1 must be", "[3, 4, 4]"}},
      {"empty tensor",
       values_of({{"a", {torch::rand({1, 2, 0, 3})}}}),
       {},
       {"'a' is empty", "[1, 2, 0, 3]"}},
      {"integer",
       values_of({{"a", {torch::ones({1, 2, 3, 3}, torch::kLong)}}}),
       {},
       {"'a' must be a floating-point tensor", "Long"}},
      {"batch out of range for one layer",
       values_of({{"layers.0", {ok}}, {"layers.1", {single}}}),
       ModelViewOptions().batch(1),
       {"batch 1 is out of range for 'layers.1' of shape [1, 3, 4, 4] (batch size 1)"}},
      {"batch negative", values_of({{"a", {ok}}}), ModelViewOptions().batch(-1), {"batch -1"}},
      {"nan",
       values_of({{"a", {ok}}, {"layers.1.attn", {with_value(ok, {1, 2, 3, 0}, nan)}}}),
       ModelViewOptions().batch(1),
       {"'layers.1.attn' weights[1, 2, 3, 0] is nan", "must be finite"}},
      {"inf in a second call",
       values_of({{"dec", {ok, with_value(ok, {0, 1, 0, 2}, inf)}}}),
       {},
       {"'dec' call 1 weights[0, 1, 0, 2] is inf"}},
      {"nan in another sample is not shown",  // sample 0 is drawn: no error expected below
       values_of({{"a", {with_value(ok, {1, 0, 0, 0}, nan)}}}),
       {},
       {}},
      {"thumbnail_size",
       values_of({{"a", {ok}}}),
       ModelViewOptions().thumbnail_size(-1),
       {"thumbnail_size -1"}},
      {"too large",
       values_of({{"a", {ok}}}),
       ModelViewOptions().thumbnail_size(20000),
       {"pixels wide", "limit 32768", "thumbnail_size"}},
  };
  const std::string target = path("out.png");
  for (const auto& bad : cases) {
    if (bad.expected.empty()) {
      EXPECT_NO_THROW(attnhook::save_model_view(bad.values, target, bad.options)) << bad.name;
      fs::remove(target);
      continue;
    }
    try {
      attnhook::save_model_view(bad.values, target, bad.options);
      ADD_FAILURE() << bad.name << ": no error";
    } catch (const attnhook::Error& e) {
      for (const auto& part : bad.expected)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
            << bad.name << ": '" << e.what() << "' lacks '" << part << "'";
    }
    EXPECT_THROW(attnhook::detail::layout_model_view(bad.values, bad.options), attnhook::Error)
        << bad.name;
    EXPECT_FALSE(fs::exists(target)) << bad.name;
    EXPECT_TRUE(files().empty()) << bad.name << ": left " << files().front();
  }
}

TEST_F(ModelViewTest, PathErrorsNameThePathAndLeaveExistingFilesAlone) {
  const Values values = one_hot_values({{"a", 2, 3, 3}});
  const std::string missing = path("no/such/dir/model.png");
  try {
    attnhook::save_model_view(values, missing);
    ADD_FAILURE() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'" + missing + "'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(files().empty());
  try {
    attnhook::save_model_view(values, "");
    ADD_FAILURE() << "no error";
  } catch (const attnhook::Error& e) {
    EXPECT_NE(std::string(e.what()).find("path is empty"), std::string::npos) << e.what();
  }

  { std::ofstream(path("model.png")) << "previous picture"; }
  EXPECT_THROW(attnhook::save_model_view(values, path("model.png"), ModelViewOptions().batch(1)),
               attnhook::Error);
  std::ifstream in(path("model.png"));
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "previous picture");
  attnhook::save_model_view(values, path("model.png"));  // replaced when it succeeds
  EXPECT_EQ(load_png(path("model.png")).width(), attnhook::detail::layout_model_view(values, {}).width);
  EXPECT_EQ(files(), std::vector<std::string>{"model.png"});
}

}  // namespace
}  // namespace attnhook_test

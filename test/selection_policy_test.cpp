// README "What is selected": every row of its table, on a torch::nn model and on the same
// architecture exported from Python (TorchScript), must give the same names — or, where
// the row is an error, the same message.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "attnhook/attnhook.h"
#include "models.h"
#include "testing.h"
#include "torchscript_fixtures.h"

namespace {

using attnhook::AttentionHooker;
using attnhook::HookerOptions;
using attnhook_test::error_of;

struct Row {
  std::string pattern;
  std::vector<std::string> names;  // empty: an error, the same from both mechanisms
  std::string error;
};

std::vector<std::string> names_of(const attnhook::Values& values) {
  std::vector<std::string> names;
  for (const auto& [name, calls] : values) names.push_back(name);
  return names;
}

// One row on both mechanisms: after one forward, hooked_names() and the names in
// values() are the row's, each recorded once.
void check_row(const Row& row, const std::function<std::shared_ptr<torch::nn::Module>()>& make_nn,
               const std::function<void(torch::nn::Module&)>& run_nn, const attnhook_test::Case& scripted) {
  SCOPED_TRACE("layer_regex '" + row.pattern + "'");
  auto model = make_nn();
  if (row.names.empty()) {
    EXPECT_EQ(error_of([&] { AttentionHooker(model, HookerOptions().layer_regex(row.pattern)); }), row.error);
    EXPECT_EQ(error_of([&] { AttentionHooker(scripted.model, HookerOptions().layer_regex(row.pattern)); }), row.error);
    return;
  }
  AttentionHooker nn_hooker(model, HookerOptions().layer_regex(row.pattern));
  nn_hooker.setup();
  run_nn(*model);
  EXPECT_EQ(nn_hooker.hooked_names(), row.names) << "torch::nn";
  EXPECT_EQ(names_of(nn_hooker.values()), row.names) << "torch::nn";
  for (const auto& [name, calls] : nn_hooker.values()) EXPECT_EQ(calls.size(), 1u) << name;

  AttentionHooker script_hooker(scripted.model, HookerOptions().layer_regex(row.pattern));
  EXPECT_EQ(script_hooker.hooked_names(), row.names) << "TorchScript, before any forward";
  script_hooker.setup();
  attnhook_test::run(script_hooker.module(), scripted.inputs, attnhook_test::Grad::kNoGrad);
  EXPECT_EQ(names_of(script_hooker.values()), row.names) << "TorchScript";
  for (const auto& [name, calls] : script_hooker.values()) EXPECT_EQ(calls.size(), 1u) << name;
}

// nn.TransformerEncoder, 2 layers: torch::nn::TransformerEncoder and Python's, scripted.
TEST(SelectionPolicy, TransformerEncoderRows) {
  const auto scripted = attnhook_test::load_case("encoder_seqfirst");
  const std::string attention = "attention modules of this model: layers.0.self_attn, layers.1.self_attn";
  const std::vector<Row> rows = {
      {"", {"layers.0.self_attn", "layers.1.self_attn"}, ""},
      {"self_attn$", {"layers.0.self_attn", "layers.1.self_attn"}, ""},
      {".*attn.*", {"layers.0.self_attn", "layers.1.self_attn"}, ""},  // not self_attn.out_proj
      {R"(layers\.0)", {"layers.0.self_attn"}, ""},
      {R"(^layers\.0$)", {},
       "layer_regex '^layers\\.0$' selects no attention module: it matches layers.0 (TransformerEncoderLayer), "
       "which contains layers.0.self_attn; " + attention},
      {"decoder", {}, "layer_regex 'decoder' selects no module; " + attention},
  };
  for (const auto& row : rows) {
    check_row(
        row, [] { return attnhook_test::make_encoder(2).ptr(); },
        [](torch::nn::Module& model) {
          torch::NoGradGuard no_grad;
          dynamic_cast<torch::nn::TransformerEncoderImpl&>(model).forward(torch::randn({6, 2, 16}));
        },
        scripted);
  }
}

// HF's BERT: the pattern `attention` matches both `attention` (BertAttention) and
// `attention.self` (BertSelfAttention); only the latter computes the softmax.
TEST(SelectionPolicy, HfBertRows) {
  if (attnhook_test::kTorchRelease == "1.13") {
    GTEST_SKIP() << "the HF model zoo (test/fixtures/torch2.13/hf_*) is made by torch 2.13 only";
  }
  const auto scripted = attnhook_test::load_case("hf_bert");
  const std::vector<std::string> self = {"model.encoder.layer.0.attention.self", "model.encoder.layer.1.attention.self"};
  const std::vector<Row> rows = {
      {"", self, ""},
      {"attention", self, ""},
      {R"(attention\.self$)", self, ""},
      {R"(layer\.1\.)", {"model.encoder.layer.1.attention.self"}, ""},
  };
  for (const auto& row : rows) {
    check_row(
        row, [] { return attnhook_test::hf::IdsWrapper().ptr(); },
        [](torch::nn::Module& model) {
          torch::NoGradGuard no_grad;
          dynamic_cast<attnhook_test::hf::IdsWrapperImpl&>(model).forward(torch::randint(0, 100, {2, 8}));
        },
        scripted);
  }
}

// torch::nn cannot read C++ code: before a forward, modules of the user's own types that
// own parameters and contain no other such module are candidates; a forward rules out
// those that ran without computing attention.
TEST(SelectionPolicy, TorchNnHandWrittenCandidatesAreSettledByAForward) {
  attnhook_test::hf::IdsWrapper model;
  AttentionHooker hooker(model);
  const auto before = hooker.hooked_names();
  EXPECT_EQ(before.front(), "model.embeddings");
  EXPECT_NE(std::find(before.begin(), before.end(), "model.encoder.layer.0.attention.output"), before.end());
  hooker.setup();
  torch::NoGradGuard no_grad;
  model->forward(torch::randint(0, 100, {1, 5}));
  EXPECT_EQ(hooker.hooked_names(), (std::vector<std::string>{"model.encoder.layer.0.attention.self",
                                                             "model.encoder.layer.1.attention.self"}));
}

}  // namespace

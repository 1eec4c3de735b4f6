// The fields issue 12 added to attention files — attention masks (the file's and each
// layer's), the model's outputs and its prediction — in attn.json and attn.npz: they round
// trip, numpy reads them (the independent reference), numpy's own arrays of them are read,
// older files without them still load, and malformed ones are errors naming the field.
#include <gtest/gtest.h>

#include <cmath>

#include "attention_data.h"
#include "padding.h"
#include "view_testing.h"

namespace {

using attnhook::detail::AttentionData;
using attnhook::detail::FloatArray;
using attnhook_test::error_of;
using attnhook_test::write_bytes;

class AttentionFields : public attnhook_test::TempDirTest {};

AttentionData sample() {
  AttentionData data;
  data.model = "m.pt";
  data.text = "a b";
  data.tokens = {"[CLS]", "a", "b", "[PAD]"};
  data.attention_mask = {1, 1, 1, 0};
  data.src_tokens = {"x", "y", "z"};
  data.src_attention_mask = {1, 1, 0};
  data.layer_tokens["dec.cross"] = {{"<s>", "1"}, {"x", "y", "z"}, {1, 1}, {1, 1, 0}};
  data.outputs.push_back({"logits", FloatArray({1, 2}, {-1.5f, 2.25f})});
  data.outputs.push_back({"output.1", FloatArray({3}, {0.5f, 0.25f, 0.125f})});
  data.prediction = {"logits", {1}, {1}, {"positive"}, {0.97f}};
  data.values.push_back({"enc", {FloatArray({1, 1, 4, 4}, std::vector<float>(16, 0.25f))}});
  data.values.push_back({"dec.cross", {FloatArray({1, 1, 2, 3}, {0.5f, 0.5f, 0, 0.5f, 0.5f, 0})}});
  return data;
}

void expect_fields(const AttentionData& back, const AttentionData& data) {
  EXPECT_EQ(back.attention_mask, data.attention_mask);
  EXPECT_EQ(back.src_attention_mask, data.src_attention_mask);
  ASSERT_EQ(back.layer_tokens.count("dec.cross"), 1u);
  EXPECT_EQ(back.layer_tokens.at("dec.cross").tgt_mask, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(back.layer_tokens.at("dec.cross").src_mask, (std::vector<int64_t>{1, 1, 0}));
  ASSERT_EQ(back.outputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.outputs[i].name, data.outputs[i].name);
    EXPECT_EQ(back.outputs[i].values.shape(), data.outputs[i].values.shape());
    for (int64_t k = 0; k < data.outputs[i].values.numel(); ++k)
      EXPECT_EQ(back.outputs[i].values.data()[k], data.outputs[i].values.data()[k]);
  }
  EXPECT_EQ(back.prediction.output, "logits");
  EXPECT_EQ(back.prediction.shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(back.prediction.class_ids, (std::vector<int64_t>{1}));
  EXPECT_EQ(back.prediction.class_names, (std::vector<std::string>{"positive"}));
  EXPECT_EQ(back.prediction.probabilities, (std::vector<float>{0.97f}));
}

TEST_F(AttentionFields, RoundTripInJsonAndNpz) {
  const AttentionData data = sample();
  attnhook::detail::write_json(data, path("attn.json"), attnhook::JsonSchema::kAttnhook);
  attnhook::detail::write_npz(data, path("attn.npz"));
  expect_fields(attnhook::detail::read_json(path("attn.json")), data);
  expect_fields(attnhook::detail::read_npz(path("attn.npz")), data);
  // Which positions are padding: each axis by its own mask.
  const AttentionData back = attnhook::detail::read_npz(path("attn.npz"));
  const auto enc = attnhook::detail::kept_positions(back, "enc", 4, 4, {});
  EXPECT_EQ(enc.rows, (std::vector<bool>{true, true, true, false}));
  const auto cross = attnhook::detail::kept_positions(back, "dec.cross", 2, 3, {});
  EXPECT_EQ(cross.rows, (std::vector<bool>{true, true}));
  EXPECT_EQ(cross.cols, (std::vector<bool>{true, true, false}));
}

TEST_F(AttentionFields, NumpyReadsOursAndWeReadNumpys) {
  if (!attnhook_test::have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  attnhook::detail::write_npz(sample(), path("ours.npz"));
  const std::string out = attnhook_test::run_python(path("check.py"), R"(import numpy as np, sys
a = np.load(sys.argv[1])
m = a["attention_mask"]
print(m.dtype, m.tolist(), a["dec.cross/src_attention_mask"].tolist(), a["output:logits"].tolist(),
      a["output:output.1"].dtype, str(a["prediction:output"]), a["prediction:class_ids"].tolist(),
      list(a["prediction:class_names"]), a["prediction:probabilities"].dtype)
# numpy's own: masks as bool and int32, a prediction of two positions
np.savez(sys.argv[2], **{"l/0": np.full((1, 1, 2, 2), 0.5, np.float32), "attention_mask": np.array([True, False]),
                         "l/src_attention_mask": np.array([1, 0], np.int32), "l/tgt_attention_mask": np.array([1, 1], np.uint8),
                         "output:x": np.arange(6, dtype=np.float64).reshape(2, 3),
                         "prediction:output": np.array("x"), "prediction:class_ids": np.array([[2, 2]], np.int64)})
print("ok")
)", path("ours.npz") + " " + path("numpy.npz"));
  EXPECT_EQ(out, "int64 [1, 1, 1, 0] [1, 1, 0] [[-1.5, 2.25]] float32 logits [1] ['positive'] float32\nok\n");
  const AttentionData theirs = attnhook::detail::read_npz(path("numpy.npz"));
  EXPECT_EQ(theirs.attention_mask, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(theirs.layer_tokens.at("l").src_mask, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(theirs.layer_tokens.at("l").tgt_mask, (std::vector<int64_t>{1, 1}));
  ASSERT_EQ(theirs.outputs.size(), 1u);
  EXPECT_EQ(theirs.outputs[0].values.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(theirs.outputs[0].values.data()[5], 5.0f);
  EXPECT_EQ(theirs.prediction.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(theirs.prediction.class_ids, (std::vector<int64_t>{2, 2}));
}

TEST_F(AttentionFields, FilesWithoutThemStillLoad) {
  write_bytes(path("old.json"), R"({"format": "attnhook", "version": 1, "model": "m", "text": "", "tokens": ["a"],
    "layers": [{"name": "l", "tgt_tokens": ["a"], "src_tokens": ["b"], "calls": [{"shape": [1, 1, 1, 1], "values": [1]}]}]})");
  const AttentionData old = attnhook::detail::read_json(path("old.json"));
  EXPECT_TRUE(old.attention_mask.empty());
  EXPECT_TRUE(old.layer_tokens.at("l").tgt_mask.empty());
  EXPECT_TRUE(old.outputs.empty());
  EXPECT_TRUE(old.prediction.empty());
  EXPECT_EQ(old.layer_tokens.at("l").src, (std::vector<std::string>{"b"}));
}

TEST_F(AttentionFields, MalformedFieldsAreErrorsNamingThem) {
  const std::string head = R"({"format": "attnhook", "version": 1, "layers": [], )";
  const std::pair<std::string, std::string> cases[] = {
      {R"("attention_mask": [1, "x"]})", "attention_mask[1] must be an integer (line 1, column 74)"},
      {R"("outputs": [{"name": "o", "shape": [2], "values": [1]}]})",
       "outputs[0].values has 1 numbers, shape [2] needs 2 (line 1, column 102)"},
      {R"("outputs": [{"shape": [1], "values": [1]}]})", "outputs[0].name must be a string (line 1, column 64)"},
      {R"("outputs": [{"name": "o", "shape": [1], "values": [1e40]}]})", "outputs[0].values[0] = 1e40 is out of float32's range"},
      {R"("prediction": {"output": "o", "shape": [1], "class_ids": [1, 2]}})",
       "prediction.class_ids has 2 entries, shape [1] needs 1 (line 1, column 66)"},
      {R"("prediction": {"output": "o", "shape": [1], "class_ids": [1], "class_names": ["a", "b"]}})",
       "prediction.class_names has 2 entries, shape [1] needs 1"},
      {R"("prediction": {"shape": [1], "class_ids": [1]}})", "prediction.output must name an output"},
  };
  for (const auto& [tail, message] : cases) {
    write_bytes(path("bad.json"), head + tail);
    const std::string error = error_of([&] { attnhook::detail::read_json(path("bad.json")); });
    EXPECT_EQ(error.rfind("attention file '" + path("bad.json") + "': ", 0), 0u) << error;
    EXPECT_NE(error.find(message), std::string::npos) << tail << "\n" << error;
  }
}

}  // namespace

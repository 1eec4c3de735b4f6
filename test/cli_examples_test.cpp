// The two workflows of the README, end to end through the attnhook executable, on models
// make_examples.py trains from scratch: text -> attn.json (with the prediction) -> one grid
// per layer -> prepare -> html for a sentiment classifier, and a seq2seq model with every
// axis labelled. Python (HF tokenizers, PyTorch) is the reference: reference.json.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "examples/examples_testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::example;
using attnhook_test::read_json;
using attnhook_test::run_cli;
using nlohmann::json;

class CliExamples : public attnhook_test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS();
  }
};

// Every head's row sums of each layer of a prepare output: after the padding is left out,
// rows of a model that masks padding still sum to 1 (they would not if padding had been
// attended to, or left in).
void expect_rows_sum_to_one(const json& backend) {
  for (const auto& layer : backend["layers"]) {
    for (const auto& head : layer["heads"]) {
      for (const auto& row : head["attention"]) {
        double sum = 0;
        for (const auto& w : row) sum += w.get<double>();
        ASSERT_NEAR(sum, 1.0, 1e-5) << layer["name"];
      }
    }
  }
}

TEST_F(CliExamples, SentimentClassifierFromTextToPictures) {
  const json reference = read_json(example("sentiment/reference.json"));
  ASSERT_EQ(reference["train_accuracy"], 1.0);
  const std::string max_length = std::to_string(reference["max_length"].get<int>());
  int index = 0;
  for (const auto& c : reference["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE(text);
    const std::string out = path("case" + std::to_string(index++));
    const auto extracted =
        run_cli({"extract", "--model", example("sentiment/classifier.pt"), "--tokenizer", example("sentiment/tokenizer.json"),
                 "--text", text, "--max-length", max_length, "--padding", "max_length", "--labels",
                 example("sentiment/labels.txt"), "-o", out + "/attn.json"});
    ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
    const json file = read_json(out + "/attn.json");
    // What HF tokenizers made of the text, and the user's text itself.
    EXPECT_EQ(file["text"], text);
    EXPECT_EQ(file["tokens"], c["tokens"]);
    EXPECT_EQ(file["attention_mask"], c["attention_mask"]);
    // The model's answer: Python's logits, the class a reader gives the sentence.
    ASSERT_EQ(file["outputs"].size(), 1u);
    EXPECT_EQ(file["outputs"][0]["shape"], json({1, 2}));
    for (int k = 0; k < 2; ++k) {
      EXPECT_NEAR(file["outputs"][0]["values"][k].get<double>(), c["logits"][k].get<double>(), 1e-4);
    }
    EXPECT_EQ(file["prediction"]["class_names"], json({c["expected"]}));
    EXPECT_EQ(file["prediction"]["class_names"], json({c["predicted"]}));
    EXPECT_NEAR(file["prediction"]["probabilities"][0].get<double>(), c["probability"].get<double>(), 1e-4);

    // One grid per layer, named after it, in a directory plot creates.
    const auto plotted = run_cli({"plot", "-i", out + "/attn.json", "--layer", "all", "-o", out + "/grids"});
    ASSERT_EQ(plotted.exit_code, 0) << plotted.err;
    std::vector<std::string> expected_pngs;
    for (const auto& layer : reference["layers"]) expected_pngs.push_back(layer.get<std::string>() + ".png");
    EXPECT_EQ(attnhook_test::tree(out + "/grids"), expected_pngs);

    // prepare: no padding left, by the mask; what is left still sums to 1 per row.
    const auto prepared = run_cli({"prepare", "-i", out + "/attn.json", "-o", out + "/backend.json"});
    ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
    const json backend = read_json(out + "/backend.json");
    json unpadded = json::array();
    for (size_t i = 0; i < c["tokens"].size(); ++i)
      if (c["attention_mask"][i] == 1) unpadded.push_back(c["tokens"][i]);
    EXPECT_EQ(backend["tokens"], unpadded);
    ASSERT_LT(unpadded.size(), c["tokens"].size()) << "the case has no padding to leave out";
    EXPECT_EQ(backend["layers"][1]["heads"][0]["attention"].size(), unpadded.size());
    EXPECT_EQ(backend["layers"][1]["heads"][0]["attention"][0].size(), unpadded.size());
    expect_rows_sum_to_one(backend);

    const auto page = run_cli({"html", "-i", out + "/attn.json", "-o", out + "/view.html"});
    ASSERT_EQ(page.exit_code, 0) << page.err;
    EXPECT_NE(attnhook_test::read_bytes(out + "/view.html").find("\"class_names\":[\"" + c["expected"].get<std::string>() + "\"]"),
              std::string::npos);
    EXPECT_EQ(run_cli({"model-view", "-i", out + "/attn.json", "-o", out + "/model.png"}).exit_code, 0);
  }
}

// Fraction of decoder positions t (0 .. digits-1) whose strongest cross-attention, in the
// best head of the last decoder layer, lands on source word t (position t + 1, after <s>):
// the alignment number words -> digits implies. Untrained: about 1 / source length.
double alignment(const json& layer, size_t digits) {
  const auto& call = layer["calls"][0];
  const int64_t heads = call["shape"][1], rows = call["shape"][2], cols = call["shape"][3];
  double best = 0;
  for (int64_t h = 0; h < heads; ++h) {
    size_t hits = 0;
    for (size_t t = 0; t < digits; ++t) {
      int64_t arg = 0;
      for (int64_t j = 1; j < cols; ++j) {
        if (call["values"][(h * rows + t) * cols + j] > call["values"][(h * rows + t) * cols + arg]) arg = j;
      }
      hits += arg == static_cast<int64_t>(t) + 1;
    }
    best = std::max(best, static_cast<double>(hits) / digits);
  }
  return best;
}

TEST_F(CliExamples, Seq2seqEveryAxisLabelled) {
  const json reference = read_json(example("seq2seq/reference.json"));
  int index = 0;
  for (const auto& c : reference["cases"]) {
    SCOPED_TRACE(c["text"].get<std::string>());
    const std::string out = path("case" + std::to_string(index++) + ".json");
    const auto extracted =
        run_cli({"extract", "--model", example("seq2seq/seq2seq.pt"), "--tokenizer", example("seq2seq/tokenizer.json"),
                 "--text", c["text"], "--tgt-text", c["tgt_text"], "--labels", example("seq2seq/vocab.txt"), "-o", out});
    ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
    const json file = read_json(out);
    ASSERT_EQ(file["layers"].size(), reference["layers"].size());
    for (size_t l = 0; l < file["layers"].size(); ++l) {
      const json& layer = file["layers"][l];
      const std::string name = layer["name"];
      ASSERT_EQ(name, reference["layers"][l]);
      SCOPED_TRACE(name);
      const bool decoder = name.find("decoder") != std::string::npos;
      const bool cross = name.find("multihead_attn") != std::string::npos;
      // Rows: the decoder's tokens in the decoder; columns: the source in cross-attention.
      EXPECT_EQ(layer["tgt_tokens"], decoder ? c["tgt_tokens"] : c["src_tokens"]);
      EXPECT_EQ(layer["src_tokens"], decoder && !cross ? c["tgt_tokens"] : c["src_tokens"]);
      EXPECT_EQ(layer["calls"][0]["shape"][2], layer["tgt_tokens"].size());
      EXPECT_EQ(layer["calls"][0]["shape"][3], layer["src_tokens"].size());
    }
    // The prediction at every decoder position is Python's: the digits, then </s>.
    EXPECT_EQ(file["prediction"]["class_names"], c["predicted"]);
    const size_t digits = c["tgt_tokens"].size() - 2;
    EXPECT_GE(alignment(file["layers"].back(), digits), 0.6) << "the cross-attention does not follow the words";
  }
  const auto plotted = run_cli({"plot", "-i", path("case0.json"), "--layer", "all", "-o", path("grids")});
  ASSERT_EQ(plotted.exit_code, 0) << plotted.err;
  EXPECT_EQ(attnhook_test::tree(path("grids")).size(), reference["layers"].size());
}

// Padding on both inputs: the source's reaches the model as src_key_padding_mask (by its
// name), so the decoder's real positions give the logits of the unpadded run; prepare
// leaves the padding of each axis out.
TEST_F(CliExamples, Seq2seqPaddingIsMaskedAndLeftOut) {
  const json c = read_json(example("seq2seq/reference.json"))["cases"][1];
  const std::vector<std::string> common = {"extract", "--model", example("seq2seq/seq2seq.pt"), "--tokenizer",
                                           example("seq2seq/tokenizer.json"), "--text", c["text"], "--tgt-text",
                                           c["tgt_text"]};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = common;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  ASSERT_EQ(run_cli(with({"-o", path("plain.json")})).exit_code, 0);
  const auto padded = run_cli(with({"--max-length", "10", "--padding", "max_length", "-o", path("padded.json")}));
  ASSERT_EQ(padded.exit_code, 0) << padded.err;
  const json plain = read_json(path("plain.json")), file = read_json(path("padded.json"));
  const size_t tgt = c["tgt_tokens"].size(), src = c["src_tokens"].size();
  const json& logits = file["outputs"][0];
  ASSERT_EQ(logits["shape"], json({1, 10, 24}));
  for (size_t i = 0; i < tgt * 24; ++i) {
    ASSERT_NEAR(logits["values"][i].get<double>(), plain["outputs"][0]["values"][i].get<double>(), 1e-4) << i;
  }
  ASSERT_EQ(run_cli({"prepare", "-i", path("padded.json"), "-o", path("backend.json")}).exit_code, 0);
  const json backend = read_json(path("backend.json"));
  for (const auto& layer : backend["layers"]) {
    const std::string name = layer["name"];
    const bool decoder = name.find("decoder") != std::string::npos, cross = name.find("multihead") != std::string::npos;
    const auto& attention = layer["heads"][0]["attention"];
    EXPECT_EQ(attention.size(), decoder ? tgt : src) << name;
    EXPECT_EQ(attention[0].size(), decoder && !cross ? tgt : src) << name;
    EXPECT_EQ(layer["src_tokens"], decoder && !cross ? c["tgt_tokens"] : c["src_tokens"]) << name;
  }
  expect_rows_sum_to_one(backend);  // causal and padding masks: no weight on what was left out
}

}  // namespace

// attn.json (both schemas) and attn.npz: exact round trips, numpy interoperability,
// and errors that name the file and the problem, leaving no partial file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "attnhook/attnhook.h"
#include "attnhook/export.h"
#include "testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::error_of;

class ExportJson : public attnhook_test::TempDirTest {};
class ExportNpz : public attnhook_test::TempDirTest {};
class ExportErrors : public attnhook_test::TempDirTest {};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

attnhook::AttentionFile sample() {
  torch::manual_seed(3);
  attnhook::AttentionFile file;
  file.model = "model.pt";
  file.text = "naïve \"quoted\" text\n";
  file.tokens = {"[CLS]", "naïve", "Ġthe", "▁end"};
  file.src_tokens = {"a", "b", "c", "d", "e"};
  file.values.append("layers.0.self_attn", {torch::softmax(torch::randn({2, 3, 4, 4}), -1),
                                            torch::softmax(torch::randn({2, 3, 4, 4}), -1)});
  file.layer_tokens["layers.10.cross"] = {{"q0", "q1", "q2", "q3"}, {"k0", "k1", "k2", "k3", "k4"}};
  file.values.append("layers.10.cross", {torch::softmax(torch::randn({2, 3, 4, 5}), -1).to(torch::kDouble)});
  return file;
}

void expect_same(const attnhook::AttentionFile& back, const attnhook::AttentionFile& file) {
  EXPECT_EQ(back.model, file.model);
  EXPECT_EQ(back.text, file.text);
  EXPECT_EQ(back.tokens, file.tokens);
  EXPECT_EQ(back.src_tokens, file.src_tokens);
  ASSERT_EQ(back.layer_tokens.size(), file.layer_tokens.size());
  for (const auto& [name, own] : file.layer_tokens) {
    EXPECT_EQ(back.layer_tokens.at(name).tgt, own.tgt);
    EXPECT_EQ(back.layer_tokens.at(name).src, own.src);
  }
  ASSERT_EQ(back.values.size(), file.values.size());
  auto expected = file.values.begin();
  for (const auto& [name, calls] : back.values) {
    EXPECT_EQ(name, expected->first);  // model order kept
    ASSERT_EQ(calls.size(), expected->second.size());
    for (size_t c = 0; c < calls.size(); ++c) {
      EXPECT_EQ(calls[c].scalar_type(), torch::kFloat);
      EXPECT_TRUE(calls[c].equal(expected->second[c].to(torch::kFloat))) << name << " call " << c;
    }
    ++expected;
  }
}

TEST_F(ExportJson, AttnhookSchemaRoundTripsExactly) {
  const auto file = sample();
  attnhook::save_json(file, path("attn.json"));
  expect_same(attnhook::load_attention(path("attn.json")), file);
}

TEST_F(ExportJson, FlatSchemaWritesOneEntryPerCallOfBatchZero) {
  const auto file = sample();
  attnhook::save_json(file, path("flat.json"), attnhook::JsonSchema::kFlat);
  const auto back = attnhook::load_json(path("flat.json"));
  EXPECT_EQ(back.tokens, file.tokens);
  ASSERT_EQ(back.values.size(), 3u);
  EXPECT_TRUE(back.values.at("0")[0].equal(file.values.at("layers.0.self_attn")[0].slice(0, 0, 1)));
  EXPECT_TRUE(back.values.at("1")[0].equal(file.values.at("layers.0.self_attn")[1].slice(0, 0, 1)));
  EXPECT_TRUE(back.values.at("2")[0].equal(file.values.at("layers.10.cross")[0].slice(0, 0, 1).to(torch::kFloat)));
}

TEST_F(ExportJson, ReadsAHandWrittenFlatFile) {
  write_text(path("flat.json"), R"({"tokens": ["a", "b"], "text": "a b",
    "attention_matrices": [[[[0.25, 0.75], [1, 0]], [[0.5, 0.5], [0.125, 0.875]]]]})");
  const auto file = attnhook::load_json(path("flat.json"));
  EXPECT_EQ(file.text, "a b");
  const auto& weights = file.values.at("0")[0];
  ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(weights[0][0][0][1].item<float>(), 0.75f);
  EXPECT_EQ(weights[0][1][1][1].item<float>(), 0.875f);
}

TEST_F(ExportNpz, RoundTripsExactlyWithItsOwnReader) {
  const auto file = sample();
  attnhook::save_npz(file, path("attn.npz"));
  expect_same(attnhook::load_attention(path("attn.npz")), file);
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0; }

TEST_F(ExportNpz, NumpyReadsWhatWeWriteAndWeReadWhatNumpyWrites) {
  if (!have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  const auto file = sample();
  attnhook::save_npz(file, path("attn.npz"));
  // numpy reads our file: every array's shape, and a weighted checksum of its values.
  const std::string script = path("check.py");
  write_text(script, R"(import numpy as np, sys
a = np.load(sys.argv[1])
w = a["layers.10.cross/0"]
print(list(a.keys()))
print(w.shape, w.dtype, float((w * np.arange(w.size).reshape(w.shape)).sum()))
print(list(a["tokens"]), str(a["text"]))
np.savez_compressed(sys.argv[2], **{"layers.0.self_attn/0": a["layers.0.self_attn/1"], "tokens": a["tokens"]})
)");
  const std::string out = path("numpy.txt");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + path("attn.npz") + " " +
                         path("numpy.npz") + " > " + out).c_str()),
            0);
  std::ifstream in(out);
  std::string keys, stats, texts;
  std::getline(in, keys), std::getline(in, stats), std::getline(in, texts);
  EXPECT_EQ(keys, "['layers.0.self_attn/0', 'layers.0.self_attn/1', 'layers.10.cross/0', 'layers.10.cross/tgt_tokens', "
                  "'layers.10.cross/src_tokens', 'tokens', 'src_tokens', 'text', 'model']");
  const auto w = file.values.at("layers.10.cross")[0].to(torch::kFloat);
  const double checksum = (w.to(torch::kDouble) * torch::arange(w.numel(), torch::kDouble).reshape(w.sizes())).sum().item<double>();
  char expected[128];
  std::snprintf(expected, sizeof expected, "(2, 3, 4, 5) float32 ");
  EXPECT_EQ(stats.substr(0, std::strlen(expected)), expected);
  EXPECT_NEAR(std::stod(stats.substr(std::strlen(expected))), checksum, 1e-3);
  EXPECT_EQ(texts, "['[CLS]', 'naïve', 'Ġthe', '▁end'] naïve \"quoted\" text");
  // ... and we read numpy's compressed file.
  const auto back = attnhook::load_npz(path("numpy.npz"));
  EXPECT_EQ(back.tokens, file.tokens);
  EXPECT_TRUE(back.values.at("layers.0.self_attn")[0].equal(file.values.at("layers.0.self_attn")[1]));
}

TEST_F(ExportErrors, MalformedJsonNamesLineAndColumn) {
  write_text(path("bad.json"), "{\n  \"tokens\": [\"a\",\n  oops]\n}");
  const auto message = error_of([&] { attnhook::load_json(path("bad.json")); });
  EXPECT_NE(message.find("attention file '" + path("bad.json") + "' is not valid JSON: parse error at line 3, column 3"),
            std::string::npos)
      << message;
}

TEST_F(ExportErrors, SchemaProblemsNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"format": "attnhook", "version": 2, "layers": []})", "unsupported version 2 (this reader knows 1)"},
      {R"({"format": "attnhook", "version": 1, "layers": [{"name": "x", "calls": [{"shape": [1, 1, 2, 2], "values": [1, 0, 0]}]}]})",
       "layers[0].calls[0].values has 3 numbers, shape [1, 1, 2, 2] needs 4"},
      {R"({"format": "attnhook", "version": 1, "layers": [{"calls": []}]})", "layers[0].name must be a string"},
      {R"({"format": "attnhook", "version": 1, "tokens": [1], "layers": []})", "tokens[0] must be a string"},
      {R"({"attention_matrices": [[[[0.5, 0.5], [1]]]]})", "attention_matrices[0][0][1] must have 2 numbers like row 0 of head 0"},
      {R"({"attention_matrices": [[[["x"]]]]})", "attention_matrices[0][0][0][0] must be a number"},
      {R"([1, 2])", "the top level must be an object"},
      {R"({"layers": []})", "neither attnhook's schema"},
  };
  for (const auto& c : cases) {
    write_text(path("bad.json"), c.json);
    const auto message = error_of([&] { attnhook::load_json(path("bad.json")); });
    EXPECT_EQ(message.rfind("attention file '" + path("bad.json") + "': " + c.message, 0), 0u) << message;
  }
}

TEST_F(ExportErrors, MissingCorruptAndUnwritableFiles) {
  EXPECT_EQ(error_of([&] { attnhook::load_attention(path("missing.json")); }),
            "cannot read attention file '" + path("missing.json") + "': No such file or directory");
  write_text(path("bad.npz"), "this is not a zip archive at all");
  EXPECT_EQ(error_of([&] { attnhook::load_attention(path("bad.npz")); }),
            "attention file '" + path("bad.npz") + "' is not a valid .npz: no zip end-of-directory record");
  const std::string unwritable = path("no/such/dir/attn.json");
  EXPECT_EQ(error_of([&] { attnhook::save_json(sample(), unwritable); }),
            "cannot write attention file '" + unwritable + "': No such file or directory");
  // A failed save over an existing file keeps the old file and leaves no temporary.
  write_text(path("keep.npz"), "old");
  fs::permissions(path("keep.npz"), fs::perms::owner_read);
  attnhook::save_npz(sample(), path("keep.npz"));  // rename replaces a read-only file
  int regular_files = 0;
  for (const auto& entry : fs::directory_iterator(dir())) regular_files += entry.is_regular_file();
  EXPECT_EQ(regular_files, 2);  // bad.npz, keep.npz: no temporary left
}

}  // namespace

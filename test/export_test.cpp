// attn.json (both schemas) and attn.npz: exact round trips, numpy interoperability,
// and errors that name the file and the problem, leaving no partial file.
#include <fmt/format.h>
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

// numpy's float16 and float64 arrays read as float32, rounded as LibTorch rounds them:
// subnormal, signed zero, largest half, infinities and NaN included.
TEST_F(ExportNpz, ReadsNumpysHalfAndDoubleArraysAsFloat32) {
  if (!have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  const std::vector<double> numbers = {0.0, -0.0, 1e-7, 6.1e-5, 65504.0, -2.5, 0.1, 1.0 / 3, 1e-40, 1e300};
  write_text(path("make.py"), R"(import numpy as np, sys
v = np.array([0.0, -0.0, 1e-7, 6.1e-5, 65504.0, -2.5, 0.1, 1.0 / 3, 1e-40, 1e300, np.inf, -np.inf, np.nan, 0, 0, 0]).reshape(1, 2, 2, 4)
with np.errstate(over="ignore"):
    np.savez(sys.argv[1], **{"half/0": v.astype(np.float16), "double/0": v})
)");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + path("make.py") + " " + path("mixed.npz")).c_str()), 0);
  const auto back = attnhook::load_npz(path("mixed.npz"));
  auto values = torch::zeros({16}, torch::kDouble);
  for (size_t i = 0; i < numbers.size(); ++i) values[i] = numbers[i];
  values[10] = INFINITY, values[11] = -INFINITY, values[12] = NAN;
  for (const auto& [name, dtype] : {std::pair{"half", torch::kHalf}, std::pair{"double", torch::kDouble}}) {
    SCOPED_TRACE(name);
    const auto expected = values.to(dtype).to(torch::kFloat).reshape({1, 2, 2, 4});
    const auto got = back.values.at(name)[0];
    ASSERT_EQ(got.scalar_type(), torch::kFloat);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(got.equal(expected) || (got.isnan().equal(expected.isnan()) &&
                                        got.nan_to_num(0).equal(expected.nan_to_num(0))))
        << got << expected;
    EXPECT_TRUE(got.signbit().equal(expected.signbit())) << "-0.0 keeps its sign";
  }
}

TEST_F(ExportErrors, MalformedJsonNamesLineAndColumn) {
  write_text(path("bad.json"), "{\n  \"tokens\": [\"a\",\n  oops]\n}");
  const auto message = error_of([&] { attnhook::load_json(path("bad.json")); });
  EXPECT_NE(message.find("attention file '" + path("bad.json") + "' is not valid JSON: parse error at line 3, column 3"),
            std::string::npos)
      << message;
  // The reader cuts number arrays out before parsing: positions after one are still the file's.
  const std::string line = R"({"format": "attnhook", "version": 1, "layers": [{"name": "x", "calls": [{"shape": [1, 1, 2, 2], )"
                           R"("values": [0.25, 0.75, 0.5, 0.5]}]}], oops})";
  write_text(path("after.json"), line + "\n\"values\": [1, 2, 3, 4], nope");
  const auto same_line = error_of([&] { attnhook::load_json(path("after.json")); });
  EXPECT_NE(same_line.find(fmt::format("parse error at line 1, column {}: ", line.find("oops") + 1)), std::string::npos)
      << same_line;
  write_text(path("next.json"), line.substr(0, line.find("oops")) + "\n\"values\": [1, 2, 3, 4], oops}");
  const auto next_line = error_of([&] { attnhook::load_json(path("next.json")); });
  EXPECT_NE(next_line.find("parse error at line 2, column 25: "), std::string::npos) << next_line;
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

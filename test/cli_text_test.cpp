// attnhook extract's inputs (issue 12): --ids with a mask, JSON Lines, the order inputs
// reach forward() (--forward-args), every bad input as a clear error with its exit code
// and no file, and the versioned plugin boundary. Models: make_examples.py's; the
// reference for every number is Python (reference.json).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "examples/examples_testing.h"

namespace fs = std::filesystem;

namespace {

using attnhook_test::example;
using attnhook_test::read_json;
using attnhook_test::run_cli;
using nlohmann::json;

class CliText : public attnhook_test::TempDirTest {
 protected:
  std::vector<std::string> classifier(std::vector<std::string> more) {
    std::vector<std::string> args = {"extract", "--model", example("sentiment/classifier.pt")};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  const json& cases() {
    static const json reference = read_json(example("sentiment/reference.json"));
    return reference["cases"];
  }
  static std::string ids_of(const json& list) {
    std::string out;
    for (const auto& id : list) out += (out.empty() ? "" : ",") + std::to_string(id.get<int64_t>());
    return out;
  }
  static std::string words_of(const json& list) {
    std::string out;
    for (const auto& token : list) out += (out.empty() ? "" : " ") + token.get<std::string>();
    return out;
  }
  static void expect_logits(const json& file, const json& expected) {
    ASSERT_EQ(file["outputs"][0]["values"].size(), expected.size());
    for (size_t k = 0; k < expected.size(); ++k)
      EXPECT_NEAR(file["outputs"][0]["values"][k].get<double>(), expected[k].get<double>(), 1e-4);
  }
};

// The ids HF tokenizers made, with their mask: the same model input, the same answer; and
// the same again with the inputs named positionally (--forward-args ids,mask).
TEST_F(CliText, IdsWithAMaskAndForwardArgs) {
  ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS();
  const json& c = cases()[0];
  const auto run =
      run_cli(classifier({"--ids", ids_of(c["ids"]), "--mask", ids_of(c["attention_mask"]),
                          "--tokens", words_of(c["tokens"]), "-o", path("ids.json")}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json file = read_json(path("ids.json"));
  expect_logits(file, c["logits"]);
  EXPECT_EQ(file["attention_mask"], c["attention_mask"]);
  std::string unpadded;  // ids have no text: the file's is their labels, padding left out
  for (size_t i = 0; i < c["tokens"].size(); ++i)
    if (c["attention_mask"][i] == 1)
      unpadded += (unpadded.empty() ? "" : " ") + c["tokens"][i].get<std::string>();
  EXPECT_EQ(file["text"], unpadded);

  const auto positional =
      run_cli(classifier({"--ids", ids_of(c["ids"]), "--mask", ids_of(c["attention_mask"]),
                          "--forward-args", "ids,mask", "-o", path("positional.json")}));
  ASSERT_EQ(positional.exit_code, 0) << positional.err;
  expect_logits(read_json(path("positional.json")), c["logits"]);
  // Without the mask the padding is attended to: another answer (the mask matters).
  ASSERT_EQ(run_cli(classifier({"--ids", ids_of(c["ids"]), "-o", path("unmasked.json")})).exit_code,
            0);
  const double unmasked = read_json(path("unmasked.json"))["outputs"][0]["values"][0];
  EXPECT_GT(std::abs(unmasked - c["logits"][0].get<double>()), 1e-3);
}

// JSON Lines: text lines and ids lines, one complete file per line.
TEST_F(CliText, InputsFileTakesJsonLines) {
  ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS();
  std::ofstream lines(path("inputs.jsonl"));
  lines << json({{"text", cases()[0]["text"]}}).dump() << "\n\n"
        << json({{"ids", cases()[1]["ids"]},
                 {"mask", cases()[1]["attention_mask"]},
                 {"tokens", cases()[1]["tokens"]}})
               .dump()
        << "\n"
        << json({{"text", cases()[2]["text"]}}).dump() << "\n";
  lines.close();
  const auto run =
      run_cli(classifier({"--tokenizer", example("sentiment/tokenizer.json"), "--max-length", "16",
                          "--padding", "max_length", "--labels", example("sentiment/labels.txt"),
                          "--inputs-file", path("inputs.jsonl"), "-o", path("out/attn.json")}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");  // no progress bar: stderr is not a terminal
  EXPECT_EQ(attnhook_test::tree(path("out")),
            (std::vector<std::string>{"attn.0.json", "attn.1.json", "attn.2.json"}));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const json file = read_json(path("out/attn." + std::to_string(i) + ".json"));
    expect_logits(file, cases()[i]["logits"]);
    EXPECT_EQ(file["tokens"], cases()[i]["tokens"]);
    EXPECT_EQ(file["prediction"]["class_names"], json({cases()[i]["expected"]}));
  }
  EXPECT_EQ(read_json(path("out/attn.0.json"))["text"], cases()[0]["text"]);
}

TEST_F(CliText, Seq2seqInputsByNameOrInOrder) {
  ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS();
  const json c = read_json(example("seq2seq/reference.json"))["cases"][2];
  const std::vector<std::string> model = {"extract", "--model", example("seq2seq/seq2seq.pt")};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = model;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  // Ids and labels given directly: --tgt-tokens labels the decoder's rows.
  const auto ids = run_cli(with({"--ids", ids_of(c["src_ids"]), "--tgt-ids", ids_of(c["tgt_ids"]),
                                 "--tokens", words_of(c["src_tokens"]), "--tgt-tokens",
                                 words_of(c["tgt_tokens"]), "-o", path("ids.json")}));
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const json file = read_json(path("ids.json"));
  const json& cross = file["layers"].back();
  EXPECT_EQ(cross["name"], "transformer.decoder.layers.1.multihead_attn");
  EXPECT_EQ(cross["tgt_tokens"], c["tgt_tokens"]);
  EXPECT_EQ(cross["src_tokens"], c["src_tokens"]);
  for (int k = 0; k < 24; ++k)
    EXPECT_NEAR(file["outputs"][0]["values"][k].get<double>(),
                c["logits_first_row"][k].get<double>(), 1e-4);
  // The same inputs in forward()'s order.
  const auto ordered =
      run_cli(with({"--ids", ids_of(c["src_ids"]), "--tgt-ids", ids_of(c["tgt_ids"]),
                    "--forward-args", "ids,tgt_ids,pad_mask", "-o", path("ordered.json")}));
  ASSERT_EQ(ordered.exit_code, 0) << ordered.err;
  EXPECT_EQ(read_json(path("ordered.json"))["outputs"], file["outputs"]);
}

struct BadCase {
  std::vector<std::string> args;
  int exit_code;
  std::string message;
};

TEST_F(CliText, BadInputIsAClearErrorWithItsExitCodeAndNoFile) {
  ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS();
  const std::string tokenizer = example("sentiment/tokenizer.json");
  std::ofstream(path("not_json.json")) << "vocab: [a, b]\n";
  std::ofstream(path("unigram.json"))
      << R"({"version": "1.0", "model": {"type": "Unigram", "vocab": []}})";
  std::ofstream(path("three.txt")) << "negative\npositive\nneutral\n";
  std::ofstream(path("gap.txt")) << "negative\n\npositive\n";
  std::ofstream(path("lines.jsonl")) << R"({"text": "fine"})"
                                     << "\n"
                                     << R"({"txet": "typo"})"
                                     << "\n";
  std::ofstream(path("broken.jsonl")) << R"({"text": "fine"})"
                                      << "\n{\"text\": \n";
  std::string long_text;
  for (int i = 0; i < 12; ++i) long_text += "a wonderful film . ";
  const std::string out = path("out/attn.json");
  const std::string model = example("sentiment/classifier.pt");
  const BadCase cases[] = {
      {{"--tokenizer", path("not_json.json"), "--text", "fine", "-o", out},
       1,
       "attnhook: " + path("not_json.json") +
           " is not valid JSON: parse error at line 1, column 1"},
      {{"--tokenizer", path("unigram.json"), "--text", "fine", "-o", out},
       1,
       "model.type 'Unigram' is not supported; supported: WordPiece, BPE, WordLevel"},
      {{"--tokenizer", tokenizer, "--text", long_text, "--max-length", "16", "-o", out},
       1,
       "attnhook: --text: the text is 50 tokens long, longer than --max-length 16; add "
       "--truncation to cut it to 16 tokens"},
      {{"--tokenizer", tokenizer, "--text", long_text, "-o", out},
       1,
       "The text is 50 tokens long, but the model has 32 positions ('pos_embedding' is [32, 32]): "
       "add --truncation "
       "--max-length 32"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--labels", path("three.txt"), "-o", out},
       1,
       "attnhook: --labels '" + path("three.txt") +
           "' names 3 classes, but the model's output 'output' (shape [1, 2]) has 2"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--labels", path("gap.txt"), "-o", out},
       1,
       "attnhook: --labels '" + path("gap.txt") +
           "': line 2 is empty; the file names one class per line"},
      {{"--tokenizer", tokenizer, "--inputs-file", path("lines.jsonl"), "-o", out},
       1,
       "attnhook: --inputs-file '" + path("lines.jsonl") +
           "', line 2: \"txet\" is not a field of an input line; the "
           "fields are text, text_pair, tgt_text, ids, mask, type_ids, tgt_ids, tgt_mask, tokens, "
           "tgt_tokens"},
      {{"--tokenizer", tokenizer, "--inputs-file", path("broken.jsonl"), "-o", out},
       1,
       "attnhook: --inputs-file '" + path("broken.jsonl") +
           "', line 2 is not valid JSON: parse error at line 1, column 10: "
           "syntax error while parsing value - unexpected end of input"},
      {{"--tokenizer", tokenizer, "--text", "great", "--tokens", "a b", "-o", out},
       1,
       "attnhook: --text: --tokens has 2 entries, but the input has 3 tokens"},
      {{"--ids", "2,5,3", "--mask", "1,1", "-o", out},
       1,
       "attnhook: --ids: the attention mask has 2 entries, but the input has 3 tokens"},
      {{"--ids", "2,5,3", "--mask", "1,2,0", "-o", out},
       1,
       "attnhook: --ids: the attention mask holds 2 at position 1; it takes 1 (token) and 0 "
       "(padding)"},
      {{"--ids", "2,5,3", "--forward-args", "ids", "-o", out},
       1,
       "attnhook: --forward-args lists 1 inputs, but the model's forward(input_ids, "
       "attention_mask) needs "
       "'attention_mask' (parameter 2) too"},
      {{"--ids", "2,5,3", "--forward-args", "ids,masks", "-o", out},
       1,
       "attnhook: --forward-args: 'masks' is not an input kind; kinds: ids, mask, pad_mask, "
       "type_ids, tgt_ids, tgt_mask, "
       "tgt_pad_mask"},
      {{"--ids", "2,5,3", "--tgt-ids", "1,2", "--forward-args", "ids,mask,tgt_ids", "-o", out},
       1,
       "attnhook: --forward-args lists 3 inputs, but the model's forward(input_ids, "
       "attention_mask) takes 2"},
      // Usage errors: exit code 2.
      {{"--text", "fine", "-o", out}, 2, "--text requires --tokenizer"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--padding", "max_length", "-o", out},
       2,
       "--padding requires --max-length"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--ids", "1,2", "-o", out},
       2,
       "Exactly 1 option from [--text,--ids,--input-tensor,--inputs-file,--image] is required and "
       "2 were given"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--mask", "1,1", "-o", out},
       2,
       "--mask requires --ids"},
      {{"--tokenizer", tokenizer, "--text", "fine", "--padding", "longest", "--max-length", "8",
        "-o", out},
       2,
       "--padding: longest not in {none,max_length}"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"extract", "--model", model};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto run = run_cli(args);
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    EXPECT_EQ(run.exit_code, c.exit_code) << shown << "\n" << run.err;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << shown << "\n" << run.err;
    EXPECT_EQ(run.err.find("internal error"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(path("out"))) << shown;
  }
  // Tensors of the wrong dtype: the model's own error, with what went where.
  const auto floats =
      run_cli({"extract", "--model", model, "--input-tensor", example("sentiment/float_ids.pt"),
               "--input-tensor", example("sentiment/mask.pt"), "-o", out});
  EXPECT_EQ(floats.exit_code, 1);
  EXPECT_EQ(
      floats.err.rfind(
          "attnhook: model '" + model +
              "' failed on --input-tensor: RuntimeError: Expected tensor for "
              "argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
              "CPUFloatType instead (while checking arguments for embedding)",
          0),
      0u)
      << floats.err;
  EXPECT_NE(floats.err.find("; it was called as forward(input_ids, attention_mask) with input_ids "
                            "= input 0 [1, 3] Float, "
                            "attention_mask = input 1 [1, 3] Long\n"),
            std::string::npos)
      << floats.err;
  const auto three =
      run_cli({"extract", "--model", model, "--input-tensor", example("sentiment/mask.pt"),
               "--input-tensor", example("sentiment/mask.pt"), "--input-tensor",
               example("sentiment/mask.pt"), "-o", out});
  EXPECT_EQ(three.err,
            "attnhook: the model's forward(input_ids, attention_mask) takes 2 inputs, but 3 "
            "--input-tensor "
            "were given\n");
  const auto one = run_cli(
      {"extract", "--model", model, "--input-tensor", example("sentiment/mask.pt"), "-o", out});
  EXPECT_EQ(one.err,
            "attnhook: the model's forward(input_ids, attention_mask) needs 'attention_mask' "
            "(input 1) too: give "
            "one --input-tensor per parameter, in order\n");
  // The seq2seq model needs its decoder input.
  const auto no_tgt =
      run_cli({"extract", "--model", example("seq2seq/seq2seq.pt"), "--ids", "1,5,2", "-o", out});
  EXPECT_EQ(no_tgt.exit_code, 1);
  EXPECT_EQ(no_tgt.err,
            "attnhook: --ids: forward() parameter 'tgt' takes tgt_ids, but the input has no "
            "decoder input; give it with "
            "--tgt-ids or --tgt-text (\"tgt_ids\" or \"tgt_text\" in an inputs file)\n");
  EXPECT_FALSE(fs::exists(path("out")));
}

// The executable and its plugin meet at a versioned C boundary: a plugin of another
// version is refused, a failure it reports comes back as the user's error or, when the
// plugin says so, as an internal error; nothing crosses as a C++ exception.
TEST_F(CliText, ThePluginBoundaryIsVersioned) {
  fs::create_directories(path("bin"));
  const std::string cli = path("bin/attnhook");
  fs::copy_file(attnhook_test::kCli, cli);
  fs::copy_file(ATTNHOOK_FAKE_PLUGIN, path("bin/attnhook-extract.so"));
  const std::vector<std::string> args = {"extract", "--model", "m.pt",        "--ids",
                                         "1,2",     "-o",      path("x.json")};
  struct Case {
    const char* abi;
    const char* status;
    int exit_code;
    std::string err;
  } cases[] = {
      {"7", "0", 1,
       "attnhook: extract: '" + path("bin/attnhook-extract.so") +
           "' speaks version 7 of the plugin interface, this attnhook speaks 2; install the plugin "
           "that came with this "
           "attnhook\n"},
      // Version 1 (before --image and --patch-grid) would drop the new fields unseen.
      {"1", "0", 1,
       "attnhook: extract: '" + path("bin/attnhook-extract.so") +
           "' speaks version 1 of the plugin interface, this attnhook speaks 2; install the plugin "
           "that came with this "
           "attnhook\n"},
      {nullptr, "1", 1, "attnhook: fake plugin: status 1, request of "},
      {nullptr, "2", 1, "attnhook: internal error (a bug): fake plugin: status 2, request of "},
      {nullptr, "0", 0, ""},
  };
  for (const auto& c : cases) {
    if (c.abi)
      ::setenv("ATTNHOOK_FAKE_ABI", c.abi, 1);
    else
      ::unsetenv("ATTNHOOK_FAKE_ABI");
    ::setenv("ATTNHOOK_FAKE_STATUS", c.status, 1);
    const auto run = attnhook_test::run_program(cli, args);
    EXPECT_EQ(run.exit_code, c.exit_code) << run.err;
    EXPECT_EQ(run.err.rfind(c.err, 0), 0u) << run.err;
  }
  ::unsetenv("ATTNHOOK_FAKE_ABI");
  ::unsetenv("ATTNHOOK_FAKE_STATUS");
}

}  // namespace

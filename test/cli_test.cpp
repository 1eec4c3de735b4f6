// The attnhook command-line tool end to end on the fixture models: extract -> plot ->
// model-view -> prepare -> html; the values in its files equal the hooker's values()
// and Python's reference; bad input gives a clear message, exit code and no file.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "attnhook/attnhook.h"
#include "testing.h"

namespace fs = std::filesystem;

namespace {

const std::string kCli = ATTNHOOK_CLI;
// The fixtures this LibTorch's torch made (test/fixtures/torch<major>.<minor>).
const std::string kFixtures = std::string(ATTNHOOK_FIXTURES_DIR) + "/torch" +
                              std::to_string(TORCH_VERSION_MAJOR) + "." +
                              std::to_string(TORCH_VERSION_MINOR);

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

Run shell(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Run run(const std::string& arguments, const std::string& cli = kCli) {
  return shell(cli + " " + arguments);
}

class CliTest : public attnhook_test::TempDirTest {};

// Writes the fixture's inputs as torch.save-compatible tensors; returns the CLI flags.
std::string save_inputs(torch::jit::Module& reference,
                        const std::function<std::string(const std::string&)>& path) {
  std::string flags;
  for (int64_t i = 0; i < reference.attr("num_inputs").toInt(); ++i) {
    const auto name = "input_" + std::to_string(i);
    const auto bytes = torch::pickle_save(reference.attr(name).toTensor());
    std::ofstream(path(name + ".pt"), std::ios::binary).write(bytes.data(), bytes.size());
    flags += " --input-tensor " + path(name + ".pt");
  }
  return flags;
}

TEST_F(CliTest, ExtractPlotModelViewPrepareHtmlOnAnEncoder) {
  auto reference = torch::jit::load(kFixtures + "/encoder_seqfirst_ref.pt");
  const std::string inputs = save_inputs(reference, [&](const std::string& n) { return file(n); });
  const std::string model = kFixtures + "/encoder_seqfirst.pt";
  auto extracted =
      run("extract --model " + model + inputs + " --tokens 'a b c d e f' -o " + file("attn.json"));
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;
  ASSERT_EQ(run("extract --model " + model + inputs + " -o " + file("attn.npz")).exit_code, 0);
  ASSERT_EQ(
      run("extract --model " + model + inputs + " --schema flat -o " + file("flat.json")).exit_code,
      0);

  // The file holds exactly what an in-process hooker records, and Python's reference.
  torch::jit::Module module = attnhook::load_torchscript(model);
  module.eval();
  attnhook::AttentionHooker hooker(module);
  hooker.setup();
  std::vector<c10::IValue> arguments;
  for (int64_t i = 0; i < 3; ++i)
    arguments.emplace_back(reference.attr("input_" + std::to_string(i)).toTensor());
  {
    torch::NoGradGuard no_grad;
    hooker.module().forward(arguments);
  }
  const auto json = attnhook::load_attention(file("attn.json"));
  const auto npz = attnhook::load_attention(file("attn.npz"));
  const auto flat =
      nlohmann::json::parse(std::ifstream(file("flat.json")));  // [layer][head][i][j], batch 0
  ASSERT_EQ(flat["attention_matrices"].size(), 2u);
  EXPECT_FLOAT_EQ(flat["attention_matrices"][1][0][2][1].get<float>(),
                  json.values.at("layers.1.self_attn")[0][0][0][2][1].item<float>());
  EXPECT_EQ(json.tokens, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  const auto refs = reference.attr("refs").toGenericDict();
  ASSERT_EQ(json.values.size(), 2u);
  for (const auto& [name, calls] : hooker.values()) {
    SCOPED_TRACE(name);
    ASSERT_EQ(json.values.at(name).size(), calls.size());
    EXPECT_TRUE(json.values.at(name)[0].equal(calls[0]));
    EXPECT_TRUE(npz.values.at(name)[0].equal(calls[0]));
    EXPECT_TRUE(
        torch::allclose(json.values.at(name)[0], refs.at(name).toTensorList().get(0), 0, 1e-6));
  }

  EXPECT_EQ(run("plot -i " + file("attn.json") + " --layer 1 --head all -o " + file("grid.png"))
                .exit_code,
            0);
  EXPECT_EQ(run("plot -i " + file("attn.npz") +
                " --layer layers.0.self_attn --head 1 --batch 1 -o " + file("head.png"))
                .exit_code,
            0);
  const auto viewed = run("model-view -i " + file("attn.json") + " -o " + file("model.png"));
  EXPECT_EQ(viewed.exit_code, 0) << viewed.output;
  for (const char* png : {"grid.png", "head.png", "model.png"}) {
    std::ifstream in(file(png), std::ios::binary);
    char magic[8] = {};
    in.read(magic, 8);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG") << png;
  }

  ASSERT_EQ(run("prepare -i " + file("attn.json") + " --pad-token e --pad-token f -o " +
                file("backend.json"))
                .exit_code,
            0);
  const auto backend = nlohmann::json::parse(std::ifstream(file("backend.json")));
  EXPECT_EQ(backend["tokens"], nlohmann::json({"a", "b", "c", "d"}));  // "padding" e, f removed
  ASSERT_EQ(backend["layers"].size(), 2u);
  const auto& head1 = backend["layers"][1]["heads"][1];
  EXPECT_EQ(head1["head_idx"], 1);
  ASSERT_EQ(head1["attention"].size(), 4u);
  ASSERT_EQ(head1["attention"][2].size(), 4u);
  EXPECT_FLOAT_EQ(head1["attention"][2][3].get<float>(),
                  json.values.at("layers.1.self_attn")[0][0][1][2][3].item<float>());

  ASSERT_EQ(run("html -i " + file("attn.json") + " -o " + file("view.html")).exit_code, 0);
  std::ifstream page(file("view.html"));
  const std::string html((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  EXPECT_EQ(html.find("/*ATTNHOOK_DATA*/null"), std::string::npos);
  EXPECT_NE(html.find("{\"name\":\"layers.1.self_attn\",\"call\":0,\"tgt_tokens\":[\"a\",\"b\","
                      "\"c\",\"d\",\"e\",\"f\"]"),
            std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST_F(CliTest, IdsAndInputsFileOnAGptModel) {
  auto reference = torch::jit::load(kFixtures + "/gpt_custom_ref.pt");
  const auto idx = reference.attr("input_0").toTensor();  // [2, 8]
  auto ids_of = [&](int64_t row) {
    std::string ids;
    for (int64_t i = 0; i < idx.size(1); ++i)
      ids += (i ? "," : "") + std::to_string(idx[row][i].item<int64_t>());
    return ids;
  };
  const std::string model = kFixtures + "/gpt_custom.pt";
  ASSERT_EQ(run("extract --model " + model + " --layers 'attn$' --ids " + ids_of(0) + " -o " +
                file("one.json"))
                .exit_code,
            0);
  std::ofstream(file("inputs.txt")) << ids_of(0) << "\n" << ids_of(1) << "\n";
  const auto many = run("extract --model " + model + " --layers 'attn$' --inputs-file " +
                        file("inputs.txt") + " -o " + file("many.npz"));
  ASSERT_EQ(many.exit_code, 0) << many.output;
  EXPECT_EQ(many.output, "");  // no progress bar when stderr is not a terminal
  const auto refs = reference.attr("refs").toGenericDict();
  const auto one = attnhook::load_attention(file("one.json"));
  for (int64_t row = 0; row < 2; ++row) {
    const auto each = attnhook::load_attention(file("many." + std::to_string(row) + ".npz"));
    for (const char* name : {"h.0.attn", "h.1.attn"}) {
      const auto expected = refs.at(name).toTensorList().get(0).slice(0, row, row + 1);
      EXPECT_TRUE(torch::allclose(each.values.at(name)[0], expected, 0, 1e-6))
          << name << " row " << row;
      if (row == 0) EXPECT_TRUE(one.values.at(name)[0].equal(each.values.at(name)[0]));
    }
  }
}

TEST_F(CliTest, ProgressBarOnlyWhenStderrIsATerminal) {
  if (std::system("command -v script > /dev/null") != 0)
    GTEST_SKIP() << "script (util-linux) is not installed";
  auto reference = torch::jit::load(kFixtures + "/gpt_custom_ref.pt");
  std::ofstream(file("inputs.txt")) << "1,2,3\n4,5,6,7\n8\n";
  // script(1) runs the command on a pseudo-terminal; its output is what the terminal showed.
  const std::string command = "script -qec \"" + kCli + " extract --model " + kFixtures +
                              "/gpt_custom.pt --layers 'attn$' --inputs-file " +
                              file("inputs.txt") + " -o " + file("attn.json") + "\" /dev/null 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string shown;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) shown.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << shown;
  EXPECT_NE(shown.find("[##########....................] 1/3"), std::string::npos) << shown;
  EXPECT_NE(shown.find("[##############################] 3/3"), std::string::npos) << shown;
  EXPECT_EQ(attnhook::load_attention(file("attn.2.json")).values.at("h.0.attn")[0].size(3), 1);
}

TEST_F(CliTest, EverySubcommandHasHelpWithAnExample) {
  for (const char* command : {"extract", "plot", "model-view", "prepare", "html"}) {
    const auto help = run(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.output.find("Example: attnhook " + std::string(command)), std::string::npos)
        << help.output;
  }
}

TEST_F(CliTest, BadInputGivesAMessageAnExitCodeAndNoFile) {
  std::ofstream(file("bad.json")) << "{\n  \"format\": \"attnhook\",\n  \"version\": 1,, \n}";
  auto reference = torch::jit::load(kFixtures + "/encoder_seqfirst_ref.pt");
  const std::string inputs = save_inputs(reference, [&](const std::string& n) { return file(n); });
  const std::string model = kFixtures + "/encoder_seqfirst.pt";
  ASSERT_EQ(run("extract --model " + model + inputs + " -o " + file("good.json")).exit_code, 0);
  const auto before = files();
  struct Case {
    std::string arguments;
    int exit_code;
    std::string message;
  } cases[] = {
      {"frobnicate", 2,
       "attnhook: unknown subcommand 'frobnicate'; subcommands: extract, plot, model-view, "
       "prepare, html, overlay"},
      {"plot -i " + file("good.json") + " --colour red -o " + file("x.png"), 2,
       "The following arguments were not expected: red --colour"},
      {"plot -o " + file("x.png"), 2, "--input is required"},
      {"plot -i " + file("missing.json") + " -o " + file("x.png"), 1,
       "attnhook: cannot read attention file '" + file("missing.json") +
           "': No such file or directory"},
      {"plot -i " + file("bad.json") + " -o " + file("x.png"), 1,
       "attnhook: attention file '" + file("bad.json") +
           "' is not valid JSON: parse error at line 3, column 16"},
      {"plot -i " + file("good.json") + " --layer 7 -o " + file("x.png"), 1,
       "attnhook: --layer '7' is neither a layer index (0..1) nor a layer name (nor all); layers: "
       "0 layers.0.self_attn, 1 "
       "layers.1.self_attn"},
      {"plot -i " + file("good.json") + " --head 2 -o " + file("x.png"), 1,
       "attnhook: --head '2': layer 'layers.0.self_attn' has 2 heads (0..1) — or use all"},
      {"html -i " + file("good.json") + " --batch 5 -o " + file("x.html"), 1,
       "attnhook: --batch 5: layer 'layers.0.self_attn' has batch size 2"},
      {"extract --model " + model + inputs + " --tokens 'a b c' -o " + file("x.json"), 1,
       "attnhook: --tokens has 3 tokens, but input 0 has shape [6, 2, 16]"},
      {"extract --model " + file("missing.pt") + inputs + " -o " + file("x.json"), 1,
       "cannot load '" + file("missing.pt") + "'"},
      {"extract --model " + model + " --ids 1,two,3 -o " + file("x.json"), 1,
       "attnhook: --ids: 'two' is not an integer token id"},
      {"extract --model " + model + inputs + " -o " + file("x.txt"), 1,
       "attnhook: -o '" + file("x.txt") + "': the output must end in .json or .npz"},
      // Missing directories are created; a file in the way is an error.
      {"model-view -i " + file("good.json") + " -o " + file("good.json/x.png"), 1,
       "attnhook: cannot write attention image '" + file("good.json/x.png") + "': Not a directory"},
  };
  for (const auto& c : cases) {
    const auto result = run(c.arguments);
    EXPECT_EQ(result.exit_code, c.exit_code) << c.arguments << "\n" << result.output;
    EXPECT_NE(result.output.find(c.message), std::string::npos) << c.arguments << "\n"
                                                                << result.output;
  }
  EXPECT_EQ(files(), before) << "a failed run left a file behind";
}

// Drawing must start in milliseconds: any process linking LibTorch spends ~0.5 s in its
// static initialisers before main. Only the extract plugin may link it.
TEST_F(CliTest, OnlyTheExtractPluginLinksLibTorch) {
  const auto cli = shell("ldd " + kCli);
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_NE(cli.output.find("libattnhook_view.so"), std::string::npos) << cli.output;
  for (const char* torch : {"libtorch", "libc10", "libattnhook.so"})
    EXPECT_EQ(cli.output.find(torch), std::string::npos) << torch << " in\n" << cli.output;
  const auto plugin =
      shell("ldd " + (fs::path(kCli).parent_path() / "attnhook-extract.so").string());
  ASSERT_EQ(plugin.exit_code, 0) << plugin.output;
  EXPECT_NE(plugin.output.find("libtorch_cpu.so"), std::string::npos) << plugin.output;
}

TEST_F(CliTest, WithoutThePluginExtractSaysWhatIsMissingAndDrawingStillWorks) {
  fs::create_directories(file("bin"));
  const std::string lonely = file("bin/attnhook");
  fs::copy_file(kCli, lonely);
  const auto extracted =
      run("extract --model " + kFixtures + "/gpt_custom.pt --ids 1,2 -o " + file("x.json"), lonely);
  EXPECT_EQ(extracted.exit_code, 1) << extracted.output;
  EXPECT_NE(extracted.output.find(
                "attnhook: extract needs the plugin attnhook-extract.so (it links LibTorch); "
                "looked for '" +
                file("bin/attnhook-extract.so") + "' (missing), '"),
            std::string::npos)
      << extracted.output;
  EXPECT_FALSE(fs::exists(file("x.json")));

  attnhook::AttentionFile attention;
  attention.values.append("attn", {torch::softmax(torch::randn({1, 2, 3, 3}), -1)});
  attnhook::save_json(attention, file("attn.json"));
  const auto plotted = run("plot -i " + file("attn.json") + " -o " + file("grid.png"), lonely);
  EXPECT_EQ(plotted.exit_code, 0) << plotted.output;
  EXPECT_TRUE(fs::exists(file("grid.png")));
}

}  // namespace

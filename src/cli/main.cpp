// attnhook — see what a TorchScript Transformer attends to, from the command line.
// main stays thin: parse, dispatch, and turn every error into an exit code here.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attnhook/error.h"
#include "commands.h"

namespace {

// Exit codes: 0 success, 1 the work failed (bad file, bad model, bad value, cannot
// write), 2 the command line is wrong (unknown subcommand or flag, missing argument).
constexpr int kFailed = 1;
constexpr int kUsage = 2;

const char* kFooter = R"(
Exit codes: 0 success, 1 failure (bad input, model or output), 2 usage error.
Outputs are written to a temporary file and renamed: a failed run leaves no partial file.)";

}  // namespace

int main(int argc, char** argv) {
  namespace cli = attnhook::cli;
  CLI::App app{"attnhook: capture and draw the attention of TorchScript Transformer models"};
  app.footer(kFooter);
  app.require_subcommand(1);

  cli::ExtractArgs extract;
  auto* extract_cmd = app.add_subcommand("extract", "Run a TorchScript model once per input and save every attention call");
  extract_cmd->add_option("--model", extract.model, "TorchScript file (torch.jit.script / torch.jit.trace)")->required();
  auto* ids = extract_cmd->add_option("--ids", extract.ids, "Token ids of one input: 101,2023,2003 (a [1, len] tensor)");
  auto* tensors = extract_cmd->add_option("--input-tensor", extract.input_tensors,
                                          "A torch.save'd tensor; repeat for each forward() argument");
  auto* inputs_file = extract_cmd->add_option("--inputs-file", extract.inputs_file,
                                              "One line of comma-separated ids per input; writes <stem>.<n>.<ext>");
  ids->excludes(tensors)->excludes(inputs_file);
  tensors->excludes(inputs_file);
  auto* tokens = extract_cmd->add_option("--tokens", extract.tokens, "Token labels, space separated");
  extract_cmd->add_option("--tokens-file", extract.tokens_file, "Token labels, one per line")->excludes(tokens);
  extract_cmd->add_option("--layers", extract.layers, "RE2 pattern over module names (default: every MultiheadAttention)");
  extract_cmd->add_option("--device", extract.device, "cpu or cuda")->capture_default_str();
  extract_cmd->add_option("-o,--output", extract.output, "attn.json or attn.npz")->required();
  extract_cmd->add_option("--schema", extract.schema,
                          "attn.json schema: attnhook (every call, every batch item) or flat "
                          "({tokens, text, attention_matrices[layer][head][i][j]}: batch item 0, a call per entry)")
      ->capture_default_str();
  extract_cmd->footer("Example: attnhook extract --model bert.pt --ids 101,7592,2088,102 --tokens \"[CLS] hello world [SEP]\" -o attn.json");

  cli::PlotArgs plot;
  auto* plot_cmd = app.add_subcommand("plot", "Draw one head, or all heads of a layer, as PNG");
  plot_cmd->add_option("-i,--input", plot.input, "attn.json or attn.npz")->required();
  plot_cmd->add_option("--layer", plot.layer, "Layer index (model order) or name")->capture_default_str();
  plot_cmd->add_option("--head", plot.head, "Head index, or all")->capture_default_str();
  plot_cmd->add_option("--call", plot.call, "Which call of the layer")->capture_default_str();
  plot_cmd->add_option("--batch", plot.batch, "Batch item")->capture_default_str();
  plot_cmd->add_option("-o,--output", plot.output, "PNG file")->required();
  plot_cmd->footer("Example: attnhook plot -i attn.json --layer layers.0.self_attn --head all -o layer0.png");

  cli::ModelViewArgs view;
  auto* view_cmd = app.add_subcommand("model-view", "Draw every layer x head as thumbnails in one PNG");
  view_cmd->add_option("-i,--input", view.input, "attn.json or attn.npz")->required();
  view_cmd->add_option("--batch", view.batch, "Batch item")->capture_default_str();
  view_cmd->add_option("-o,--output", view.output, "PNG file")->required();
  view_cmd->footer("Example: attnhook model-view -i attn.json -o model.png");

  cli::PrepareArgs prepare;
  auto* prepare_cmd = app.add_subcommand("prepare", "Convert to the backend schema {tokens, text, layers:[{layer_idx, heads}]}");
  prepare_cmd->add_option("-i,--input", prepare.input, "attn.json or attn.npz")->required();
  prepare_cmd->add_option("--batch", prepare.batch, "Batch item")->capture_default_str();
  prepare_cmd->add_option("--pad-token", prepare.pad_tokens, "Tokens removed as padding")->capture_default_str();
  prepare_cmd->add_option("-o,--output", prepare.output, "JSON file")->required();
  prepare_cmd->footer("Example: attnhook prepare -i attn.json -o backend.json");

  cli::HtmlArgs html;
  auto* html_cmd = app.add_subcommand("html", "Write one self-contained interactive page (head view + model view)");
  html_cmd->add_option("-i,--input", html.input, "attn.json or attn.npz")->required();
  html_cmd->add_option("--batch", html.batch, "Batch item")->capture_default_str();
  html_cmd->add_option("--title", html.title, "Page title (default: the model)");
  html_cmd->add_option("-o,--output", html.output, "HTML file")->required();
  html_cmd->footer("Example: attnhook html -i attn.json -o view.html   (open it in any browser, offline)");

  if (argc > 1 && argv[1][0] != '-') {
    const std::string command = argv[1];
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known |= sub->get_name() == command;
    if (!known) {
      fmt::print(stderr, "attnhook: unknown subcommand '{}'; subcommands: extract, plot, model-view, prepare, html\n",
                 command);
      return kUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the error with a hint
    return code == 0 ? 0 : kUsage;
  }
  try {
    if (*extract_cmd) cli::extract(extract);
    if (*plot_cmd) cli::plot(plot);
    if (*view_cmd) cli::model_view(view);
    if (*prepare_cmd) cli::prepare(prepare);
    if (*html_cmd) cli::html(html);
  } catch (const attnhook::Error& e) {
    fmt::print(stderr, "attnhook: {}\n", e.what());
    return kFailed;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attnhook: {}\n", e.what());
    return kFailed;
  }
  return 0;
}

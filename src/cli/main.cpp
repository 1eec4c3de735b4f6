// attnhook — see what a TorchScript Transformer attends to, from the command line.
// main stays thin: parse, dispatch, and turn every error into an exit code here.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>

#include "attnhook/error.h"
#include "commands.h"

namespace {

constexpr int kUsage = attnhook::cli::kExitUsage;

const char* kFooter = R"(
Exit codes: 0 success, 1 failure (bad input, model or output), 2 usage error.
Outputs are written to a temporary file and renamed: a failed run leaves no partial file.
Directories in the output path are created.
-o - writes to standard output; devices and FIFOs are written directly; symbolic links
are followed. Attention files are untrusted input: see --max-input-bytes.)";

// --max-input-bytes on a subcommand that reads an attention file.
void add_input_limit(CLI::App* command, attnhook::detail::ReadLimits& limits) {
  command
      ->add_option_function<uint64_t>(
          "--max-input-bytes", [&limits](const uint64_t& bytes) { limits.max_input_bytes(bytes); },
          fmt::format(
              "Refuse input files larger than this (default {} GiB; suffixes K, M, G, T are powers "
              "of 1024)",
              attnhook::detail::ReadLimits().max_input_bytes() >> 30))
      ->transform(CLI::AsSizeValue(false));
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = attnhook::cli;
  CLI::App app{"attnhook: capture and draw the attention of TorchScript Transformer models"};
  app.footer(kFooter);
  app.require_subcommand(1);

  cli::ExtractArgs extract;
  auto* extract_cmd = cli::add_extract_command(app, extract);

  cli::PlotArgs plot;
  auto* plot_cmd = app.add_subcommand("plot", "Draw one head, or all heads of a layer, as PNG");
  plot_cmd->add_option("-i,--input", plot.input, "attn.json or attn.npz")->required();
  plot_cmd
      ->add_option(
          "--layer", plot.layer,
          "Layer index (model order), name, or all: one grid per layer into the directory -o")
      ->capture_default_str();
  plot_cmd->add_option("--head", plot.head, "Head index, or all")->capture_default_str();
  plot_cmd->add_option("--call", plot.call, "Which call of the layer")->capture_default_str();
  plot_cmd->add_option("--batch", plot.batch, "Batch item")->capture_default_str();
  plot_cmd
      ->add_option("-o,--output", plot.output,
                   "PNG file; with --layer all a directory (<layer name>.png each)")
      ->required();
  add_input_limit(plot_cmd, plot.limits);
  plot_cmd->footer(
      "Axes are labelled with the file's tokens, else with position numbers (thinned to stay "
      "legible).\n"
      "Example: attnhook plot -i attn.json --layer layers.0.self_attn --head all -o layer0.png\n"
      "Example: attnhook plot -i attn.json --layer all -o grids/");

  cli::ModelViewArgs view;
  auto* view_cmd =
      app.add_subcommand("model-view", "Draw every layer x head as thumbnails in one PNG");
  view_cmd->add_option("-i,--input", view.input, "attn.json or attn.npz")->required();
  view_cmd->add_option("--batch", view.batch, "Batch item")->capture_default_str();
  view_cmd
      ->add_option("-o,--output", view.output, "PNG file (the title names the prediction, if any)")
      ->required();
  add_input_limit(view_cmd, view.limits);
  view_cmd->footer("Example: attnhook model-view -i attn.json -o model.png");

  cli::PrepareArgs prepare;
  auto* prepare_cmd = app.add_subcommand(
      "prepare", "Convert to the backend schema {tokens, text, layers:[{layer_idx, heads}]}");
  prepare_cmd->add_option("-i,--input", prepare.input, "attn.json or attn.npz")->required();
  prepare_cmd->add_option("--batch", prepare.batch, "Batch item")->capture_default_str();
  prepare_cmd
      ->add_option(
          "--pad-token", prepare.pad_tokens,
          "Tokens removed as padding where the file has no attention mask (masks decide otherwise)")
      ->capture_default_str()
      ->allow_extra_args(false);  // one token a flag, as given: "[PAD]" is not a list
  prepare_cmd->add_flag("--keep-padding", prepare.keep_padding, "Keep padding positions");
  prepare_cmd->add_option("-o,--output", prepare.output, "JSON file")->required();
  add_input_limit(prepare_cmd, prepare.limits);
  prepare_cmd->footer("Example: attnhook prepare -i attn.json -o backend.json");

  cli::HtmlArgs html;
  auto* html_cmd = app.add_subcommand(
      "html", "Write one self-contained interactive page (head view + model view)");
  html_cmd->add_option("-i,--input", html.input, "attn.json or attn.npz")->required();
  html_cmd->add_option("--batch", html.batch, "Batch item")->capture_default_str();
  html_cmd->add_option("--title", html.title, "Page title (default: the model)");
  html_cmd->add_flag("--keep-padding", html.keep_padding,
                     "Keep positions the attention mask marks as padding");
  html_cmd->add_option("-o,--output", html.output, "HTML file")->required();
  add_input_limit(html_cmd, html.limits);
  html_cmd->footer(
      "Example: attnhook html -i attn.json -o view.html   (open it in any browser, offline)");

  cli::OverlayArgs overlay;
  auto* overlay_cmd = cli::add_overlay_command(app, overlay);

  if (argc > 1 && argv[1][0] != '-') {
    const std::string command = argv[1];
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known |= sub->get_name() == command;
    if (!known) {
      fmt::print(stderr,
                 "attnhook: unknown subcommand '{}'; subcommands: extract, plot, model-view, "
                 "prepare, html, "
                 "overlay\n",
                 attnhook::detail::printable(command));
      return kUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the error with a hint
    return code == 0 ? 0 : kUsage;
  }
  // A closed pipe (attnhook plot ... -o - | head) is a write error with a message and
  // exit code 1, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (*extract_cmd) cli::extract(extract);
    if (*plot_cmd) cli::plot(plot);
    if (*view_cmd) cli::model_view(view);
    if (*prepare_cmd) cli::prepare(prepare);
    if (*html_cmd) cli::html(html);
    if (*overlay_cmd) cli::overlay(overlay);
  } catch (...) {
    return cli::report_failure(std::current_exception());
  }
  return 0;
}

// The flags of `attnhook overlay` and its --help. Text that cannot be a value (a --query
// that is neither cls, <row>,<col> nor a number, a --patch-grid that is not RxC) is a
// usage error, exit code 2; values the file decides about (a head or token out of range)
// are checked by the command (overlay.cpp), exit code 1.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "validators.h"

namespace attnhook::cli {

namespace {

const char* const kOverlayFooter = R"(
The patch grid: the one extract stored in the file (it detects ViTs: an image input and a
Conv2d patch embedding whose kernel equals its stride), else --patch-grid. --patch-grid
and --prefix-tokens override the file's. The keys are the prefix tokens (class token,
registers: not drawn), then rows x columns patches, row-major.

--query cls is the class token (token 0); <row>,<col> the patch there (outlined; needs
self-attention); a number the query token of that index (a patch's is outlined too).
Pass the picture the model saw (before normalisation): the grid spans the whole image.

Example: attnhook overlay -i attn.json --image cat.png --layer 11 --query cls --head all -o cls.png
Example: attnhook overlay -i attn.json --image cat.png --layer 11 --query 3,5 -o patch.png)";

std::string max_bytes_help() {
  return fmt::format(
      "Refuse an attention file or image larger than this (default {} GiB; suffixes K, M, G, T are "
      "powers of 1024)",
      detail::ReadLimits().max_input_bytes() >> 30);
}

}  // namespace

CLI::App* add_overlay_command(CLI::App& app, OverlayArgs& args) {
  auto* command = app.add_subcommand("overlay",
                                     "Draw one query's attention over the input picture (ViT-style "
                                     "models), as PNG");
  command->footer(kOverlayFooter);
  command->add_option("-i,--input", args.input, "attn.json or attn.npz")->required();
  command->add_option("--image", args.image, "The picture the model saw: PNG or JPEG")->required();
  command->add_option("--layer", args.layer, "Layer index (model order) or name")->required();
  command->add_option("--query", args.query, "cls, <row>,<col> (a patch) or a query token index")
      ->required()
      ->check(text_check([](const std::string& text) { return parse_query(text).has_value(); },
                         "'{}' is not a query; expected cls, <row>,<col> (a patch, e.g. 3,5) or a "
                         "token index",
                         "QUERY"));
  command
      ->add_option("--head", args.head,
                   "Head index, mean (of every head) or all (every head and their mean)")
      ->capture_default_str()
      ->check(text_check(
          [](const std::string& text) {
            return text == "mean" || text == "all" || parse_integer(text).value_or(-1) >= 0;
          },
          "'{}' is not a head; expected a head index, mean or all", "H|mean|all"));
  command->add_option("--call", args.call, "Which call of the layer")->capture_default_str();
  command->add_option("--batch", args.batch, "Batch item")->capture_default_str();
  command->add_option("--alpha", args.alpha, "Opacity of the colour map over the picture, 0..1")
      ->capture_default_str()
      ->check(text_check(
          [](const std::string& text) {
            size_t used = 0;
            double value = -1;
            try {
              value = std::stod(text, &used);
            } catch (const std::exception&) {
            }
            return used == text.size() && value >= 0 && value <= 1;
          },
          "{} is not an opacity between 0 and 1", "0..1"));
  command
      ->add_option("--patch-grid", args.patch_grid,
                   "Patches a column x a row, e.g. 14x14 (default: the file's)")
      ->check(patch_grid_text());
  command
      ->add_option("--prefix-tokens", args.prefix_tokens,
                   "Tokens before the patches: 1 for a class token (default: the file's)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("-o,--output", args.output, "PNG file")->required();
  command
      ->add_option_function<uint64_t>(
          "--max-input-bytes",
          [&args](const uint64_t& bytes) { args.limits.max_input_bytes(bytes); }, max_bytes_help())
      ->transform(CLI::AsSizeValue(false));
  return command;
}

}  // namespace attnhook::cli

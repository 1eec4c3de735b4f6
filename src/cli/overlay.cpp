// attnhook overlay: one query's attention over the picture a vision transformer saw.
// Torch-free: the call is read from the file and drawn by the core's overlay
// (src/view/overlay.h). Everything the command line says is checked against the file here,
// so that messages name the flags; the drawing code's own checks stay as a second line.
#include "overlay.h"

#include <fmt/format.h>

#include <cmath>

#include "atomic_file.h"
#include "attnhook/error.h"
#include "commands.h"
#include "image_io.h"
#include "select_layer.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

using detail::printable;

// "14x14 + 1 prefix token".
std::string grid_text(const PatchGrid& grid) {
  return fmt::format("{}x{} + {} prefix token{}", grid.rows, grid.columns, grid.prefix_tokens,
                     grid.prefix_tokens == 1 ? "" : "s");
}

// A grid to suggest when the file has none: 1 prefix token and a square, if src_len fits.
std::string suggestion(int64_t src_len) {
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(src_len - 1))));
  if (src_len > 1 && side * side == src_len - 1) {
    return fmt::format(
        " (a class token and a square grid would be --patch-grid {}x{} --prefix-tokens 1)", side,
        side);
  }
  return "";
}

// The patch grid: --patch-grid (and --prefix-tokens), else the file's (--prefix-tokens
// overriding its prefix). It must account for every key of the layer.
PatchGrid resolve_grid(const OverlayArgs& args, const PatchGrid& stored, const Selected& layer) {
  const int64_t src_len = layer.weights.size(3);
  const std::string name = printable(layer.name);
  PatchGrid grid = stored;
  std::string from;  // how a message names where the grid came from
  if (!args.patch_grid.empty()) {
    const PatchGridFlag flag = parse_patch_grid_flag(args.patch_grid);
    grid.rows = flag.rows;
    grid.columns = flag.columns;
    if (!flag.patches || *flag.patches > src_len) {
      throw Error(fmt::format("--patch-grid {}x{} has more patches than layer '{}' has keys ({})",
                              grid.rows, grid.columns, name, src_len));
    }
    grid.prefix_tokens = args.prefix_tokens >= 0 ? args.prefix_tokens : src_len - *flag.patches;
    from = args.prefix_tokens >= 0 ? "--patch-grid and --prefix-tokens" : "--patch-grid";
  } else if (!stored.empty()) {
    if (args.prefix_tokens >= 0) grid.prefix_tokens = args.prefix_tokens;
    from = args.prefix_tokens >= 0 ? "the file's patch grid with --prefix-tokens"
                                   : "the file's patch grid";
  } else {
    throw Error(fmt::format(
        "attention file '{}' holds no patch grid (extract stores one for ViT-style models with "
        "a Conv2d patch embedding); give it with --patch-grid ROWSxCOLUMNS [--prefix-tokens N]: "
        "layer '{}' has {} keys{}",
        printable(args.input, 4096), name, src_len, suggestion(src_len)));
  }
  int64_t patches = 0, keys = 0;  // a file's grid may be anything
  const bool overflow = __builtin_mul_overflow(grid.rows, grid.columns, &patches) ||
                        __builtin_add_overflow(grid.prefix_tokens, patches, &keys);
  if (overflow || keys != src_len) {
    throw Error(fmt::format("{} ({}) makes {} keys, but layer '{}' has {}", from, grid_text(grid),
                            overflow ? "more than an int64 counts" : std::to_string(keys), name,
                            src_len));
  }
  return grid;
}

int64_t resolve_head(const std::string& head, const Selected& layer) {
  if (head == "mean") return OverlayOptions::kMeanOfHeads;
  if (head == "all") return OverlayOptions::kAllHeads;
  const int64_t heads = layer.weights.size(1);
  const int64_t index = parse_integer(head).value_or(-1);
  if (index < 0 || index >= heads) {
    throw Error(fmt::format("--head '{}': layer '{}' has {} head{} (0..{}) — or use mean or all",
                            printable(head, 40), printable(layer.name), heads,
                            heads == 1 ? "" : "s", heads - 1));
  }
  return index;
}

void set_query(OverlayOptions& options, const std::string& text, const PatchGrid& grid,
               const Selected& layer) {
  const auto query = parse_query(text);
  if (!query)
    throw Error(
        fmt::format("--query '{}' is not cls, <row>,<col> or a token index", printable(text, 40)));
  const std::string name = printable(layer.name);
  const int64_t tgt_len = layer.weights.size(2), src_len = layer.weights.size(3);
  switch (query->kind) {
    case QuerySpec::Kind::kClassToken:
      if (grid.prefix_tokens == 0) {
        throw Error(fmt::format(
            "--query cls: the keys of layer '{}' are {}x{} patches with no prefix token before "
            "them, so there is no class token; give <row>,<col> or a token index",
            name, grid.rows, grid.columns));
      }
      options.query_token(0);
      return;
    case QuerySpec::Kind::kPatch:
      if (tgt_len != src_len) {
        throw Error(fmt::format(
            "--query {}: a patch as query needs self-attention, and layer '{}' has {} queries "
            "for {} keys; give a token index",
            printable(text, 40), name, tgt_len, src_len));
      }
      if (query->row >= grid.rows || query->column >= grid.columns) {
        throw Error(fmt::format("--query {}: the patch grid is {}x{} (rows 0..{}, columns 0..{})",
                                printable(text, 40), grid.rows, grid.columns, grid.rows - 1,
                                grid.columns - 1));
      }
      options.query_patch(query->row, query->column);
      return;
    case QuerySpec::Kind::kToken:
      if (query->token >= tgt_len) {
        throw Error(fmt::format("--query {}: layer '{}' has {} query tokens (0..{})",
                                printable(text, 40), name, tgt_len, tgt_len - 1));
      }
      options.query_token(query->token);
      return;
  }
}

}  // namespace

void overlay(const OverlayArgs& args) {
  const auto file = detail::open_attention(args.input, args.limits);
  const size_t index = find_layer(file->layers(), args.layer, /*all_accepted=*/false);
  const Selected layer = read_call(*file, index, args.call);
  check_batch(layer, args.batch);
  const PatchGrid grid = resolve_grid(args, file->info().patch_grid, layer);
  const size_t calls = file->layers()[index].calls;
  auto options =
      OverlayOptions()
          .patch_grid(grid.rows, grid.columns)
          .prefix_tokens(grid.prefix_tokens)
          .head(resolve_head(args.head, layer))
          .batch(args.batch)
          .alpha(args.alpha)
          .title(calls > 1 ? fmt::format("{}, call {}", layer.name, args.call) : layer.name);
  set_query(options, args.query, grid, layer);
  detail::overlay_maps(layer.weights,
                       options);  // the weights' own checks (NaN), before the image is read
  const detail::RgbImage image = detail::read_image(args.image, args.limits.max_input_bytes());
  detail::create_parent_directories(args.output, "overlay image");
  detail::save_overlay(layer.weights, image, args.output, options);
}

}  // namespace attnhook::cli

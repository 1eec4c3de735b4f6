// The attnhook command-line tool: one function per subcommand. main.cpp parses the
// command line into these structs and maps every error to an exit code in one place.
// The executable does not link LibTorch (its static initialisers alone take ~0.5 s):
// plot, model-view, prepare, html and overlay read files with the torch-free core (src/view/);
// extract runs in the plugin attnhook-extract.so, loaded on demand.
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attnhook/error.h"
#include "read_limits.h"
#include "utf8.h"

namespace CLI {
class App;
}

namespace attnhook::cli {

// `attnhook extract`. One input comes from --text (a tokenizer), --ids or --input-tensor;
// many from --inputs-file. main.cpp documents each flag; extract/inputs.cpp reads them.
struct ExtractArgs {
  std::string model;
  // Text through a tokenizer (tokenizer.json or a SentencePiece .model).
  std::string text;
  std::string text_pair;
  std::string tgt_text;  // the decoder input, tokenized the same way
  std::string tokenizer;
  bool add_bos = false;          // SentencePiece only: prepend <s>
  bool add_eos = false;          // SentencePiece only: append </s>
  int64_t max_length = 0;        // 0 = none
  std::string padding = "none";  // none or max_length
  bool truncation = false;
  // Token ids given directly: "101,2023,..." (one input [1, len]).
  std::string ids;
  std::string mask;      // attention mask of --ids: "1,1,0"
  std::string type_ids;  // token type ids of --ids
  std::string tgt_ids;   // the decoder input
  std::string tgt_mask;
  std::vector<std::string> input_tensors;  // torch.save'd tensors, one per forward() argument
  // A picture (PNG or JPEG) for a vision model: resized to image_size x image_size, scaled
  // to 0..1, normalised per channel ((x - mean) / std) and passed as [1, 3, size, size].
  std::string image;
  int64_t image_size = 224;
  std::string image_mean = "0.485,0.456,0.406";  // ImageNet's
  std::string image_std = "0.229,0.224,0.225";
  std::string inputs_file;            // JSON Lines (or comma-separated ids) per input
  std::vector<std::string> tokens;    // labels "a b c", one per token input, forward order
  std::string tokens_file;            // labels of the first input, one per line
  std::string tgt_tokens;             // labels of the decoder input
  std::string forward_args = "auto";  // auto, or the kinds in order: ids,mask,...
  std::string labels;                 // class names, one per line
  bool no_outputs = false;            // keep only the prediction, not the output tensors
  std::string layers;                 // layer_regex
  std::string device = "cpu";
  std::string output;               // .json or .npz
  std::string schema = "attnhook";  // .json only: attnhook or flat
  // The patch grid stored in the file: "RxC" from the user, else detected (ViTs); prefix
  // tokens -1 = src_len - R * C.
  std::string patch_grid;
  int64_t prefix_tokens = -1;
};

// The extract subcommand, its flags and help (extract_options.cpp), parsed into `args`.
CLI::App* add_extract_command(CLI::App& app, ExtractArgs& args);

struct PlotArgs {
  std::string input;
  std::string layer = "0";  // index in model order, a name, or all (-o is then a directory)
  std::string head = "all";
  int64_t call = 0;
  int64_t batch = 0;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
};

// `attnhook overlay`: one query's attention over the picture (overlay.cpp).
struct OverlayArgs {
  std::string input;
  std::string image;
  std::string layer;          // index in model order, or a name
  std::string query;          // cls, <row>,<col> or a token index
  std::string head = "mean";  // an index, mean or all
  int64_t call = 0;
  int64_t batch = 0;
  double alpha = 0.5;
  std::string patch_grid;      // "RxC"; "" = the file's
  int64_t prefix_tokens = -1;  // -1 = the file's
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes: the attention file and the image
};

// The overlay subcommand, its flags and help (overlay_options.cpp), parsed into `args`.
CLI::App* add_overlay_command(CLI::App& app, OverlayArgs& args);

struct ModelViewArgs {
  std::string input;
  int64_t batch = 0;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
};

struct PrepareArgs {
  std::string input;
  int64_t batch = 0;
  std::vector<std::string> pad_tokens = {"[PAD]", "<pad>", "<PAD>"};  // for axes without a mask
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
  bool keep_padding = false;  // --keep-padding
};

struct HtmlArgs {
  std::string input;
  int64_t batch = 0;
  std::string title;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
  bool keep_padding = false;  // --keep-padding
};

// Exit codes: 0 success, 1 the work failed (bad file, bad model, bad value, cannot write),
// 2 the command line is wrong (unknown subcommand or flag, missing argument).
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Prints the error a subcommand threw and returns its exit code. An attnhook::Error is the
// user's problem and says what is wrong; anything else escaped a check and is reported as
// a bug, never in the words of a user error.
inline int report_failure(const std::exception_ptr& failure, std::FILE* out = stderr) {
  try {
    std::rethrow_exception(failure);
  } catch (const attnhook::Error& e) {
    std::fprintf(out, "attnhook: %s\n", e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(out,
                 "attnhook: out of memory (the input needs more memory than this machine has)\n");
  } catch (const std::exception& e) {
    std::fprintf(out, "attnhook: internal error (a bug): %s\n",
                 detail::printable(e.what(), 400).c_str());
  } catch (...) {
    std::fprintf(out, "attnhook: internal error (a bug): an unknown exception\n");
  }
  return kExitFailed;
}

// The whole of `text` as an integer, or none (empty, trailing characters, out of range).
std::optional<int64_t> parse_integer(const std::string& text);
// "14x14" (or "14X14", "14,14") as {rows, columns}, both >= 1; none if `text` is not that.
std::optional<std::pair<int64_t, int64_t>> parse_patch_grid(const std::string& text);
// --patch-grid as given to extract and overlay: its rows and columns, and their product.
struct PatchGridFlag {
  int64_t rows = 0;
  int64_t columns = 0;
  std::optional<int64_t> patches;  // rows * columns; none when an int64 cannot hold it
};
// parse_patch_grid of --patch-grid's `text`, or an attnhook::Error naming it.
PatchGridFlag parse_patch_grid_flag(const std::string& text);
// overlay's --query: cls (the class token), <row>,<col> (a patch, from 0) or a token index.
struct QuerySpec {
  enum class Kind { kClassToken, kPatch, kToken } kind = Kind::kClassToken;
  int64_t row = 0;
  int64_t column = 0;
  int64_t token = 0;
};
std::optional<QuerySpec> parse_query(const std::string& text);
// `count` comma-separated finite numbers ("0.485,0.456,0.406"); none if `text` is not that.
std::optional<std::vector<double>> parse_numbers(const std::string& text, size_t count);

// Reads and tokenizes the inputs (inputs.h), loads the plugin attnhook-extract.so (which
// links LibTorch) and calls its entry point (extract_abi.h), which runs run_extract.
void extract(const ExtractArgs& args);
void plot(const PlotArgs& args);
void model_view(const ModelViewArgs& args);
void prepare(const PrepareArgs& args);
void html(const HtmlArgs& args);
void overlay(const OverlayArgs& args);

}  // namespace attnhook::cli

// The attnhook command-line tool: one function per subcommand. main.cpp parses the
// command line into these structs and maps every error to an exit code in one place.
// The executable does not link LibTorch (its static initialisers alone take ~0.5 s):
// plot, model-view, prepare and html read files with the torch-free core (src/view/);
// extract runs in the plugin attnhook-extract.so, loaded on demand.
#pragma once

#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "read_limits.h"
#include "utf8.h"

namespace attnhook::cli {

struct ExtractArgs {
  std::string model;
  std::string ids;                         // "101,2023,..." (one input [1, len])
  std::vector<std::string> input_tensors;  // torch.save'd tensors, one per forward() argument
  std::string inputs_file;                 // one line of ids per input
  std::string tokens;                      // "a b c"
  std::string tokens_file;                 // one token per line
  std::string layers;                      // layer_regex
  std::string device = "cpu";
  std::string output;                      // .json or .npz
  std::string schema = "attnhook";         // .json only: attnhook or flat
};

struct PlotArgs {
  std::string input;
  std::string layer = "0";  // index in model order, or a name
  std::string head = "all";
  int64_t call = 0;
  int64_t batch = 0;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
};

struct ModelViewArgs {
  std::string input;
  int64_t batch = 0;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
};

struct PrepareArgs {
  std::string input;
  int64_t batch = 0;
  std::vector<std::string> pad_tokens = {"[PAD]", "<pad>", "<PAD>"};
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
};

struct HtmlArgs {
  std::string input;
  int64_t batch = 0;
  std::string title;
  std::string output;
  detail::ReadLimits limits;  // --max-input-bytes
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
    std::fprintf(out, "attnhook: out of memory (the input needs more memory than this machine has)\n");
  } catch (const std::exception& e) {
    std::fprintf(out, "attnhook: internal error (a bug): %s\n", detail::printable(e.what(), 400).c_str());
  } catch (...) {
    std::fprintf(out, "attnhook: internal error (a bug): an unknown exception\n");
  }
  return kExitFailed;
}

// The whole of `text` as an integer, or none (empty, trailing characters, out of range).
std::optional<int64_t> parse_integer(const std::string& text);

// Loads the plugin attnhook-extract.so (which links LibTorch) and calls run_extract.
void extract(const ExtractArgs& args);
// In the plugin: the work of `attnhook extract`.
void run_extract(const ExtractArgs& args);
void plot(const PlotArgs& args);
void model_view(const ModelViewArgs& args);
void prepare(const PrepareArgs& args);
void html(const HtmlArgs& args);

}  // namespace attnhook::cli

// Internal: what the `attnhook` executable hands its extract plugin (extract_abi.h): the
// command line and the inputs, already read and tokenized. Tokenizing happens on the
// executable's side on purpose: the tokenizer's libsentencepiece exports a global
// FLAGS_minloglevel of another type than LibTorch's libc10 (a 32-byte flag object over
// c10's 4-byte int, in one symbol scope), so the two libraries must never share a
// process's symbol scope; the plugin loads LibTorch and never the tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"

namespace attnhook::cli {

// One token sequence: what the tokenizer (or --ids and its flags) gave. All lists have
// the length of `ids`, but `tokens`, which may be empty (no labels).
struct Sequence {
  std::vector<int64_t> ids;
  std::vector<int64_t> mask;        // 1 token, 0 padding
  std::vector<int64_t> type_ids;    // segment ids (0 text, 1 pair)
  std::vector<std::string> tokens;  // labels
  bool from_text = false;           // tokenized: a text too long for the model needs --truncation

  bool empty() const { return ids.empty(); }
};

// --image: the picture read and resized by the executable (image_input.cpp); the plugin
// normalises it into the model's input [1, 3, size, size].
struct ImageInput {
  std::string path;
  int64_t size = 0;          // pixels a side, after the resize
  std::vector<uint8_t> rgb;  // [size, size, 3], row-major

  bool empty() const { return rgb.empty(); }
};

// One run of the model: its arguments, labels and the text the file records.
struct ModelInput {
  std::string where;  // how messages name it: "--text", "--inputs-file 'in.jsonl', line 3"
  std::string text;   // the file's "text": the user's text (a pair on a second line)
  Sequence src;       // the token ids: the encoder's, or the only input (empty with tensors)
  Sequence tgt;       // the decoder input, or empty
  std::vector<std::string> tensor_files;                // --input-tensor, forward order
  std::vector<std::vector<std::string>> tensor_tokens;  // labels of each tensor input, or empty
  ImageInput image;                                     // --image, or empty
};

struct ExtractRequest {
  ExtractArgs args;
  std::vector<ModelInput> inputs;  // at least one
};

// As CBOR and back (binary JSON: nlohmann keeps its strings as bytes, so a file name that
// is not UTF-8 arrives intact). One list of fields, so both sides agree.
std::vector<uint8_t> request_to_cbor(const ExtractRequest& request);
ExtractRequest request_from_cbor(const uint8_t* bytes, size_t size);

}  // namespace attnhook::cli

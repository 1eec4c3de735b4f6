// Attention files: what a hooker recorded, saved for other tools and read back.
//
//   attnhook::AttentionFile file;
//   file.tokens = tokens;                 // optional: labels of the input positions
//   file.values = hooker.values();        // name -> calls, each [batch, heads, tgt, src]
//   attnhook::save_json(file, "attn.json");
//   attnhook::save_npz(file, "attn.npz");
//   auto back = attnhook::load_attention("attn.json");   // .json or .npz (name or content)
//
// attn.json, attnhook's schema (version 1):
//   {"format": "attnhook", "version": 1, "model": "m.pt", "text": "...",
//    "tokens": ["a", "b", ...],                      // may be empty
//    "attention_mask": [1, 1, 0],                    // optional: of the input positions,
//                                                    //   1 token, 0 padding
//    "src_tokens": [...],                            // optional: keys of cross-attention
//    "src_attention_mask": [...],                    // optional: of the key positions
//    "outputs": [{"name": "output", "shape": [1, 2], // optional: the model's output tensors
//                 "values": [...]}],                 //   (extract keeps them)
//    "prediction": {"output": "output",              // optional: arg-max over the last
//                   "shape": [1], "class_ids": [1],  //   dimension of that output,
//                   "class_names": ["positive"],     //   class names (extract --labels),
//                   "probabilities": [0.97]},        //   softmax at the arg-max
//    "patch_grid": [14, 14],                         // optional: a vision transformer's
//    "prefix_tokens": 1,                             //   keys are prefix_tokens tokens
//                                                    //   (class token, registers), then
//                                                    //   rows x columns patches, row-major
//                                                    //   (extract stores them: see
//                                                    //   attnhook extract --help)
//    "layers": [{"name": "layers.0.self_attn",       // model order
//                "tgt_tokens": [...], "src_tokens": [...],   // optional, this layer's labels
//                "tgt_attention_mask": [...],        // optional, this layer's masks
//                "src_attention_mask": [...],
//                "calls": [{"shape": [B, H, T, S],   // one per call, call order
//                           "values": [...]}]}]}     // B*H*T*S numbers, row-major
// Numbers are written in the shortest form that reads back to the same float32.
// The attention masks, outputs, prediction and patch grid were added to version 1 as
// optional fields (readers skip fields they do not know): files without them still load,
// as before. "patch_grid" is two positive integers; "prefix_tokens" (default 0) is a
// non-negative integer and needs "patch_grid".
// Which positions are padding: the mask of the axis (the layer's own, else the file's),
// else, for files without masks, tokens named like padding (attnhook prepare --pad-token).
//
// The flat schema of existing Python extract/plot scripts is read and written too
// (JsonSchema::kFlat): {"tokens": [...], "text": "...", "attention_matrices":
// [layer][head][i][j]} — one batch item, one call per layer; on reading, layers are
// named "0", "1", ... and each becomes one call of shape [1, H, T, S]. It has no masks,
// outputs or prediction.
//
// attn.npz (numpy: np.load("attn.npz")): one float32 array per layer and call, named
// "<layer name>/<call>" (e.g. "layers.0.self_attn/0"), shape [B, H, T, S]; the tokens,
// if any, as a unicode array "tokens" (and "src_tokens", and per layer
// "<layer name>/tgt_tokens", "<layer name>/src_tokens"); "text" and "model" as 0-d
// unicode arrays. Masks are int64 arrays named like the JSON fields ("attention_mask",
// "src_attention_mask", "<layer name>/tgt_attention_mask", ...); each output a float32
// array "output:<name>"; the prediction "prediction:output" (0-d unicode),
// "prediction:class_ids" (int64, shaped like the prediction), "prediction:class_names"
// (unicode), "prediction:probabilities" (float32); the patch grid "patch_grid" (int64,
// [rows, columns]) and "prefix_tokens" (int64, 0-d). The order of entries is model order,
// then call order. Entries are
// stored (not compressed), their data 64-byte aligned (padding in the zip local header's
// extra field), so a stored float32 array is read in place from the mapped file; files
// from numpy.savez and numpy.savez_compressed (float16/32/64) are read too. Readers
// before these additions refuse .npz files holding masks, outputs, a prediction or a
// patch grid.
//
// view.html (save_html): one self-contained page (no network, no CDN) with a head view
// (tokens on two sides, lines weighted by attention, hover a token to filter, click a
// head to toggle, layer selector) and a model view (layers x heads thumbnails, click to
// enlarge), for one batch item. Axis labels: the layer's own tokens, else the file's
// (src_tokens for keys), else positions 0, 1, ... Positions whose attention mask is 0
// (padding) are left out. Above the views: the text, the prediction and the outputs
// (their numbers when an output has at most 32).
//
// Attention files are untrusted input, read defensively: every declared size is checked
// before memory is reserved for it (limits: an input file of at most 16 GiB, at most 2^30
// numbers in one call, JSON nested at most 64 deep), zip entries are read one at a time
// with their length and CRC-32 checked, text must be UTF-8. Errors are attnhook::Error
// naming the file and the field, quoting input cut short and with control characters
// escaped: missing or unreadable files, directories and devices, a file over the size
// limit, malformed JSON (with line and column), a schema mismatch, a shape that is
// negative, over the limit or does not match its values, a number beyond float32, a
// broken zip or .npy header, a size the data does not have, a CRC-32 mismatch, text that
// is not UTF-8.
//
// Files are written to a temporary file beside the target and renamed, so a failed save
// leaves nothing behind. "-" is standard output; a symbolic link is followed (the file it
// points to is replaced, the link stays); a device or FIFO is written directly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "attnhook/values.h"

namespace attnhook {

// The fields (AttentionInfo: model, text, tokens, attention_mask, src_tokens,
// src_attention_mask, layer_tokens, prediction, patch_grid, labels(), mask(); outputs;
// values) are declared in attnhook/formats.h, shared with the torch-free core. values:
// float32 on the CPU after loading.
using AttentionFile = BasicAttentionFile<at::Tensor, Values>;

void save_json(const AttentionFile& file, const std::string& path,
               JsonSchema schema = JsonSchema::kAttnhook);
void save_npz(const AttentionFile& file, const std::string& path);
// title "" = file.model; batch: which batch item to show.
void save_html(const AttentionFile& file, const std::string& path, int64_t batch = 0,
               const std::string& title = "");

// Either JSON schema, detected from the content.
AttentionFile load_json(const std::string& path);
AttentionFile load_npz(const std::string& path);
// A name ending in ".npz", or bytes that start like a zip -> load_npz; else load_json.
AttentionFile load_attention(const std::string& path);

}  // namespace attnhook

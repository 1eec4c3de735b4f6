// Internal: attention files without LibTorch. AttentionData is attnhook::AttentionFile
// with arrays in place of tensors (one template, attnhook/formats.h); the public save_*/load_* functions (export.h, which
// documents the formats and errors) convert and call these. The command-line viewer
// (plot, model-view, prepare, html) uses them directly and so never loads LibTorch.
//
// Reading is in two steps, so that a command reads only what it draws: open_attention
// reads and checks everything but the numbers (names, labels and, where the format keeps
// them apart from the numbers, shapes); AttentionReader::read then reads one call. From an
// .npz that is one entry (a stored entry is mapped, not copied); from a .json file, one
// array of numbers (the others are skipped, never converted). Every size is checked
// against ReadLimits (read_limits.h) before memory is reserved for it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "float_array.h"
#include "read_limits.h"

namespace attnhook::detail {

// attnhook::AttentionFile with FloatArrays in place of tensors: the same struct
// (attnhook/formats.h), so a field added there reaches both.
using AttentionData = BasicAttentionFile<FloatArray, NamedCalls>;

// A layer of an opened file: its name, and how many calls it recorded.
struct LayerEntry {
  std::string name;
  size_t calls = 0;
};

// An attention file opened for reading (see the top of this header).
class AttentionReader {
 public:
  virtual ~AttentionReader() = default;
  // Everything but the calls: AttentionInfo and the outputs; `values` is empty.
  const AttentionData& info() const { return info_; }
  // Model order.
  const std::vector<LayerEntry>& layers() const { return layers_; }
  // Call `call` of layers()[layer], read now: [batch, heads, tgt_len, src_len].
  virtual FloatArray read(size_t layer, size_t call) const = 0;
  // info() with every call read into `values`.
  AttentionData read_all() const;

 protected:
  AttentionData info_;
  std::vector<LayerEntry> layers_;
};

class InputFile;

// Errors are attnhook::Error naming the file and the field (see export.h).
std::unique_ptr<AttentionReader> open_json(const std::string& path, const ReadLimits& limits = ReadLimits());
std::unique_ptr<AttentionReader> open_npz(const std::string& path, const ReadLimits& limits = ReadLimits());
std::unique_ptr<AttentionReader> open_json(std::shared_ptr<const InputFile> file, const ReadLimits& limits);
std::unique_ptr<AttentionReader> open_npz(std::shared_ptr<const InputFile> file, const ReadLimits& limits);
// A name ending in ".npz", or bytes that start like a zip (`plot -i <(curl .../attn.npz)`)
// -> open_npz; anything else -> open_json.
std::unique_ptr<AttentionReader> open_attention(const std::string& path,
                                                const ReadLimits& limits = ReadLimits());

void write_json(const AttentionData& data, const std::string& path, JsonSchema schema);
void write_npz(const AttentionData& data, const std::string& path);
// Positions whose attention mask is 0 are left out, unless keep_padding.
void write_html(const AttentionData& data, const std::string& path, int64_t batch,
                const std::string& title, bool keep_padding = false);
// open_* followed by read_all().
AttentionData read_json(const std::string& path, const ReadLimits& limits = ReadLimits());
AttentionData read_npz(const std::string& path, const ReadLimits& limits = ReadLimits());
// As open_attention.
AttentionData read_attention(const std::string& path, const ReadLimits& limits = ReadLimits());

}  // namespace attnhook::detail

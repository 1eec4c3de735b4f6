// Internal: which positions of a layer's axes are padding, so that prepare and the HTML
// viewer can leave them out. The attention mask of an axis decides (0 = padding:
// AttentionInfo::mask, the layer's own, else the file's); files without masks (older
// files, the flat schema) fall back to the axis' labels that name a padding token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "float_array.h"

namespace attnhook::detail {

struct KeptPositions {
  std::vector<bool> rows;  // [tgt_len]: true = a token, kept
  std::vector<bool> cols;  // [src_len]
  bool everything() const;
};

// For a call of `layer` with `rows` queries and `cols` keys. `pad_tokens` are used only for
// an axis without a mask.
KeptPositions kept_positions(const AttentionInfo& file, const std::string& layer, int64_t rows, int64_t cols,
                             const std::vector<std::string>& pad_tokens);

// `heads` [heads, tgt_len, src_len] with the dropped rows and columns left out.
FloatArray without_padding(const FloatArray& heads, const KeptPositions& kept);

// The entries of `list` whose position is kept (a list of another length is returned as is).
std::vector<std::string> kept_labels(const std::vector<std::string>& list, const std::vector<bool>& kept);

}  // namespace attnhook::detail

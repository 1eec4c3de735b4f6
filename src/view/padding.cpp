#include "padding.h"

#include <algorithm>

namespace attnhook::detail {
namespace {

std::vector<bool> kept_axis(const AttentionInfo& file, const std::string& layer, int64_t length, bool keys,
                            const std::vector<std::string>& pad_tokens) {
  std::vector<bool> kept(length, true);
  const std::vector<int64_t> mask = file.mask(layer, length, keys);
  if (!mask.empty()) {
    for (int64_t i = 0; i < length; ++i) kept[i] = mask[i] != 0;
    return kept;
  }
  const std::vector<std::string> labels = file.labels(layer, length, keys);
  for (size_t i = 0; i < labels.size(); ++i) {
    kept[i] = std::find(pad_tokens.begin(), pad_tokens.end(), labels[i]) == pad_tokens.end();
  }
  return kept;
}

}  // namespace

bool KeptPositions::everything() const {
  return std::all_of(rows.begin(), rows.end(), [](bool k) { return k; }) &&
         std::all_of(cols.begin(), cols.end(), [](bool k) { return k; });
}

KeptPositions kept_positions(const AttentionInfo& file, const std::string& layer, int64_t rows, int64_t cols,
                             const std::vector<std::string>& pad_tokens) {
  return {kept_axis(file, layer, rows, false, pad_tokens), kept_axis(file, layer, cols, true, pad_tokens)};
}

FloatArray without_padding(const FloatArray& heads, const KeptPositions& kept) {
  if (kept.everything()) return heads;
  const int64_t count = heads.size(0), rows = heads.size(1), cols = heads.size(2);
  const int64_t kept_rows = std::count(kept.rows.begin(), kept.rows.end(), true);
  const int64_t kept_cols = std::count(kept.cols.begin(), kept.cols.end(), true);
  std::vector<float> out;
  out.reserve(count * kept_rows * kept_cols);
  const float* data = heads.data();
  for (int64_t h = 0; h < count; ++h) {
    for (int64_t i = 0; i < rows; ++i) {
      if (!kept.rows[i]) continue;
      const float* row = data + (h * rows + i) * cols;
      for (int64_t j = 0; j < cols; ++j)
        if (kept.cols[j]) out.push_back(row[j]);
    }
  }
  return FloatArray({count, kept_rows, kept_cols}, std::move(out));
}

std::vector<std::string> kept_labels(const std::vector<std::string>& list, const std::vector<bool>& kept) {
  if (list.size() != kept.size()) return list;
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i)
    if (kept[i]) out.push_back(list[i]);
  return out;
}

}  // namespace attnhook::detail

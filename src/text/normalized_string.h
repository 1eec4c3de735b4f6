// NormalizedString: a piece of the input and what normalisation made of it, with the
// alignment of every normalized byte to its bytes in the original. It mirrors
// `tokenizers`' NormalizedString operation by operation, because the offsets HF reports
// are exactly what these alignments give: a different bookkeeping would give other
// offsets for the same tokens (an inserted char inherits its left neighbour's
// alignment, a removed one vanishes, and so on).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/unicode.h"

namespace attnhook::text {

using ByteRange = std::pair<std::size_t, std::size_t>;

// What to do with the matches when splitting (HF's SplitDelimiterBehavior), for "-" in
// "the-final--countdown":
//   kRemoved    the final countdown         kIsolated          the - final - - countdown
//   kMergedWithPrevious  the- final- - countdown
//   kMergedWithNext      the -final - -countdown
//   kContiguous          the - final -- countdown
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// One match list: (range, is_match) covering the whole string in order.
using Matches = std::vector<std::pair<ByteRange, bool>>;

// A new char and how it relates to the chars it replaces (HF's `changes`):
//   0 replaces the next original char, 1 is inserted, -n replaces one and removes n more.
using CharChange = std::pair<char32_t, int>;

class NormalizedString {
 public:
  NormalizedString() = default;
  explicit NormalizedString(std::string_view original);

  const std::string& get() const { return normalized_; }
  const std::string& original() const { return original_; }
  bool empty() const { return normalized_.empty(); }
  std::size_t size() const { return normalized_.size(); }
  // Where this piece starts in the text it was cut from.
  std::size_t original_shift() const { return original_shift_; }

  // Original byte range (relative to original()) of normalized bytes [begin, end); false
  // where HF's convert_offsets returns None.
  bool to_original(ByteRange normalized, ByteRange* out) const;

  // Replaces normalized bytes [range) with `chars`; initial_removed chars of the range are
  // dropped before the first new char (HF's transform_range).
  void transform_range(ByteRange range, const std::vector<CharChange>& chars,
                       std::size_t initial_removed);
  void transform(const std::vector<CharChange>& chars, std::size_t initial_removed) {
    transform_range({0, normalized_.size()}, chars, initial_removed);
  }
  // transform(), skipped when it would replace every char by itself (a common case that
  // costs a full copy of the string and its alignments otherwise).
  void transform_if_changed(const std::vector<CharChange>& chars);

  template <typename Keep>
  void filter(Keep keep);
  template <typename Map>
  void map(Map fn);
  void lowercase();
  void nfd() { apply_normalization(NormalForm::kNFD); }
  void nfkd() { apply_normalization(NormalForm::kNFKD); }
  void nfc() { apply_normalization(NormalForm::kNFC); }
  void nfkc() { apply_normalization(NormalForm::kNFKC); }
  void prepend(std::string_view text);
  void strip(bool left, bool right);
  // Replaces every occurrence of a literal pattern (HF's Replace with a String pattern).
  void replace(const Matches& matches, std::string_view content);

  // The piece of normalized bytes [range): its original, alignments and shift follow.
  NormalizedString slice(ByteRange normalized) const;
  std::vector<NormalizedString> split(const Matches& matches, SplitBehavior behavior) const;

 private:
  void apply_normalization(NormalForm form);

  std::string original_;
  std::string normalized_;
  std::vector<ByteRange> alignments_;  // one per normalized byte, into original_
  std::size_t original_shift_ = 0;
};

template <typename Keep>
void NormalizedString::filter(Keep keep) {
  // HF walks backwards so that each kept char carries the count of removed chars after
  // it; removed chars at the very beginning become the initial offset.
  std::vector<char32_t> chars = decode_all(normalized_);
  std::vector<CharChange> kept;
  kept.reserve(chars.size());
  int removed = 0;
  for (std::size_t i = chars.size(); i-- > 0;) {
    if (keep(chars[i])) {
      kept.emplace_back(chars[i], -removed);
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (kept.size() == chars.size()) return;  // nothing removed: the transform is the identity
  std::vector<CharChange> forward(kept.rbegin(), kept.rend());
  transform(forward, static_cast<std::size_t>(removed));
}

template <typename Map>
void NormalizedString::map(Map fn) {
  std::vector<CharChange> chars;
  bool changed = false;
  for (char32_t c : decode_all(normalized_)) {
    char32_t mapped = fn(c);
    changed = changed || mapped != c;
    chars.emplace_back(mapped, 0);
  }
  if (changed) transform(chars, 0);
}

}  // namespace attnhook::text

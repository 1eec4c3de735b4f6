#include "text/normalized_string.h"

#include <algorithm>

#include "attnhook/error.h"

namespace attnhook::text {

NormalizedString::NormalizedString(std::string_view original)
    : original_(original), normalized_(original) {
  alignments_.reserve(original.size());
  for (std::size_t i = 0; i < original.size();) {
    std::size_t start = i;
    next_char(original, i);
    for (std::size_t b = start; b < i; ++b) alignments_.emplace_back(start, i);
  }
}

bool NormalizedString::to_original(ByteRange range, ByteRange* out) const {
  // HF: an empty target comes back as is (even though it is a normalized index).
  if (range.first == range.second) {
    *out = range;
    return true;
  }
  if (range.first > range.second || range.second > alignments_.size()) return false;
  *out = {alignments_[range.first].first, alignments_[range.second - 1].second};
  return true;
}

void NormalizedString::transform_range(ByteRange range, const std::vector<CharChange>& chars,
                                       std::size_t initial_removed) {
  // The chars being replaced, to know how many bytes each change consumes.
  std::string_view replaced(normalized_.data() + range.first, range.second - range.first);
  std::size_t replaced_pos = 0;  // byte position in `replaced`
  auto consume_char = [&]() -> std::size_t {
    if (replaced_pos >= replaced.size()) return 0;
    std::size_t before = replaced_pos;
    next_char(replaced, replaced_pos);
    return replaced_pos - before;
  };
  std::size_t offset = range.first;
  for (std::size_t i = 0; i < initial_removed; ++i) offset += consume_char();

  std::string new_normalized;
  std::vector<ByteRange> new_alignments;
  new_normalized.reserve(replaced.size());
  new_alignments.reserve(replaced.size());
  for (const auto& [c, change] : chars) {
    ByteRange align;
    if (change > 0) {
      // An inserted char shares the alignment of the byte before it.
      align = offset < 1 ? ByteRange{0, 0} : alignments_[offset - 1];
    } else {
      align = offset < alignments_.size() ? alignments_[offset] : ByteRange{0, 0};
    }
    if (change <= 0) offset += consume_char();
    for (int k = 0; k < -change; ++k) offset += consume_char();
    std::size_t before = new_normalized.size();
    append_utf8(new_normalized, c);
    new_alignments.insert(new_alignments.end(), new_normalized.size() - before, align);
  }
  normalized_.replace(range.first, range.second - range.first, new_normalized);
  alignments_.erase(alignments_.begin() + static_cast<std::ptrdiff_t>(range.first),
                    alignments_.begin() + static_cast<std::ptrdiff_t>(range.second));
  alignments_.insert(alignments_.begin() + static_cast<std::ptrdiff_t>(range.first),
                     new_alignments.begin(), new_alignments.end());
}

void NormalizedString::transform_if_changed(const std::vector<CharChange>& chars) {
  std::size_t i = 0;
  bool same = true;
  for (const auto& [c, change] : chars) {
    if (change != 0 || i >= normalized_.size() || next_char(normalized_, i) != c) {
      same = false;
      break;
    }
  }
  if (same && i == normalized_.size()) return;
  transform(chars, 0);
}

void NormalizedString::lowercase() {
  std::vector<CharChange> chars;
  std::vector<char32_t> lowered;
  for (char32_t c : decode_all(normalized_)) {
    lowered.clear();
    append_lowercase(c, lowered);
    for (std::size_t i = 0; i < lowered.size(); ++i) chars.emplace_back(lowered[i], i > 0 ? 1 : 0);
  }
  transform_if_changed(chars);
}

void NormalizedString::apply_normalization(NormalForm form) {
  transform_if_changed(normalize_with_changes(decode_all(normalized_), form));
}

void NormalizedString::prepend(std::string_view text) {
  if (normalized_.empty() || text.empty()) return;
  std::size_t first_length = 0;
  char32_t first = next_char(normalized_, first_length);
  std::vector<CharChange> chars;
  std::vector<char32_t> added = decode_all(text);
  for (std::size_t i = 0; i < added.size(); ++i) chars.emplace_back(added[i], i == 0 ? 0 : 1);
  chars.emplace_back(first, 1);
  transform_range({0, first_length}, chars, 0);
}

void NormalizedString::strip(bool left, bool right) {
  std::vector<char32_t> chars = decode_all(normalized_);
  std::size_t leading = 0, trailing = 0;
  if (left) {
    while (leading < chars.size() && is_whitespace(chars[leading])) ++leading;
  }
  if (right) {
    while (trailing < chars.size() - leading && is_whitespace(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
  }
  if (leading == 0 && trailing == 0) return;
  std::vector<CharChange> kept;
  for (std::size_t i = leading; i + trailing < chars.size(); ++i) {
    bool last = i + trailing + 1 == chars.size();
    kept.emplace_back(chars[i], last ? -static_cast<int>(trailing) : 0);
  }
  transform(kept, leading);
}

void NormalizedString::replace(const Matches& matches, std::string_view content) {
  std::vector<char32_t> new_chars = decode_all(content);
  std::ptrdiff_t shift = 0;
  for (const auto& [range, is_match] : matches) {
    if (!is_match) continue;
    ByteRange shifted{static_cast<std::size_t>(static_cast<std::ptrdiff_t>(range.first) + shift),
                      static_cast<std::size_t>(static_cast<std::ptrdiff_t>(range.second) + shift)};
    std::size_t removed = count_chars(
        std::string_view(normalized_).substr(shifted.first, shifted.second - shifted.first));
    std::vector<CharChange> chars;
    for (char32_t c : new_chars) chars.emplace_back(c, 1);
    transform_range(shifted, chars, removed);
    shift += static_cast<std::ptrdiff_t>(content.size()) -
             static_cast<std::ptrdiff_t>(range.second - range.first);
  }
}

namespace {

bool is_char_boundary(const std::string& s, std::size_t i) {
  return i == s.size() || (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80);
}

}  // namespace

NormalizedString NormalizedString::slice(ByteRange range) const {
  // HF panics here ("NormalizedString bad split"); a pattern that cuts inside a character
  // (an empty String pattern does) is an error instead.
  if (range.first > range.second || !is_char_boundary(normalized_, range.first) ||
      !is_char_boundary(normalized_, range.second)) {
    throw Error("a split pattern cut the text inside a character (HF's \"bad split\")");
  }
  NormalizedString piece;
  ByteRange original_range;
  if (!to_original(range, &original_range)) return piece;
  if (original_range.first <= original_range.second && original_range.second <= original_.size()) {
    piece.original_ =
        original_.substr(original_range.first, original_range.second - original_range.first);
  }
  piece.normalized_ = normalized_.substr(range.first, range.second - range.first);
  piece.alignments_.reserve(range.second - range.first);
  for (std::size_t i = range.first; i < range.second; ++i) {
    auto shifted = [&](std::size_t x) {
      return x >= original_range.first ? x - original_range.first : 0;
    };
    piece.alignments_.emplace_back(shifted(alignments_[i].first), shifted(alignments_[i].second));
  }
  piece.original_shift_ = original_shift_ + original_range.first;
  return piece;
}

std::vector<NormalizedString> NormalizedString::split(const Matches& matches,
                                                      SplitBehavior behavior) const {
  // (range, remove) after applying the behavior, as HF folds them.
  std::vector<std::pair<ByteRange, bool>> splits;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& [range, is_match] : matches) splits.emplace_back(range, false);
      break;
    case SplitBehavior::kRemoved:
      splits.assign(matches.begin(), matches.end());
      break;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const auto& [range, is_match] : matches) {
        if (is_match == previous && !splits.empty()) {
          splits.back().first.second = range.second;
        } else {
          splits.emplace_back(range, false);
        }
        previous = is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const auto& [range, is_match] : matches) {
        if (is_match && !previous && !splits.empty()) {
          splits.back().first.second = range.second;
        } else {
          splits.emplace_back(range, false);
        }
        previous = is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto& [range, is_match] = *it;
        if (is_match && !previous && !splits.empty()) {
          splits.back().first.first = range.first;
        } else {
          splits.emplace_back(range, false);
        }
        previous = is_match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  std::vector<NormalizedString> pieces;
  pieces.reserve(splits.size());
  for (const auto& [range, remove] : splits) {
    if (!remove) pieces.push_back(slice(range));
  }
  return pieces;
}

}  // namespace attnhook::text

// WorkEncoding: HF's Encoding operations that post-processing needs.
#include <algorithm>

#include "text/byte_level.h"
#include "text/pipeline.h"

namespace attnhook::text {

void WorkEncoding::set_sequence_id(int id) {
  std::fill(e.sequence_ids.begin(), e.sequence_ids.end(), id);
  has_ranges = true;
}

void WorkEncoding::set_type_ids(int64_t type_id) {
  std::fill(e.type_ids.begin(), e.type_ids.end(), type_id);
}

namespace {

template <typename T>
void append_vector(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

template <typename T>
void keep_range(std::vector<T>& v, std::size_t begin, std::size_t end) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(end), v.end());
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(begin));
}

template <typename T>
void pad_vector(std::vector<T>& v, std::size_t count, const T& value, Side side) {
  if (side == Side::kRight) {
    v.insert(v.end(), count, value);
  } else {
    v.insert(v.begin(), count, value);
  }
}

}  // namespace

void WorkEncoding::append(const WorkEncoding& other) {
  append_vector(e.ids, other.e.ids);
  append_vector(e.tokens, other.e.tokens);
  append_vector(e.offsets, other.e.offsets);
  append_vector(e.char_offsets, other.e.char_offsets);
  append_vector(e.attention_mask, other.e.attention_mask);
  append_vector(e.type_ids, other.e.type_ids);
  append_vector(e.special_tokens_mask, other.e.special_tokens_mask);
  append_vector(e.sequence_ids, other.e.sequence_ids);
  append_vector(e.word_ids, other.e.word_ids);
  has_ranges = has_ranges || other.has_ranges;
}

void WorkEncoding::truncate(std::size_t max_length, Side side) {
  std::size_t n = size();
  if (max_length >= n) return;
  std::size_t begin = side == Side::kRight ? 0 : n - max_length;
  std::size_t end = begin + max_length;
  keep_range(e.ids, begin, end);
  keep_range(e.tokens, begin, end);
  keep_range(e.offsets, begin, end);
  keep_range(e.char_offsets, begin, end);
  keep_range(e.attention_mask, begin, end);
  keep_range(e.type_ids, begin, end);
  keep_range(e.special_tokens_mask, begin, end);
  keep_range(e.sequence_ids, begin, end);
  keep_range(e.word_ids, begin, end);
}

void WorkEncoding::pad(std::size_t length, int64_t pad_id, int64_t pad_type_id,
                       const std::string& pad_token, Side side) {
  if (size() >= length) return;
  std::size_t count = length - size();
  pad_vector(e.ids, count, pad_id, side);
  pad_vector(e.tokens, count, pad_token, side);
  pad_vector(e.offsets, count, Offsets{0, 0}, side);
  pad_vector(e.char_offsets, count, Offsets{0, 0}, side);
  pad_vector(e.attention_mask, count, int64_t{0}, side);
  pad_vector(e.type_ids, count, pad_type_id, side);
  pad_vector(e.special_tokens_mask, count, 1, side);
  pad_vector(e.sequence_ids, count, -1, side);
  pad_vector(e.word_ids, count, -1, side);
}

void trim_byte_level_offsets(Encoding& e, bool add_prefix_space) {
  const char32_t space = byte_to_char(' ');
  auto is_space = [space](char32_t c) { return c == space || is_whitespace(c); };
  for (std::size_t i = 0; i < e.tokens.size(); ++i) {
    std::vector<char32_t> chars = decode_all(e.tokens[i]);
    std::size_t leading = 0, trailing = 0;
    while (leading < chars.size() && is_space(chars[leading])) ++leading;
    while (trailing < chars.size() && is_space(chars[chars.size() - 1 - trailing])) ++trailing;
    if (leading == 0 && trailing == 0) continue;
    // Trimmed in code points; the byte offsets are derived from these at the end.
    Offsets* offsets = &e.char_offsets[i];
    std::size_t lead = leading;
    if (lead > 0) {
      bool is_first = i == 0 || offsets->first == 0;
      // A single leading space on the first token is the one add_prefix_space added.
      if (is_first && add_prefix_space && lead == 1) lead = 0;
      offsets->first = std::min(offsets->first + lead, offsets->second);
    }
    if (trailing > 0 && offsets->second >= trailing) {
      offsets->second = std::max(offsets->second - trailing, offsets->first);
    }
  }
}

}  // namespace attnhook::text

// UTF-8 and the character classes `tokenizers` uses, answered by ICU.
//
// Each class is named after the Rust function HF calls, because two of HF's
// dependencies froze old Unicode data: the `unicode_categories` crate (BERT's
// punctuation, control and non-spacing-mark tests) knows Unicode 8.0, and
// `unicode-normalization-alignments` (NFD/NFKD/NFC/NFKC, StripAccents' combining marks)
// Unicode 9.0. A character assigned later is not punctuation to BERT and does not
// decompose, however ICU classifies it, so those tests ask ICU for the category *and*
// the age (u_charAge); the few characters whose category changed since are listed where
// they are tested. Rust's std (whitespace, alphabetic, case) and Oniguruma (\p{L}, \p{N})
// follow current Unicode, as ICU does (ICU 72: Unicode 15.0; HF: 16.0).
// test/tokenizer compares every code point against HF.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace attnhook::text {

// --- UTF-8 -------------------------------------------------------------------
// Byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view s);
// Decodes the code point at s[i] (valid UTF-8 assumed) and advances i past it.
char32_t next_char(std::string_view s, std::size_t& i);
void append_utf8(std::string& out, char32_t c);
int utf8_length(char32_t c);
std::vector<char32_t> decode_all(std::string_view s);
std::size_t count_chars(std::string_view s);
// Byte offset -> index of the code point containing it, for the whole string.
std::vector<std::size_t> byte_to_char_index(std::string_view s);

// --- character classes ---------------------------------------------------------
bool is_whitespace(char32_t c);  // Rust char::is_whitespace, Oniguruma \s: White_Space
bool is_alphabetic(char32_t c);  // Rust char::is_alphabetic: Alphabetic
bool is_numeric(char32_t c);     // Rust char::is_numeric: Nd, Nl, No
bool is_letter(char32_t c);      // \p{L}
bool is_number(char32_t c);      // \p{N}
bool is_word_char(char32_t c);   // Rust regex \w: Alphabetic, M, Nd, Pc, Join_Control
// BERT (unicode_categories, Unicode 8.0): P*; ASCII punctuation also counts.
bool is_bert_punctuation(char32_t c);
// BERT's is_control: Cc, Cf, Co of Unicode 8.0, except \t \n \r.
bool is_bert_control(char32_t c);
// BERT's whitespace: \t \n \r and White_Space.
bool is_bert_whitespace(char32_t c);
// unicode_categories is_mark_nonspacing: Mn of Unicode 8.0 (BERT's accent stripping).
bool is_mark_nonspacing(char32_t c);
// unicode-normalization-alignments is_combining_mark: M* of Unicode 9.0 (the StripAccents
// normalizer, which therefore also drops spacing marks such as Devanagari vowel signs).
bool is_combining_mark(char32_t c);
// BERT's _is_chinese_char: the CJK Unified Ideographs blocks, by BERT's own ranges.
bool is_chinese_char(char32_t c);

// --- case and normalisation -----------------------------------------------------
// Rust char::to_lowercase: the full mapping of one char, no context ("İ" -> "i̇").
void append_lowercase(char32_t c, std::vector<char32_t>& out);

enum class NormalForm { kNFD, kNFKD, kNFC, kNFKC };
// The normalised chars with HF's change markers (see CharChange in normalized_string.h):
// a char's decomposition is (first, 0), (rest, 1)...; canonical reordering moves the
// markers with their chars; composing a pair adds their markers and removes one.
std::vector<std::pair<char32_t, int>> normalize_with_changes(const std::vector<char32_t>& chars,
                                                             NormalForm form);

}  // namespace attnhook::text

#include "text/unicode.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <stdexcept>

namespace attnhook::text {

std::size_t find_invalid_utf8(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  int32_t length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return static_cast<std::size_t>(start);
  }
  return std::string_view::npos;
}

char32_t next_char(std::string_view s, std::size_t& i) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  int32_t pos = static_cast<int32_t>(i);
  UChar32 c;
  U8_NEXT_UNSAFE(bytes, pos, c);
  i = static_cast<std::size_t>(pos);
  return static_cast<char32_t>(c);
}

int utf8_length(char32_t c) { return U8_LENGTH(static_cast<UChar32>(c)); }

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
    return;
  }
  uint8_t buffer[4];
  int32_t n = 0;
  U8_APPEND_UNSAFE(buffer, n, static_cast<UChar32>(c));
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n));
}

std::vector<char32_t> decode_all(std::string_view s) {
  std::vector<char32_t> chars;
  chars.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) chars.push_back(next_char(s, i));
  return chars;
}

std::size_t count_chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char byte : s) n += (byte & 0xC0) != 0x80;
  return n;
}

std::vector<std::size_t> byte_to_char_index(std::string_view s) {
  std::vector<std::size_t> index(s.size());
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++chars;
    index[i] = chars;
  }
  return index;
}

namespace {

UChar32 u(char32_t c) { return static_cast<UChar32>(c); }

// The crates with frozen tables know one old Unicode version: later characters are
// unknown to them.
bool assigned_by(char32_t c, uint8_t major) {
  UVersionInfo age;
  u_charAge(u(c), age);
  return age[0] <= major;
}
bool assigned_by_unicode_8(char32_t c) { return assigned_by(c, 8); }
// unicode-normalization-alignments (HF's NFD/NFC/... and StripAccents) has Unicode 9.0
// data: a later character neither decomposes, composes nor reorders.
bool normalization_knows(char32_t c) { return assigned_by(c, 9); }

int32_t category_mask(char32_t c) { return U_GET_GC_MASK(u(c)); }

}  // namespace

bool is_whitespace(char32_t c) { return u_isUWhiteSpace(u(c)); }
bool is_alphabetic(char32_t c) { return u_hasBinaryProperty(u(c), UCHAR_ALPHABETIC); }
bool is_numeric(char32_t c) { return (category_mask(c) & U_GC_N_MASK) != 0; }
bool is_letter(char32_t c) { return (category_mask(c) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return is_numeric(c); }

bool is_word_char(char32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  return is_alphabetic(c) || (category_mask(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) ||
         u_hasBinaryProperty(u(c), UCHAR_JOIN_CONTROL);
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  // U+166D CANADIAN SYLLABICS CHI SIGN was Po in Unicode 8.0; Unicode 12 made it So.
  // Categories that changed cannot be derived from current data plus age.
  // So was U+111C9 SHARADA SANDHI MARK (Po in 8.0, Mn since 11.0).
  if (c == 0x166D || c == 0x111C9) return true;
  return (category_mask(c) & U_GC_P_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  int32_t mask = category_mask(c);
  if (mask & U_GC_CO_MASK) return true;
  return (mask & (U_GC_CC_MASK | U_GC_CF_MASK)) != 0 && assigned_by_unicode_8(c);
}

bool is_bert_whitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
}

bool is_mark_nonspacing(char32_t c) {
  if (c < 0x300) return false;
  // Categories that changed after Unicode 8.0: U+1734 HANUNOO SIGN PAMUDPOD was Mn (Mc
  // since 14.0); U+1885, U+1886 MONGOLIAN ALI GALI BALUDA were Lo, U+A9BD JAVANESE
  // CONSONANT SIGN KERET Mc, U+111C9 SHARADA SANDHI MARK Po (all Mn now).
  if (c == 0x1734) return true;
  if (c == 0x1885 || c == 0x1886 || c == 0xA9BD || c == 0x111C9) return false;
  return (category_mask(c) & U_GC_MN_MASK) != 0 && assigned_by_unicode_8(c);
}

bool is_combining_mark(char32_t c) {
  if (c < 0x300) return false;
  // VEDIC SIGN ARDHAVISARGA and ROTATED ARDHAVISARGA were Mc in Unicode 9; now Lo.
  if (c == 0x1CF2 || c == 0x1CF3) return true;
  if (c == 0x111C9) return false;  // SHARADA SANDHI MARK: Po in 9.0, Mn since 11.0
  return (category_mask(c) & U_GC_M_MASK) != 0 && normalization_knows(c);
}

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(char32_t c, std::vector<char32_t>& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  // One char alone: the root locale's full mapping, and no neighbour for context rules
  // such as final sigma, which Rust's per-char to_lowercase does not apply either.
  UChar source[2];
  int32_t source_length = 0;
  U16_APPEND_UNSAFE(source, source_length, u(c));
  UChar lowered[8];
  UErrorCode status = U_ZERO_ERROR;
  int32_t n = u_strToLower(lowered, 8, source, source_length, "", &status);
  if (U_FAILURE(status)) {
    out.push_back(c);
    return;
  }
  for (int32_t i = 0; i < n;) {
    UChar32 ch;
    U16_NEXT(lowered, i, n, ch);
    out.push_back(static_cast<char32_t>(ch));
  }
}

namespace {

const icu::Normalizer2& decomposer(bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = compatibility ? icu::Normalizer2::getNFKDInstance(status)
                                            : icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status) || n == nullptr) throw std::runtime_error("ICU normalizer unavailable");
  return *n;
}

const icu::Normalizer2& composer() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || n == nullptr) throw std::runtime_error("ICU normalizer unavailable");
  return *n;
}

struct Marked {
  char32_t c;
  int change;
  uint8_t ccc;
};

// Full decomposition with canonical reordering: a stable sort of each run of non-starters
// by combining class, the change markers travelling with their chars.
std::vector<Marked> decompose(const std::vector<char32_t>& chars, bool compatibility) {
  const icu::Normalizer2& n = decomposer(compatibility);
  std::vector<Marked> out;
  out.reserve(chars.size());
  std::size_t run_start = 0;  // first non-starter of the pending run
  auto flush_run = [&] {
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(run_start), out.end(),
                     [](const Marked& a, const Marked& b) { return a.ccc < b.ccc; });
  };
  auto push = [&](char32_t c, int change) {
    uint8_t ccc = normalization_knows(c) ? u_getCombiningClass(u(c)) : 0;
    if (ccc == 0) {
      flush_run();
      out.push_back({c, change, 0});
      run_start = out.size();
    } else {
      out.push_back({c, change, ccc});
    }
  };
  icu::UnicodeString mapping;
  for (char32_t c : chars) {
    if (c < 0xA0) {  // nothing below U+00A0 decomposes
      push(c, 0);
      continue;
    }
    if (!normalization_knows(c) || !n.getDecomposition(u(c), mapping)) {
      push(c, 0);
      continue;
    }
    int index = 0;
    for (int32_t i = 0; i < mapping.length();) {
      UChar32 d = mapping.char32At(i);
      i += U16_LENGTH(d);
      push(static_cast<char32_t>(d), index++ == 0 ? 0 : 1);
    }
  }
  flush_run();
  return out;
}

// Canonical composition (UAX #15): a char composes with the last starter unless a char
// between them has combining class 0 or >= its own.
std::vector<Marked> compose(std::vector<Marked> in) {
  const icu::Normalizer2& n = composer();
  std::vector<Marked> out;
  out.reserve(in.size());
  std::ptrdiff_t starter = -1;
  int last_ccc = -1;  // -1: nothing after the starter yet
  for (const Marked& m : in) {
    if (starter >= 0) {
      bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= m.ccc);
      if (!blocked) {
        UChar32 composite = n.composePair(u(out[starter].c), u(m.c));
        if (composite >= 0 && normalization_knows(static_cast<char32_t>(composite))) {
          out[starter].c = static_cast<char32_t>(composite);
          out[starter].change += m.change - 1;
          continue;
        }
      }
    }
    if (m.ccc == 0) {
      starter = static_cast<std::ptrdiff_t>(out.size());
      last_ccc = -1;
    } else {
      last_ccc = m.ccc;
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace

std::vector<std::pair<char32_t, int>> normalize_with_changes(const std::vector<char32_t>& chars,
                                                             NormalForm form) {
  bool compatibility = form == NormalForm::kNFKD || form == NormalForm::kNFKC;
  std::vector<Marked> marked = decompose(chars, compatibility);
  if (form == NormalForm::kNFC || form == NormalForm::kNFKC) marked = compose(std::move(marked));
  std::vector<std::pair<char32_t, int>> out;
  out.reserve(marked.size());
  for (const Marked& m : marked) out.emplace_back(m.c, m.change);
  return out;
}

}  // namespace attnhook::text

// GPT-2's byte-to-unicode table: every byte gets a printable char ('Ġ' for the space,
// 'Ċ' for \n), so byte-level BPE vocabularies are strings of bytes.
#pragma once

#include "text/normalized_string.h"

namespace attnhook::text {

char32_t byte_to_char(unsigned char byte);
// Rewrites every char of `s` as the chars of its UTF-8 bytes; all of them keep the
// original char's alignment (the first replaces it, the others are inserted).
void to_byte_level(NormalizedString& s);

}  // namespace attnhook::text

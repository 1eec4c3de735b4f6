// Loading the SentencePiece shim (sentencepiece_shim.h says why there is one).
#pragma once

#include <string>

#include "text/sentencepiece_shim.h"

namespace attnhook::text {

// The shim's interface, loaded on the first call: libattnhook_sentencepiece.so from the
// directory libattnhook_text was loaded from (the build tree, or <libdir> once installed),
// with RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND. In a process with a sanitizer runtime
// (ASan, TSan, MSan, HWASan refuse RTLD_DEEPBIND: google/sanitizers#611) it is loaded
// RTLD_LOCAL without RTLD_DEEPBIND; that only isolates libsentencepiece from a LibTorch
// loaded later, so there an already loaded FLAGS_minloglevel (the torch wheel's libc10)
// is an error rather than a deadlock. Debian's LibTorch 1.13 exports none.
// Thread-safe; the shim stays loaded until exit. Throws attnhook::Error naming the path
// when the shim is missing, does not load, or speaks another ABI version.
const AttnhookSpmApi& sentencepiece_api();

// Where sentencepiece_api() looks for the shim.
std::string sentencepiece_shim_path();

}  // namespace attnhook::text

// attnhook_tokenize MODEL TEXT: prints the ids of TEXT, or "error: " and the
// attnhook::Error (exit 1). sentencepiece_shim_test.cpp runs it from copies of
// libattnhook_text in directories of its own (the RPATH is $ORIGIN alone). It writes with
// std::cout and std::cerr: as a PIE executable it holds copies of both (R_X86_64_COPY),
// the case the shim silences libsentencepiece's logging for (sentencepiece_shim.cpp).
#include <iostream>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: attnhook_tokenize MODEL TEXT\n";
    return 2;
  }
  try {
    const attnhook::Tokenizer tokenizer = attnhook::Tokenizer::load(argv[1]);
    const char* separator = "";
    for (int64_t id : tokenizer.encode(argv[2]).ids) {
      std::cout << separator << id;
      separator = " ";
    }
    std::cout << "\n";
    return 0;
  } catch (const attnhook::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

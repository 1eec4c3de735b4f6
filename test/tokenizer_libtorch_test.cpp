// attnhook::text and LibTorch in one process, LibTorch loaded first: a SentencePiece .model
// tokenizes, then a TorchScript model runs. Debian's libsentencepiece and the torch wheel's
// libc10 both export FLAGS_minloglevel (32 bytes against a 4-byte int); when attnhook_text
// linked libsentencepiece, its static constructor overwrote c10's int and the mutex beside
// it and the forward deadlocked. (The other order, LibTorch loaded after the tokenizer, is
// test/tokenizer/sentencepiece_shim_test.cpp.)
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "attnhook/tokenizer.h"
#include "torchscript_fixtures.h"

namespace attnhook_test {
namespace {

const std::string kUnigramModel = kFixturesRoot + "/../tokenizer/data/unigram.model";

// The file of the shared object `address` lies in, or "" for none.
std::string object_of(const void* address) {
  Dl_info info{};
  if (address == nullptr || ::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

// Runs `work` on a thread and waits at most `limit`: the deadlock this file guards against
// then fails the test at once instead of at ctest's timeout.
template <typename Work>
auto within(std::chrono::seconds limit, const char* what, Work work) {
  auto result = std::async(std::launch::async, work);
  if (result.wait_for(limit) == std::future_status::timeout) {
    std::fprintf(stderr,
                 "FAILED: %s did not finish in %lld s: LibTorch deadlocked beside the tokenizer "
                 "(libsentencepiece's FLAGS_minloglevel over libc10's)\n",
                 what, static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(1);  // the hung thread cannot be joined
  }
  return result.get();
}

TEST(TokenizerLibTorch, SentencePieceModelThenTorchScriptForward) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan forbids RTLD_DEEPBIND, so the shim loads without it (sentencepiece_library.cpp), and
  // libsentencepiece then binds to what LibTorch exports: Debian's 1.13 carries protobuf 3.14
  // symbols, and libsentencepiece's check against its own protobuf 3.21 fails.
  GTEST_SKIP() << "needs RTLD_DEEPBIND, which AddressSanitizer forbids";
#endif
  const attnhook::Tokenizer tokenizer = attnhook::Tokenizer::load(kUnigramModel);
  // Python sentencepiece 0.2.3: SentencePieceProcessor(model_file=...).encode(text).
  EXPECT_EQ(tokenizer.encode("Hello world, the attention heads.").ids,
            (std::vector<int64_t>{4, 260, 6, 52, 9, 171, 12, 14, 4, 100, 4, 62, 48, 5, 8}));

  // libsentencepiece is in the process, but its symbols are not in the global scope: the
  // FLAGS_minloglevel everyone else binds to is not its object.
  void* sentencepiece = ::dlopen("libsentencepiece.so.0", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(sentencepiece, nullptr) << "loading the .model did not load libsentencepiece";
  const void* own = ::dlsym(sentencepiece, "FLAGS_minloglevel");
  EXPECT_NE(object_of(own).find("libsentencepiece"), std::string::npos) << object_of(own);
  const void* global = ::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel");  // libc10's (wheel) or none
  EXPECT_EQ(object_of(global).find("libsentencepiece"), std::string::npos)
      << "FLAGS_minloglevel resolves into " << object_of(global);
  EXPECT_NE(global, own);
  ::dlclose(sentencepiece);

  // gpt_custom: vocabulary 24, forward(idx [batch, seq] int64) -> logits [batch, seq, 24];
  // its _ref.pt holds the input and Python's output (test/fixtures/README.md).
  const auto [logits, expected] = within(std::chrono::seconds(120), "a TorchScript forward", [] {
    torch::jit::Module model = torch::jit::load(fixtures_dir() + "/gpt_custom.pt");
    torch::jit::Module ref = torch::jit::load(fixtures_dir() + "/gpt_custom_ref.pt");
    model.eval();
    torch::NoGradGuard no_grad;
    at::Tensor ids = ref.attr("input_0").toTensor();  // [2, 8] int64
    return std::make_pair(model.forward({ids}).toTensor(), ref.attr("output_eval").toTensor());
  });
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 8, 24}));
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-6));
}

}  // namespace
}  // namespace attnhook_test

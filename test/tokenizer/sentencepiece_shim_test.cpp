// The SentencePiece shim (src/text/sentencepiece_shim.h): libsentencepiece is loaded only
// with a .model and stays out of the global symbol scope, so a LibTorch loaded afterwards
// binds to its own FLAGS_minloglevel; the shim is found beside libattnhook_text wherever
// that lies, and a missing one is an error naming where it looked. LibTorch loaded before
// the tokenizer, with a TorchScript forward: test/tokenizer_libtorch_test.cpp.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "attnhook/tokenizer.h"
#include "tokenizer_testing.h"

namespace {

namespace fs = std::filesystem;
using attnhook::Tokenizer;

const std::string kText = "Hello world, the attention heads.";
// Python sentencepiece 0.2.3: SentencePieceProcessor(model_file="unigram.model").encode(kText)
const std::vector<int64_t> kIds = {4, 260, 6, 52, 9, 171, 12, 14, 4, 100, 4, 62, 48, 5, 8};
const char* const kIdsLine = "4 260 6 52 9 171 12 14 4 100 4 62 48 5 8\n";

std::string object_of(const void* address) {
  Dl_info info{};
  if (address == nullptr || ::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

TEST(SentencePieceShim, LibTorchLoadedAfterTheModelBindsToItsOwnFlags) {
  const Tokenizer tokenizer = Tokenizer::load(attnhook::testing::data_path("unigram.model"));
  EXPECT_EQ(tokenizer.encode(kText).ids, kIds);
  void* sentencepiece = ::dlopen("libsentencepiece.so.0", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(sentencepiece, nullptr) << "loading the .model did not load libsentencepiece";
  const void* own = ::dlsym(sentencepiece, "FLAGS_minloglevel");
  EXPECT_NE(object_of(own).find("libsentencepiece"), std::string::npos) << object_of(own);
  // Nothing in this torch-free process exports the name to the global scope.
  EXPECT_EQ(::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel"), nullptr)
      << "FLAGS_minloglevel resolves into "
      << object_of(::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel"));

  // LibTorch's libc10 joins the global scope, as a linked or RTLD_GLOBAL LibTorch does:
  // its FLAGS_minloglevel (if it exports one) is the one the global scope finds.
  void* c10 = ::dlopen(ATTNHOOK_TORCH_C10, RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(c10, nullptr) << ::dlerror();
  const void* c10_flag = ::dlsym(c10, "FLAGS_minloglevel");
  if (c10_flag != nullptr) {
    EXPECT_NE(object_of(c10_flag).find("libc10"), std::string::npos) << object_of(c10_flag);
    EXPECT_EQ(::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel"), c10_flag)
        << "FLAGS_minloglevel resolves into "
        << object_of(::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel"));
  }
  EXPECT_EQ(tokenizer.encode(kText).ids, kIds);  // still tokenizes beside LibTorch
  // A new model too (the shim's library is loaded once).
  EXPECT_EQ(Tokenizer::load(attnhook::testing::data_path("unigram.model")).encode(kText).ids, kIds);
  ::dlclose(sentencepiece);
  if (c10_flag == nullptr) {
    GTEST_SKIP() << ATTNHOOK_TORCH_C10 << " exports no FLAGS_minloglevel (Debian's 1.13): "
                 << "nothing for libsentencepiece to clash with";
  }
}

// A directory of its own under the test temp dir, emptied first.
fs::path fresh_directory(const std::string& name) {
  fs::path dir =
      fs::path(::testing::TempDir()) / ("attnhook_spm_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const fs::path kShimName = fs::path(ATTNHOOK_SENTENCEPIECE_SHIM_FILE).filename();

// libattnhook_text under its soname, attnhook_tokenize (RPATH $ORIGIN) and, if asked, the
// shim beside them: a layout like an installed one, in a directory the build never wrote.
fs::path copy_library_and_tool(const std::string& name, bool with_shim) {
  const fs::path dir = fresh_directory(name);
  fs::copy_file(ATTNHOOK_TEXT_LIBRARY, dir / ATTNHOOK_TEXT_SONAME);
  fs::copy_file(ATTNHOOK_TOKENIZE_TOOL, dir / "attnhook_tokenize");
  if (with_shim) fs::copy_file(ATTNHOOK_SENTENCEPIECE_SHIM_FILE, dir / kShimName);
  return dir;
}

struct ToolRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

ToolRun run(const fs::path& tool, const std::string& model, const std::string& text) {
  const std::string command = "'" + tool.string() + "' '" + model + "' '" + text + "' 2>&1";
  ToolRun result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TEST(SentencePieceShim, IsFoundBesideTheLibraryWhereverItLies) {
  const fs::path dir = copy_library_and_tool("found", true);
  const ToolRun r =
      run(dir / "attnhook_tokenize", attnhook::testing::data_path("unigram.model"), kText);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, kIdsLine);
  fs::remove_all(dir);
}

TEST(SentencePieceShim, MissingShimIsAnErrorNamingWhereItLooked) {
  const fs::path dir = copy_library_and_tool("missing", false);
  const std::string model = attnhook::testing::data_path("unigram.model");
  const fs::path shim = dir / kShimName;
  const ToolRun r = run(dir / "attnhook_tokenize", model, kText);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "error: " + model + ": SentencePiece support is missing: cannot load " +
                          shim.string() +
                          ": cannot open shared object file: No such file or directory (it is "
                          "built and installed beside libattnhook_text)\n");
  // tokenizer.json needs no shim.
  const ToolRun json =
      run(dir / "attnhook_tokenize", attnhook::testing::data_path("bert_wordpiece.json"), "hello");
  EXPECT_EQ(json.status, 0) << json.output;
  fs::remove_all(dir);
}

// unigram.model with a self-test sample it fails (ModelProto.self_test_data, field 4,
// appended: protobuf merges it in). libsentencepiece 0.1.97 logs each failure to
// std::cerr; from the shim that would write to libstdc++'s unconstructed std::cerr in a
// PIE executable, so the shim silences the logging and the status is the whole report.
TEST(SentencePieceShim, ModelFailingItsSelfTestIsAnErrorNotACrash) {
  const std::string expected = "\xE2\x96\x81 h e l l o";  // scores below "▁ he ll o"
  std::string sample = "\x0a\x05hello\x12" + std::string(1, char(expected.size())) + expected;
  std::string self_test = "\x0a" + std::string(1, char(sample.size())) + sample;
  std::string proto = attnhook::testing::read_text(attnhook::testing::data_path("unigram.model")) +
                      "\x22" + std::string(1, char(self_test.size())) + self_test;
  const fs::path dir = copy_library_and_tool("selftest", true);
  const std::string model = (dir / "selftest.model").string();
  std::ofstream(model, std::ios::binary) << proto;

  std::string error;
  try {
    Tokenizer::from_sentencepiece(proto, {}, "selftest.model");
  } catch (const attnhook::Error& e) {
    error = e.what();
  }
  EXPECT_EQ(error,
            "selftest.model is neither tokenizer.json nor a SentencePiece model: Internal: "
            "Self-test failures. See LOG(INFO).");
  const ToolRun r = run(dir / "attnhook_tokenize", model, "hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "error: " + model +
                          " is neither tokenizer.json nor a SentencePiece model: Internal: "
                          "Self-test failures. See LOG(INFO).\n");
  fs::remove_all(dir);
}

}  // namespace

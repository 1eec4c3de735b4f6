// Test support for the CLI workflow tests (cli_examples_test.cpp, cli_text_test.cpp): the
// example models of make_examples.py, built once per build tree; the attnhook executable
// is run by cli_testing.h's run_cli.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_testing.h"
#include "testing.h"

namespace attnhook_test {

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_bytes(path)); }

// OUT/sentiment and OUT/seq2seq (make_examples.py). ctest makes them first (the fixture
// test examples_models); run alone, the first test to need them makes them (again when the
// script is newer than they are), under a lock.
inline const std::string& examples_dir() {
  static const std::string dir = [] {
    const std::string out = ATTNHOOK_EXAMPLES_DIR, stamp = out + "/timings.json";
    auto current = [&] {
      std::error_code error;
      return std::filesystem::exists(stamp, error) &&
             std::filesystem::last_write_time(stamp, error) >= std::filesystem::last_write_time(ATTNHOOK_EXAMPLES_SCRIPT, error);
    };
    if (current()) return out;
    const std::string lock_path = out + ".lock";
    const int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ::flock(lock, LOCK_EX);
    if (!current()) {
      const std::string command = std::string(ATTNHOOK_PYTHON) + " " + ATTNHOOK_EXAMPLES_SCRIPT + " " + out;
      if (std::system(command.c_str()) != 0) ADD_FAILURE() << "failed: " << command;
    }
    ::flock(lock, LOCK_UN);
    ::close(lock);
    return out;
  }();
  return dir;
}

inline std::string example(const std::string& name) { return examples_dir() + "/" + name; }

// The example models are trained and exported by the project's torch 2.13 (.venv/): its
// TorchScript calls aten::scaled_dot_product_attention, which LibTorch 1.x cannot load. On a
// 1.x build the tests that run them skip, saying so (the CLI on 1.13 is tested with the 1.13
// fixtures in test/cli_test.cpp).
#define ATTNHOOK_SKIP_WITHOUT_EXAMPLE_MODELS()                                              \
  do {                                                                                     \
    if (ATTNHOOK_LIBTORCH_MAJOR < 2)                                                       \
      GTEST_SKIP() << "the example models are exported by torch 2.13; LibTorch "           \
                   << ATTNHOOK_LIBTORCH_VERSION << " cannot load their TorchScript "       \
                   << "(aten::scaled_dot_product_attention)";                             \
  } while (false)

// Every file under `dir`, relative, sorted.
inline std::vector<std::string> tree(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    names.push_back(std::filesystem::relative(entry.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace attnhook_test

// Test support for the CLI workflow tests (cli_examples_test.cpp, cli_text_test.cpp): the
// example models of make_examples.py, built once per build tree, and the attnhook
// executable run with its arguments as given (no shell) and its stderr captured.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing.h"

namespace attnhook_test {

inline const std::string kCli = ATTNHOOK_CLI;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

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

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string err;     // stderr
};

// The attnhook executable (or `cli`) with `args`, stdout to /dev/null, stderr captured.
inline CliRun run_cli(const std::vector<std::string>& args, const std::string& cli = kCli) {
  const std::string err_path =
      (std::filesystem::temp_directory_path() / ("attnhook_cli_err_" + std::to_string(::getpid()))).string();
  std::vector<std::string> all = {cli};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  CliRun run;
  if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  run.err = read_text(err_path);
  std::remove(err_path.c_str());
  return run;
}

// Every file under `dir`, relative, sorted.
inline std::vector<std::string> tree(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    names.push_back(std::filesystem::relative(entry.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace attnhook_test

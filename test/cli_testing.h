// Test support for the suites that run the attnhook executable (attnhook_view_tests, the
// CLI workflow tests of test/examples/): a program run with its arguments as given (no
// shell), its stdout sent away, its stderr captured.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace attnhook_test {

inline const std::string kCli = ATTNHOOK_CLI;

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string err;     // what it wrote to stderr
};

// Runs `program` with `args`; its stdout goes to `stdout_fd` (default /dev/null), its
// stderr is captured through the file `err_path` (default: one in the temporary directory
// named after this process), removed afterwards.
inline CliRun run_program(const std::string& program, const std::vector<std::string>& args,
                          std::string err_path = "", int stdout_fd = -1) {
  if (err_path.empty()) {
    err_path = (std::filesystem::temp_directory_path() /
                ("attnhook_cli_err_" + std::to_string(::getpid())))
                   .string();
  }
  std::vector<std::string> all = {program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  CliRun run;
  if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  run.err = read_bytes(err_path);
  std::remove(err_path.c_str());
  return run;
}

// The attnhook executable with `args`, as run_program runs it.
inline CliRun run_cli(const std::vector<std::string>& args, const std::string& err_path = "",
                      int stdout_fd = -1) {
  return run_program(kCli, args, err_path, stdout_fd);
}

}  // namespace attnhook_test

// Test support for attnhook_view_tests: files as bytes, the attnhook executable run with
// its streams captured, and Python (numpy) as an independent reference where installed.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "testing.h"

namespace attnhook_test {

inline const std::string kHostile = ATTNHOOK_HOSTILE_DIR;
inline const std::string kCli = ATTNHOOK_CLI;

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string err;     // what it wrote to stderr
};

// Runs the attnhook executable with `args`; its stdout goes to `stdout_fd` (default
// /dev/null), its stderr is captured through the file `err_path`.
inline CliRun run_cli(const std::vector<std::string>& args, const std::string& err_path, int stdout_fd = -1) {
  std::vector<std::string> all = {kCli};
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
  run.err = read_bytes(err_path);
  std::remove(err_path.c_str());
  return run;
}

inline bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0; }

// Runs a Python script (written to `script_path`) with `args`; its stdout, or "" on failure.
inline std::string run_python(const std::string& script_path, const std::string& script, const std::string& args) {
  write_bytes(script_path, script);
  const std::string command = "/usr/bin/python3 " + script_path + " " + args;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  return ::pclose(pipe) == 0 ? out : "";
}

}  // namespace attnhook_test

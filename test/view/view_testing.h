// Test support for attnhook_view_tests: files as bytes, the attnhook executable run with
// its streams captured (cli_testing.h), and Python (numpy) as an independent reference
// where installed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cli_testing.h"
#include "testing.h"

namespace attnhook_test {

inline const std::string kHostile = ATTNHOOK_HOSTILE_DIR;

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
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

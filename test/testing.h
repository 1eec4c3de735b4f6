// Test support for every test file: the text of an attnhook::Error, and a fixture that
// gives each test a fresh directory of its own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "attnhook/error.h"

namespace attnhook_test {

// The message of the attnhook::Error that `action` throws, or "(no attnhook::Error)".
// Any other exception propagates and fails the test.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const attnhook::Error& e) {
    return e.what();
  }
  return "(no attnhook::Error)";
}

// Each test gets an empty directory under the system temp dir, named after the process
// and the test (ctest runs the tests of one binary in parallel processes), and removed
// in TearDown.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(test.begin(), test.end(), '/', '_');  // parameterized: "Prefix/Suite", "Name/0"
    dir_ = std::filesystem::temp_directory_path() /
           ("attnhook_" + std::to_string(::getpid()) + "_" + test);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  const std::filesystem::path& dir() const { return dir_; }
  // `name` inside the test's directory; path() and file() are the same.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string file(const std::string& name) const { return path(name); }
  // The names of the directory's entries, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace attnhook_test

// Paths and the expected files the tokenizer tests share.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace attnhook::testing {

inline std::string data_path(const std::string& name) {
  return std::string(ATTNHOOK_TOKENIZER_DIR) + "/data/" + name;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// expected/<name>, written by reference.py (the ctest tokenizer_reference). Missing is a
// failure with the command that makes it, never a silent skip.
inline nlohmann::json load_expected(const std::string& name) {
  std::string path = std::string(ATTNHOOK_TOKENIZER_EXPECTED_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << path << " is missing: run `ctest -R tokenizer_reference` (it needs "
                  << "tokenizers and sentencepiece in the project's .venv) first";
    return nlohmann::json::object(
        {{"texts", nlohmann::json::array()}, {"tokenizers", nlohmann::json::array()}});
  }
  return nlohmann::json::parse(in);
}

}  // namespace attnhook::testing

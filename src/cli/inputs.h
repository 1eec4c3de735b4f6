// Internal: the inputs of `attnhook extract`, read from the command line or an inputs
// file, text tokenized (attnhook::Tokenizer), in the torch-free executable; the plugin
// gets them in its request (extract_request.h) and turns them into the model's arguments
// (extract/forward.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "extract_request.h"

namespace attnhook::cli {

// Every input, checked and tokenized before the model runs: a bad line fails the whole
// command before any file is written. Errors are attnhook::Error naming the flag or line.
std::vector<ModelInput> read_inputs(const ExtractArgs& args);

// --image: the picture read (PNG or JPEG, at most 256 MiB, detail::read_image) and resized
// to --image-size (image_input.cpp). Errors name the file and the reader's reason.
ModelInput from_image(const ExtractArgs& args);

// "a b c" -> {"a", "b", "c"} (runs of spaces and tabs separate).
std::vector<std::string> split_words(const std::string& text);

}  // namespace attnhook::cli

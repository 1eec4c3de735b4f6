// The parts of the attention-file API that need no LibTorch (see attnhook/export.h for
// the formats themselves): the command-line tool's torch-free viewer uses them too.
#pragma once

#include <string>
#include <vector>

namespace attnhook {

// A layer's own axis labels, when they differ from the file's tokens.
struct LayerTokens {
  std::vector<std::string> tgt;  // query (row) labels
  std::vector<std::string> src;  // key (column) labels
};

// attn.json's schema: attnhook's own, or the flat one of existing Python scripts.
enum class JsonSchema { kAttnhook, kFlat };

}  // namespace attnhook

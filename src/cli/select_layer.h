// Internal: how the drawing subcommands (views.cpp, overlay.cpp) pick what they draw from
// an opened attention file: a layer by name or index, one of its calls, a batch item.
// Errors are attnhook::Error naming the flag, the value and what the file holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attention_data.h"

namespace attnhook::cli {

struct Selected {
  std::string name;
  detail::FloatArray weights;  // [batch, heads, tgt, src]
};

// The layer `layer` names (a name, else an index in model order): --layer's error lists
// the layers, and says "(nor all)" when the subcommand takes --layer all.
size_t find_layer(const std::vector<detail::LayerEntry>& layers, const std::string& layer,
                  bool all_accepted = true);
// Call `call` of layers()[index], read from the file now (--call's error names the count).
Selected read_call(const detail::AttentionReader& file, size_t index, int64_t call);
// --batch within the layer's batch size.
void check_batch(const Selected& layer, int64_t batch);

}  // namespace attnhook::cli

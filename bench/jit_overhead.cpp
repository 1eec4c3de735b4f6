// Cost of hooking a TorchScript model: a scripted BERT-base-sized encoder (12 layers,
// d_model 768, 12 heads, ff 3072; seq 128, batch 1; eval, NoGradGuard).
//
//   .venv/bin/python bench/make_bert_base.py /tmp/bert_base_encoder.pt   # once, ~340 MB
//   (/usr/bin/python3, Debian's torch 1.13, for a LibTorch 1.13 build)
//   ./build/jit_overhead /tmp/bert_base_encoder.pt [rounds=15] [threads=1]
//
// Four variants, run interleaved (one forward of each per round, order rotating), the
// median of each reported in ms, and the medians of their per-round ratios (timing.h)
// printed as one JSON line:
//   original_fast     the model as loaded: every layer runs aten::_transformer_encoder_layer_fwd
//   original_unfused  the same model on its unfused path, computing exactly what capturing
//                     computes, minus the capture (see below)
//   capturing         AttentionHooker::module() while capturing (unfused path + records)
//   paused            AttentionHooker::module() after remove_hooks() (fused path again)
//
// The fair baseline for capturing: capturing must run the unfused path (the fused kernels
// never form the weights, and outputs must equal the unfused path's bit for bit), so the
// honest reference is the original computing exactly the same ops without capture — not
// grad mode (autograd bookkeeping), nor a mask (an extra baddbmm), nor switching a
// layer attribute off: on 2.13 a layer refused its fast path still runs
// MultiheadAttention's own fused path (_native_multi_head_attention), which differs by
// ~1e-6. original_unfused is a clone of the hooked module whose attnhook::record* nodes
// are deleted: its attnhook::capturing guards still choose the unfused path (the hooker is
// capturing), and nothing is recorded. The bench checks that its output equals capturing's
// bit for bit ("same_as_capturing"). On 2.13 the unfused path calls
// scaled_dot_product_attention, which never forms the weights: capturing adds one q·kᵀ GEMM
// and one softmax per layer (what capturing_vs_unfused measures).
// Timings are figures, not assertions.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "attnhook/attnhook.h"
#include "timing.h"

namespace {

using attnhook_bench::median;
using attnhook_bench::median_ratio;
using attnhook_bench::time_ms;

void delete_record_nodes(torch::jit::Block* block, int& deleted) {
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it++;
    for (torch::jit::Block* inner : node->blocks()) delete_record_nodes(inner, deleted);
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("attnhook::record", 0) == 0) {  // record, record_sdpa, ...: no outputs
      node->destroy();
      ++deleted;
    }
  }
}

// Deletes every attnhook::record* node from the methods of `module` and its submodules
// (a clone's own graphs); returns how many.
int delete_record_nodes(torch::jit::Module& module) {
  int deleted = 0;
  for (const torch::jit::Module& m : module.modules()) {
    for (const torch::jit::Method& method : m.get_methods()) {
      delete_record_nodes(method.graph()->block(), deleted);
    }
  }
  return deleted;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s MODEL.pt [rounds=15] [threads=1]\n"
                 "  MODEL.pt: /usr/bin/python3 bench/make_bert_base.py MODEL.pt\n",
                 argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::max(10, std::stoi(argv[2])) : 15;
  torch::set_num_threads(argc > 3 ? std::stoi(argv[3]) : 1);
  try {
    torch::jit::Module original = attnhook::load_torchscript(argv[1]);
    original.eval();

    attnhook::AttentionHooker capturing(original);
    capturing.setup();
    torch::jit::Module unfused = capturing.module().clone(/*inplace=*/true);  // shares the weights
    const int deleted = delete_record_nodes(unfused);
    attnhook::AttentionHooker paused(original);
    paused.setup();
    paused.remove_hooks();

    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
    const std::vector<c10::IValue> input = {
        torch::randn({1, 128, 768}, generator)};  // [batch, seq, d_model]

    struct Variant {
      const char* name;
      torch::jit::Module* module;
      std::vector<double> ms;
    };
    std::vector<Variant> variants = {{"original_fast", &original, {}},
                                     {"original_unfused", &unfused, {}},
                                     {"capturing", &capturing.module(), {}},
                                     {"paused", &paused.module(), {}}};
    auto forward = [&](Variant& v) { return v.module->forward(input).toTensor(); };

    for (int warmup = 0; warmup < 3; ++warmup) {  // the profiling executor optimizes on run 2
      for (auto& v : variants) forward(v);
    }
    const at::Tensor unfused_out = forward(variants[1]), capturing_out = forward(variants[2]);
    const bool same_as_capturing = unfused_out.equal(capturing_out);
    const double max_diff_capturing = (unfused_out - capturing_out).abs().max().item<double>();
    const bool paused_is_fast = forward(variants[3]).equal(forward(variants[0]));
    capturing.clear();

    for (int round = 0; round < rounds; ++round) {
      for (size_t k = 0; k < variants.size(); ++k) {
        Variant& v = variants[(round + k) % variants.size()];
        v.ms.push_back(time_ms([&] { forward(v); }));
      }
      capturing.clear();  // outside the timed region
    }
    const double fast = median(variants[0].ms), unfused_ms = median(variants[1].ms);
    const double capture = median(variants[2].ms), pause = median(variants[3].ms);
    std::printf(
        "{\"bench\":\"jit_overhead\",\"libtorch\":\"%s\",\"model\":\"TransformerEncoder 12x768 h12 "
        "ff3072\",\"seq\":128,\"batch\":1,\"threads\":%d,"
        "\"rounds\":%d,\"original_fast_ms\":%.2f,\"original_unfused_ms\":%.2f,\"capturing_ms\":%.2f,"
        "\"paused_ms\":%.2f,\"capturing_vs_unfused\":%.4f,\"capturing_vs_unfused_iqr\":%.4f,\"paused_vs_fast\":%.4f,\"capturing_vs_"
        "fast\":%.4f,"
        "\"unfused_vs_fast\":%.4f,\"same_as_capturing\":%s,\"max_abs_diff\":%.3g,"
        "\"record_nodes_deleted\":%d,"
        "\"paused_is_fast\":%s}\n",
        TORCH_VERSION, torch::get_num_threads(), rounds, fast, unfused_ms, capture, pause,
        median_ratio(variants[2].ms, variants[1].ms), attnhook_bench::ratio_iqr(variants[2].ms, variants[1].ms),
        median_ratio(variants[3].ms, variants[0].ms),
        median_ratio(variants[2].ms, variants[0].ms), median_ratio(variants[1].ms, variants[0].ms),
        same_as_capturing ? "true" : "false", max_diff_capturing, deleted,
        paused_is_fast ? "true" : "false");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "jit_overhead: %s\n", error.what());
    return 1;
  }
  return 0;
}

// attnhook demo: train a small torch::nn::Transformer to reverse digit sequences, then
// hook it — without touching its code — and draw what it attends to.
//
// Reversal has a known alignment: target position t must read source position
// len-1-t, so a model that learned the task should show an anti-diagonal in its
// cross-attention. The demo prints accuracy and that alignment score, and writes PNG
// grids of encoder self-attention, decoder self-attention and cross-attention.
//
// Writes into out_dir: one PNG grid per attention module, model.png (every layer x
// head), attn.json and view.html (open it in a browser, offline).
//
// Usage: reverse_demo [out_dir=out] [steps=1200]
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "attnhook/attnhook.h"
#include "attnhook/render.h"

namespace nn = torch::nn;

namespace {

constexpr int64_t kLength = 10;   // digits per sequence
constexpr int64_t kDigits = 10;   // tokens 0..9
constexpr int64_t kStart = 10;    // decoder start token
constexpr int64_t kModel = 64;

struct ReverserImpl : nn::Module {
  ReverserImpl() {
    embed = register_module("embed", nn::Embedding(kDigits + 1, kModel));
    position = register_parameter("position", torch::randn({kLength, 1, kModel}) * 0.1);
    transformer = register_module(
        "transformer", nn::Transformer(nn::TransformerOptions(kModel, 4, 2, 2).dim_feedforward(128).dropout(0.1)));
    head = register_module("head", nn::Linear(kModel, kDigits));
  }
  // src, tgt_in: [len, batch] token ids -> logits [len, batch, digits]
  torch::Tensor forward(const torch::Tensor& src, const torch::Tensor& tgt_in) {
    const auto mask = nn::TransformerImpl::generate_square_subsequent_mask(tgt_in.size(0));
    auto out = transformer->forward(embed(src) + position.slice(0, 0, src.size(0)),
                                    embed(tgt_in) + position.slice(0, 0, tgt_in.size(0)), {}, mask);
    return head(out);
  }
  nn::Embedding embed{nullptr};
  torch::Tensor position;
  nn::Transformer transformer{nullptr};
  nn::Linear head{nullptr};
};
TORCH_MODULE(Reverser);

// A batch of random sequences: source, decoder input (start + reversed[:-1]), target.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> make_batch(int64_t size) {
  auto src = torch::randint(0, kDigits, {kLength, size}, torch::kLong);
  auto tgt = src.flip(0);
  auto tgt_in = torch::cat({torch::full({1, size}, kStart, torch::kLong), tgt.slice(0, 0, kLength - 1)});
  return {src, tgt_in, tgt};
}

// Greedy decoding, one position at a time.
torch::Tensor greedy(Reverser& model, const torch::Tensor& src) {
  auto tgt_in = torch::full({1, src.size(1)}, kStart, torch::kLong);
  for (int64_t t = 0; t < kLength; ++t) {
    const auto next = model->forward(src, tgt_in).select(0, t).argmax(-1);
    tgt_in = torch::cat({tgt_in, next.unsqueeze(0)});
  }
  return tgt_in.slice(0, 1);
}

std::vector<std::string> labels(const torch::Tensor& ids) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < ids.size(0); ++i) {
    const int64_t id = ids[i].item<int64_t>();
    out.push_back(id == kStart ? "<s>" : std::to_string(id));
  }
  return out;
}

}  // namespace

int run(int argc, char** argv) {
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : "out";
  const int steps = argc > 2 ? std::atoi(argv[2]) : 1200;
  std::filesystem::create_directories(out_dir);
  torch::manual_seed(0);

  Reverser model;
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const auto start = std::chrono::steady_clock::now();
  model->train();
  for (int step = 1; step <= steps; ++step) {
    auto [src, tgt_in, tgt] = make_batch(64);
    auto loss = torch::nn::functional::cross_entropy(model->forward(src, tgt_in).reshape({-1, kDigits}),
                                                     tgt.reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step % 200 == 0) fmt::print("step {:5d}  loss {:.4f}\n", step, loss.item<double>());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  model->eval();
  torch::NoGradGuard no_grad;
  auto [src, tgt_in, tgt] = make_batch(500);
  const auto decoded = greedy(model, src);
  const double token_accuracy = (decoded == tgt).to(torch::kDouble).mean().item<double>();
  const double sequence_accuracy = (decoded == tgt).all(0).to(torch::kDouble).mean().item<double>();
  fmt::print("trained {} steps in {:.1f} s: token accuracy {:.3f}, sequence accuracy {:.3f}\n", steps, seconds,
             token_accuracy, sequence_accuracy);

  // Hook the trained model — its code is unchanged — and run it teacher-forced.
  attnhook::AttentionHooker hooker(model);
  hooker.setup();
  model->forward(src, tgt_in);
  hooker.remove_hooks();
  const auto& values = hooker.values();

  // Alignment: fraction of target positions whose strongest cross-attention lands on
  // the source position reversal implies (len-1-t), for the best head of the last layer.
  const auto cross = values.at("transformer.decoder.layers.1.multihead_attn")[0];  // [batch, heads, tgt, src]
  const auto expected = torch::arange(kLength - 1, -1, -1, torch::kLong);          // [tgt]
  const auto hits = (cross.argmax(-1) == expected).to(torch::kDouble).mean(std::vector<int64_t>{0, 2});  // [heads]
  const int64_t best = hits.argmax().item<int64_t>();
  std::string per_head;
  for (int64_t h = 0; h < hits.size(0); ++h) per_head += fmt::format(" {:.2f}", hits[h].item<double>());
  fmt::print("alignment score (last decoder layer, best head {}): {:.3f}  (per head:{})\n", best,
             hits[best].item<double>(), per_head);

  // Labels per layer: encoder layers see the source, decoder self-attention the
  // decoder input, cross-attention both.
  const auto src_tokens = labels(src.select(1, 0)), tgt_tokens = labels(tgt_in.select(1, 0));
  attnhook::AttentionFile file;
  file.model = "reverse_demo: torch::nn::Transformer reversing digits";
  file.values = values;
  for (const auto& [name, calls] : values) {
    const bool encoder = name.find("encoder") != std::string::npos;
    const bool cross = name.find("multihead_attn") != std::string::npos;
    file.layer_tokens[name] = {encoder ? src_tokens : tgt_tokens, encoder || cross ? src_tokens : tgt_tokens};
    std::string stem = name;
    std::replace(stem.begin(), stem.end(), '.', '_');
    const auto path = out_dir / (stem + ".png");
    attnhook::save_attention_grid(calls[0], path.string(),
                                  attnhook::GridOptions()
                                      .title(name)
                                      .tgt_tokens(file.layer_tokens[name].tgt)
                                      .src_tokens(file.layer_tokens[name].src));
    fmt::print("wrote {}\n", path.string());
  }
  // All layers and heads at once, the data for other tools, and an interactive page.
  attnhook::save_model_view(values, (out_dir / "model.png").string(),
                            attnhook::ModelViewOptions().title("reverse_demo: every layer x head"));
  attnhook::save_json(file, (out_dir / "attn.json").string());
  attnhook::save_html(file, (out_dir / "view.html").string());
  fmt::print("wrote {} {} {}\n", (out_dir / "model.png").string(), (out_dir / "attn.json").string(),
             (out_dir / "view.html").string());
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "reverse_demo: {}\n", e.what());
    return 1;
  }
}

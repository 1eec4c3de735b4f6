// SentencePiece .model files (T5, Llama-2, ...): libsentencepiece tokenizes, behind the
// shim of sentencepiece_shim.h (loaded on the first .model); the shared post-processing
// (truncation, <s> / </s>, padding) runs around it.
#include <fmt/format.h>

#include <memory>

#include "attnhook/error.h"
#include "text/sentencepiece_library.h"
#include "text/tokenizer_impl.h"

namespace attnhook::detail {
namespace {

using text::WorkEncoding;

constexpr size_t kErrorBytes = 4096;  // the longest reason the shim returns

// The shim's handles are freed by the shim.
struct FreeModel {
  const AttnhookSpmApi* api = nullptr;
  void operator()(AttnhookSpmModel* model) const noexcept { api->free_model(model); }
};
struct FreePieces {
  const AttnhookSpmApi* api = nullptr;
  void operator()(AttnhookSpmPieces* pieces) const noexcept { api->free_pieces(pieces); }
};
using Model = std::unique_ptr<AttnhookSpmModel, FreeModel>;
using Pieces = std::unique_ptr<AttnhookSpmPieces, FreePieces>;

class SentencePieceEncoder : public text::SequenceEncoder {
 public:
  SentencePieceEncoder(std::string_view proto, const std::string& name) : name_(name) {
    try {
      api_ = &text::sentencepiece_api();
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", name, e.what()));
    }
    char error[kErrorBytes] = "";
    model_ = Model(api_->load(proto.data(), proto.size(), error, sizeof error), {api_});
    if (!model_) {
      throw Error(
          fmt::format("{} is neither tokenizer.json nor a SentencePiece model: {}", name, error));
    }
  }

  WorkEncoding encode(std::string_view input, int64_t type_id) const override {
    char error[kErrorBytes] = "";
    Pieces pieces(api_->encode(model_.get(), input.data(), input.size(), error, sizeof error),
                  {api_});
    if (!pieces) {
      throw Error(fmt::format("{}: SentencePiece could not encode the text: {}", name_, error));
    }
    std::vector<std::size_t> char_index = text::byte_to_char_index(input);
    auto to_chars = [&](std::size_t byte) {
      return byte < char_index.size() ? char_index[byte] : text::count_chars(input);
    };
    WorkEncoding w;
    Encoding& e = w.e;
    int word = -1;
    const std::size_t count = api_->pieces_size(pieces.get());
    for (std::size_t i = 0; i < count; ++i) {
      AttnhookSpmPiece piece{};
      api_->piece(pieces.get(), i, &piece);
      std::string value(piece.piece, piece.piece_size);
      // A new word starts at every piece that begins with the meta space U+2581.
      if (word < 0 || value.rfind("\xE2\x96\x81", 0) == 0) ++word;
      e.ids.push_back(piece.id);
      e.tokens.push_back(std::move(value));
      e.offsets.emplace_back(piece.begin, piece.end);
      e.char_offsets.emplace_back(to_chars(piece.begin), to_chars(piece.end));
      e.attention_mask.push_back(1);
      e.type_ids.push_back(type_id);
      e.special_tokens_mask.push_back(0);
      e.sequence_ids.push_back(-1);
      e.word_ids.push_back(word);
    }
    return w;
  }

  std::optional<int64_t> token_to_id(std::string_view token) const override {
    int32_t id = api_->piece_to_id(model_.get(), token.data(), token.size());
    if (id < 0) return std::nullopt;
    return id;
  }

  std::optional<std::string> id_to_token(int64_t id) const override {
    if (id < 0 || id >= api_->vocab_size(model_.get())) return std::nullopt;
    return piece_of(static_cast<int32_t>(id));
  }

  std::size_t vocab_size() const override {
    return static_cast<std::size_t>(api_->vocab_size(model_.get()));
  }

  std::optional<std::string> pad_token() const override {
    int32_t pad = api_->special_id(model_.get(), ATTNHOOK_SPM_PAD);
    if (pad < 0) return std::nullopt;
    return piece_of(pad);
  }

  // The piece of bos_id() / eos_id(); an error naming the file when the model has none.
  text::Token special(bool bos, const std::string& name) const {
    int32_t id = api_->special_id(model_.get(), bos ? ATTNHOOK_SPM_BOS : ATTNHOOK_SPM_EOS);
    if (id < 0 || id >= api_->vocab_size(model_.get())) {
      throw Error(fmt::format("{}: add_{} was asked for, but the model has no {} piece", name,
                              bos ? "bos" : "eos", bos ? "<s>" : "</s>"));
    }
    return {id, piece_of(id), {0, 0}};
  }

 private:
  std::string piece_of(int32_t id) const {
    size_t size = 0;
    const char* piece = api_->id_to_piece(model_.get(), id, &size);
    return piece ? std::string(piece, size) : std::string();
  }

  std::string name_;
  const AttnhookSpmApi* api_ = nullptr;
  Model model_;
};

// [<s>] A [</s>] and, for a pair, [<s>] B [</s>] with type id 1.
class BosEosProcessing : public text::PostProcessor {
 public:
  BosEosProcessing(std::optional<text::Token> bos, std::optional<text::Token> eos)
      : bos_(std::move(bos)), eos_(std::move(eos)) {}
  std::size_t added_tokens(bool is_pair) const override {
    return static_cast<std::size_t>((bos_ ? 1 : 0) + (eos_ ? 1 : 0)) * (is_pair ? 2 : 1);
  }
  std::vector<WorkEncoding> process_encodings(std::vector<WorkEncoding> encodings,
                                              bool add_special_tokens) const override {
    if (!add_special_tokens) return encodings;
    std::vector<WorkEncoding> out;
    for (std::size_t i = 0; i < encodings.size(); ++i) {
      if (bos_) out.push_back(special(*bos_, static_cast<int64_t>(i)));
      out.push_back(std::move(encodings[i]));
      if (eos_) out.push_back(special(*eos_, static_cast<int64_t>(i)));
    }
    return out;
  }
  const char* type() const override { return "SentencePiece <s>/</s>"; }

 private:
  static WorkEncoding special(const text::Token& token, int64_t type_id) {
    WorkEncoding w;
    w.e.ids = {token.id};
    w.e.tokens = {token.value};
    w.e.offsets = {{0, 0}};
    w.e.char_offsets = {{0, 0}};
    w.e.attention_mask = {1};
    w.e.type_ids = {type_id};
    w.e.special_tokens_mask = {1};
    w.e.sequence_ids = {-1};
    w.e.word_ids = {-1};
    return w;
  }
  std::optional<text::Token> bos_, eos_;
};

}  // namespace

std::shared_ptr<const TokenizerImpl> load_sentencepiece(std::string_view proto,
                                                        const LoadOptions& options,
                                                        std::string_view name) {
  auto impl = std::make_shared<TokenizerImpl>();
  impl->name = std::string(name);
  auto encoder = std::make_unique<SentencePieceEncoder>(proto, impl->name);
  std::optional<text::Token> bos, eos;
  if (options.add_bos()) bos = encoder->special(true, impl->name);
  if (options.add_eos()) eos = encoder->special(false, impl->name);
  impl->component_names = {"SentencePiece"};
  if (bos || eos) {
    impl->post_processor = std::make_unique<BosEosProcessing>(std::move(bos), std::move(eos));
    impl->component_names.push_back(impl->post_processor->type());
  }
  impl->sentencepiece = std::move(encoder);
  return impl;
}

}  // namespace attnhook::detail

// libattnhook_sentencepiece.so: libsentencepiece behind the C interface of
// sentencepiece_shim.h (which says why it is a separate library). Built with hidden
// visibility: the entry point is its only exported symbol.
#include "text/sentencepiece_shim.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

// Exported by libsentencepiece but not declared in its public header; weak, so that a
// release without it still loads (its messages then stay on).
namespace sentencepiece::logging {
void SetMinLogLevel(int level) __attribute__((weak));
}  // namespace sentencepiece::logging

struct AttnhookSpmModel {
  sentencepiece::SentencePieceProcessor processor;
};

struct AttnhookSpmPieces {
  sentencepiece::ImmutableSentencePieceText text;
};

namespace {

void set_error(char* error, size_t error_size, const char* message) {
  if (error != nullptr && error_size > 0) std::snprintf(error, error_size, "%s", message);
}

// Runs `body`; an exception becomes the error text and the `failed` result.
template <typename Result, typename Body>
Result guarded(char* error, size_t error_size, Result failed, Body body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    set_error(error, error_size, e.what());
  } catch (...) {
    set_error(error, error_size, "unknown exception in libsentencepiece");
  }
  return failed;
}

AttnhookSpmModel* load(const char* proto, size_t proto_size, char* error,
                       size_t error_size) noexcept {
  return guarded<AttnhookSpmModel*>(error, error_size, nullptr, [&]() -> AttnhookSpmModel* {
    auto model = std::make_unique<AttnhookSpmModel>();
    auto status = model->processor.LoadFromSerializedProto({proto, proto_size});
    if (!status.ok()) {
      set_error(error, error_size, status.ToString().c_str());
      return nullptr;
    }
    return model.release();
  });
}

void free_model(AttnhookSpmModel* model) { delete model; }

AttnhookSpmPieces* encode(const AttnhookSpmModel* model, const char* text, size_t text_size,
                          char* error, size_t error_size) noexcept {
  return guarded<AttnhookSpmPieces*>(error, error_size, nullptr, [&]() -> AttnhookSpmPieces* {
    auto pieces = std::make_unique<AttnhookSpmPieces>();
    auto status = model->processor.Encode({text, text_size}, pieces->text.mutable_proto());
    if (!status.ok()) {
      set_error(error, error_size, status.ToString().c_str());
      return nullptr;
    }
    return pieces.release();
  });
}

size_t pieces_size(const AttnhookSpmPieces* pieces) { return pieces->text.pieces_size(); }

void piece(const AttnhookSpmPieces* pieces, size_t index, AttnhookSpmPiece* out) {
  auto p = pieces->text.pieces(static_cast<int>(index));
  const auto& value = p.piece();  // std::string& in 0.1.x, string_view later: both outlive p
  out->id = static_cast<int32_t>(p.id());
  out->piece = value.data();
  out->piece_size = value.size();
  out->begin = p.begin();
  out->end = p.end();
}

void free_pieces(AttnhookSpmPieces* pieces) { delete pieces; }

int32_t vocab_size(const AttnhookSpmModel* model) { return model->processor.GetPieceSize(); }

int32_t piece_to_id(const AttnhookSpmModel* model, const char* piece, size_t piece_size) noexcept {
  return guarded<int32_t>(nullptr, 0, -1, [&] {
    const auto& processor = model->processor;
    const std::string wanted(piece, piece_size);
    int id = processor.PieceToId(wanted);
    // PieceToId answers the unknown id for any piece it does not know.
    if (id < 0 || (id == processor.unk_id() && processor.IdToPiece(id) != wanted)) return -1;
    return id;
  });
}

const char* id_to_piece(const AttnhookSpmModel* model, int32_t id, size_t* piece_size) {
  if (id < 0 || id >= model->processor.GetPieceSize()) return nullptr;
  const auto& value = model->processor.IdToPiece(id);  // a piece of the model proto
  *piece_size = value.size();
  return value.data();
}

int32_t special_id(const AttnhookSpmModel* model, int kind) {
  const auto& processor = model->processor;
  switch (kind) {
    case ATTNHOOK_SPM_UNK:
      return processor.unk_id();
    case ATTNHOOK_SPM_BOS:
      return processor.bos_id();
    case ATTNHOOK_SPM_EOS:
      return processor.eos_id();
    case ATTNHOOK_SPM_PAD:
      return processor.pad_id();
    default:
      return -1;
  }
}

const AttnhookSpmApi kApi = {ATTNHOOK_SPM_ABI_VERSION,
                             load,
                             free_model,
                             encode,
                             pieces_size,
                             piece,
                             free_pieces,
                             vocab_size,
                             piece_to_id,
                             id_to_piece,
                             special_id};

}  // namespace

extern "C" __attribute__((visibility("default"))) const AttnhookSpmApi*
attnhook_sentencepiece_api() {
  // sentencepiece logs to std::cerr (a model whose self-test fails logs each failure).
  // Bound deep, it writes to libstdc++'s own std::cerr, which an executable built as PIE
  // has copied into itself: the original is never constructed, and writing to it crashes.
  // Errors reach the caller as Status text anyway; only LOG(FATAL), which aborts, stays.
  static const bool quiet = [] {
    if (sentencepiece::logging::SetMinLogLevel != nullptr) {
      sentencepiece::logging::SetMinLogLevel(3);  // LOG_FATAL
    }
    return true;
  }();
  (void)quiet;
  return &kApi;
}

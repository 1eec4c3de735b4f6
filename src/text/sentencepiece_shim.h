/* The C interface between attnhook_text and libattnhook_sentencepiece.so, the shim that is
   the only code linking libsentencepiece.

   Why a shim: Debian's libsentencepiece exports a global FLAGS_minloglevel (a 32-byte flag
   object), and the torch wheel's libc10 exports one of its own (a 4-byte int). In one
   symbol scope both libraries use the first one found: sentencepiece's static constructor
   wrote its 32 bytes over c10's int and the mutex beside it, and the next TorchScript
   forward deadlocked. So attnhook_text does not link libsentencepiece. The first time a
   .model is loaded it dlopens this shim from its own directory with
   RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND (sentencepiece_library.cpp): the shim and
   libsentencepiece, loaded with it, look symbols up in themselves before the global scope,
   and add none of theirs to it, whether LibTorch was loaded before or comes after.

   Nothing C++ crosses the boundary: plain C types; memory is freed by the side that
   allocated it (free_model, free_pieces); errors come back as text in the caller's buffer;
   no exception leaves the shim. */
#ifndef ATTNHOOK_TEXT_SENTENCEPIECE_SHIM_H_
#define ATTNHOOK_TEXT_SENTENCEPIECE_SHIM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised on any change below; the loader refuses a shim of another version. */
#define ATTNHOOK_SPM_ABI_VERSION 1
/* The shim's one exported symbol: an AttnhookSpmEntryPoint. */
#define ATTNHOOK_SPM_ENTRY_POINT "attnhook_sentencepiece_api"

typedef struct AttnhookSpmModel AttnhookSpmModel;   /* a SentencePieceProcessor */
typedef struct AttnhookSpmPieces AttnhookSpmPieces; /* the pieces of one encoded text */

typedef struct AttnhookSpmPiece {
  int32_t id;
  const char* piece; /* UTF-8, not NUL-terminated; lives as long as its AttnhookSpmPieces */
  size_t piece_size;
  size_t begin; /* byte offsets into the encoded text: [begin, end) */
  size_t end;
} AttnhookSpmPiece;

/* special_id kinds */
#define ATTNHOOK_SPM_UNK 0
#define ATTNHOOK_SPM_BOS 1
#define ATTNHOOK_SPM_EOS 2
#define ATTNHOOK_SPM_PAD 3

typedef struct AttnhookSpmApi {
  uint32_t abi_version; /* ATTNHOOK_SPM_ABI_VERSION */

  /* A serialized ModelProto (the bytes of a .model file). Null on failure, with
     sentencepiece's reason written (NUL-terminated, cut to fit) into error[error_size]. */
  AttnhookSpmModel* (*load)(const char* proto, size_t proto_size, char* error, size_t error_size);
  void (*free_model)(AttnhookSpmModel* model); /* null is fine */

  /* UTF-8 text to pieces; null on failure, with the reason in error. */
  AttnhookSpmPieces* (*encode)(const AttnhookSpmModel* model, const char* text, size_t text_size,
                               char* error, size_t error_size);
  size_t (*pieces_size)(const AttnhookSpmPieces* pieces);
  void (*piece)(const AttnhookSpmPieces* pieces, size_t index, AttnhookSpmPiece* out);
  void (*free_pieces)(AttnhookSpmPieces* pieces); /* null is fine */

  int32_t (*vocab_size)(const AttnhookSpmModel* model);
  /* -1 for a piece that is not in the vocabulary (sentencepiece itself answers unk_id). */
  int32_t (*piece_to_id)(const AttnhookSpmModel* model, const char* piece, size_t piece_size);
  /* Null for an id outside [0, vocab_size); the text lives as long as the model. */
  const char* (*id_to_piece)(const AttnhookSpmModel* model, int32_t id, size_t* piece_size);
  /* The model's unk/bos/eos/pad id (ATTNHOOK_SPM_*), -1 when it has none. */
  int32_t (*special_id)(const AttnhookSpmModel* model, int kind);
} AttnhookSpmApi;

typedef const AttnhookSpmApi* (*AttnhookSpmEntryPoint)(void);

#ifdef __cplusplus
}
#endif

#endif /* ATTNHOOK_TEXT_SENTENCEPIECE_SHIM_H_ */

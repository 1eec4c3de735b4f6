/* The boundary between the torch-free `attnhook` executable and its extract plugin
   attnhook-extract.so (which links LibTorch): plain C, so that no C++ exception, type
   layout or allocator crosses dlopen. The arguments travel as CBOR (binary JSON: the fields
   of attnhook::cli::ExtractRequest, extract_request.cpp); the plugin answers with a status and,
   on failure, one message in the caller's buffer.

   Versioning: the executable first calls attnhook_extract_abi() and refuses a plugin
   whose version differs from ATTNHOOK_EXTRACT_ABI (a plugin from another build); only
   then does it call attnhook_extract_v<N>. A change of the request struct, of the CBOR
   fields' meaning or of the status codes bumps the version and the entry point's name.
   Version 2: --image (ModelInput.image), --patch-grid and --prefix-tokens. */
#ifndef ATTNHOOK_CLI_EXTRACT_ABI_H
#define ATTNHOOK_CLI_EXTRACT_ABI_H

#include <stddef.h>
#include <stdint.h>

#define ATTNHOOK_EXTRACT_ABI 2
#define ATTNHOOK_EXTRACT_ENTRY "attnhook_extract_v2" /* the entry point of this version */

/* Status codes of attnhook_extract_v2. */
#define ATTNHOOK_EXTRACT_OK 0
#define ATTNHOOK_EXTRACT_FAILED 1 /* the user's problem: bad input, model, value or output */
#define ATTNHOOK_EXTRACT_BUG 2    /* anything else: an internal error */

typedef struct attnhook_extract_request {
  uint32_t abi;           /* ATTNHOOK_EXTRACT_ABI of the caller */
  const uint8_t* request; /* ExtractRequest as a CBOR map */
  size_t request_size;    /* bytes of `request` */
} attnhook_extract_request;

#ifdef __cplusplus
extern "C" {
#endif

/* The version this plugin speaks. */
uint32_t attnhook_extract_abi(void);

/* Runs `attnhook extract`. Never throws; on failure writes a NUL-terminated message
   (cut to error_size - 1 bytes) to `error` and returns ATTNHOOK_EXTRACT_FAILED or _BUG. */
int attnhook_extract_v2(const attnhook_extract_request* request, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* ATTNHOOK_CLI_EXTRACT_ABI_H */

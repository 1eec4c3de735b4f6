/* A stand-in for attnhook-extract.so, to test the executable's side of the plugin
   boundary (src/cli/extract_abi.h): ATTNHOOK_FAKE_ABI sets the version it claims (default
   that of the executable), ATTNHOOK_FAKE_STATUS the status it returns with the message
   "fake plugin: status <n>". */
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "extract_abi.h"

extern "C" uint32_t attnhook_extract_abi(void) {
  const char* abi = std::getenv("ATTNHOOK_FAKE_ABI");
  return abi ? static_cast<uint32_t>(std::atoi(abi)) : ATTNHOOK_EXTRACT_ABI;
}

extern "C" int attnhook_extract_v2(const attnhook_extract_request* request, char* error,
                                   size_t error_size) {
  const char* status = std::getenv("ATTNHOOK_FAKE_STATUS");
  const int code = status ? std::atoi(status) : ATTNHOOK_EXTRACT_OK;
  std::snprintf(error, error_size, "fake plugin: status %d, request of %zu bytes", code,
                request->request_size);
  return code;
}

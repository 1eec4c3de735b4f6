// Finds and loads libattnhook_sentencepiece.so (see sentencepiece_library.h).
#include "text/sentencepiece_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "attnhook/error.h"

#ifndef ATTNHOOK_SENTENCEPIECE_SHIM
#define ATTNHOOK_SENTENCEPIECE_SHIM "libattnhook_sentencepiece.so"  // set by cmake/tokenizer.cmake
#endif

namespace attnhook::text {
namespace {

// A sanitizer runtime aborts the process on RTLD_DEEPBIND (it would bypass its
// interceptors). Compiled in (GCC: __SANITIZE_*__, clang: __has_feature), or brought by
// another part of the process, which its exported init functions give away.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kBuiltWithSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
constexpr bool kBuiltWithSanitizer = true;
#else
constexpr bool kBuiltWithSanitizer = false;
#endif
#else
constexpr bool kBuiltWithSanitizer = false;
#endif

bool sanitizer_in_process() {
  if (kBuiltWithSanitizer) return true;
  for (const char* init : {"__asan_init", "__tsan_init", "__msan_init", "__hwasan_init"}) {
    if (::dlsym(RTLD_DEFAULT, init) != nullptr) return true;
  }
  return false;
}

// Any address inside libattnhook_text: dladdr names the file it was loaded from.
const char kInThisLibrary = 0;

std::filesystem::path this_library() {
  Dl_info info{};
  if (::dladdr(&kInThisLibrary, &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

std::string object_of(const void* address) {
  Dl_info info{};
  if (::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "an unknown object";
  return info.dli_fname;
}

const AttnhookSpmApi& load_shim() {
  const std::string path = sentencepiece_shim_path();
  int flags = RTLD_NOW | RTLD_LOCAL;
  if (!sanitizer_in_process()) {
    flags |= RTLD_DEEPBIND;
  } else if (const void* other = ::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel");
             other != nullptr && object_of(other).find("libsentencepiece") == std::string::npos) {
    // Without RTLD_DEEPBIND libsentencepiece would bind to this one and overwrite it.
    throw Error(fmt::format(
        "cannot load {} in this process: {} exports FLAGS_minloglevel, which libsentencepiece "
        "would overwrite, and a sanitizer runtime forbids the RTLD_DEEPBIND that keeps them "
        "apart (tokenize in a process without LibTorch, or build without sanitizers)",
        path, object_of(other)));
  }
  void* handle = ::dlopen(path.c_str(), flags);
  if (handle == nullptr) {
    std::string reason = ::dlerror();
    if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);  // named below
    throw Error(fmt::format(
        "SentencePiece support is missing: cannot load {}: {} (it is built and installed "
        "beside libattnhook_text)",
        path, reason));
  }
  // The shim is never closed: libsentencepiece's static objects live until exit.
  auto entry = reinterpret_cast<AttnhookSpmEntryPoint>(::dlsym(handle, ATTNHOOK_SPM_ENTRY_POINT));
  if (entry == nullptr) {
    throw Error(fmt::format("{} has no {}: it is not attnhook's SentencePiece shim", path,
                            ATTNHOOK_SPM_ENTRY_POINT));
  }
  const AttnhookSpmApi* api = entry();
  if (api == nullptr || api->abi_version != ATTNHOOK_SPM_ABI_VERSION) {
    throw Error(
        fmt::format("{} speaks version {} of the shim's interface, libattnhook_text {}: "
                    "install both from one build",
                    path, api ? api->abi_version : 0, ATTNHOOK_SPM_ABI_VERSION));
  }
  return *api;
}

}  // namespace

std::string sentencepiece_shim_path() {
  // Without a file name (linked into an executable) dlopen searches the library path.
  const std::filesystem::path library = this_library();
  if (library.empty() || !library.has_parent_path()) return ATTNHOOK_SENTENCEPIECE_SHIM;
  return (library.parent_path() / ATTNHOOK_SENTENCEPIECE_SHIM).string();
}

const AttnhookSpmApi& sentencepiece_api() {
  // A failed load throws out of the initialisation, so the next call tries again.
  static const AttnhookSpmApi& api = load_shim();
  return api;
}

}  // namespace attnhook::text

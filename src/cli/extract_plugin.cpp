// `attnhook extract` from the torch-free executable: read and tokenize the inputs, find
// attnhook-extract.so, load it (LibTorch comes with it), check that it speaks this
// executable's version of the C boundary (extract_abi.h) and call it.
#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "commands.h"
#include "extract_abi.h"
#include "extract_request.h"
#include "inputs.h"
#include "utf8.h"

namespace attnhook::cli {
namespace {

constexpr const char* kPlugin = "attnhook-extract.so";
constexpr size_t kErrorBytes = 64 * 1024;  // the longest message the plugin can return

// Next to the executable (the build tree), then where `cmake --install` puts it
// relative to the executable's directory (ATTNHOOK_PLUGIN_FROM_BINDIR, set by CMake).
std::vector<std::filesystem::path> plugin_candidates() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::filesystem::path dir = error ? std::filesystem::current_path() : self.parent_path();
  return {dir / kPlugin, (dir / ATTNHOOK_PLUGIN_FROM_BINDIR / kPlugin).lexically_normal()};
}

// The plugin's entry point, after its version was checked.
using Entry = int (*)(const attnhook_extract_request*, char*, size_t);

Entry load(const std::filesystem::path& path) {
  const std::string name = detail::printable(path.string(), 4096);
  void* plugin = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!plugin) throw Error(fmt::format("extract: cannot load '{}': {}", name, ::dlerror()));
  // The plugin stays loaded: LibTorch does not unload cleanly.
  auto abi = reinterpret_cast<uint32_t (*)()>(::dlsym(plugin, "attnhook_extract_abi"));
  if (!abi) {
    throw Error(
        fmt::format("extract: '{}' is not an attnhook extract plugin of this version (no "
                    "attnhook_extract_abi); "
                    "install the plugin that came with this attnhook",
                    name));
  }
  const uint32_t version = abi();
  if (version != ATTNHOOK_EXTRACT_ABI) {
    throw Error(fmt::format(
        "extract: '{}' speaks version {} of the plugin interface, this attnhook speaks {}; "
        "install the plugin that came with this attnhook",
        name, version, ATTNHOOK_EXTRACT_ABI));
  }
  auto entry = reinterpret_cast<Entry>(::dlsym(plugin, ATTNHOOK_EXTRACT_ENTRY));
  if (!entry) throw Error(fmt::format("extract: '{}' has no {}", name, ATTNHOOK_EXTRACT_ENTRY));
  return entry;
}

}  // namespace

void extract(const ExtractArgs& args) {
  // The inputs first: a bad line or text fails before LibTorch is loaded.
  const std::vector<uint8_t> request_bytes = request_to_cbor({args, read_inputs(args)});
  std::string tried;
  for (const auto& candidate : plugin_candidates()) {
    if (!std::filesystem::exists(candidate)) {
      tried += fmt::format("{}'{}' (missing)", tried.empty() ? "" : ", ", candidate.string());
      continue;
    }
    const Entry entry = load(candidate);
    const attnhook_extract_request request{ATTNHOOK_EXTRACT_ABI, request_bytes.data(),
                                           request_bytes.size()};
    std::string error(kErrorBytes, '\0');
    const int status = entry(&request, error.data(), error.size());
    error.resize(error.find('\0') == std::string::npos ? error.size() : error.find('\0'));
    if (status == ATTNHOOK_EXTRACT_OK) return;
    if (status == ATTNHOOK_EXTRACT_FAILED) throw Error(error);
    // Not the user's problem: report_failure words it as an internal error.
    throw std::logic_error(
        status == ATTNHOOK_EXTRACT_BUG
            ? error
            : fmt::format("the extract plugin returned status {}: {}", status, error));
  }
  throw Error(fmt::format("extract needs the plugin {} (it links LibTorch); looked for {}", kPlugin,
                          tried));
}

}  // namespace attnhook::cli

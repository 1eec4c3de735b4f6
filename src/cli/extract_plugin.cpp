// `attnhook extract` from the torch-free executable: find attnhook-extract.so, load it
// (LibTorch comes with it) and call its entry point.
#include <dlfcn.h>
#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "commands.h"

namespace attnhook::cli {
namespace {

constexpr const char* kPlugin = "attnhook-extract.so";

// Next to the executable (the build tree), then where `cmake --install` puts it
// relative to the executable's directory (ATTNHOOK_PLUGIN_FROM_BINDIR, set by CMake).
std::vector<std::filesystem::path> plugin_candidates() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::filesystem::path dir = error ? std::filesystem::current_path() : self.parent_path();
  return {dir / kPlugin, (dir / ATTNHOOK_PLUGIN_FROM_BINDIR / kPlugin).lexically_normal()};
}

}  // namespace

void extract(const ExtractArgs& args) {
  using Entry = void (*)(const ExtractArgs&);
  std::string tried;
  for (const auto& candidate : plugin_candidates()) {
    if (!std::filesystem::exists(candidate)) {
      tried += fmt::format("{}'{}' (missing)", tried.empty() ? "" : ", ", candidate.string());
      continue;
    }
    void* plugin = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!plugin) throw Error(fmt::format("extract: cannot load '{}': {}", candidate.string(), ::dlerror()));
    auto entry = reinterpret_cast<Entry>(::dlsym(plugin, "attnhook_cli_extract"));
    if (!entry) throw Error(fmt::format("extract: '{}' has no attnhook_cli_extract", candidate.string()));
    return entry(args);  // the plugin stays loaded: LibTorch does not unload cleanly
  }
  throw Error(fmt::format("extract needs the plugin {} (it links LibTorch); looked for {}", kPlugin, tried));
}

}  // namespace attnhook::cli

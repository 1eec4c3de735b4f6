// libFuzzer harness: the input is one attention file (ATTNHOOK_FUZZ_EXTENSION: .json or
// .npz), read by every subcommand's reading path, as the CLI runs them: plot (every head
// of layer 0; head 0 of layer 1), model-view, prepare, html. Each must succeed or throw an
// attnhook::Error; anything else escapes to libFuzzer, which reports it (a bug). After
// each command the working directory must hold the input and, on success, the output
// only: a temporary file left behind aborts.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "attnhook/error.h"
#include "commands.h"

namespace {

namespace cli = attnhook::cli;

std::vector<std::string> entries(const std::string& dir);

// A directory of this process's own, removed at exit (left behind after a crash). A plain
// array: a std::string would be destroyed before the atexit handler registered while it
// was being made runs.
const char* work_dir() {
  static char dir[] = "/tmp/attnhook_fuzz_XXXXXX";
  static const bool made = [] {
    if (!::mkdtemp(dir)) std::abort();
    std::atexit([] {
      for (const auto& name : entries(dir)) std::remove((std::string(dir) + "/" + name).c_str());
      ::rmdir(dir);
    });
    return true;
  }();
  (void)made;
  return dir;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.c_str());
  while (const dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(handle);
  return names;
}

// Runs `command`; afterwards only `input` and `output` may exist (output is removed).
void run(const std::function<void()>& command, const std::string& dir, const std::string& input,
         const std::string& output) {
  try {
    command();
  } catch (const attnhook::Error&) {
  }
  for (const auto& name : entries(dir)) {
    const std::string path = dir + "/" + name;
    if (path == input) continue;
    if (path == output) {
      std::remove(path.c_str());
      continue;
    }
    std::fprintf(stderr, "attnhook fuzz: '%s' was left behind\n", path.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = work_dir();
  const std::string input = dir + "/input" ATTNHOOK_FUZZ_EXTENSION;
  if (FILE* file = std::fopen(input.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  // Small limits keep each run fast (pictures of at most 2^18 weights); the checks are the same.
  auto limits = attnhook::detail::ReadLimits().max_input_bytes(1 << 20).max_array_elements(1 << 18);
  const std::string png = dir + "/out.png", json = dir + "/out.json", html = dir + "/out.html";
  cli::PlotArgs all_heads{input, "0", "all", 0, 0, png, limits};
  cli::PlotArgs one_head{input, "1", "0", 0, 0, png, limits};
  cli::ModelViewArgs view{input, 0, png, limits};
  cli::PrepareArgs prepare{input, 0, {"[PAD]"}, json, limits};
  cli::HtmlArgs page{input, 0, "", html, limits};
  run([&] { cli::plot(all_heads); }, dir, input, png);
  run([&] { cli::plot(one_head); }, dir, input, png);
  run([&] { cli::model_view(view); }, dir, input, png);
  run([&] { cli::prepare(prepare); }, dir, input, json);
  run([&] { cli::html(page); }, dir, input, html);
  return 0;
}

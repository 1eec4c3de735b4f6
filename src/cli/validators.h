// Checks of flag text that extract_options.cpp and overlay_options.cpp share: text that
// cannot be a value is a usage error (exit code 2) whose message names the text.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>

#include "commands.h"

namespace attnhook::cli {

// A CLI11 validator (`name` is what --help shows) that passes the text `accepts` approves
// and otherwise says `message`, the text (printable, at most 40 characters) in its {}.
inline CLI::Validator text_check(std::function<bool(const std::string&)> accepts,
                                 std::string message, const char* name) {
  return CLI::Validator(
      [accepts = std::move(accepts), message = std::move(message)](std::string& text) {
        if (accepts(text)) return std::string();
        return fmt::format(fmt::runtime(message), detail::printable(text, 40));
      },
      name);
}

// --patch-grid: ROWSxCOLUMNS.
inline CLI::Validator patch_grid_text() {
  return text_check(
      [](const std::string& text) { return parse_patch_grid(text).has_value(); },
      "'{}' is not a patch grid; expected ROWSxCOLUMNS with both at least 1, e.g. 14x14", "RxC");
}

}  // namespace attnhook::cli

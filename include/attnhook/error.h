// attnhook::Error — the one exception type of the library.
//
// Every failure attnhook reports (bad option, bad model, bad tensor, I/O) is an
// attnhook::Error whose message names the offending value, e.g.
//   layer_regex '(ab' does not compile: missing ): (ab
#pragma once

#include <stdexcept>
#include <string>

namespace attnhook {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace attnhook

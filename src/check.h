// Internal: the one way attnhook fails. Every error is an attnhook::Error whose message
// names the bad value:
//   ATTNHOOK_CHECK(heads > 0, "--head {}: layer '{}' has no heads", head, name);
//   ATTNHOOK_FAIL("cannot read '{}': {}", path, reason);
#pragma once

#include <fmt/format.h>

#include <utility>

#include "attnhook/error.h"

namespace attnhook::detail {

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace attnhook::detail

#define ATTNHOOK_FAIL(...) ::attnhook::detail::fail(__VA_ARGS__)
#define ATTNHOOK_CHECK(condition, ...)               \
  do {                                               \
    if (!(condition)) ::attnhook::detail::fail(__VA_ARGS__); \
  } while (false)

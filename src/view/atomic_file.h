// Internal: all-or-nothing file writes (temporary file in the same directory + rename).
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace attnhook::detail {

// Calls write(file) on a temporary file next to `path` and renames it over `path` when
// write returns true and the file closes cleanly. On failure nothing is left behind
// and an attnhook::Error "cannot write <what> '<path>': <reason>" is thrown; write
// reports its own reason through `error`.
void write_atomically(const std::string& path, const std::string& what,
                      const std::function<bool(std::FILE* file, std::string& error)>& write);

// write_atomically for contents already in memory.
void write_atomically(const std::string& path, const std::string& what, const char* data, size_t size);

// The whole file, or an attnhook::Error "cannot read <what> '<path>': <reason>".
std::string read_file(const std::string& path, const std::string& what);

}  // namespace attnhook::detail

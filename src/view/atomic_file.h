// Internal: output files that are complete or absent.
//
// Where write_atomically writes, by what `path` is:
//   "-"                          standard output, directly;
//   a symbolic link (or chain)   followed: the file it points to is written as below, the
//                                link stays a link (a dangling link creates its target);
//   a regular file, or nothing   a temporary file next to it, renamed over it when complete:
//                                a failed write leaves the old file (or none) and no temporary;
//   a device, FIFO or socket     opened and written directly: a device cannot be replaced by
//                                a file (-o /dev/full reports "No space left on device"), a
//                                FIFO's reader waits for the data; on failure, what was
//                                already written stays written;
//   a directory                  an error.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "input_file.h"  // read_file, for the callers that include this header for it

namespace attnhook::detail {

// Calls write(file) and places the result as above. On failure an attnhook::Error
// "cannot write <what> '<path>': <reason>" (or "... to standard output: ...") is thrown;
// write reports its own reason through `error`, or throws.
void write_atomically(const std::string& path, const std::string& what,
                      const std::function<bool(std::FILE* file, std::string& error)>& write);

// Creates the directories `path` lies in that do not exist yet (`mkdir -p` of its parent),
// for the command-line tool: write_atomically itself never creates directories. "-" and
// a path whose parent exists are left alone. On failure an attnhook::Error
// "cannot create directory '<dir>' for <what> '<path>': <reason>".
void create_parent_directories(const std::string& path, const std::string& what);

// write_atomically for contents already in memory.
void write_atomically(const std::string& path, const std::string& what, const char* data, size_t size);

}  // namespace attnhook::detail

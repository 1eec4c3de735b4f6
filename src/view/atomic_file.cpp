#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "attnhook/error.h"

namespace attnhook::detail {

void write_atomically(const std::string& path, const std::string& what,
                      const std::function<bool(std::FILE*, std::string&)>& write) {
  static std::atomic<unsigned> counter{0};
  auto fail = [&](const std::string& reason) {
    return Error(fmt::format("cannot write {} '{}': {}", what, path, reason));
  };
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temporary = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw fail(std::strerror(errno));
  std::FILE* file = ::fdopen(fd, "wb");
  if (!file) {
    const int error = errno;
    ::close(fd);
    std::remove(temporary.c_str());
    throw fail(std::strerror(error));
  }
  std::string reason;
  bool written = false;
  try {
    written = write(file, reason);
  } catch (...) {
    std::fclose(file);
    std::remove(temporary.c_str());
    throw;
  }
  errno = 0;
  const bool closed = std::fclose(file) == 0;  // reports a full disk
  const int close_error = errno;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    throw fail(written ? std::strerror(close_error) : reason);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    throw fail(std::strerror(error));
  }
}

void write_atomically(const std::string& path, const std::string& what, const char* data, size_t size) {
  write_atomically(path, what, [&](std::FILE* stream, std::string& error) {
    if (std::fwrite(data, 1, size, stream) == size) return true;
    error = std::strerror(errno);
    return false;
  });
}

std::string read_file(const std::string& path, const std::string& what) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw Error(fmt::format("cannot read {} '{}': it is a directory", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("cannot read {} '{}': read error", what, path));
  return content.str();
}

}  // namespace attnhook::detail

#include "atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSymlinks = 40;  // Linux's own limit (ELOOP)

struct Target {
  std::string path;     // the file to write: `path` with symbolic links followed
  bool direct = false;  // a device, FIFO or socket: written in place
};

// Follows the last component's symbolic links; what the final name is decides how to write.
Target resolve(const std::string& path, const std::function<Error(const std::string&)>& fail) {
  fs::path current = path;
  for (int links = 0;; ++links) {
    struct stat status {};
    if (::lstat(current.c_str(), &status) != 0) {
      if (errno == ENOENT) return {current.string(), false};  // created by the rename
      throw fail(std::strerror(errno));
    }
    if (S_ISLNK(status.st_mode)) {
      if (links == kMaxSymlinks) throw fail(std::strerror(ELOOP));
      std::error_code error;
      const fs::path target = fs::read_symlink(current, error);
      if (error) throw fail(error.message());
      current = target.is_absolute() ? target : current.parent_path() / target;
      continue;
    }
    if (S_ISDIR(status.st_mode)) throw fail("it is a directory");
    return {current.string(), !S_ISREG(status.st_mode)};
  }
}

// Runs `write` on `fd` (taken over), flushes and closes; the reason of a failure, or "".
std::string write_to(int fd, const std::function<bool(std::FILE*, std::string&)>& write) {
  std::FILE* file = ::fdopen(fd, "wb");
  if (!file) {
    const int error = errno;
    ::close(fd);
    return std::strerror(error);
  }
  std::string reason;
  bool written = false;
  try {
    written = write(file, reason);
  } catch (...) {
    std::fclose(file);
    throw;
  }
  errno = 0;
  const bool flushed = std::fflush(file) == 0;  // a full disk shows here or at close
  const int flush_error = errno;
  errno = 0;
  const bool closed = std::fclose(file) == 0;
  const int close_error = errno;
  if (!written) return reason.empty() ? "write failed" : reason;
  if (!flushed) return std::strerror(flush_error ? flush_error : EIO);
  if (!closed) return std::strerror(close_error ? close_error : EIO);
  return "";
}

// A temporary name in `target`'s directory: "<name>.tmp-<pid>-<n>", the name cut so that
// the whole stays within NAME_MAX.
std::string temporary_name(const std::string& target, unsigned counter) {
  const fs::path path = target;
  std::string name = path.filename().string().substr(0, 200);
  return (path.parent_path() / fmt::format("{}.tmp-{}-{}", name, ::getpid(), counter)).string();
}

}  // namespace

void write_atomically(const std::string& path, const std::string& what,
                      const std::function<bool(std::FILE*, std::string&)>& write) {
  if (path == "-") {
    const int fd = ::dup(STDOUT_FILENO);
    const std::string reason = fd < 0 ? std::strerror(errno) : write_to(fd, write);
    if (!reason.empty()) throw Error(fmt::format("cannot write {} to standard output: {}", what, reason));
    return;
  }
  auto fail = [&](const std::string& reason) {
    return Error(fmt::format("cannot write {} '{}': {}", what, printable(path, 4096), reason));
  };
  const Target target = resolve(path, fail);
  if (target.direct) {
    const int fd = ::open(target.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw fail(std::strerror(errno));
    const std::string reason = write_to(fd, write);
    if (!reason.empty()) throw fail(reason);
    return;
  }
  static std::atomic<unsigned> counter{0};
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temporary = temporary_name(target.path, counter++);
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw fail(std::strerror(errno));
  std::string reason;
  try {
    reason = write_to(fd, write);
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  if (reason.empty() && std::rename(temporary.c_str(), target.path.c_str()) != 0) reason = std::strerror(errno);
  if (!reason.empty()) {
    std::remove(temporary.c_str());
    throw fail(reason);
  }
}

void create_parent_directories(const std::string& path, const std::string& what) {
  if (path == "-") return;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code error;
  if (parent.empty() || fs::exists(parent, error)) return;
  fs::create_directories(parent, error);
  if (error) {
    throw Error(fmt::format("cannot create directory '{}' for {} '{}': {}", printable(parent.string(), 4096), what,
                            printable(path, 4096), error.message()));
  }
}

void write_atomically(const std::string& path, const std::string& what, const char* data, size_t size) {
  write_atomically(path, what, [&](std::FILE* stream, std::string& error) {
    if (std::fwrite(data, 1, size, stream) == size) return true;
    error = std::strerror(errno);
    return false;
  });
}

}  // namespace attnhook::detail

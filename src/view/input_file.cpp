#include "input_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

constexpr size_t kStreamChunk = size_t{1} << 16;

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;  // owns the descriptor
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "it is a directory";
  if (S_ISCHR(mode)) return "it is a character device, not a file";
  if (S_ISBLK(mode)) return "it is a block device, not a file";
  return nullptr;
}

}  // namespace

std::shared_ptr<const InputFile> InputFile::open(const std::string& path, const std::string& what,
                                                 uint64_t max_bytes, const StreamCheck& check) {
  auto fail = [&](const std::string& reason) {
    return Error(fmt::format("cannot read {} '{}': {}", what, printable(path, 4096), reason));
  };
  // O_NONBLOCK would make a FIFO without a writer an error; blocking is what `cat` does.
  Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw fail(std::strerror(errno));
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) throw fail(std::strerror(errno));
  if (const char* refused = kind_of(status.st_mode)) throw fail(refused);

  std::shared_ptr<InputFile> file(new InputFile());
  file->path_ = path;
  if (S_ISREG(status.st_mode) && status.st_size > 0) {
    const uint64_t size = static_cast<uint64_t>(status.st_size);
    if (size > max_bytes) {
      throw fail(fmt::format("it is {} bytes, over the limit of {} bytes (--max-input-bytes)", size, max_bytes));
    }
    void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.get(), 0);
    if (map == MAP_FAILED) throw fail(std::strerror(errno));
    file->data_ = static_cast<const char*>(map);
    file->size_ = size;
    file->mapped_ = true;
    return file;
  }
  // A stream: read until the end, within the limit.
  std::string& buffer = file->buffer_;
  bool checked = !check;
  for (;;) {
    if (buffer.size() > max_bytes) {
      throw fail(fmt::format("it holds more than {} bytes, the limit (--max-input-bytes)", max_bytes));
    }
    const size_t used = buffer.size();
    const size_t want = std::min<uint64_t>(kStreamChunk, max_bytes + 1 - used);
    buffer.resize(used + want);
    const ssize_t got = ::read(fd.get(), buffer.data() + used, want);
    if (got < 0 && errno == EINTR) {
      buffer.resize(used);
      continue;
    }
    if (got < 0) throw fail(std::strerror(errno));
    buffer.resize(used + static_cast<size_t>(got));
    if (!checked && (got == 0 || buffer.size() >= kStreamChunk)) {
      check(buffer);
      checked = true;
    }
    if (got == 0) break;
  }
  buffer.shrink_to_fit();
  file->data_ = buffer.data();
  file->size_ = buffer.size();
  return file;
}

InputFile::~InputFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

void InputFile::release(size_t begin, size_t end) const {
  if (!mapped_) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t first = (begin + page - 1) / page * page, last = std::min(end, size_) / page * page;
  if (first < last) ::madvise(const_cast<char*>(data_) + first, last - first, MADV_DONTNEED);
}

std::string read_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  return std::string(InputFile::open(path, what, max_bytes)->bytes());
}

}  // namespace attnhook::detail

// Internal: the bytes of an input file, read-only, within a size limit.
//
// Regular files are mapped (MAP_PRIVATE): pages cost memory only once touched, so a reader
// that draws one layer of a 1 GB file touches that layer only. Pipes, FIFOs and files that
// report size 0 (/proc) are read into memory, at most `max_bytes`. Directories and devices
// are refused before anything is read: `plot -i /dev/zero` fails at once.
//
// The mapping is writable copy-on-write: arrays that share it may be handed to code that
// writes (at::from_blob tensors), and the file never changes. A file truncated by another
// process while mapped makes reads of the lost pages fault (SIGBUS); that is the price of
// not copying.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace attnhook::detail {

class InputFile {
 public:
  // Checks the first bytes of a stream (up to 64 KiB, or all of it if shorter) before the
  // rest is read, so that a stream that cannot be this format fails fast; throws.
  using StreamCheck = std::function<void(std::string_view first_bytes)>;

  // Errors are attnhook::Error "cannot read <what> '<path>': <reason>" (no such file, a
  // directory, a device, over max_bytes, a read error).
  static std::shared_ptr<const InputFile> open(const std::string& path, const std::string& what,
                                               uint64_t max_bytes,
                                               const StreamCheck& check = nullptr);
  ~InputFile();
  InputFile(const InputFile&) = delete;  // owns the mapping
  InputFile& operator=(const InputFile&) = delete;

  std::string_view bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Gives the mapped pages inside [begin, end) back to the system; touched again, they are
  // read again (from the page cache). Long scans call it behind them. No-op for streams.
  void release(size_t begin, size_t end) const;

 private:
  InputFile() = default;
  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string buffer_;  // a stream's bytes
};

// The whole file as a string (small inputs: token lists, tensors), at most `max_bytes`.
std::string read_file(const std::string& path, const std::string& what,
                      uint64_t max_bytes = uint64_t{1} << 30);

}  // namespace attnhook::detail

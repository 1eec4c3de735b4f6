// Internal: the zip archives numpy writes (np.savez stored, np.savez_compressed deflated),
// read defensively: every offset and size is checked in 64-bit arithmetic against the file,
// a declared size is never trusted to reserve memory, and each entry is read alone, in
// pieces, with its length and CRC-32 checked at the end. Errors:
//   attention file '<path>' is not a valid .npz: <why>
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include "input_file.h"

namespace attnhook::detail {

struct ZipEntry {
  std::string name;         // UTF-8
  uint16_t method = 0;      // 0 stored, 8 deflated
  uint64_t compressed = 0;  // bytes in the archive
  uint64_t size = 0;        // bytes once inflated, as declared (checked while reading)
  uint32_t crc = 0;
  uint64_t local_at = 0;    // offset of its local header
  uint64_t data_at = 0;     // offset of the entry's bytes in the archive
};

class ZipArchive {
 public:
  // Reads and checks the central directory and every local header.
  explicit ZipArchive(std::shared_ptr<const InputFile> file);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const std::shared_ptr<const InputFile>& file() const { return file_; }
  // "attention file '<path>' is not a valid .npz: <why>"
  [[noreturn]] void fail(const std::string& why) const;

 private:
  std::shared_ptr<const InputFile> file_;
  std::vector<ZipEntry> entries_;
};

// One entry's bytes, in order. Nothing of the entry is held but what the caller asks for.
class ZipEntryReader {
 public:
  ZipEntryReader(const ZipArchive& archive, const ZipEntry& entry);
  ~ZipEntryReader();
  ZipEntryReader(const ZipEntryReader&) = delete;  // owns a zlib stream
  ZipEntryReader& operator=(const ZipEntryReader&) = delete;

  // Declared bytes not read yet.
  uint64_t remaining() const { return entry_.size - done_; }
  // Copies the next `size` bytes to `out`; an error if the entry ends before them.
  void read(void* out, size_t size);
  // Copied pieces give their mapped pages back (InputFile::release): a copy does not cost
  // twice its size.
  //
  // Where a stored entry's next byte is in the mapped file; nullptr for a deflated entry.
  const char* peek() const;
  // A stored entry's next `size` bytes where they are in the mapped file (no copy);
  // nullptr (and nothing consumed) for a deflated entry.
  const char* view(size_t size);
  // After the last byte: the data must end there and match the CRC-32.
  void finish();

 private:
  const ZipArchive& archive_;
  const ZipEntry& entry_;
  const unsigned char* data_;  // the entry's bytes in the archive
  uint64_t done_ = 0;          // bytes delivered
  uLong crc_ = 0;
  z_stream stream_{};
  bool inflating_ = false;
  bool ended_ = false;  // deflate stream end seen
};

// One entry to write: its bytes are `head` followed by data[0, size) (a .npy header and
// the array it describes, without copying the array).
struct ZipSource {
  std::string name;
  std::string head;
  const char* data = nullptr;
  size_t size = 0;
};

// The size of the stored zip write_stored_zip writes.
uint64_t stored_zip_size(const std::vector<ZipSource>& entries);

// A stored (uncompressed) zip, each entry's data starting 64-byte aligned (padding in the
// local header's extra field) so that a reader can map a float32 array in place. The
// caller checks stored_zip_size first: over 4 GiB needs zip64, which this does not write.
// False on a write error (errno set).
bool write_stored_zip(std::FILE* file, const std::vector<ZipSource>& entries);

}  // namespace attnhook::detail

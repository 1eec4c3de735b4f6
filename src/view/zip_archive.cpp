#include "zip_archive.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfDirectory = 0x06054b50;
constexpr uint64_t kLocalHeaderBytes = 30, kCentralHeaderBytes = 46, kEndBytes = 22;
// Deflate cannot expand data more than 1032 to 1 (a 258-byte match per 2 bits, at best).
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr size_t kInflatePiece = size_t{1} << 30;  // zlib counts in 32 bits
constexpr size_t kCopyPiece = size_t{4} << 20;

uint32_t get16(const unsigned char* p) { return p[0] | (p[1] << 8); }
uint32_t get32(const unsigned char* p) { return get16(p) | (uint32_t{get16(p + 2)} << 16); }

void put16(std::string& out, uint32_t v) { out += {char(v & 0xff), char((v >> 8) & 0xff)}; }
void put32(std::string& out, uint32_t v) { put16(out, v & 0xffff), put16(out, v >> 16); }

std::string quoted_name(const std::string& name) { return "'" + printable(name, 80) + "'"; }

}  // namespace

ZipArchive::ZipArchive(std::shared_ptr<const InputFile> file) : file_(std::move(file)) {
  const auto* in = reinterpret_cast<const unsigned char*>(file_->bytes().data());
  const uint64_t size = file_->bytes().size();
  if (size < kEndBytes) fail("too short for a zip archive");
  uint64_t end = size;  // the end-of-directory record: the last one, within 64 KiB of comment
  for (uint64_t at = size - kEndBytes + 1; at-- > 0 && size - at <= kEndBytes + 0xffff;) {
    if (get32(in + at) == kEndOfDirectory) {
      end = at;
      break;
    }
  }
  if (end == size) fail("no zip end-of-directory record");
  const uint32_t disk = get16(in + end + 4), directory_disk = get16(in + end + 6);
  const uint32_t here = get16(in + end + 8), count = get16(in + end + 10);
  const uint64_t directory_size = get32(in + end + 12), directory_at = get32(in + end + 16);
  if (count == 0xffff || directory_size == 0xffffffff || directory_at == 0xffffffff) {
    fail("zip64 archives (over 4 GiB or 65535 entries) are not supported");
  }
  if (disk != 0 || directory_disk != 0 || here != count) fail("multi-part zip archives are not supported");
  if (directory_at > end || directory_size > end - directory_at) fail("the central directory lies outside the file");

  uint64_t at = directory_at;
  const uint64_t directory_end = directory_at + directory_size;
  for (uint32_t e = 0; e < count; ++e) {
    if (directory_end - at < kCentralHeaderBytes || get32(in + at) != kCentralHeader) {
      fail(fmt::format("broken central directory (entry {} of {})", e, count));
    }
    const unsigned char* header = in + at;
    ZipEntry entry;
    const uint32_t flags = get16(header + 8);
    entry.method = get16(header + 10);
    entry.crc = get32(header + 16);
    entry.compressed = get32(header + 20);
    entry.size = get32(header + 24);
    const uint64_t name_length = get16(header + 28), extra = get16(header + 30), comment = get16(header + 32);
    const uint64_t local = get32(header + 42);
    if (directory_end - at - kCentralHeaderBytes < name_length + extra + comment) {
      fail(fmt::format("broken central directory (entry {} of {})", e, count));
    }
    entry.name.assign(reinterpret_cast<const char*>(header + kCentralHeaderBytes), name_length);
    at += kCentralHeaderBytes + name_length + extra + comment;
    const std::string name = quoted_name(entry.name);
    if (invalid_utf8_at(entry.name)) fail(fmt::format("entry {} has a name that is not UTF-8", name));
    if (entry.compressed == 0xffffffff || entry.size == 0xffffffff || local == 0xffffffff) {
      fail(fmt::format("entry {} needs zip64, which is not supported", name));
    }
    if (flags & 0x1) fail(fmt::format("entry {} is encrypted", name));
    if (entry.method != 0 && entry.method != 8) {
      fail(fmt::format("entry {} uses compression method {} (only stored and deflated are read)", name, entry.method));
    }
    if (entry.method == 0 && entry.compressed != entry.size) {
      fail(fmt::format("stored entry {} declares {} bytes but holds {}", name, entry.size, entry.compressed));
    }
    if (entry.method == 8 && entry.size / kMaxDeflateRatio > entry.compressed + 1) {
      fail(fmt::format("entry {} declares {} bytes from {} compressed bytes, more than deflate can produce",
                       name, entry.size, entry.compressed));
    }
    // The local header: all sizes 64-bit, so that no offset near 2^32 can wrap.
    if (local > size || size - local < kLocalHeaderBytes || get32(in + local) != kLocalHeader) {
      fail(fmt::format("the local header of entry {} (offset {}) is outside the file or broken", name, local));
    }
    const uint64_t local_name = get16(in + local + 26), local_extra = get16(in + local + 28);
    if (size - local - kLocalHeaderBytes < local_name + local_extra) {
      fail(fmt::format("the local header of entry {} runs past the end of the file", name));
    }
    if (local_name != name_length ||
        std::memcmp(in + local + kLocalHeaderBytes, entry.name.data(), name_length) != 0) {
      fail(fmt::format("the local header of entry {} names another entry", name));
    }
    entry.local_at = local;
    entry.data_at = local + kLocalHeaderBytes + local_name + local_extra;
    if (size - entry.data_at < entry.compressed) fail(fmt::format("entry {} is truncated", name));
    entries_.push_back(std::move(entry));
  }
  // Entries that share bytes are how zip bombs multiply a small file (and no writer makes them).
  std::vector<const ZipEntry*> by_offset;
  for (const auto& entry : entries_) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->local_at < b->local_at; });
  for (size_t k = 1; k < by_offset.size(); ++k) {
    if (by_offset[k - 1]->data_at + by_offset[k - 1]->compressed > by_offset[k]->local_at) {
      fail(fmt::format("entries {} and {} overlap", quoted_name(by_offset[k - 1]->name), quoted_name(by_offset[k]->name)));
    }
  }
}

void ZipArchive::fail(const std::string& why) const {
  throw Error(fmt::format("attention file '{}' is not a valid .npz: {}", printable(file_->path(), 4096), why));
}

ZipEntryReader::ZipEntryReader(const ZipArchive& archive, const ZipEntry& entry)
    : archive_(archive),
      entry_(entry),
      data_(reinterpret_cast<const unsigned char*>(archive.file()->bytes().data()) + entry.data_at),
      crc_(crc32(0, nullptr, 0)) {
  if (entry.method == 8) {
    if (inflateInit2(&stream_, -MAX_WBITS) != Z_OK) throw Error("zlib: cannot start inflating (out of memory)");
    inflating_ = true;
    stream_.next_in = const_cast<Bytef*>(data_);
    stream_.avail_in = static_cast<uInt>(entry.compressed);  // < 2^32, checked by ZipArchive
  }
}

ZipEntryReader::~ZipEntryReader() {
  if (inflating_) inflateEnd(&stream_);
}

void ZipEntryReader::read(void* out, size_t size) {
  const std::string name = quoted_name(entry_.name);
  if (size > remaining()) archive_.fail(fmt::format("entry {} is shorter than its contents need", name));
  auto* target = static_cast<unsigned char*>(out);
  const uint64_t begin = entry_.data_at + (inflating_ ? stream_.total_in : done_);
  if (!inflating_) {
    // In pieces, giving back the mapped pages behind: memory holds the copy, not both.
    for (size_t copied = 0; copied < size;) {
      const size_t piece = std::min(size - copied, kCopyPiece);
      std::memcpy(target + copied, data_ + done_ + copied, piece);
      crc_ = crc32_z(crc_, target + copied, piece);
      copied += piece;
      archive_.file()->release(begin, begin + copied);
    }
    done_ += size;
    return;
  } else {
    for (size_t produced = 0; produced < size;) {
      const size_t piece = std::min(size - produced, kInflatePiece);
      stream_.next_out = target + produced;
      stream_.avail_out = static_cast<uInt>(piece);
      const int result = inflate(&stream_, Z_NO_FLUSH);
      produced += piece - stream_.avail_out;
      if (result == Z_STREAM_END) {
        ended_ = true;
        if (produced < size) {
          archive_.fail(fmt::format("entry {} inflates to {} bytes, but declares {}", name,
                                    done_ + produced, entry_.size));
        }
      } else if (result == Z_BUF_ERROR || (result == Z_OK && stream_.avail_in == 0 && stream_.avail_out > 0)) {
        archive_.fail(fmt::format("the compressed data of entry {} is truncated", name));
      } else if (result != Z_OK) {
        archive_.fail(fmt::format("the compressed data of entry {} is corrupt ({})", name,
                                  stream_.msg ? stream_.msg : "zlib error"));
      }
    }
  }
  crc_ = crc32_z(crc_, target, size);
  done_ += size;
  archive_.file()->release(begin, entry_.data_at + stream_.total_in);
}

const char* ZipEntryReader::peek() const {
  return inflating_ ? nullptr : reinterpret_cast<const char*>(data_ + done_);
}

const char* ZipEntryReader::view(size_t size) {
  if (inflating_) return nullptr;
  if (size > remaining()) archive_.fail(fmt::format("entry {} is shorter than its contents need", quoted_name(entry_.name)));
  const auto* at = data_ + done_;
  crc_ = crc32_z(crc_, at, size);
  done_ += size;
  return reinterpret_cast<const char*>(at);
}

void ZipEntryReader::finish() {
  const std::string name = quoted_name(entry_.name);
  if (remaining() != 0) archive_.fail(fmt::format("entry {} holds more bytes than its contents need", name));
  if (inflating_ && !ended_) {
    unsigned char extra;
    stream_.next_out = &extra;
    stream_.avail_out = 1;
    const int result = inflate(&stream_, Z_NO_FLUSH);
    if (result == Z_STREAM_END && stream_.avail_out == 1) {
      ended_ = true;
    } else if (stream_.avail_out == 0) {
      archive_.fail(fmt::format("entry {} inflates to more than the {} bytes it declares", name, entry_.size));
    } else if (result == Z_OK || result == Z_BUF_ERROR) {
      archive_.fail(fmt::format("the compressed data of entry {} is truncated", name));
    } else {
      archive_.fail(fmt::format("the compressed data of entry {} is corrupt ({})", name,
                                stream_.msg ? stream_.msg : "zlib error"));
    }
  }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzers could not get past a checksum
  if (crc_ != entry_.crc) {
    archive_.fail(fmt::format("entry {} fails its CRC-32 check (stored {:08x}, computed {:08x}): the file is corrupt",
                              name, entry_.crc, static_cast<uint32_t>(crc_)));
  }
#endif
}

// ---- writing ------------------------------------------------------------------

namespace {

constexpr uint16_t kPaddingId = 0xa11c;  // an extra field readers skip: alignment padding
constexpr uint64_t kAlignment = 64;

// Bytes of extra field that put data after a local header at `offset` on kAlignment.
uint64_t padding(uint64_t offset, size_t name_length) {
  uint64_t pad = (kAlignment - (offset + kLocalHeaderBytes + name_length) % kAlignment) % kAlignment;
  if (pad != 0 && pad < 4) pad += kAlignment;  // an extra field is at least its 4-byte header
  return pad;
}

bool ascii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

uint64_t stored_zip_size(const std::vector<ZipSource>& entries) {
  uint64_t offset = 0, directory = 0;
  for (const auto& entry : entries) {
    offset += kLocalHeaderBytes + entry.name.size() + padding(offset, entry.name.size()) + entry.head.size() + entry.size;
    directory += kCentralHeaderBytes + entry.name.size();
  }
  return offset + directory + kEndBytes;
}

bool write_stored_zip(std::FILE* file, const std::vector<ZipSource>& entries) {
  uint64_t offset = 0;
  std::string directory;
  auto put = [&](const void* data, size_t size) {
    offset += size;
    return size == 0 || std::fwrite(data, 1, size, file) == size;
  };
  for (const auto& entry : entries) {
    uLong crc = crc32_z(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(entry.head.data()), entry.head.size());
    if (entry.size) crc = crc32_z(crc, reinterpret_cast<const Bytef*>(entry.data), entry.size);
    const uint32_t size = static_cast<uint32_t>(entry.head.size() + entry.size);
    const uint32_t flags = ascii(entry.name) ? 0 : 0x800;  // bit 11: the name is UTF-8
    const uint64_t pad = padding(offset, entry.name.size());
    std::string local;
    put32(local, kLocalHeader), put16(local, 20), put16(local, flags), put16(local, 0), put16(local, 0), put16(local, 0x21);
    put32(local, crc), put32(local, size), put32(local, size);
    put16(local, entry.name.size()), put16(local, pad);
    local += entry.name;
    if (pad) {
      put16(local, kPaddingId), put16(local, pad - 4);
      local.append(pad - 4, '\0');
    }
    const uint32_t local_at = static_cast<uint32_t>(offset);
    put32(directory, kCentralHeader), put16(directory, 20), put16(directory, 20), put16(directory, flags);
    put16(directory, 0), put16(directory, 0), put16(directory, 0x21);
    put32(directory, crc), put32(directory, size), put32(directory, size);
    put16(directory, entry.name.size()), put16(directory, 0), put16(directory, 0), put16(directory, 0);
    put16(directory, 0), put32(directory, 0), put32(directory, local_at);
    directory += entry.name;
    if (!put(local.data(), local.size()) || !put(entry.head.data(), entry.head.size()) || !put(entry.data, entry.size)) {
      return false;
    }
  }
  std::string end;
  put32(end, kEndOfDirectory), put16(end, 0), put16(end, 0), put16(end, entries.size()), put16(end, entries.size());
  put32(end, directory.size()), put32(end, static_cast<uint32_t>(offset)), put16(end, 0);
  return put(directory.data(), directory.size()) && put(end.data(), end.size());
}

}  // namespace attnhook::detail

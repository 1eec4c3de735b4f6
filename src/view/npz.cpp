// attn.npz: a zip of .npy arrays that numpy.load reads. Written stored, data 64-byte
// aligned; read back stored (float32 arrays mapped in place) or deflated
// (numpy.savez_compressed), one entry at a time, only the entries asked for.
#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <map>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"
#include "input_file.h"
#include "npy.h"
#include "utf8.h"
#include "zip_archive.h"

namespace attnhook::detail {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 16;  // converted in pieces of this many bytes

// Storage for `count` floats that the caller fills completely: not zeroed first, which
// for a layer of 50 MB costs as much as copying it.
std::shared_ptr<float[]> float_storage(int64_t count) { return std::shared_ptr<float[]>(new float[count]); }

class NpzReader : public AttentionReader {
 public:
  NpzReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits);
  FloatArray read(size_t layer, size_t call) const override;

 private:
  std::string where(const ZipEntry& entry) const {
    return fmt::format("attention file '{}', array '{}'", printable(path_, 4096), printable(entry.name, 80));
  }
  std::vector<std::string> read_strings(const ZipEntry& entry) const;

  std::string path_;
  ReadLimits limits_;
  ZipArchive archive_;
  std::vector<std::vector<size_t>> entries_;  // per layer, per call: index in archive_.entries()
};

NpzReader::NpzReader(std::shared_ptr<const InputFile> file, const ReadLimits& limits)
    : path_(file->path()), limits_(limits), archive_(std::move(file)) {
  const auto& entries = archive_.entries();
  std::map<std::string, size_t> seen;
  std::map<std::string, size_t> layer_index;
  std::vector<std::map<int64_t, size_t>> calls;  // per layer: call number -> entry
  for (size_t e = 0; e < entries.size(); ++e) {
    const ZipEntry& entry = entries[e];
    std::string key = entry.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (!seen.emplace(key, e).second) throw Error(where(entry) + ": a second array of this name");
    if (key == "tokens" || key == "src_tokens") {
      (key == "tokens" ? info_.tokens : info_.src_tokens) = read_strings(entry);
      continue;
    }
    if (key == "text" || key == "model") {
      const auto texts = read_strings(entry);
      (key == "text" ? info_.text : info_.model) = texts.empty() ? "" : texts[0];
      continue;
    }
    const auto slash = key.rfind('/');
    if (slash == std::string::npos) throw Error(where(entry) + ": layer arrays are named '<layer>/<call>'");
    const std::string name = key.substr(0, slash), leaf = key.substr(slash + 1);
    if (leaf == "tgt_tokens" || leaf == "src_tokens") {
      auto& own = info_.layer_tokens[name];
      (leaf == "tgt_tokens" ? own.tgt : own.src) = read_strings(entry);
      continue;
    }
    int64_t call = -1;
    const auto [end, error] = std::from_chars(leaf.data(), leaf.data() + leaf.size(), call);
    if (leaf.empty() || leaf.size() > 9 || error != std::errc() || end != leaf.data() + leaf.size() || call < 0) {
      throw Error(where(entry) + ": layer arrays are named '<layer>/<call>' (call: a number)");
    }
    const auto [found, added] = layer_index.emplace(name, layers_.size());
    if (added) {
      layers_.push_back({name, 0});
      calls.emplace_back();
    }
    if (!calls[found->second].emplace(call, e).second) throw Error(where(entry) + ": a second array for this call");
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    layers_[l].calls = calls[l].size();
    entries_.emplace_back();
    for (const auto& [number, entry] : calls[l]) entries_.back().push_back(entry);
  }
}

std::vector<std::string> NpzReader::read_strings(const ZipEntry& entry) const {
  const std::string where = this->where(entry);
  ZipEntryReader reader(archive_, entry);
  const NpyHeader header = read_npy_header(reader, where);
  const std::string& descr = header.descr;
  uint64_t width = 0;
  const auto [end, error] = std::from_chars(descr.data() + std::min<size_t>(2, descr.size()), descr.data() + descr.size(), width);
  if (descr.size() < 3 || descr.compare(0, 2, "<U") != 0 || error != std::errc() || end != descr.data() + descr.size()) {
    throw Error(fmt::format("{}: expected a unicode array ('<U<n>'), found dtype '{}'", where, printable(descr, 40)));
  }
  const int64_t count = checked_element_count(header.shape, limits_.max_array_elements(), where);
  uint64_t characters = 0;
  if (!multiply_within(static_cast<uint64_t>(count), width, static_cast<uint64_t>(limits_.max_array_elements()), characters)) {
    throw Error(fmt::format("{}: {} strings of {} characters are more than {} characters (the limit of one array)",
                            where, count, width, limits_.max_array_elements()));
  }
  if (reader.remaining() != characters * 4) {
    throw Error(fmt::format("{}: {} bytes of data, {} strings of {} characters need {}", where, reader.remaining(), count,
                            width, characters * 4));
  }
  std::vector<std::string> out;
  std::vector<char32_t> piece;
  for (int64_t i = 0; i < count; ++i) {
    std::string text;
    size_t zeros = 0;  // trailing NULs are padding
    for (uint64_t k = 0; k < width;) {
      const size_t take = std::min<uint64_t>(width - k, kPieceBytes / 4);
      piece.resize(take);
      reader.read(piece.data(), take * 4);  // UTF-32 little endian; this reader runs on little-endian machines
      for (char32_t c : piece) {
        if (c == 0) {
          ++zeros;
          continue;
        }
        if (!is_scalar_value(c)) {
          throw Error(fmt::format("{}: string {} holds {:#x}, which is not a Unicode character", where, i,
                                  static_cast<uint32_t>(c)));
        }
        for (; zeros > 0; --zeros) text.push_back('\0');
        append_utf8(text, c);
      }
      k += take;
    }
    out.push_back(std::move(text));
  }
  reader.finish();
  return out;
}

FloatArray NpzReader::read(size_t layer, size_t call) const {
  const ZipEntry& entry = archive_.entries().at(entries_.at(layer).at(call));
  const std::string where = this->where(entry);
  ZipEntryReader reader(archive_, entry);
  const NpyHeader header = read_npy_header(reader, where);
  const int item = float_item_size(header.descr);
  if (item == 0) throw Error(fmt::format("{}: dtype '{}' is not a little-endian float", where, printable(header.descr, 40)));
  if (header.shape.size() != 4) {
    throw Error(fmt::format("{}: shape {} is not [batch, heads, tgt, src]", where, shape_text(header.shape)));
  }
  const int64_t count = checked_element_count(header.shape, limits_.max_array_elements(), where);
  const uint64_t bytes = static_cast<uint64_t>(count) * item;  // count <= max_array_elements < 2^60
  if (reader.remaining() != bytes) {
    throw Error(fmt::format("{}: {} bytes of data, shape needs {}", where, reader.remaining(), bytes));
  }
  if (item == 4) {
    // Stored and aligned (as write_npz writes them): the numbers are used where they are in
    // the mapped file. numpy's own files are not aligned: copied.
    const char* in_place = reader.peek();
    if (in_place && reinterpret_cast<uintptr_t>(in_place) % alignof(float) == 0) {
      reader.view(bytes);
      reader.finish();
      return FloatArray(header.shape, std::shared_ptr<const float>(archive_.file(), reinterpret_cast<const float*>(in_place)));
    }
    const auto values = float_storage(count);
    reader.read(values.get(), bytes);
    reader.finish();
    return FloatArray(header.shape, std::shared_ptr<const float>(values, values.get()));
  }
  const auto values = float_storage(count);
  std::vector<char> piece(kPieceBytes);
  for (int64_t done = 0; done < count;) {
    const int64_t take = std::min<int64_t>(count - done, kPieceBytes / item);
    reader.read(piece.data(), take * item);
    for (int64_t i = 0; i < take; ++i) {
      const char* at = piece.data() + i * item;
      if (item == 8) {
        double wide;
        std::memcpy(&wide, at, 8);
        values[done + i] = static_cast<float>(wide);  // beyond float's range: infinity, as numpy's astype
      } else {
        uint16_t half;
        std::memcpy(&half, at, 2);
        values[done + i] = half_to_float(half);
      }
    }
    done += take;
  }
  reader.finish();
  return FloatArray(header.shape, std::shared_ptr<const float>(values, values.get()));
}

}  // namespace

std::unique_ptr<AttentionReader> open_npz(std::shared_ptr<const InputFile> file, const ReadLimits& limits) {
  return std::make_unique<NpzReader>(std::move(file), limits);
}

void write_npz(const AttentionData& file, const std::string& path) {
  std::vector<ZipSource> entries;
  for (const auto& [name, calls] : file.values) {
    for (size_t c = 0; c < calls.size(); ++c) {
      const FloatArray& array = calls[c];
      entries.push_back({fmt::format("{}/{}.npy", name, c), npy_header("<f4", array.shape()),
                         reinterpret_cast<const char*>(array.data()), static_cast<size_t>(array.numel()) * sizeof(float)});
    }
    const auto own = file.layer_tokens.find(name);
    if (own != file.layer_tokens.end()) {
      entries.push_back({name + "/tgt_tokens.npy", npy_strings(own->second.tgt, false)});
      entries.push_back({name + "/src_tokens.npy", npy_strings(own->second.src, false)});
    }
  }
  if (!file.tokens.empty()) entries.push_back({"tokens.npy", npy_strings(file.tokens, false)});
  if (!file.src_tokens.empty()) entries.push_back({"src_tokens.npy", npy_strings(file.src_tokens, false)});
  entries.push_back({"text.npy", npy_strings({file.text}, true)});
  entries.push_back({"model.npy", npy_strings({file.model}, true)});
  if (stored_zip_size(entries) > 0xffffffffu || entries.size() > 0xfffe) {
    throw Error(fmt::format("cannot write attention file '{}': over 4 GiB or 65534 arrays (zip64 is not supported)",
                            printable(path, 4096)));
  }
  write_atomically(path, "attention file", [&](std::FILE* out, std::string& error) {
    if (write_stored_zip(out, entries)) return true;
    error = std::strerror(errno);
    return false;
  });
}

}  // namespace attnhook::detail

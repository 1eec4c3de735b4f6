// open_attention / read_*: the reading side shared by both formats.
#include <fmt/format.h>

#include "attention_data.h"
#include "attnhook/error.h"
#include "input_file.h"
#include "utf8.h"

namespace attnhook::detail {

AttentionData AttentionReader::read_all() const {
  AttentionData data = info_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    std::vector<FloatArray> calls;
    for (size_t c = 0; c < layers_[l].calls; ++c) calls.push_back(read(l, c));
    data.values.emplace_back(layers_[l].name, std::move(calls));
  }
  return data;
}

namespace {

enum class Format { kJson, kNpz, kUnknown };

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// What the first bytes of a file say it is: a zip (an .npz), JSON, or neither.
Format sniff(std::string_view head) {
  if (head.substr(0, 4) == "PK\x03\x04" || head.substr(0, 4) == "PK\x05\x06") return Format::kNpz;
  size_t at = 0;
  while (at < head.size() && is_space(head[at])) ++at;
  if (at < head.size() && (head[at] == '{' || head[at] == '[')) return Format::kJson;
  return Format::kUnknown;
}

bool has_npz_extension(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
}

// A stream that can be neither format fails at its first bytes (`plot -i <(cat /dev/zero)`
// reads 64 KiB, not the limit); a file too short to tell is left to the parsers.
std::shared_ptr<const InputFile> open_input(const std::string& path, const ReadLimits& limits) {
  return InputFile::open(path, "attention file", limits.max_input_bytes(), [&](std::string_view head) {
    if (head.size() < 4 || sniff(head) != Format::kUnknown) return;
    size_t at = 0;
    while (at < head.size() && is_space(head[at])) ++at;
    throw Error(fmt::format("attention file '{}' is neither JSON nor an .npz: it starts with {}", printable(path, 4096),
                            at < head.size() ? fmt::format("byte 0x{:02x} at offset {}", static_cast<unsigned char>(head[at]), at)
                                             : std::string("64 KiB of white space")));
  });
}

}  // namespace

std::unique_ptr<AttentionReader> open_json(const std::string& path, const ReadLimits& limits) {
  return open_json(open_input(path, limits), limits);
}

std::unique_ptr<AttentionReader> open_npz(const std::string& path, const ReadLimits& limits) {
  return open_npz(open_input(path, limits), limits);
}

std::unique_ptr<AttentionReader> open_attention(const std::string& path, const ReadLimits& limits) {
  auto file = open_input(path, limits);
  const bool npz = has_npz_extension(path) || sniff(file->bytes().substr(0, 4)) == Format::kNpz;
  return npz ? open_npz(std::move(file), limits) : open_json(std::move(file), limits);
}

AttentionData read_json(const std::string& path, const ReadLimits& limits) {
  return open_json(path, limits)->read_all();
}

AttentionData read_npz(const std::string& path, const ReadLimits& limits) {
  return open_npz(path, limits)->read_all();
}

AttentionData read_attention(const std::string& path, const ReadLimits& limits) {
  return open_attention(path, limits)->read_all();
}

}  // namespace attnhook::detail

// attn.npz: a zip of .npy arrays that numpy.load reads. Written uncompressed (stored);
// read back stored or deflated (numpy.savez_compressed).
#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <map>

#include "atomic_file.h"
#include "attention_data.h"
#include "attnhook/error.h"

namespace attnhook::detail {
namespace {

// ---- .npy -------------------------------------------------------------------

std::string npy_header(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dims;
  for (int64_t size : shape) dims += std::to_string(size) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  else if (shape.size() == 1) dims.resize(dims.size() - 1);  // "(5,)"
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, dims);
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(dict.size() & 0xff));
  header.push_back(static_cast<char>(dict.size() >> 8));
  return header + dict;
}

std::string npy_float(const FloatArray& array) {
  std::string out = npy_header("<f4", array.shape());
  out.append(reinterpret_cast<const char*>(array.data()), array.numel() * sizeof(float));
  return out;
}

std::u32string utf32(const std::string& text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = text[i];
    const int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    char32_t code = length == 1 ? c : c & (0x7f >> length);
    for (int k = 1; k < length && i + k < text.size(); ++k) code = (code << 6) | (text[i + k] & 0x3f);
    out.push_back(code);
    i += length;
  }
  return out;
}

std::string utf8(const std::u32string& text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out += {static_cast<char>(0xc0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3f))};
    } else if (c < 0x10000) {
      out += {static_cast<char>(0xe0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3f)),
              static_cast<char>(0x80 | (c & 0x3f))};
    } else {
      out += {static_cast<char>(0xf0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3f)),
              static_cast<char>(0x80 | ((c >> 6) & 0x3f)), static_cast<char>(0x80 | (c & 0x3f))};
    }
  }
  return out;
}

// A numpy unicode array ('<U<n>', UTF-32 little endian): 1-d, or 0-d for one string.
std::string npy_strings(const std::vector<std::string>& texts, bool scalar) {
  std::vector<std::u32string> wide;
  size_t width = 1;
  for (const auto& text : texts) {
    wide.push_back(utf32(text));
    width = std::max(width, wide.back().size());
  }
  std::vector<int64_t> shape;
  if (!scalar) shape.push_back(static_cast<int64_t>(texts.size()));
  std::string out = npy_header(fmt::format("<U{}", width), shape);
  for (const auto& text : wide) {
    for (size_t i = 0; i < width; ++i) {
      const uint32_t c = i < text.size() ? text[i] : 0;
      const char bytes[4] = {char(c & 0xff), char((c >> 8) & 0xff), char((c >> 16) & 0xff), char(c >> 24)};
      out.append(bytes, 4);
    }
  }
  return out;
}

struct Npy {
  std::string descr;
  std::vector<int64_t> shape;
  const char* data = nullptr;
  size_t size = 0;
};

Npy parse_npy(const std::string& bytes, const std::string& where) {
  auto fail = [&](const std::string& why) { return Error(fmt::format("{}: {}", where, why)); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw fail("not a .npy array");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_length, offset;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12) throw fail("truncated .npy header");
    header_length = 0;
    for (int k = 0; k < 4; ++k) header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + k])) << (8 * k);
    offset = 12;
  }
  if (offset + header_length > bytes.size()) throw fail("truncated .npy header");
  const std::string header = bytes.substr(offset, header_length);
  Npy npy;
  auto field = [&](const std::string& key) {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos) throw fail("the .npy header has no '" + key + "'");
    return header.substr(header.find(':', at) + 1);
  };
  std::string descr = field("descr");
  descr = descr.substr(descr.find('\'') + 1);
  npy.descr = descr.substr(0, descr.find('\''));
  if (field("fortran_order").find("True") < field("fortran_order").find(',')) throw fail("Fortran-ordered arrays are not supported");
  const std::string shape = field("shape");
  const std::string dims = shape.substr(shape.find('(') + 1, shape.find(')') - shape.find('(') - 1);
  for (size_t i = 0; i < dims.size();) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    size_t used = 0;
    npy.shape.push_back(std::stoll(dims.substr(i), &used));
    i += used;
  }
  npy.data = bytes.data() + offset + header_length;
  npy.size = bytes.size() - offset - header_length;
  return npy;
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t size : shape) count *= size;
  return count;
}

// IEEE 754 binary16 to float: numpy's '<f2'.
float half_to_float(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(fraction), -24);  // zero or subnormal
  } else if (exponent == 31) {
    magnitude = fraction ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(fraction | 0x400), exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

// Little-endian float16/32/64 to float32 (this reader runs on little-endian machines).
FloatArray npy_to_array(const Npy& npy, const std::string& where) {
  const int64_t count = element_count(npy.shape);
  size_t item;
  if (npy.descr == "<f4") {
    item = 4;
  } else if (npy.descr == "<f8") {
    item = 8;
  } else if (npy.descr == "<f2") {
    item = 2;
  } else {
    throw Error(fmt::format("{}: dtype '{}' is not a little-endian float", where, npy.descr));
  }
  if (npy.size != count * item) {
    throw Error(fmt::format("{}: {} bytes of data, shape needs {}", where, npy.size, count * item));
  }
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) {
    const char* at = npy.data + i * item;
    if (item == 4) {
      std::memcpy(&values[i], at, 4);
    } else if (item == 8) {
      double wide;
      std::memcpy(&wide, at, 8);
      values[i] = static_cast<float>(wide);
    } else {
      uint16_t half;
      std::memcpy(&half, at, 2);
      values[i] = half_to_float(half);
    }
  }
  return FloatArray(npy.shape, std::move(values));
}

std::vector<std::string> npy_to_strings(const Npy& npy, const std::string& where) {
  if (npy.descr.size() < 3 || npy.descr.compare(0, 2, "<U") != 0) {
    throw Error(fmt::format("{}: expected a unicode array, found dtype '{}'", where, npy.descr));
  }
  const size_t width = std::stoul(npy.descr.substr(2));
  const int64_t count = element_count(npy.shape);
  if (npy.size != count * width * 4) throw Error(fmt::format("{}: truncated unicode array", where));
  std::vector<std::string> out;
  for (int64_t i = 0; i < count; ++i) {
    std::u32string text;
    for (size_t k = 0; k < width; ++k) {
      const auto* p = reinterpret_cast<const unsigned char*>(npy.data + (i * width + k) * 4);
      const char32_t c = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<char32_t>(p[3]) << 24);
      if (c == 0) break;
      text.push_back(c);
    }
    out.push_back(utf8(text));
  }
  return out;
}

// ---- zip ----------------------------------------------------------------------

void put16(std::string& out, uint32_t v) { out += {char(v & 0xff), char((v >> 8) & 0xff)}; }
void put32(std::string& out, uint32_t v) { put16(out, v & 0xffff), put16(out, v >> 16); }
uint32_t get16(const std::string& in, size_t at) {
  return static_cast<unsigned char>(in[at]) | (static_cast<unsigned char>(in[at + 1]) << 8);
}
uint32_t get32(const std::string& in, size_t at) { return get16(in, at) | (get16(in, at + 2) << 16); }

struct ZipEntry {
  std::string name;
  std::string data;
};

std::string zip_stored(const std::vector<ZipEntry>& entries, const std::string& path) {
  std::string out, directory;
  for (const auto& entry : entries) {
    if (out.size() + entry.data.size() > 0xffffffffu) {
      throw Error(fmt::format("cannot write attention file '{}': over 4 GiB (zip64 is not supported)", path));
    }
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(entry.data.data()), entry.data.size());
    const uint32_t offset = out.size();
    put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 0), put16(out, 0), put16(out, 0x21);
    put32(out, crc), put32(out, entry.data.size()), put32(out, entry.data.size());
    put16(out, entry.name.size()), put16(out, 0);
    out += entry.name + entry.data;
    put32(directory, 0x02014b50), put16(directory, 20), put16(directory, 20), put16(directory, 0);
    put16(directory, 0), put16(directory, 0), put16(directory, 0x21);
    put32(directory, crc), put32(directory, entry.data.size()), put32(directory, entry.data.size());
    put16(directory, entry.name.size()), put16(directory, 0), put16(directory, 0), put16(directory, 0);
    put16(directory, 0), put32(directory, 0), put32(directory, offset);
    directory += entry.name;
  }
  const uint32_t directory_offset = out.size();
  out += directory;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0), put16(out, entries.size()), put16(out, entries.size());
  put32(out, directory.size()), put32(out, directory_offset), put16(out, 0);
  return out;
}

std::vector<ZipEntry> unzip(const std::string& in, const std::string& path) {
  auto fail = [&](const std::string& why) { return Error(fmt::format("attention file '{}' is not a valid .npz: {}", path, why)); };
  if (in.size() < 22) throw fail("too short for a zip archive");
  size_t end = std::string::npos;
  for (size_t at = in.size() - 22 + 1; at-- > 0 && in.size() - at <= 22 + 0xffff;) {
    if (get32(in, at) == 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end == std::string::npos) throw fail("no zip end-of-directory record");
  const uint32_t count = get16(in, end + 10);
  size_t at = get32(in, end + 16);
  std::vector<ZipEntry> entries;
  for (uint32_t e = 0; e < count; ++e) {
    if (at + 46 > in.size() || get32(in, at) != 0x02014b50) throw fail("broken central directory");
    const uint32_t method = get16(in, at + 10), compressed = get32(in, at + 20), size = get32(in, at + 24);
    const uint32_t name_length = get16(in, at + 28), extra = get16(in, at + 30), comment = get16(in, at + 32);
    const uint32_t local = get32(in, at + 42);
    ZipEntry entry;
    entry.name = in.substr(at + 46, name_length);
    at += 46 + name_length + extra + comment;
    if (local + 30 > in.size() || get32(in, local) != 0x04034b50) throw fail("broken local header of " + entry.name);
    const size_t data = local + 30 + get16(in, local + 26) + get16(in, local + 28);
    if (data + compressed > in.size()) throw fail("truncated entry " + entry.name);
    if (method == 0) {
      entry.data = in.substr(data, compressed);
    } else if (method == 8) {
      entry.data.resize(size);
      z_stream stream{};
      inflateInit2(&stream, -MAX_WBITS);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + data));
      stream.avail_in = compressed;
      stream.next_out = reinterpret_cast<Bytef*>(entry.data.data());
      stream.avail_out = size;
      const int result = inflate(&stream, Z_FINISH);
      inflateEnd(&stream);
      if (result != Z_STREAM_END) throw fail("cannot inflate " + entry.name);
    } else {
      throw fail(fmt::format("entry {} uses compression method {}", entry.name, method));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

void write_npz(const AttentionData& file, const std::string& path) {
  std::vector<ZipEntry> entries;
  for (const auto& [name, calls] : file.values) {
    for (size_t c = 0; c < calls.size(); ++c) entries.push_back({fmt::format("{}/{}.npy", name, c), npy_float(calls[c])});
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
  const std::string archive = zip_stored(entries, path);
  write_atomically(path, "attention file", archive.data(), archive.size());
}

AttentionData read_npz(const std::string& path) {
  const std::string content = read_file(path, "attention file");
  AttentionData file;
  std::vector<std::string> order;
  std::map<std::string, std::map<int64_t, FloatArray>> layers;
  for (const auto& entry : unzip(content, path)) {
    const std::string where = fmt::format("attention file '{}', array '{}'", path, entry.name);
    std::string key = entry.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    const Npy npy = parse_npy(entry.data, where);
    if (key == "tokens") {
      file.tokens = npy_to_strings(npy, where);
    } else if (key == "src_tokens") {
      file.src_tokens = npy_to_strings(npy, where);
    } else if (key == "text" || key == "model") {
      const auto texts = npy_to_strings(npy, where);
      (key == "text" ? file.text : file.model) = texts.empty() ? "" : texts[0];
    } else {
      const auto slash = key.rfind('/');
      if (slash == std::string::npos) throw Error(where + ": layer arrays are named '<layer>/<call>'");
      const std::string name = key.substr(0, slash);
      const std::string leaf = key.substr(slash + 1);
      if (leaf == "tgt_tokens" || leaf == "src_tokens") {
        auto& own = file.layer_tokens[name];
        (leaf == "tgt_tokens" ? own.tgt : own.src) = npy_to_strings(npy, where);
        continue;
      }
      int64_t call = 0;
      try {
        call = std::stoll(key.substr(slash + 1));
      } catch (const std::exception&) {
        throw Error(where + ": layer arrays are named '<layer>/<call>'");
      }
      if (npy.shape.size() != 4) throw Error(fmt::format("{}: shape {} is not [batch, heads, tgt, src]", where, shape_text(npy.shape)));
      FloatArray weights = npy_to_array(npy, where);
      if (!layers.count(name)) order.push_back(name);
      layers[name][call] = weights;
    }
  }
  for (const auto& name : order) {
    std::vector<FloatArray> calls;
    for (auto& [call, weights] : layers[name]) calls.push_back(weights);
    file.values.emplace_back(name, std::move(calls));
  }
  return file;
}

}  // namespace attnhook::detail

#include "npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>

#include "attnhook/error.h"
#include "input_file.h"
#include "read_limits.h"
#include "utf8.h"
#include "zip_archive.h"

namespace attnhook::detail {
namespace {

// numpy itself refuses headers over 10000 bytes unless told otherwise; version 1 allows 65535.
constexpr uint32_t kMaxHeaderBytes = 65535;
constexpr size_t kPieceBytes = size_t{1} << 16;  // converted in pieces of this many bytes

// Storage for `count` floats that the caller fills completely: not zeroed first, which
// for a layer of 50 MB costs as much as copying it.
std::shared_ptr<float[]> float_storage(int64_t count) {
  return std::shared_ptr<float[]>(new float[count]);
}

// The dictionary of a .npy header, a Python literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : text_(text), where_(where) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!try_take('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        header.descr = quoted();
        has_descr = true;
      } else if (key == "fortran_order") {
        if (word("True")) throw fail("Fortran-ordered arrays are not supported");
        if (!word("False")) throw fail("'fortran_order' must be True or False");
        has_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        has_shape = true;
      } else {
        throw fail(fmt::format("the .npy header has an unknown key '{}'", printable(key, 40)));
      }
      if (!try_take(',')) {
        expect('}');
        break;
      }
    }
    space();
    if (at_ != text_.size()) throw fail("the .npy header has text after its dictionary");
    if (!has_descr) throw fail("the .npy header has no 'descr'");
    if (!has_order) throw fail("the .npy header has no 'fortran_order'");
    if (!has_shape) throw fail("the .npy header has no 'shape'");
    return header;
  }

 private:
  Error fail(const std::string& why) const { return Error(fmt::format("{}: {}", where_, why)); }
  void space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n')) ++at_;
  }
  bool try_take(char c) {
    space();
    if (at_ < text_.size() && text_[at_] == c) return ++at_, true;
    return false;
  }
  void expect(char c) {
    if (!try_take(c)) throw fail(fmt::format("the .npy header is not a dictionary literal (expected '{}' at byte {})", c, at_));
  }
  bool word(std::string_view w) {
    space();
    if (text_.compare(at_, w.size(), w) != 0) return false;
    at_ += w.size();
    return true;
  }
  std::string quoted() {
    space();
    if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"')) expect('\'');
    const char quote = text_[at_++];
    const size_t end = text_.find(quote, at_);
    if (end == std::string_view::npos) throw fail("the .npy header has an unterminated string");
    const std::string value(text_.substr(at_, end - at_));
    at_ = end + 1;
    return value;
  }
  // (2, 3) / (5,) / (): non-negative integers (Python 2 wrote 3L).
  std::vector<int64_t> tuple() {
    std::vector<int64_t> shape;
    expect('(');
    while (!try_take(')')) {
      space();
      const size_t start = at_;
      if (at_ < text_.size() && text_[at_] == '-') throw fail(fmt::format("shape {} has a negative dimension", rest_of_tuple(start)));
      int64_t size = 0;
      const auto [end, error] = std::from_chars(text_.data() + at_, text_.data() + text_.size(), size);
      if (end == text_.data() + at_) throw fail(fmt::format("shape {} is not a tuple of integers", rest_of_tuple(start)));
      if (error != std::errc()) throw fail(fmt::format("shape {} has a dimension over 2^63", rest_of_tuple(start)));
      at_ = end - text_.data();
      if (at_ < text_.size() && text_[at_] == 'L') ++at_;
      shape.push_back(size);
      if (!try_take(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }
  // "(1, -1, ...)" for messages: from the tuple's '(' to its ')', cut.
  std::string rest_of_tuple(size_t inside) const {
    const size_t open = text_.rfind('(', inside), close = text_.find(')', inside);
    return printable(text_.substr(open, close == std::string_view::npos ? std::string_view::npos : close - open + 1), 80);
  }

  std::string_view text_;
  const std::string& where_;
  size_t at_ = 0;
};

}  // namespace

NpyHeader read_npy_header(ZipEntryReader& entry, const std::string& where) {
  auto fail = [&](const std::string& why) { return Error(fmt::format("{}: {}", where, why)); };
  if (entry.remaining() < 10) throw fail("not a .npy array (shorter than a .npy header)");
  unsigned char start[12];
  entry.read(start, 10);
  if (std::string_view(reinterpret_cast<const char*>(start), 6) != "\x93NUMPY") throw fail("not a .npy array (no \\x93NUMPY magic)");
  const int major = start[6];
  if (major < 1 || major > 3) throw fail(fmt::format("unknown .npy version {}", major));
  uint64_t length = start[8] | (start[9] << 8), prefix = 10;
  if (major >= 2) {
    if (entry.remaining() < 2) throw fail("truncated .npy header");
    entry.read(start + 10, 2);
    length |= (uint64_t{start[10]} << 16) | (uint64_t{start[11]} << 24);
    prefix = 12;
  }
  if (length > kMaxHeaderBytes) throw fail(fmt::format(".npy header of {} bytes (at most {} are read)", length, kMaxHeaderBytes));
  if (length > entry.remaining()) throw fail("truncated .npy header");
  std::string dictionary(length, '\0');
  entry.read(dictionary.data(), length);
  if (major < 3 && invalid_utf8_at(dictionary)) throw fail("the .npy header is not text");
  NpyHeader header = HeaderParser(dictionary, where).parse();
  header.header_bytes = prefix + length;
  return header;
}

int float_item_size(const std::string& descr) {
  if (descr == "<f4") return 4;
  if (descr == "<f8") return 8;
  if (descr == "<f2") return 2;
  return 0;
}

int integer_item_size(const std::string& descr, bool& is_signed) {
  is_signed = descr.size() == 3 && descr[1] == 'i';
  if (descr == "|b1" || descr == "|u1" || descr == "|i1") return 1;
  if (descr.size() != 3 || descr[0] != '<' || (descr[1] != 'i' && descr[1] != 'u')) return 0;
  return descr[2] == '2' ? 2 : descr[2] == '4' ? 4 : descr[2] == '8' ? 8 : 0;
}

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

std::string npy_strings(const std::vector<std::string>& texts, bool scalar) {
  std::vector<std::u32string> wide;
  size_t width = 1;
  for (const auto& text : texts) {
    wide.push_back(to_utf32_replacing(text));
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

std::vector<std::string> read_npy_strings(ZipEntryReader& reader, int64_t max_elements,
                                          const std::string& where) {
  const NpyHeader header = read_npy_header(reader, where);
  const std::string& descr = header.descr;
  uint64_t width = 0;
  const auto [end, error] = std::from_chars(descr.data() + std::min<size_t>(2, descr.size()),
                                            descr.data() + descr.size(), width);
  if (descr.size() < 3 || descr.compare(0, 2, "<U") != 0 || error != std::errc() ||
      end != descr.data() + descr.size()) {
    throw Error(fmt::format("{}: expected a unicode array ('<U<n>'), found dtype '{}'", where,
                            printable(descr, 40)));
  }
  const int64_t count = checked_element_count(header.shape, max_elements, where);
  uint64_t characters = 0;
  if (!multiply_within(static_cast<uint64_t>(count), width,
                       static_cast<uint64_t>(max_elements), characters)) {
    throw Error(fmt::format(
        "{}: {} strings of {} characters are more than {} characters (the limit of one array)",
        where, count, width, max_elements));
  }
  if (reader.remaining() != characters * 4) {
    throw Error(fmt::format("{}: {} bytes of data, {} strings of {} characters need {}", where,
                            reader.remaining(), count, width, characters * 4));
  }
  std::vector<std::string> out;
  std::vector<char32_t> piece;
  for (int64_t i = 0; i < count; ++i) {
    std::string text;
    size_t zeros = 0;  // trailing NULs are padding
    for (uint64_t k = 0; k < width;) {
      const size_t take = std::min<uint64_t>(width - k, kPieceBytes / 4);
      piece.resize(take);
      reader.read(piece.data(),
                  take * 4);  // UTF-32 little endian; this reader runs on little-endian machines
      for (char32_t c : piece) {
        if (c == 0) {
          ++zeros;
          continue;
        }
        if (!is_scalar_value(c)) {
          throw Error(fmt::format("{}: string {} holds {:#x}, which is not a Unicode character",
                                  where, i, static_cast<uint32_t>(c)));
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

std::vector<int64_t> read_npy_integers(ZipEntryReader& reader, int64_t max_elements,
                                       const std::string& where, std::vector<int64_t>* shape) {
  const NpyHeader header = read_npy_header(reader, where);
  bool is_signed = false;
  const int item = integer_item_size(header.descr, is_signed);
  if (item == 0) {
    throw Error(fmt::format("{}: dtype '{}' is not a little-endian integer or bool", where,
                            printable(header.descr, 40)));
  }
  const int64_t count = checked_element_count(header.shape, max_elements, where);
  if (reader.remaining() != static_cast<uint64_t>(count) * item) {
    throw Error(fmt::format("{}: {} bytes of data, shape needs {}", where, reader.remaining(),
                            count * item));
  }
  std::vector<int64_t> out;
  std::vector<unsigned char> piece(kPieceBytes);
  for (int64_t done = 0; done < count;) {
    const int64_t take = std::min<int64_t>(count - done, kPieceBytes / item);
    reader.read(piece.data(), take * item);
    for (int64_t i = 0; i < take; ++i) {
      uint64_t bits = 0;
      for (int b = item - 1; b >= 0; --b) bits = bits << 8 | piece[i * item + b];
      if (is_signed && item < 8 && (bits >> (8 * item - 1)) != 0)
        bits |= ~uint64_t{0} << (8 * item);  // sign-extend
      out.push_back(
          static_cast<int64_t>(bits));  // a uint64 over 2^63 wraps: not a mask or class id anyway
    }
    done += take;
  }
  reader.finish();
  if (shape) *shape = header.shape;
  return out;
}

FloatArray read_npy_floats(ZipEntryReader& reader, int64_t max_elements, const std::string& where,
                           size_t rank, const std::shared_ptr<const InputFile>& file) {
  const NpyHeader header = read_npy_header(reader, where);
  const int item = float_item_size(header.descr);
  if (item == 0)
    throw Error(fmt::format("{}: dtype '{}' is not a little-endian float", where,
                            printable(header.descr, 40)));
  if (rank != 0 && header.shape.size() != rank) {
    throw Error(fmt::format("{}: shape {} is not [batch, heads, tgt, src]", where,
                            shape_text(header.shape)));
  }
  const int64_t count = checked_element_count(header.shape, max_elements, where);
  const uint64_t bytes = static_cast<uint64_t>(count) * item;  // count <= max_array_elements < 2^60
  if (reader.remaining() != bytes) {
    throw Error(
        fmt::format("{}: {} bytes of data, shape needs {}", where, reader.remaining(), bytes));
  }
  if (item == 4) {
    // Stored and aligned (as write_npz writes them): the numbers are used where they are in
    // the mapped file. numpy's own files are not aligned: copied.
    const char* in_place = reader.peek();
    if (in_place && reinterpret_cast<uintptr_t>(in_place) % alignof(float) == 0) {
      reader.view(bytes);
      reader.finish();
      return FloatArray(
          header.shape,
          std::shared_ptr<const float>(file, reinterpret_cast<const float*>(in_place)));
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
        values[done + i] =
            static_cast<float>(wide);  // beyond float's range: infinity, as numpy's astype
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

}  // namespace attnhook::detail

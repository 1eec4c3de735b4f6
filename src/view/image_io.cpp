// Input pictures: the format from the first bytes, the size limits, resampling.
// The decoders are image_png.cpp and image_jpeg.cpp.
#include "image_io.h"

#include <CImg.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "attnhook/error.h"
#include "input_file.h"
#include "utf8.h"

namespace attnhook::detail {
namespace {

constexpr unsigned char kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr unsigned char kJpegStart[] = {0xff, 0xd8, 0xff};  // SOI, then a marker

bool starts_with(std::string_view bytes, const unsigned char* prefix, size_t length) {
  return bytes.size() >= length && std::memcmp(bytes.data(), prefix, length) == 0;
}

// "89 50 4e 47 ..." of the first (up to 8) bytes, for a message about an unknown format.
std::string first_bytes(std::string_view bytes) {
  std::string hex;
  for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); ++i)
    hex += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned char>(bytes[i]));
  return hex;
}

}  // namespace

std::string image_size_problem(int64_t width, int64_t height) {
  if (width <= 0 || height <= 0)
    return fmt::format("it declares a size of {} x {} pixels", width, height);
  if (image_size_ok(width, height)) return "";
  return fmt::format("it is {} x {} pixels; the limit is {} pixels a side and {} pixels", width,
                     height, kMaxImageSide, kMaxImagePixels);
}

RgbImage decode_image(std::string_view bytes, const std::string& where) {
  RgbImage image;
  std::string reason;
  bool decoded = false;
  if (starts_with(bytes, kPngSignature, sizeof kPngSignature)) {
    decoded = decode_png(bytes, &image, &reason);
  } else if (starts_with(bytes, kJpegStart, sizeof kJpegStart)) {
    decoded = decode_jpeg(bytes, &image, &reason);
  } else {
    reason = bytes.empty() ? "the file is empty; expected a PNG or JPEG image"
                           : fmt::format("it is not a PNG or JPEG image (it starts with bytes {})",
                                         first_bytes(bytes));
  }
  if (!decoded) throw Error(fmt::format("{}: {}", where, reason));
  return image;
}

RgbImage read_image(const std::string& path, uint64_t max_bytes) {
  const auto file = InputFile::open(path, "image", max_bytes);
  return decode_image(file->bytes(), fmt::format("cannot read image '{}'", printable(path, 4096)));
}

RgbImage resized(const RgbImage& image, int width, int height) {
  if (width == image.width && height == image.height) return image;
  cimg_library::CImg<unsigned char> planar(image.width, image.height, 1, 3);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c)
        planar(x, y, 0, c) = image.rgb[(static_cast<size_t>(y) * image.width + x) * 3 + c];
  // CImg's interpolation types: 2 = moving average (every source pixel counts, so thin
  // lines survive shrinking), 3 = linear.
  const bool shrinking = width <= image.width && height <= image.height;
  planar.resize(width, height, 1, 3, shrinking ? 2 : 3);
  RgbImage out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        out.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = planar(x, y, 0, c);
  return out;
}

}  // namespace attnhook::detail

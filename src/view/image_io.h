// Internal: input pictures for attention overlays, decoded with libpng and libjpeg.
//
// Images come from users and the web, so they are untrusted: the format is told by the
// file's first bytes (not its name), the declared size is checked against the limits below
// before any pixel memory is reserved, and every decoder failure (corrupt data, a truncated
// file, a progressive JPEG with thousands of scans) is an attnhook::Error, never a crash
// or an exit(): libpng and libjpeg report errors by longjmp to the decoder's own frame.
//
// What is accepted: PNG (any bit depth, palette, grey, alpha, interlaced) and baseline or
// progressive JPEG (grey, YCbCr, RGB, CMYK and Adobe's YCCK). Transparent pixels are
// composited over white; 16-bit samples are reduced to 8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attnhook::detail {

// 8-bit RGB, interleaved, rows top to bottom: pixel (x, y) starts at (y * width + x) * 3.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// Limits on a decoded picture: an image over them is refused before it is decoded.
constexpr int kMaxImageSide = 16384;                      // pixels, either side
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;     // 67 megapixels: 201 MB as RGB
constexpr uint64_t kMaxImageBytes = uint64_t{256} << 20;  // the file itself
constexpr int kMaxJpegScans = 1000;  // progressive JPEGs have ~10; thousands is an attack

// Reads the PNG or JPEG file at `path`. Errors: attnhook::Error "cannot read image
// '<path>': <reason>" — the file is missing or unreadable, larger than `max_bytes`, not a
// PNG or JPEG (its first bytes are quoted), over the size limits (its size is named), or
// corrupt or truncated (the decoder's reason).
RgbImage read_image(const std::string& path, uint64_t max_bytes = kMaxImageBytes);

// Decodes PNG or JPEG bytes; errors as read_image, "<where>: <reason>".
RgbImage decode_image(std::string_view bytes, const std::string& where);

// The decoders behind decode_image. They return false with `reason` set on failure; C
// style, because libpng and libjpeg leave them by longjmp (nothing with a destructor may
// live in their frames). `image` is the caller's, so that what was reserved is freed.
bool decode_png(std::string_view bytes, RgbImage* image, std::string* reason);
bool decode_jpeg(std::string_view bytes, RgbImage* image, std::string* reason);

// Whether width x height is within the limits (and both are positive).
inline bool image_size_ok(int64_t width, int64_t height) {
  return width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide &&
         width * height <= kMaxImagePixels;
}
// "it is 20000 x 300 pixels; the limit is 16384 pixels a side and 67108864 pixels", or ""
// when width x height is within the limits (and both are positive).
std::string image_size_problem(int64_t width, int64_t height);

// `image` resampled to width x height (area average when shrinking, linear otherwise).
RgbImage resized(const RgbImage& image, int width, int height);

}  // namespace attnhook::detail

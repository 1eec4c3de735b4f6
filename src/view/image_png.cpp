// PNG input (libpng), from bytes in memory. libpng reports errors through a handler that
// must not return: ours records the reason and longjmps back to decode_png's frame. No
// object with a destructor is created between setjmp and the last libpng call.
#include <fmt/format.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "image_io.h"

namespace attnhook::detail {
namespace {

struct PngSource {
  const unsigned char* data;
  size_t size;
  size_t at;
  bool truncated;
  char message[256];
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // damaged ancillary chunks: ignored

void on_png_read(png_structp png, png_bytep out, size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->size - source->at) {
    source->truncated = true;
    png_error(png, "truncated");
  }
  std::memcpy(out, source->data + source->at, length);
  source->at += length;
}

// RGBA -> RGB over white, in place (each RGB pixel is written at or before its RGBA one).
void composite_over_white(uint8_t* pixels, size_t count) {
  for (size_t n = 0; n < count; ++n) {
    const uint8_t* in = pixels + n * 4;
    const int alpha = in[3];
    uint8_t* out = pixels + n * 3;
    for (int c = 0; c < 3; ++c)
      out[c] = static_cast<uint8_t>((in[c] * alpha + 255 * (255 - alpha) + 127) / 255);
  }
}

}  // namespace

bool decode_png(std::string_view bytes, RgbImage* image, std::string* reason) {
  PngSource source{
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0, false, {}};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    *reason = "libpng: out of memory";
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    *reason = source.truncated ? "the PNG file is truncated (it ends before the image does)"
              : source.message[0] == '\0'
                  ? std::string("the PNG file is corrupt")
                  : fmt::format("the PNG file is corrupt: {}", source.message);
    image->rgb.clear();
    image->rgb.shrink_to_fit();
    return false;
  }
  png_set_read_fn(png, &source, on_png_read);
  png_read_info(png, info);
  png_uint_32 width = 0, height = 0;
  int depth = 0, colour = 0;
  png_get_IHDR(png, info, &width, &height, &depth, &colour, nullptr, nullptr, nullptr);
  if (!image_size_ok(width, height)) {
    png_destroy_read_struct(&png, &info, nullptr);
    *reason = image_size_problem(width, height);  // no longjmp can come after this
    return false;
  }
  // Whatever the file holds, libpng hands out 8-bit RGBA.
  png_set_expand(png);  // palette -> RGB, grey below 8 bits -> 8, tRNS -> alpha
  png_set_scale_16(png);
  if (!(colour & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
  if (!(colour & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(width) * 4)
    png_error(png, "unexpected row layout after conversion to RGBA");

  image->width = static_cast<int>(width);
  image->height = static_cast<int>(height);
  const size_t stride = static_cast<size_t>(width) * 4;
  image->rgb.resize(stride * height);
  // Interlaced images are read pass by pass into the whole picture.
  for (int pass = 0; pass < passes; ++pass)
    for (png_uint_32 y = 0; y < height; ++y)
      png_read_row(png, image->rgb.data() + y * stride, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  const size_t pixels = static_cast<size_t>(width) * height;
  composite_over_white(image->rgb.data(), pixels);
  image->rgb.resize(pixels * 3);
  image->rgb.shrink_to_fit();
  return true;
}

}  // namespace attnhook::detail

// The overlay's picture reader (src/view/image_io.h): PNG and JPEG variants decode to the
// pixels they were written with (files made here with libpng and libjpeg, references
// decoded by CImg), and hostile pictures — truncated, corrupt, huge, thousands of JPEG
// scans, not a picture at all — are an attnhook::Error naming the file and the reason.
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

// After <cstdio>: jpeglib.h uses FILE and size_t without including their headers.
#include <jpeglib.h>

#include "image_io.h"
#include "overlay_testing.h"

namespace attnhook_test {
namespace {

using attnhook::detail::read_image;
using attnhook::detail::RgbImage;
using ImageIoTest = TempDirTest;

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

Colour pixel(const RgbImage& image, int x, int y) {
  const uint8_t* p = image.rgb.data() + (static_cast<size_t>(y) * image.width + x) * 3;
  return {p[0], p[1], p[2]};
}

// A PNG written with libpng: `rows` already in the file's sample layout.
void write_png(const std::string& path, int width, int height, int colour_type, int depth,
               int interlace, const std::vector<std::vector<uint8_t>>& rows,
               const std::vector<png_color>& palette = {},
               const std::vector<uint8_t>& transparency = {}) {
  FILE* file = std::fopen(path.c_str(), "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, depth, colour_type, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  if (!transparency.empty())
    png_set_tRNS(png, info, transparency.data(), static_cast<int>(transparency.size()), nullptr);
  png_write_info(png, info);
  if (depth == 16) png_set_swap(png);  // rows hold little-endian 16-bit samples
  std::vector<png_bytep> pointers;
  for (const auto& row : rows) pointers.push_back(const_cast<png_bytep>(row.data()));
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

TEST_F(ImageIoTest, PngWithAlphaIsCompositedOverWhite) {
  // One row: red opaque, green half transparent, blue fully transparent.
  write_png(path("a.png"), 3, 1, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE,
            {{255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0}});
  const RgbImage image = read_image(path("a.png"));
  ASSERT_EQ(image.width, 3);
  ASSERT_EQ(image.height, 1);
  EXPECT_EQ(pixel(image, 0, 0), (Colour{255, 0, 0}));
  // green over white at 128/255: 255 * 127/255 = 127 for red and blue, 255 for green.
  EXPECT_LE(distance(pixel(image, 1, 0), Colour{127, 255, 127}), 1) << describe(pixel(image, 1, 0));
  EXPECT_EQ(pixel(image, 2, 0), (Colour{255, 255, 255}));
}

TEST_F(ImageIoTest, PalettePngWithTransparency) {
  // 2-bit palette indexes 0..3 packed in one byte: 00 01 10 11.
  write_png(path("p.png"), 4, 1, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, {{0x1b}},
            {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}}, {255, 255, 255, 0});
  const RgbImage image = read_image(path("p.png"));
  ASSERT_EQ(image.width, 4);
  EXPECT_EQ(pixel(image, 0, 0), (Colour{255, 0, 0}));
  EXPECT_EQ(pixel(image, 1, 0), (Colour{0, 255, 0}));
  EXPECT_EQ(pixel(image, 2, 0), (Colour{0, 0, 255}));
  EXPECT_EQ(pixel(image, 3, 0), (Colour{255, 255, 255}));  // index 3 is transparent
}

TEST_F(ImageIoTest, SixteenBitGreyPng) {
  // Little-endian samples 0, 65535, 0x1234 (= 18.1 of 255).
  write_png(path("g.png"), 3, 1, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE,
            {{0x00, 0x00, 0xff, 0xff, 0x34, 0x12}});
  const RgbImage image = read_image(path("g.png"));
  EXPECT_EQ(pixel(image, 0, 0), (Colour{0, 0, 0}));
  EXPECT_EQ(pixel(image, 1, 0), (Colour{255, 255, 255}));
  EXPECT_EQ(pixel(image, 2, 0), (Colour{18, 18, 18}));
}

TEST_F(ImageIoTest, InterlacedPngMatchesItsPixels) {
  const int width = 13, height = 11;
  std::vector<std::vector<uint8_t>> rows(height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) rows[y].push_back(static_cast<uint8_t>(x * 19 + y * 7 + c * 80));
  write_png(path("i.png"), width, height, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, rows);
  const RgbImage image = read_image(path("i.png"));
  ASSERT_EQ(image.width, width);
  ASSERT_EQ(image.height, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      ASSERT_EQ(pixel(image, x, y),
                (Colour{rows[y][x * 3], rows[y][x * 3 + 1], rows[y][x * 3 + 2]}))
          << x << ", " << y;
}

// Every pixel as CImg decodes the same file (CImg drives libjpeg with its defaults too).
void expect_same_as_cimg(const RgbImage& image, const Picture& reference) {
  ASSERT_EQ(image.width, reference.width());
  ASSERT_EQ(image.height, reference.height());
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const Colour expected = reference.spectrum() == 1
                                  ? Colour{reference(x, y), reference(x, y), reference(x, y)}
                                  : at(reference, x, y);
      ASSERT_EQ(pixel(image, x, y), expected) << x << ", " << y;
    }
}

TEST_F(ImageIoTest, ColourAndGreyJpeg) {
  test_picture(40, 30).save_jpeg(path("c.jpg").c_str(), 90);
  expect_same_as_cimg(read_image(path("c.jpg")), load_jpeg(path("c.jpg")));
  test_picture(40, 30).get_channel(0).save_jpeg(path("g.jpg").c_str(), 90);
  expect_same_as_cimg(read_image(path("g.jpg")), load_jpeg(path("g.jpg")));
}

// A JPEG written with libjpeg: `components` samples a pixel in `space`, `scans` (progressive)
// when not empty.
void write_jpeg(const std::string& path, int width, int height, int components, J_COLOR_SPACE space,
                const std::vector<uint8_t>& samples,
                const std::vector<jpeg_scan_info>& scans = {}) {
  jpeg_compress_struct c{};
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = width;
  c.image_height = height;
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  if (!scans.empty()) {
    c.scan_info = scans.data();
    c.num_scans = static_cast<int>(scans.size());
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(samples.data()) + c.next_scanline * width * components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  write(path, std::string(reinterpret_cast<char*>(buffer), size));
  std::free(buffer);
}

TEST_F(ImageIoTest, AdobeCmykJpeg) {
  // Photoshop's convention, which libjpeg's Adobe marker announces: stored = 255 - ink.
  // 8 x 8 blocks of red, green, blue (no black ink).
  const std::vector<std::array<uint8_t, 4>> inks = {
      {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}};
  std::vector<uint8_t> samples;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 24; ++x)
      samples.insert(samples.end(), inks[x / 8].begin(), inks[x / 8].end());
  write_jpeg(path("cmyk.jpg"), 24, 8, 4, JCS_CMYK, samples);
  const RgbImage image = read_image(path("cmyk.jpg"));
  EXPECT_LE(distance(pixel(image, 4, 4), Colour{255, 0, 0}), 8) << describe(pixel(image, 4, 4));
  EXPECT_LE(distance(pixel(image, 12, 4), Colour{0, 255, 0}), 8) << describe(pixel(image, 12, 4));
  EXPECT_LE(distance(pixel(image, 20, 4), Colour{0, 0, 255}), 8) << describe(pixel(image, 20, 4));
}

std::vector<uint8_t> rgb_samples(int width, int height) {
  const Picture picture = test_picture(width, height);
  std::vector<uint8_t> samples;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) samples.push_back(picture(x, y, 0, c));
  return samples;
}

// A valid progressive script with one scan a component, coefficient and bit: the DC of all
// components, then for each component and AC coefficient k a first scan at bit 10 and a
// refinement for each lower bit: 1 + 3 x 63 x 11 = 2080 scans.
std::vector<jpeg_scan_info> thousands_of_scans() {
  std::vector<jpeg_scan_info> scans;
  scans.push_back({3, {0, 1, 2, 0}, 0, 0, 0, 0});
  for (int component = 0; component < 3; ++component)
    for (int k = 1; k < 64; ++k) {
      scans.push_back({1, {component, 0, 0, 0}, k, k, 0, 10});
      for (int bit = 10; bit > 0; --bit)
        scans.push_back({1, {component, 0, 0, 0}, k, k, bit, bit - 1});
    }
  return scans;
}

TEST_F(ImageIoTest, ProgressiveJpegDecodesAndThousandsOfScansAreRefused) {
  const std::vector<uint8_t> samples = rgb_samples(16, 16);
  jpeg_compress_struct c{};  // libjpeg's own progressive script, ~10 scans
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);
  jpeg_create_compress(&c);
  c.in_color_space = JCS_RGB;
  c.input_components = 3;
  jpeg_set_defaults(&c);
  jpeg_simple_progression(&c);
  const std::vector<jpeg_scan_info> simple(c.scan_info, c.scan_info + c.num_scans);
  jpeg_destroy_compress(&c);
  write_jpeg(path("p.jpg"), 16, 16, 3, JCS_RGB, samples, simple);
  expect_same_as_cimg(read_image(path("p.jpg")), load_jpeg(path("p.jpg")));

  write_jpeg(path("scans.jpg"), 16, 16, 3, JCS_RGB, samples, thousands_of_scans());
  EXPECT_EQ(
      error_of([&] { read_image(path("scans.jpg")); }),
      "cannot read image '" + path("scans.jpg") + "': the JPEG file has more than 1000 scans");
}

// The offset of the first occurrence of `marker` in `bytes`.
size_t find(const std::string& bytes, const std::string& marker) {
  const size_t at = bytes.find(marker);
  EXPECT_NE(at, std::string::npos) << "no " << marker;
  return at;
}

void put_u32(std::string& bytes, size_t at, uint32_t value) {
  for (int k = 0; k < 4; ++k) bytes[at + k] = static_cast<char>(value >> (24 - 8 * k));
}

// A PNG whose header declares width x height (CRC recomputed, so only the size is wrong).
std::string png_declaring(const std::string& valid, uint32_t width, uint32_t height) {
  std::string bytes = valid;
  const size_t type = find(bytes, "IHDR");
  put_u32(bytes, type + 4, width);
  put_u32(bytes, type + 8, height);
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + type), 4 + 13);
  put_u32(bytes, type + 4 + 13, static_cast<uint32_t>(crc));
  return bytes;
}

// A JPEG whose SOF0 segment declares width x height.
std::string jpeg_declaring(const std::string& valid, int width, int height) {
  std::string bytes = valid;
  const size_t sof = find(bytes, "\xff\xc0");
  bytes[sof + 5] = static_cast<char>(height >> 8);
  bytes[sof + 6] = static_cast<char>(height & 0xff);
  bytes[sof + 7] = static_cast<char>(width >> 8);
  bytes[sof + 8] = static_cast<char>(width & 0xff);
  return bytes;
}

struct Hostile {
  std::string name;
  std::string bytes;
  std::string reason;  // after "cannot read image '<path>': "
};

TEST_F(ImageIoTest, HostilePicturesAreErrorsNamingTheFile) {
  test_picture(64, 48).save_png(path("ok.png").c_str());
  test_picture(64, 48).save_jpeg(path("ok.jpg").c_str(), 90);
  const std::string png = bytes_of(path("ok.png")), jpeg = bytes_of(path("ok.jpg"));
  std::string bad_data = png, bad_crc = png;
  const size_t idat = find(png, "IDAT");
  bad_data[idat + 20] ^= 0x55;  // inside the deflate stream
  const auto u8 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(png[at]));
  };
  const uint32_t idat_length =
      u8(idat - 4) << 24 | u8(idat - 3) << 16 | u8(idat - 2) << 8 | u8(idat - 1);
  bad_crc[idat + 4 + idat_length] ^= 0x55;  // the chunk's CRC: the data itself is intact
  std::string bad_precision = jpeg;
  bad_precision[find(jpeg, "\xff\xc0") + 4] = 9;  // SOF0: FF C0, length (2), precision
  const std::vector<Hostile> cases = {
      {"empty.png", "", "the file is empty; expected a PNG or JPEG image"},
      {"text.png", "hello, world",
       "it is not a PNG or JPEG image (it starts with bytes 68 65 6c 6c 6f 2c 20 77)"},
      {"cut.png", png.substr(0, png.size() / 2),
       "the PNG file is truncated (it ends before the image does)"},
      {"signature.png", png.substr(0, 8),
       "the PNG file is truncated (it ends before the image does)"},
      {"data.png", bad_data, "the PNG file is corrupt: IDAT: invalid bit length repeat"},
      {"crc.png", bad_crc, "the PNG file is corrupt: IDAT: CRC error"},
      {"wide.png", png_declaring(png, 20000, 10),
       "it is 20000 x 10 pixels; the limit is 16384 pixels a side and 67108864 pixels"},
      {"many.png", png_declaring(png, 10000, 10000),
       "it is 10000 x 10000 pixels; the limit is 16384 pixels a side and 67108864 pixels"},
      {"cut.jpg", jpeg.substr(0, jpeg.size() / 2),
       "the JPEG file is truncated (it ends before the image does)"},
      {"start.jpg", jpeg.substr(0, 3),
       "the JPEG file is truncated (it ends before the image does)"},
      {"precision.jpg", bad_precision,
       "the JPEG file is corrupt: Unsupported JPEG data precision 9"},
      {"huge.jpg", jpeg_declaring(jpeg, 60000, 60000),
       "it is 60000 x 60000 pixels; the limit is 16384 pixels a side and 67108864 pixels"},
  };
  for (const Hostile& h : cases) {
    write(path(h.name), h.bytes);
    EXPECT_EQ(error_of([&] { read_image(path(h.name)); }),
              "cannot read image '" + path(h.name) + "': " + h.reason)
        << h.name;
  }
}

TEST_F(ImageIoTest, MissingDirectoryAndTooLarge) {
  EXPECT_EQ(error_of([&] { read_image(path("none.png")); }),
            "cannot read image '" + path("none.png") + "': No such file or directory");
  EXPECT_EQ(error_of([&] { read_image(dir().string()); }),
            "cannot read image '" + dir().string() + "': it is a directory");
  test_picture(8, 8).save_png(path("ok.png").c_str());
  const std::string size = std::to_string(bytes_of(path("ok.png")).size());
  EXPECT_EQ(error_of([&] { read_image(path("ok.png"), 10); }),
            "cannot read image '" + path("ok.png") + "': it is " + size +
                " bytes, over the limit of 10 bytes (--max-input-bytes)");
}

}  // namespace
}  // namespace attnhook_test

// Test support for the suites that check pictures (render_*_test.cpp, and the overlay and
// image tests of attnhook_view_tests): PNG and JPEG files read back with CImg, through
// libpng and libjpeg rather than the decoders under test, and the colour of a pixel.
#pragma once

#include <CImg.h>

#include <array>
#include <string>

namespace attnhook_test {

using Picture = cimg_library::CImg<unsigned char>;  // planar: picture(x, y, 0, channel)

inline Picture load_png(const std::string& path) {
  Picture picture;
  picture.load_png(path.c_str());
  return picture;
}

inline Picture load_jpeg(const std::string& path) {
  Picture picture;
  picture.load_jpeg(path.c_str());
  return picture;
}

// The colour at (x, y) as {r, g, b}: `Colour` is std::array<int, 3> for arithmetic on
// colours, attnhook::detail::Rgb to compare with a colour map's table.
template <typename Colour>
Colour colour_at(const Picture& picture, int x, int y) {
  return {picture(x, y, 0, 0), picture(x, y, 0, 1), picture(x, y, 0, 2)};
}

// "(r, g, b)", for failure messages.
template <typename Channel>
std::string describe(const std::array<Channel, 3>& c) {
  return "(" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ", " + std::to_string(c[2]) +
         ")";
}

}  // namespace attnhook_test

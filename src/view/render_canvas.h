// Internal: the renderer's pixel buffer, text (CImg's built-in font) and atomic PNG output.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "colormap.h"
#include "layout.h"

namespace attnhook::detail {

// A rendered line of text: coverage 0..255, row-major, no colour yet.
struct Text {
  int columns = 0;
  int rows = 0;
  std::vector<uint8_t> coverage;
  int width() const { return columns; }
  int height() const { return rows; }
};

// UTF-8 to the Latin-1 that CImg's font draws. Word-start marks 'Ġ' (GPT-2) and '▁'
// (SentencePiece) become '_', typographic quotes, dashes and '…' their ASCII forms, any
// other character and control characters '?'.
std::string to_latin1(const std::string& utf8);
// A token as a label: newline/tab/return written as \n \t \r, Latin-1, at most 16 characters.
std::string printable_label(const std::string& token);
// One line of Latin-1 text in CImg's font (13: crisp 1-bit, larger: anti-aliased).
Text render_text(const std::string& latin1, int font_height);
// Turned a quarter turn counterclockwise: reads from bottom to top.
Text rotate_counterclockwise(const Text& text);

// The renderer's colours for text and frames.
constexpr Rgb kInk{0, 0, 0};
constexpr Rgb kLabelInk{70, 70, 70};
constexpr Rgb kFrame{150, 150, 150};

// 8-bit RGB, interleaved rows, white to start with. Drawing outside is clipped.
class Canvas {
 public:
  Canvas(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }
  uint8_t* pixel(int x, int y) { return rgb_.data() + (static_cast<size_t>(y) * width_ + x) * 3; }
  const uint8_t* data() const { return rgb_.data(); }
  void fill(const Rect& area, const Rgb& colour);
  void blend(const Text& text, int x, int y, const Rgb& colour);
  // A one-pixel frame just outside `inside`.
  void frame(const Rgb& colour, const Rect& inside);

 private:
  int width_;
  int height_;
  std::vector<uint8_t> rgb_;
};

// The centred title (if any) and the note line under it, from `top` down.
void draw_header(Canvas& canvas, const Text& title, const Text& note, int top);

// A vertical colour bar filling `bar` (top = the map's last colour), framed, with a tick
// and its label at each of `ticks` on the scale [vmin, vmax]. Returns the x at which the
// tick labels start.
int draw_colorbar(Canvas& canvas, const Rect& bar, const std::array<Rgb, 256>& table,
                  const std::vector<ScaleTick>& ticks, const std::vector<Text>& tick_labels,
                  double vmin, double vmax);

// PNG row filter. kUp suits pictures whose pixel rows repeat (cells several pixels tall:
// the repeats become zeros); kNone suits pictures that change colour nearly every pixel,
// where colour-map triples recur along a row and deflate matches them as they are.
enum class PngFilter { kUp, kNone };

// Writes `canvas` as a PNG to a temporary file next to `path`, then renames it over
// `path`; on any failure removes the temporary file and throws attnhook::Error naming path.
void save_png_atomically(const Canvas& canvas, const std::string& path, int compression_level,
                         PngFilter filter = PngFilter::kUp);

}  // namespace attnhook::detail

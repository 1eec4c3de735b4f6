// Internal: the renderer's pixel buffer, text (CImg's built-in font) and atomic PNG output.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
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

// The frame every picture (grid, model view, overlay) puts around its panels: a margin,
// the title and note lines above, the colour bar to the right.
constexpr int kMargin = 16;
constexpr int kFontHeight = 13;  // CImg's crisp 1-bit font
constexpr int kTitleFontHeight = 24;
constexpr int kMinColorbarHeight = 96;

// UTF-8 text as one line in CImg's font (to_latin1, then render_text).
Text text_line(const std::string& utf8, int font_height = kFontHeight);
// The widest of `texts`, in pixels.
int widest(const std::vector<Text>& texts);

// What a picture says when a side of it would pass 32768 pixels:
// "the <picture> would be <n> pixels <wide|tall> (limit 32768); lower <remedy>".
struct SideLimit {
  const char* picture;
  const char* remedy;
  // An attnhook::Error when `pixels` is over the limit.
  void check(const char* side, int64_t pixels) const;
};

// The y below the note line that draw_header(canvas, title, note, kMargin) draws.
int header_bottom(const Text& title, const Text& note);
// The centred title (if any) and the note line under it, from `top` down.
void draw_header(Canvas& canvas, const Text& title, const Text& note, int top);

// The colour bar: where it is (top pixel row = vmax, bottom row = vmin), its scale, ticks
// and their labels, and a caption beside the labels reading upwards (empty: none).
struct Colorbar {
  Rect bar;
  double vmin = 0;
  double vmax = 1;
  std::vector<ScaleTick> ticks;
  std::vector<Text> tick_labels;
  Text caption;
};

// How tall the colour bar beside panels `panels_height` pixels tall is when it has a
// caption: within 96..480 pixels, and 16 taller than the caption at least.
int colorbar_height(int64_t panels_height, const Text& caption);
// The colour bar a gap right of the panels (their right edge at `panels_right`), from
// `top`, `height` pixels tall, on the scale [vmin, vmax]: a tick every 32 pixels or so.
Colorbar make_colorbar(int64_t panels_right, int top, int height, double vmin, double vmax,
                       Text caption = {});

// The picture's width and height: the panels (down to `panels_bottom`), the colour bar with
// its labels and caption, the title and the note, inside the margin. `limit` checks both.
std::pair<int, int> frame_size(int64_t panels_bottom, const Colorbar& colorbar, const Text& title,
                               const Text& note, const SideLimit& limit);

// The colour bar filling its place (top = the map's last colour), framed, with a tick and
// its label at each tick, and the caption beside the labels.
void draw_colorbar(Canvas& canvas, const Colorbar& colorbar, const std::array<Rgb, 256>& table);

// PNG row filter. kUp suits pictures whose pixel rows repeat (cells several pixels tall:
// the repeats become zeros); kNone suits pictures that change colour nearly every pixel,
// where colour-map triples recur along a row and deflate matches them as they are.
enum class PngFilter { kUp, kNone };

// Writes `canvas` as a PNG to a temporary file next to `path`, then renames it over
// `path`; on any failure removes the temporary file and throws attnhook::Error naming path.
void save_png_atomically(const Canvas& canvas, const std::string& path, int compression_level,
                         PngFilter filter = PngFilter::kUp);

}  // namespace attnhook::detail

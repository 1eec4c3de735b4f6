#include "render_canvas.h"

#include <CImg.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "atomic_file.h"
#include "attnhook/error.h"

namespace attnhook::detail {

namespace {

constexpr int kColorbarGap = 24;  // between the panels and the colour bar
constexpr int kColorbarWidth = 16;
constexpr int kMaxColorbarHeight = 480;
constexpr int kTickLength = 4;  // the colour bar's ticks, right of its frame
constexpr int kCaptionGap = 8;  // between the tick labels and the caption
constexpr int64_t kMaxSide = 32768;

// Where the colour bar's tick labels start: past its frame, the tick and 2 pixels.
int tick_labels_x(const Rect& bar) { return bar.x + bar.width + 1 + kTickLength + 2; }

// Common characters outside Latin-1 that tokenizers and titles produce.
const char* ascii_stand_in(uint32_t code) {
  switch (code) {
    case 0x0120:  // 'Ġ', GPT-2 byte-level BPE: the token starts a word
    case 0x2581:  // '▁', SentencePiece: the token starts a word
      return "_";
    case 0x2018:
    case 0x2019:
      return "'";
    case 0x201C:
    case 0x201D:
      return "\"";
    case 0x2013:
    case 0x2014:
      return "-";
    case 0x2026:
      return "...";
    default:
      return "?";
  }
}

}  // namespace

std::string to_latin1(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    const int length = lead < 0x80         ? 1
                       : (lead >> 5) == 6  ? 2
                       : (lead >> 4) == 14 ? 3
                       : (lead >> 3) == 30 ? 4
                                           : 0;
    uint32_t code = length == 1   ? lead
                    : length == 2 ? lead & 0x1F
                    : length == 3 ? lead & 0x0F
                                  : lead & 0x07;
    bool valid = length > 0 && i + length <= utf8.size();
    for (int k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      valid = (next >> 6) == 2;
      code = code << 6 | (next & 0x3F);
    }
    i += valid ? length : 1;
    const bool drawable = valid && code < 0x100 && code >= 0x20 && !(code >= 0x7F && code < 0xA0);
    if (drawable) {
      out += static_cast<char>(code);
    } else if (valid) {
      out += ascii_stand_in(code);
    } else {
      out += '?';
    }
  }
  return out;
}

std::string printable_label(const std::string& token) {
  constexpr size_t kMaxLabelChars = 16;
  std::string escaped;
  for (char c : token) {
    if (c == '\n')
      escaped += "\\n";
    else if (c == '\t')
      escaped += "\\t";
    else if (c == '\r')
      escaped += "\\r";
    else
      escaped += c;
  }
  std::string label = to_latin1(escaped);
  if (label.size() > kMaxLabelChars) label = label.substr(0, kMaxLabelChars - 2) + "..";
  return label;
}

Text render_text(const std::string& latin1, int font_height) {
  Text text;
  if (latin1.empty()) return text;
  // Drawn into an empty image, CImg sizes the image to the text; "%s" keeps '%' literal.
  cimg_library::CImg<unsigned char> image;
  const unsigned char white = 255;
  image.draw_text(0, 0, "%s", &white, 0, 1.0f, static_cast<unsigned>(font_height), latin1.c_str());
  text.columns = image.width();
  text.rows = image.height();
  text.coverage.assign(image.data(), image.data() + image.size());
  return text;
}

Text rotate_counterclockwise(const Text& text) {
  Text turned;
  turned.columns = text.rows;
  turned.rows = text.columns;
  turned.coverage.resize(text.coverage.size());
  for (int y = 0; y < text.rows; ++y)
    for (int x = 0; x < text.columns; ++x)
      turned.coverage[static_cast<size_t>(text.columns - 1 - x) * turned.columns + y] =
          text.coverage[static_cast<size_t>(y) * text.columns + x];
  return turned;
}

Canvas::Canvas(int width, int height)
    : width_(width), height_(height), rgb_(static_cast<size_t>(width) * height * 3, 255) {}

void Canvas::fill(const Rect& area, const Rgb& colour) {
  const int x0 = std::max(area.x, 0), x1 = std::min(area.x + area.width, width_);
  const int y0 = std::max(area.y, 0), y1 = std::min(area.y + area.height, height_);
  for (int y = y0; y < y1; ++y)
    for (uint8_t* p = pixel(x0, y); p < pixel(x1, y); p += 3) std::memcpy(p, colour.data(), 3);
}

void Canvas::blend(const Text& text, int x, int y, const Rgb& colour) {
  const int x0 = std::max(x, 0), x1 = std::min(x + text.width(), width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + text.height(), height_);
  for (int py = y0; py < y1; ++py) {
    const uint8_t* cover = text.coverage.data() + static_cast<size_t>(py - y) * text.width() - x;
    for (int px = x0; px < x1; ++px) {
      const int alpha = cover[px];
      if (!alpha) continue;
      uint8_t* p = pixel(px, py);
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>((p[c] * (255 - alpha) + colour[c] * alpha + 127) / 255);
    }
  }
}

void Canvas::frame(const Rgb& colour, const Rect& r) {
  fill({r.x - 1, r.y - 1, r.width + 2, 1}, colour);
  fill({r.x - 1, r.y + r.height, r.width + 2, 1}, colour);
  fill({r.x - 1, r.y, 1, r.height}, colour);
  fill({r.x + r.width, r.y, 1, r.height}, colour);
}

Text text_line(const std::string& utf8, int font_height) {
  return render_text(to_latin1(utf8), font_height);
}

int widest(const std::vector<Text>& texts) {
  int most = 0;
  for (const Text& t : texts) most = std::max(most, t.width());
  return most;
}

void SideLimit::check(const char* side, int64_t pixels) const {
  if (pixels > kMaxSide)
    throw Error(fmt::format("the {} would be {} pixels {} (limit {}); lower {}", picture, pixels,
                            side, kMaxSide, remedy));
}

int header_bottom(const Text& title, const Text& note) {
  return kMargin + (title.height() ? title.height() + 4 : 0) + note.height();
}

void draw_header(Canvas& canvas, const Text& title, const Text& note, int top) {
  if (title.height()) {
    canvas.blend(title, (canvas.width() - title.width()) / 2, top, kInk);
    top += title.height() + 4;
  }
  canvas.blend(note, (canvas.width() - note.width()) / 2, top, kLabelInk);
}

int colorbar_height(int64_t panels_height, const Text& caption) {
  return std::max(
      static_cast<int>(std::clamp<int64_t>(panels_height, kMinColorbarHeight, kMaxColorbarHeight)),
      caption.height() + 16);
}

Colorbar make_colorbar(int64_t panels_right, int top, int height, double vmin, double vmax,
                       Text caption) {
  Colorbar c;
  c.bar = {static_cast<int>(panels_right + kColorbarGap), top, kColorbarWidth, height};
  c.vmin = vmin;
  c.vmax = vmax;
  c.ticks = scale_ticks(vmin, vmax, std::clamp(height / 32, 2, 11));
  for (const auto& tick : c.ticks) c.tick_labels.push_back(text_line(tick.label));
  c.caption = std::move(caption);
  return c;
}

std::pair<int, int> frame_size(int64_t panels_bottom, const Colorbar& colorbar, const Text& title,
                               const Text& note, const SideLimit& limit) {
  const Rect& bar = colorbar.bar;
  int64_t right = int64_t{tick_labels_x(bar)} + widest(colorbar.tick_labels);
  if (colorbar.caption.width()) right += kCaptionGap + colorbar.caption.width();
  const int64_t width =
      std::max<int64_t>({right + kMargin, title.width() + 2 * kMargin, note.width() + 2 * kMargin});
  const int64_t height =
      std::max<int64_t>(panels_bottom, bar.y + bar.height + kFontHeight / 2) + kMargin;
  limit.check("wide", width);
  limit.check("tall", height);
  return {static_cast<int>(width), static_cast<int>(height)};
}

void draw_colorbar(Canvas& canvas, const Colorbar& colorbar, const std::array<Rgb, 256>& table) {
  const Rect& bar = colorbar.bar;
  for (int r = 0; r < bar.height; ++r) {
    const double t = bar.height > 1 ? 1.0 - static_cast<double>(r) / (bar.height - 1) : 1.0;
    canvas.fill({bar.x, bar.y + r, bar.width, 1}, table[static_cast<int>(t * 255 + 0.5)]);
  }
  canvas.frame(kFrame, bar);
  const int label_x = tick_labels_x(bar);
  for (size_t k = 0; k < colorbar.ticks.size(); ++k) {
    const double t = (colorbar.ticks[k].value - colorbar.vmin) / (colorbar.vmax - colorbar.vmin);
    const int tick_y = bar.y + static_cast<int>(std::lround((1 - t) * (bar.height - 1)));
    const Text& label = colorbar.tick_labels[k];
    canvas.fill({bar.x + bar.width + 1, tick_y, kTickLength, 1}, kFrame);
    canvas.blend(label, label_x, tick_y - label.height() / 2, kLabelInk);
  }
  const Text& caption = colorbar.caption;
  if (caption.width()) {
    canvas.blend(caption, label_x + widest(colorbar.tick_labels) + kCaptionGap,
                 bar.y + (bar.height - caption.height()) / 2, kLabelInk);
  }
}

namespace {

struct PngFailure {
  char message[256];
  int error;  // errno of a failed write: "No space left on device", not libpng's "Write Error"
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* failure = static_cast<PngFailure*>(png_get_error_ptr(png));
  std::snprintf(failure->message, sizeof failure->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void on_png_write(png_structp png, png_bytep data, size_t length) {
  auto* file = static_cast<FILE*>(png_get_io_ptr(png));
  if (std::fwrite(data, 1, length, file) != length) {
    static_cast<PngFailure*>(png_get_error_ptr(png))->error = errno ? errno : EIO;
    png_error(png, "write failed");
  }
}

// C-style on purpose: libpng reports errors by longjmp, which must not skip destructors,
// so nothing here has one. Returns false with failure->message set.
bool write_png(FILE* file, const Canvas& canvas, int compression_level, PngFilter filter,
               PngFailure* failure) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, failure, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    std::snprintf(failure->message, sizeof failure->message, "libpng: out of memory");
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, file, on_png_write, nullptr);
  png_set_compression_level(png, compression_level);
  png_set_filter(png, PNG_FILTER_TYPE_BASE,
                 filter == PngFilter::kUp ? PNG_FILTER_UP : PNG_FILTER_NONE);
  png_set_IHDR(png, info, canvas.width(), canvas.height(), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(canvas.width()) * 3;
  for (int y = 0; y < canvas.height(); ++y) png_write_row(png, canvas.data() + y * stride);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

void save_png_atomically(const Canvas& canvas, const std::string& path, int compression_level,
                         PngFilter filter) {
  write_atomically(path, "attention image", [&](std::FILE* file, std::string& error) {
    PngFailure failure{};
    const bool written = write_png(file, canvas, compression_level, filter, &failure);
    if (!written) error = failure.error ? std::strerror(failure.error) : failure.message;
    return written;
  });
}

}  // namespace attnhook::detail

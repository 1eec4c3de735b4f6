// JPEG input (libjpeg, Debian's libjpeg-turbo), from bytes in memory. libjpeg's default
// error handler prints and calls exit(); ours records the reason and longjmps back to
// decode_jpeg's frame. No object with a destructor is created between setjmp and the last
// libjpeg call.
#include <fmt/format.h>

#include <csetjmp>
#include <cstdio>

// jpeglib.h uses FILE and size_t without including their headers; jerror.h comes after it,
// because jpeglib.h's jconfig.h says which optional messages (arithmetic coding) exist.
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "image_io.h"

namespace attnhook::detail {
namespace {

struct JpegFailure {
  jpeg_error_mgr manager;  // first: libjpeg hands handlers &manager as cinfo->err
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
  bool too_many_scans;
};

[[noreturn]] void fail(j_common_ptr cinfo) {
  auto* failure = reinterpret_cast<JpegFailure*>(cinfo->err);
  std::longjmp(failure->jump, 1);
}

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  (*cinfo->err->format_message)(cinfo, reinterpret_cast<JpegFailure*>(cinfo->err)->message);
  fail(cinfo);
}

// libjpeg decodes damaged data with a warning and goes on (grey blocks, a fake end of
// file); a damaged picture is not what the user meant to show, so those warnings are
// errors. Others (an unknown JFIF revision, bytes between markers) are not.
void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  auto* failure = reinterpret_cast<JpegFailure*>(cinfo->err);
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
      failure->truncated = true;
      fail(cinfo);
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      on_jpeg_error(cinfo);
    default:
      return;
  }
}

struct JpegProgress {
  jpeg_progress_mgr manager;  // first: libjpeg hands the monitor &manager as cinfo->progress
  JpegFailure* failure;
};

// Each scan of a progressive JPEG costs a pass over the whole image: a small file with
// thousands of tiny scans would take minutes.
void on_jpeg_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number <= kMaxJpegScans) return;
  auto* progress = reinterpret_cast<JpegProgress*>(cinfo->progress);
  progress->failure->too_many_scans = true;
  fail(cinfo);
}

// Adobe's CMYK JPEGs store inverted ink (255 = none); others store ink as is.
void cmyk_to_rgb(const JSAMPLE* cmyk, uint8_t* rgb, int width, bool inverted) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const int k = inverted ? cmyk[3] : 255 - cmyk[3];
    for (int c = 0; c < 3; ++c) {
      const int ink = inverted ? cmyk[c] : 255 - cmyk[c];
      rgb[c] = static_cast<uint8_t>((ink * k + 127) / 255);
    }
  }
}

}  // namespace

bool decode_jpeg(std::string_view bytes, RgbImage* image, std::string* reason) {
  jpeg_decompress_struct cinfo{};
  JpegFailure failure{};
  JpegProgress progress{};
  cinfo.err = jpeg_std_error(&failure.manager);
  failure.manager.error_exit = on_jpeg_error;
  failure.manager.emit_message = on_jpeg_message;
  progress.manager.progress_monitor = on_jpeg_progress;
  progress.failure = &failure;
  if (setjmp(failure.jump)) {
    jpeg_destroy_decompress(&cinfo);
    *reason = failure.truncated ? "the JPEG file is truncated (it ends before the image does)"
              : failure.too_many_scans
                  ? fmt::format("the JPEG file has more than {} scans", kMaxJpegScans)
                  : fmt::format("the JPEG file is corrupt: {}", failure.message);
    image->rgb.clear();
    image->rgb.shrink_to_fit();
    return false;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &progress.manager;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (!image_size_ok(cinfo.image_width, cinfo.image_height)) {
    jpeg_destroy_decompress(&cinfo);
    *reason = image_size_problem(cinfo.image_width, cinfo.image_height);  // no longjmp after
    return false;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg converts grey and YCbCr
  jpeg_start_decompress(&cinfo);
  const int width = static_cast<int>(cinfo.output_width);
  if (cinfo.output_components != (cmyk ? 4 : 3))
    ERREXIT1(&cinfo, JERR_BAD_J_COLORSPACE, cinfo.jpeg_color_space);
  // Freed by jpeg_destroy_decompress, so a longjmp cannot leak it.
  JSAMPARRAY cmyk_row = cmyk ? (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo),
                                                          JPOOL_IMAGE, width * 4, 1)
                             : nullptr;
  image->width = width;
  image->height = static_cast<int>(cinfo.output_height);
  image->rgb.resize(static_cast<size_t>(width) * image->height * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* out = image->rgb.data() + static_cast<size_t>(cinfo.output_scanline) * width * 3;
    JSAMPROW row = cmyk ? cmyk_row[0] : out;
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) cmyk_to_rgb(row, out, width, cinfo.saw_Adobe_marker);
  }
  // No jpeg_finish_decompress: every pixel is in, and a file that lacks only its final
  // end-of-image marker is whole enough to show.
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace attnhook::detail

// extract --image, the executable's half: the picture is read and resized here, so that a
// missing or broken image fails before LibTorch loads; the plugin normalises the pixels
// (extract/image_tensor.cpp).
#include "attnhook/error.h"
#include "image_io.h"
#include "inputs.h"

namespace attnhook::cli {

ModelInput from_image(const ExtractArgs& args) {
  if (args.image_size < 1) throw Error("--image-size must be at least 1");
  const int size = static_cast<int>(args.image_size);
  detail::RgbImage picture = detail::resized(detail::read_image(args.image), size, size);
  ModelInput input;
  input.where = "--image";
  input.image.path = args.image;
  input.image.size = args.image_size;
  input.image.rgb = std::move(picture.rgb);
  return input;
}

}  // namespace attnhook::cli

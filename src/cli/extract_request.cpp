#include "extract_request.h"

#include <nlohmann/json.hpp>

#include "attnhook/error.h"

namespace attnhook::cli {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    ExtractArgs, model, text, text_pair, tgt_text, tokenizer, add_bos, add_eos, max_length, padding,
    truncation, ids, mask, type_ids, tgt_ids, tgt_mask, input_tensors, image, image_size,
    image_mean, image_std, inputs_file, tokens, tokens_file, tgt_tokens, forward_args, labels,
    no_outputs, layers, device, output, schema, patch_grid, prefix_tokens)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Sequence, ids, mask, type_ids, tokens, from_text)

// The pixels as one CBOR byte string, not an array of 150528 numbers.
void to_json(nlohmann::json& json, const ImageInput& image) {
  json = {{"path", image.path}, {"size", image.size}, {"rgb", nlohmann::json::binary(image.rgb)}};
}
void from_json(const nlohmann::json& json, ImageInput& image) {
  json.at("path").get_to(image.path);
  json.at("size").get_to(image.size);
  image.rgb = json.at("rgb").get_binary();
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ModelInput, where, text, src, tgt, tensor_files,
                                                tensor_tokens, image)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ExtractRequest, args, inputs)

std::vector<uint8_t> request_to_cbor(const ExtractRequest& request) {
  return nlohmann::json::to_cbor(request);
}

ExtractRequest request_from_cbor(const uint8_t* bytes, size_t size) {
  try {
    return nlohmann::json::from_cbor(bytes, bytes + size).get<ExtractRequest>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("extract: the request from the attnhook executable does not parse: ") +
                e.what());
  }
}

}  // namespace attnhook::cli

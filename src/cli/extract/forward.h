// Internal (extract plugin): how `attnhook extract` calls the model's forward() — which
// input goes to which parameter — and what it says when the call fails.
//
// Token inputs (--text, --ids, JSON lines) offer these kinds, each [1, len]:
//   ids           the token ids (int64)
//   mask          the attention mask (int64: 1 token, 0 padding), HF's attention_mask
//   pad_mask      the padding mask (bool: true at padding), torch.nn's key_padding_mask
//   type_ids      the token type (segment) ids (int64)
//   tgt_ids, tgt_mask, tgt_pad_mask   the same for the decoder input (--tgt-ids/--tgt-text)
// --forward-args auto (the default) passes them by the names of forward()'s parameters:
//   the first parameter                         <- ids
//   attention_mask                              <- mask
//   token_type_ids                              <- type_ids
//   *padding_mask, *pad_mask (src_key_padding_mask, key_padding_mask)
//                                               <- pad_mask (tgt_pad_mask for names that
//                                                  start with tgt or decoder)
//   decoder_input_ids, tgt, tgt_ids, target_ids <- tgt_ids
//   decoder_attention_mask, tgt_attention_mask  <- tgt_mask
// Other parameters keep their defaults; one without a default is an error that asks for
// --forward-args. --forward-args ids,mask,... passes the listed kinds positionally.
// --input-tensor files are passed positionally, one per parameter, as given.
#pragma once

#include <torch/script.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "extract_request.h"

namespace attnhook::cli {

// One call of forward(): its arguments and, for messages, what each one is.
struct ForwardCall {
  std::vector<c10::IValue> args;
  std::unordered_map<std::string, c10::IValue> kwargs;
  std::vector<std::string> described;  // "input_ids = ids [1, 12] Long", in call order
  std::vector<std::string> parameters;  // forward()'s parameter each argument went to
};

class ForwardPlan {
 public:
  // `forward_args`: "auto" or a comma-separated list of kinds. Errors (an unknown kind, a
  // count forward() does not take, a required parameter nobody fills) name the parameter.
  ForwardPlan(const torch::jit::Module& model, const std::string& forward_args);

  // The arguments for a token input, on `device`.
  ForwardCall call(const ModelInput& input, const c10::Device& device) const;
  // The arguments for --input-tensor files (already loaded), on `device`.
  ForwardCall call(const std::vector<at::Tensor>& tensors, const c10::Device& device) const;

  // "forward(input_ids, attention_mask=None)" for messages.
  std::string signature() const { return signature_; }
  // The parameter names of forward() (self excluded).
  const std::vector<std::string>& parameter_names() const { return names_; }

 private:
  enum class Kind { kIds, kMask, kPadMask, kTypeIds, kTgtIds, kTgtMask, kTgtPadMask };
  struct Bound {
    std::string parameter;  // "" = positional
    Kind kind;
  };
  static std::string kind_name(Kind kind);

  std::vector<std::string> names_;
  std::vector<bool> required_;   // per parameter: no default value
  std::vector<bool> is_tensor_;  // per parameter: Tensor or Optional[Tensor]
  std::vector<std::string> types_;
  std::string signature_;
  std::vector<Bound> bound_;  // token inputs: what goes where, in call order
};

// The model failed on `input` with LibTorch's `reason`: an attnhook::Error message that
// names the input, the arguments and, for text longer than the model's learned
// positions, the fix (--truncation).
std::string explain_failure(const torch::jit::Module& model, const std::string& model_path, const ModelInput& input,
                            const ForwardCall& call, const std::string& signature, const std::string& reason);

}  // namespace attnhook::cli

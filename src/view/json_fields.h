// Internal: the typed fields of attn.json, read with a JsonScanner over text whose syntax
// is being (or has been) checked: lists of strings and integers, shapes, numbers as
// float32, and the model's outputs and prediction. Errors are attnhook::Error
// "attention file '<path>': <what> (line L, column C)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnhook/formats.h"
#include "float_array.h"
#include "json_scanner.h"
#include "read_limits.h"

namespace attnhook::detail {

class JsonFields {
 public:
  JsonFields(JsonScanner& json, std::string path, const ReadLimits& limits)
      : json_(json), path_(std::move(path)), limits_(limits) {}

  [[noreturn]] void fail(const std::string& what, size_t at) const;

  // null reads as an empty list (the writers of version 1 never wrote null; be lenient).
  std::vector<std::string> strings(const std::string& where);
  // Integers within int64; `where` names the field.
  std::vector<int64_t> integers(const std::string& where);
  // One value, consumed: an integer within int64, or none (another number or value).
  std::optional<int64_t> integer();
  // Non-negative integers; `rank` 0 = any rank, else exactly that many. `expected` is how
  // the message describes a good shape ("[batch, heads, tgt_len, src_len]").
  std::vector<int64_t> shape(const std::string& where, size_t rank, const std::string& expected);
  // A number (or null: NaN) as float32; beyond float32's range is an error naming
  // `where`[`index`], below it is 0.
  float number(const std::string& where, int64_t index);
  // {"name", "shape", "values"}: one output tensor of the model.
  NamedOutput<FloatArray> output(const std::string& where);
  // {"output", "shape", "class_ids", "class_names"?, "probabilities"?}
  Prediction prediction(const std::string& where);

 private:
  std::vector<float> numbers(const std::string& where);

  JsonScanner& json_;
  std::string path_;
  ReadLimits limits_;
};

}  // namespace attnhook::detail

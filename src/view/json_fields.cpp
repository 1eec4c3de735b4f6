#include "json_fields.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "attnhook/error.h"
#include "utf8.h"

namespace attnhook::detail {

using Kind = JsonScanner::Kind;

void JsonFields::fail(const std::string& what, size_t at) const {
  throw Error(fmt::format("attention file '{}': {} ({})", printable(path_, 4096), what,
                          json_.location(at)));
}

std::vector<std::string> JsonFields::strings(const std::string& where) {
  std::vector<std::string> out;
  if (json_.read_null()) return out;
  if (json_.next_kind() != Kind::kArray)
    fail(where + " must be an array of strings", json_.position());
  json_.begin_array();
  while (json_.next_element()) {
    const Kind kind = json_.next_kind();
    // No JSON value starts there at all: the file is not JSON, whatever was expected.
    if (kind == Kind::kInvalid) json_.syntax_error("expected a value", json_.position());
    if (kind != Kind::kString)
      fail(fmt::format("{}[{}] must be a string", where, out.size()), json_.position());
    out.push_back(json_.read_string());
  }
  return out;
}

std::vector<int64_t> JsonFields::integers(const std::string& where) {
  std::vector<int64_t> out;
  if (json_.read_null()) return out;
  if (json_.next_kind() != Kind::kArray)
    fail(where + " must be an array of integers", json_.position());
  json_.begin_array();
  while (json_.next_element()) {
    json_.next_kind();  // white space skipped: `at` is the value's first byte
    const size_t at = json_.position();
    const std::optional<int64_t> value = integer();
    if (!value) fail(fmt::format("{}[{}] must be an integer", where, out.size()), at);
    out.push_back(*value);
  }
  return out;
}

std::optional<int64_t> JsonFields::integer() {
  if (json_.next_kind() != Kind::kNumber) {
    json_.skip_value();
    return std::nullopt;
  }
  const std::string_view text = json_.read_number_text();
  int64_t parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error == std::errc() && end == text.data() + text.size()) return parsed;
  return std::nullopt;
}

std::vector<int64_t> JsonFields::shape(const std::string& where, size_t rank,
                                       const std::string& expected) {
  const Kind kind = json_.next_kind();  // white space skipped: `at` is the value's first byte
  const size_t at = json_.position();
  const std::string wrong = fmt::format("{}.shape must be {}", where, expected);
  if (kind != Kind::kArray) fail(wrong, at);
  std::vector<int64_t> shape;
  json_.begin_array();
  while (json_.next_element()) {
    const Kind size_kind = json_.next_kind();
    const size_t size_at = json_.position();
    int64_t size = -1;
    if (size_kind == Kind::kNumber) {
      const std::string_view text = json_.read_number_text();
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), size);
      if (error != std::errc() || end != text.data() + text.size())
        size = -1;  // 1.5, 1e3, -1, 2^63
    } else {
      json_.skip_value();
    }
    if (size < 0) fail(where + ".shape must hold non-negative integers", size_at);
    if (shape.size() == 64) fail(wrong + " (at most 64 dimensions)", size_at);
    shape.push_back(size);
  }
  if (rank != 0 && shape.size() != rank) fail(wrong, at);
  return shape;
}

// Numbers beyond float32's range are an error, not infinity: an attention weight of 1e39
// is a broken file. Numbers too small for float32 become 0.
float JsonFields::number(const std::string& where, int64_t index) {
  if (json_.read_null()) return std::numeric_limits<float>::quiet_NaN();
  const size_t at = json_.position();
  const std::string_view text = json_.read_number_text();
  float value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc() && end == text.data() + text.size()) return value;
  // Out of float32's range (the grammar was checked): too large, or too small.
  double wide = 0;
  const auto [wide_end, wide_error] = std::from_chars(text.data(), text.data() + text.size(), wide);
  bool tiny;
  if (wide_error == std::errc()) {
    tiny = std::fabs(wide) < 1;
  } else {
    // Beyond double too: the decimal exponent of the first significant digit decides.
    int64_t exponent = 0, integer_digits = 0, leading_zeros = 0;
    size_t k = text[0] == '-';
    for (; k < text.size() && text[k] >= '0' && text[k] <= '9'; ++k)
      integer_digits += integer_digits || text[k] != '0';
    if (k < text.size() && text[k] == '.') {
      for (++k; k < text.size() && text[k] == '0'; ++k) ++leading_zeros;
      while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
    }
    if (k < text.size()) {  // e[+-]digits, saturated
      const bool negative = text[k + 1] == '-';
      for (k += 1 + (text[k + 1] == '-' || text[k + 1] == '+'); k < text.size(); ++k)
        exponent = std::min<int64_t>(exponent * 10 + (text[k] - '0'), int64_t{1} << 40);
      if (negative) exponent = -exponent;
    }
    tiny = (integer_digits > 0 ? integer_digits - 1 : -leading_zeros - 1) + exponent < 0;
  }
  if (tiny) return text[0] == '-' ? -0.0f : static_cast<float>(wide);
  fail(fmt::format("{}[{}] = {} is out of float32's range", where, index, printable(text, 40)), at);
}

std::vector<float> JsonFields::numbers(const std::string& where) {
  if (json_.next_kind() != Kind::kArray)
    fail(where + " must be an array of numbers", json_.position());
  std::vector<float> out;
  json_.begin_array();
  for (int64_t i = 0; json_.next_element(); ++i) {
    const Kind kind = json_.next_kind();
    if (kind != Kind::kNumber && kind != Kind::kNull)
      fail(fmt::format("{}[{}] must be a number", where, i), json_.position());
    if (static_cast<int64_t>(out.size()) == limits_.max_array_elements()) {
      fail(fmt::format("{} has more than {} numbers (the limit of one array)", where,
                       limits_.max_array_elements()),
           json_.position());
    }
    out.push_back(number(where, i));
  }
  return out;
}

NamedOutput<FloatArray> JsonFields::output(const std::string& where) {
  const Kind kind = json_.next_kind();
  const size_t at = json_.position();
  if (kind != Kind::kObject) fail(where + " must be an object {name, shape, values}", at);
  std::optional<std::string> name;
  std::optional<std::vector<int64_t>> dims;
  std::optional<std::vector<float>> values;
  size_t values_at = at;
  json_.begin_object();
  for (std::string key; json_.next_member(key);) {
    json_.next_kind();
    if (key == "name") {
      if (json_.next_kind() != Kind::kString)
        fail(where + ".name must be a string", json_.position());
      name = json_.read_string();
    } else if (key == "shape") {
      dims = shape(where, 0, "a list of sizes");
    } else if (key == "values") {
      values_at = json_.position();
      values = numbers(where + ".values");
    } else {
      json_.skip_value();
    }
  }
  if (!name) fail(where + ".name must be a string", at);
  if (!dims) fail(where + ".shape must be a list of sizes", at);
  if (!values) fail(where + ".values must be an array of numbers", at);
  const int64_t needed =
      checked_element_count(*dims, limits_.max_array_elements(),
                            fmt::format("attention file '{}': {}", printable(path_, 4096), where));
  if (static_cast<int64_t>(values->size()) != needed) {
    fail(fmt::format("{}.values has {} numbers, shape {} needs {}", where, values->size(),
                     shape_text(*dims), needed),
         values_at);
  }
  return {std::move(*name), FloatArray(std::move(*dims), std::move(*values))};
}

Prediction JsonFields::prediction(const std::string& where) {
  Prediction out;
  if (json_.read_null()) return out;
  const Kind kind = json_.next_kind();
  const size_t at = json_.position();
  if (kind != Kind::kObject) fail(where + " must be an object {output, shape, class_ids}", at);
  bool has_output = false, has_ids = false;
  std::optional<std::vector<int64_t>> dims;
  json_.begin_object();
  for (std::string key; json_.next_member(key);) {
    json_.next_kind();
    if (key == "output") {
      if (json_.next_kind() != Kind::kString)
        fail(where + ".output must be a string", json_.position());
      out.output = json_.read_string();
      has_output = true;
    } else if (key == "shape") {
      dims = shape(where, 0, "a list of sizes");
    } else if (key == "class_ids") {
      out.class_ids = integers(where + ".class_ids");
      has_ids = true;
    } else if (key == "class_names") {
      out.class_names = strings(where + ".class_names");
    } else if (key == "probabilities") {
      out.probabilities = numbers(where + ".probabilities");
    } else {
      json_.skip_value();
    }
  }
  if (!has_output || out.output.empty()) fail(where + ".output must name an output", at);
  if (!dims) fail(where + ".shape must be a list of sizes", at);
  if (!has_ids) fail(where + ".class_ids must be an array of integers", at);
  out.shape = std::move(*dims);
  const int64_t count =
      checked_element_count(out.shape, limits_.max_array_elements(),
                            fmt::format("attention file '{}': {}", printable(path_, 4096), where));
  auto check = [&](size_t size, const char* field) {
    if (static_cast<int64_t>(size) != count) {
      fail(fmt::format("{}.{} has {} entries, shape {} needs {}", where, field, size,
                       shape_text(out.shape), count),
           at);
    }
  };
  check(out.class_ids.size(), "class_ids");
  if (!out.class_names.empty()) check(out.class_names.size(), "class_names");
  if (!out.probabilities.empty()) check(out.probabilities.size(), "probabilities");
  return out;
}

}  // namespace attnhook::detail

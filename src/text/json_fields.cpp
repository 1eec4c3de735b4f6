#include "text/json_fields.h"

#include <fmt/format.h>

#include "attnhook/error.h"

namespace attnhook::text {

void throw_field_error(const std::string& path, const std::string& what) {
  throw Error(fmt::format("{} {}", path, what));
}

const char* json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    default:
      return "binary";
  }
}

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const Json& require_object(const Json& value, const std::string& path) {
  if (!value.is_object()) {
    throw_field_error(path, fmt::format("must be an object, not {}", json_type_name(value)));
  }
  return value;
}

const Json& require_array(const Json& value, const std::string& path) {
  if (!value.is_array()) {
    throw_field_error(path, fmt::format("must be an array, not {}", json_type_name(value)));
  }
  return value;
}

const Json& require_field(const Json& obj, const std::string& key, const std::string& path) {
  require_object(obj, path.empty() ? "the file" : path);
  auto it = obj.find(key);
  if (it == obj.end()) throw_field_error(join_path(path, key), "is missing");
  return *it;
}

const Json* optional_field(const Json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string as_string(const Json& value, const std::string& path) {
  if (!value.is_string()) {
    throw_field_error(path, fmt::format("must be a string, not {}", json_type_name(value)));
  }
  return value.get<std::string>();
}

int64_t as_id(const Json& value, const std::string& path) {
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    if (v <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v);
  } else if (value.is_number_integer()) {
    auto v = value.get<int64_t>();
    if (v >= 0) return v;
  }
  throw_field_error(path, fmt::format("must be a non-negative integer, not {}",
                                      value.is_number() ? value.dump() : json_type_name(value)));
}

std::string get_string(const Json& obj, const std::string& key, const std::string& path) {
  return as_string(require_field(obj, key, path), join_path(path, key));
}

std::optional<std::string> get_optional_string(const Json& obj, const std::string& key,
                                               const std::string& path) {
  const Json* value = optional_field(obj, key);
  if (value == nullptr) return std::nullopt;
  return as_string(*value, join_path(path, key));
}

std::optional<bool> get_optional_bool(const Json& obj, const std::string& key,
                                      const std::string& path) {
  const Json* value = optional_field(obj, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    throw_field_error(join_path(path, key),
                      fmt::format("must be true or false, not {}", json_type_name(*value)));
  }
  return value->get<bool>();
}

bool get_bool(const Json& obj, const std::string& key, const std::string& path, bool fallback) {
  return get_optional_bool(obj, key, path).value_or(fallback);
}

int64_t get_int(const Json& obj, const std::string& key, const std::string& path) {
  return as_id(require_field(obj, key, path), join_path(path, key));
}

int64_t get_int_or(const Json& obj, const std::string& key, const std::string& path,
                   int64_t fallback) {
  const Json* value = optional_field(obj, key);
  return value == nullptr ? fallback : as_id(*value, join_path(path, key));
}

std::string get_type(const Json& obj, const std::string& path) {
  return get_string(obj, "type", path);
}

void check_nesting(const std::string& path) {
  if (path.size() > 4096) {
    throw Error(fmt::format("{}...: Sequences are nested too deeply", path.substr(0, 60)));
  }
}

void throw_unknown_type(const std::string& path, const std::string& type, const char* supported) {
  throw Error(fmt::format("{}.type '{}' is not supported; supported: {}", path, type, supported));
}

}  // namespace attnhook::text

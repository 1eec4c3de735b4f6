// Reading tokenizer.json's fields with errors that name the JSON path and what was
// expected ("model.vocab must be an object, not array"), so a malformed file never
// reaches nlohmann's own exceptions or undefined behaviour.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace attnhook::text {

using Json = nlohmann::json;

// Every error says "<file>: <path> ...": the file name is added by the loader.
[[noreturn]] void throw_field_error(const std::string& path, const std::string& what);

const char* json_type_name(const Json& value);
std::string join_path(const std::string& path, const std::string& key);

const Json& require_object(const Json& value, const std::string& path);
const Json& require_array(const Json& value, const std::string& path);
// The member `key` of object `obj`; missing is an error.
const Json& require_field(const Json& obj, const std::string& key, const std::string& path);
// Null or missing -> nullptr.
const Json* optional_field(const Json& obj, const std::string& key);

std::string get_string(const Json& obj, const std::string& key, const std::string& path);
std::optional<std::string> get_optional_string(const Json& obj, const std::string& key,
                                               const std::string& path);
bool get_bool(const Json& obj, const std::string& key, const std::string& path, bool fallback);
std::optional<bool> get_optional_bool(const Json& obj, const std::string& key,
                                      const std::string& path);
int64_t get_int(const Json& obj, const std::string& key, const std::string& path);
int64_t get_int_or(const Json& obj, const std::string& key, const std::string& path,
                   int64_t fallback);
std::string as_string(const Json& value, const std::string& path);
int64_t as_id(const Json& value, const std::string& path);  // a non-negative integer
// The "type" member, for dispatch.
std::string get_type(const Json& obj, const std::string& path);
// "<path>.type 'X' is not supported; supported: A, B, C"
// Sequences may nest; a file nesting them absurdly deep is refused before the stack is.
void check_nesting(const std::string& path);
[[noreturn]] void throw_unknown_type(const std::string& path, const std::string& type,
                                     const char* supported);

}  // namespace attnhook::text

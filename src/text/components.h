// The factories that turn tokenizer.json's sections into pipeline stages. Each throws
// attnhook::Error naming the JSON path of anything unknown or malformed; `names`
// collects the component types for Tokenizer::describe().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/json_fields.h"
#include "text/patterns.h"
#include "text/pipeline.h"

namespace attnhook::text {

struct PatternSpec {
  std::string literal;                  // the String pattern, or the Regex source
  std::unique_ptr<RegexPattern> regex;  // null for a String pattern
};
PatternSpec read_pattern(const Json& spec, const std::string& path);

std::unique_ptr<Normalizer> make_normalizer(const Json& spec, const std::string& path,
                                            std::vector<std::string>& names);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& spec, const std::string& path,
                                                 std::vector<std::string>& names);
std::unique_ptr<Model> make_model(const Json& spec, const std::string& path);
std::unique_ptr<PostProcessor> make_post_processor(const Json& spec, const std::string& path,
                                                   std::vector<std::string>& names);

}  // namespace attnhook::text

// The JSON reader on its own: numbers as float32 (against hand-computed values), syntax
// errors with line and column, limits, messages that quote input safely, and reading only
// the call asked for.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <iterator>

#include "attention_data.h"
#include "commands.h"
#include "view_testing.h"

namespace {

using attnhook::detail::open_json;
using attnhook::detail::read_json;
using attnhook::detail::ReadLimits;
using attnhook_test::error_of;
using attnhook_test::write_bytes;

class JsonReader : public attnhook_test::TempDirTest {
 protected:
  // A file of one layer "x" with one call of `shape` and `values` (JSON text).
  std::string one_call(const std::string& shape, const std::string& values, const std::string& extra = "") {
    write_bytes(path("a.json"), R"({"format": "attnhook", "version": 1, )" + extra + R"("layers": [{"name": "x", "calls": [{"shape": )" +
                                    shape + R"(, "values": )" + values + "}]}]}");
    return path("a.json");
  }
  std::string error(const std::string& text, const ReadLimits& limits = ReadLimits()) {
    write_bytes(path("e.json"), text);
    return error_of([&] { read_json(path("e.json"), limits); });
  }
  std::string prefix() { return "attention file '" + path("e.json") + "'"; }
};

TEST_F(JsonReader, NumbersBecomeTheNearestFloat32) {
  const auto file = read_json(one_call("[1, 1, 2, 4]", "[0.1, 1e-50, -1e-50, 3.4028235e38, 1e-45, -0, null, 5e-324]"));
  const float* v = file.values.at(0).second.at(0).data();
  EXPECT_EQ(v[0], 0.1f);
  EXPECT_EQ(v[1], 0.0f);  // below float32's smallest subnormal: 0, not an error
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_TRUE(std::signbit(v[2]));
  EXPECT_EQ(v[3], FLT_MAX);
  EXPECT_EQ(v[4], std::numeric_limits<float>::denorm_min());  // 1e-45 rounds to 2^-149
  EXPECT_TRUE(std::signbit(v[5]));
  EXPECT_TRUE(std::isnan(v[6]));  // the writer's null for NaN/Inf
  EXPECT_EQ(v[7], 0.0f);          // beyond double's range too
}

TEST_F(JsonReader, NumbersBeyondFloat32AreErrorsNamingTheField) {
  for (const char* number : {"1e39", "-3.5e38", "1e999", "-123456789e400"}) {
    const std::string file = one_call("[1, 1, 1, 2]", std::string("[0.5, ") + number + "]");
    EXPECT_EQ(error_of([&] { read_json(file); }),
              "attention file '" + file + "': layers[0].calls[0].values[1] = " + number +
                  " is out of float32's range (line 1, column 113)");
  }
}

TEST_F(JsonReader, SyntaxErrorsNameLineAndColumn) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "line 1, column 1: unexpected end of file; expected a value"},
      {"{\"a\": [1, 2,]}", "line 1, column 13: unexpected ']'; expected a value"},
      {"{\"a\": 1}\n{}", "line 2, column 1: more text after the top-level value"},
      {"{\"a\":\n \"abc", "line 2, column 2: unterminated string"},
      {"{\"a\": \"tab\there\"}", "line 1, column 11: control character U+0009 in a string must be escaped"},
      {"{\"a\": \"\\q\"}", "line 1, column 8: invalid escape \\q in a string"},
      {"{\"a\": \"\\ud800x\"}", "line 1, column 8: \\ud800 is a lone surrogate"},
      {"{\"a\": \"\\u12\"}", "line 1, column 8: \\u must be followed by four hexadecimal digits"},
      {"{\"a\": 01}", "line 1, column 8: unexpected '1'; expected ',' or '}' after an object member"},
      {"{\"a\": NaN}", "line 1, column 7: unexpected 'N'; expected a value"},
      {"{\"a\": -}", "line 1, column 8: unexpected '}'; expected a digit in a number"},
      {"{\"a\": 1.}", "line 1, column 9: unexpected '}'; expected a digit in a number"},
      {"{\"a\" 1}", "line 1, column 6: unexpected '1'; expected ':' after an object key"},
      {"{\"a\": [1 2]}", "line 1, column 10: unexpected '2'; expected ',' or ']' after an array element"},
      {"{1: 2}", "line 1, column 2: unexpected '1'; expected a string key"},
      {"\xef\xbb\xbf{}", "line 1, column 1: unexpected byte 0xef; expected a value"},
      {"{\"a\": \"\xc3\x28\"}", "line 1, column 8: byte 0xc3 in a string is not UTF-8"},
  };
  for (const auto& [text, where] : cases) {
    EXPECT_EQ(error(text), prefix() + " is not valid JSON: parse error at " + where) << text;
  }
}

TEST_F(JsonReader, StringsAreDecoded) {
  const auto file = read_json(one_call("[1, 1, 1, 1]", "[1]", R"("tokens": ["\u00e9\ud83d\ude00\n\"\\\/", "plain"], )"));
  EXPECT_EQ(file.tokens, (std::vector<std::string>{"é😀\n\"\\/", "plain"}));
}

TEST_F(JsonReader, NestingIsLimited) {
  // The top-level object is level 1: 63 arrays inside reach the limit of 64, 64 exceed it.
  auto nested = [](int depth) { return "{\"x\": " + std::string(depth, '[') + std::string(depth, ']') + "}"; };
  EXPECT_EQ(error(nested(63)), prefix() + ": neither attnhook's schema (\"format\": \"attnhook\") nor the flat one "
                                          "(\"attention_matrices\") (line 1, column 1)");
  EXPECT_EQ(error(nested(64)), prefix() + " is not valid JSON: parse error at line 1, column 70: arrays and objects nested "
                                          "deeper than 64 levels (the limit)");
  EXPECT_EQ(error(nested(7), ReadLimits().max_nesting_depth(7)),
            prefix() + " is not valid JSON: parse error at line 1, column 13: arrays and objects nested deeper than 7 "
                       "levels (the limit)");
}

TEST_F(JsonReader, MessagesQuoteInputCutAndEscaped) {
  EXPECT_EQ(error("{\"format\": \"" + std::string(100000, 'a') + "\"}"),
            prefix() + ": unknown format \"" + std::string(40, 'a') + "... (100000 bytes)\" (line 1, column 12)");
  EXPECT_EQ(error(R"({"format": "\u001b[31mred"})"), prefix() + ": unknown format \"\\x1b[31mred\" (line 1, column 12)");
  EXPECT_EQ(error(R"({"format": ["x"]})"),
            prefix() + ": \"format\" must be the string \"attnhook\", not an array (line 1, column 12)");
  EXPECT_EQ(error(R"({"format": "attnhook", "version": "1", "layers": []})"),
            prefix() + ": unsupported version the string \"1\" (this reader knows 1) (line 1, column 35)");
  EXPECT_EQ(error(R"({"format": "attnhook", "version": 1e999999999999999999, "layers": []})"),
            prefix() + ": unsupported version 1e999999999999999999 (this reader knows 1) (line 1, column 35)");
}

TEST_F(JsonReader, ShapesAreCheckedBeforeAnythingIsReserved) {
  const std::pair<std::string, std::string> cases[] = {
      {"[1, 1, 2, -2]", "layers[0].calls[0].shape must hold non-negative integers (line 1, column 93)"},
      {"[1, 1, 2, 2.0]", "layers[0].calls[0].shape must hold non-negative integers (line 1, column 93)"},
      {"[1, 1, 2, 1e1]", "layers[0].calls[0].shape must hold non-negative integers (line 1, column 93)"},
      {"[1, 1, 2, 9223372036854775808]", "layers[0].calls[0].shape must hold non-negative integers (line 1, column 93)"},
      {"[1, 1, 4]", "layers[0].calls[0].shape must be [batch, heads, tgt_len, src_len] (line 1, column 83)"},
      {"[1, 1, 10, 11]", "layers[0].calls[0]: shape [1, 1, 10, 11] has more than 100 elements (the limit of one array)"},
  };
  for (const auto& [shape, message] : cases) {
    const std::string file = one_call(shape, "[0.5, 0.5, 0.5, 0.5]");
    EXPECT_EQ(error_of([&] { read_json(file, ReadLimits().max_array_elements(100)); }),
              "attention file '" + file + "': " + message)
        << shape;
  }
  const std::string text = one_call("[1, 1, 2, 2]", "[0.5, \"0.5\", 0.5, 0.5]");
  EXPECT_EQ(error_of([&] { read_json(text); }),
            "attention file '" + text + "': layers[0].calls[0].values[1] must be a number (line 1, column 113)");
}

TEST_F(JsonReader, KeysInAnyOrderAndUnknownKeysSkipped) {
  write_bytes(path("a.json"), R"({"layers": [{"calls": [{"values": [0.25, 0.75], "note": {"a": [1, {}]}, "shape": [1, 1, 1, 2]}],
    "name": "late"}], "extra": [true, false, null, "s"], "version": 1, "tokens": ["a"], "format": "attnhook"})");
  const auto file = read_json(path("a.json"));
  ASSERT_EQ(file.values.size(), 1u);
  EXPECT_EQ(file.values[0].first, "late");
  EXPECT_EQ(file.values[0].second.at(0).data()[1], 0.75f);
  EXPECT_EQ(file.tokens, std::vector<std::string>{"a"});
}

// plot reads the call it draws; the others are skipped, never converted.
TEST_F(JsonReader, OnlyTheCallAskedForIsRead) {
  write_bytes(path("a.json"), R"({"format": "attnhook", "version": 1, "layers": [
    {"name": "good", "calls": [{"shape": [1, 1, 1, 2], "values": [0.25, 0.75]}]},
    {"name": "bad", "calls": [{"shape": [1, 1, 1, 2], "values": [0.5, 1e99]}]}]})");
  const auto reader = open_json(path("a.json"));
  ASSERT_EQ(reader->layers().size(), 2u);
  EXPECT_EQ(reader->read(0, 0).data()[1], 0.75f);
  EXPECT_EQ(error_of([&] { reader->read(1, 0); }),
            "attention file '" + path("a.json") + "': layers[1].calls[0].values[1] = 1e99 is out of float32's range (line 3, "
            "column 71)");
  attnhook::cli::plot({path("a.json"), "good", "all", 0, 0, path("good.png")});
  EXPECT_EQ(attnhook_test::read_bytes(path("good.png")).substr(1, 3), "PNG");
  EXPECT_NE(error_of([&] { attnhook::cli::model_view({path("a.json"), 0, path("all.png")}); }).find("1e99"), std::string::npos);
}

TEST_F(JsonReader, FlatSchemaIsReadLazilyToo) {
  write_bytes(path("f.json"), R"({"tokens": ["a", "b"], "text": null, "attention_matrices": [
    [[[0.25, 0.75], [1, 0]], [[0.5, 0.5], [0, 1]]], [[[2e40, 0]]]]})");
  const auto reader = open_json(path("f.json"));
  ASSERT_EQ(reader->layers().size(), 2u);
  const auto first = reader->read(0, 0);
  EXPECT_EQ(first.shape(), (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(first.data()[6], 0.0f);
  EXPECT_EQ(first.data()[7], 1.0f);
  EXPECT_EQ(error_of([&] { reader->read(1, 0); }), "attention file '" + path("f.json") +
                                                    "': attention_matrices[1][0][0][0] = 2e40 is out of float32's range "
                                                    "(line 2, column 56)");
}

// What write_json writes, read_json reads back bit for bit (NaN and infinities as NaN:
// JSON has neither); more than a MiB of text, so the writer flushes in pieces.
TEST_F(JsonReader, WriterRoundTripsEveryFloat) {
  const float special[] = {0.0f, -0.0f, 1e-45f, 1.17549435e-38f, 3.4028235e38f, -2.5f, 0.1f, 1.0f / 3,
                           std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  std::vector<float> values(1 << 18);
  uint32_t bits = 12345;
  for (size_t i = 0; i < values.size(); ++i) {
    bits = bits * 1664525u + 1013904223u;  // every bit pattern is a float; NaNs among them
    float random;
    std::memcpy(&random, &bits, 4);
    values[i] = i < std::size(special) ? special[i] : random;
  }
  attnhook::detail::AttentionData data;
  data.tokens = {"a", "not utf-8 \xff"};
  data.tokens[1].back() = '\xff';
  data.values.push_back({"layer", {attnhook::detail::FloatArray({1, 4, 256, 256}, values)}});
  attnhook::detail::write_json(data, path("w.json"), attnhook::JsonSchema::kAttnhook);
  const auto back = read_json(path("w.json"));
  EXPECT_EQ(back.tokens, (std::vector<std::string>{"a", "not utf-8 \xef\xbf\xbd"}));  // written as U+FFFD
  const float* read = back.values.at(0).second.at(0).data();
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      ASSERT_TRUE(std::isnan(read[i])) << i;
    } else {
      ASSERT_EQ(std::memcmp(&read[i], &values[i], 4), 0) << i << ": " << values[i] << " read as " << read[i];
    }
  }
}

}  // namespace

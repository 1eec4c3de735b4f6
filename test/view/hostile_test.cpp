// The hostile files of issue 11 (test/view/hostile/, made by make_hostile.py), each read by
// every subcommand in process: each must fail with an attnhook::Error that says what is
// wrong in plain words, the same for every subcommand (any other exception, a crash or a
// sanitizer report fails the test), and leave no output or temporary file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "commands.h"
#include "view_testing.h"

namespace {

using attnhook_test::error_of;
using attnhook_test::kHostile;

struct Hostile {
  const char* file;
  const char* message;  // after "attention file '<path>'"
};

// Defect numbers are the issue's.
const Hostile kFiles[] = {
    // 1. zip offset wrap
    {"zip_offset_wrap.npz",
     " is not a valid .npz: the local header of entry 'l/0.npy' (offset 4294967280) is outside the "
     "file or broken"},
    // 2. element count overflow
    {"count_overflow_heap.json",
     ": layers[0].calls[0]: shape [7905747460161236407, 7, 1, 1] has more than 1073741824 elements "
     "(the limit of one array)"},
    {"count_overflow_segv.json",
     ": layers[0].calls[0]: shape [8077211433545238529, 1, 1023, 1023] has more than 1073741824 "
     "elements (the limit of "
     "one array)"},
    {"count_overflow_null.json",
     ": layers[0].calls[0]: shape [4294967296, 4294967296, 1, 1] has more than 1073741824 elements "
     "(the limit of one array)"},
    {"count_overflow.npz",
     ", array 'layers.0/0.npy': shape [7905747460161236407, 7, 1, 1] has more than 1073741824 "
     "elements (the limit of one "
     "array)"},
    // found by the fuzzer: an empty array (a 0 in its shape) whose other sizes make 2^64 heads
    {"empty_shape_huge_heads.json",
     ": layers[0].calls[0]: shape [4294967296, 4294967296, 0, 1] has more than 1073741824 "
     "positions in its non-empty "
     "dimensions (the limit of one array)"},
    // 3. unicode width overflow
    {"unicode_width_overflow.npz",
     ", array 'tokens.npy': 1 strings of 4611686018427387904 characters are more than 1073741824 "
     "characters (the limit "
     "of one array)"},
    // 4. negative dimensions
    {"negative_dims_model_view.npz",
     ", array 'layers.0/0.npy': shape (1, -1, -1, 1) has a negative dimension"},
    {"negative_dims_prepare.npz",
     ", array 'layers.0/0.npy': shape (1, 1, -1, -1) has a negative dimension"},
    // 5. deflate bombs, short and long streams, CRC
    {"deflate_bomb_declared.npz",
     " is not a valid .npz: entry 'layers.0/0.npy' declares 4200000000 bytes from 86 compressed "
     "bytes, more than deflate "
     "can produce"},
    {"deflate_bomb_entries.npz",
     " is not a valid .npz: entry 'layers.0/0.npy' declares 4000000000 bytes from 86 compressed "
     "bytes, more than deflate "
     "can produce"},
    {"deflate_short.npz",
     " is not a valid .npz: entry 'layers.0/0.npy' inflates to 1088 bytes, but declares 1152"},
    {"deflate_long.npz",
     " is not a valid .npz: entry 'layers.0/0.npy' inflates to more than the 1152 bytes it "
     "declares"},
    {"deflate_crc.npz",
     " is not a valid .npz: entry 'layers.0/0.npy' fails its CRC-32 check (stored 7feec1fb, "
     "computed 7feec1fa): the "
     "file is corrupt"},
    // 6. deep nesting: the 200 KB value is neither recursed into nor printed
    {"deep_nesting.json",
     " is not valid JSON: parse error at line 1, column 75: arrays and objects nested deeper than "
     "64 levels (the limit)"},
    // 8. raw library errors, text that is not UTF-8, names with terminal escapes
    {"raw_stoll.npz", ", array 'layers.0/0.npy': shape (1, x, 1, 1) is not a tuple of integers"},
    {"raw_stoul.npz",
     ", array 'tokens.npy': expected a unicode array ('<U<n>'), found dtype '<Uabc'"},
    {"raw_type_error.json", ": \"model\" must be a string, not the number 5 (line 1, column 47)"},
    {"raw_number_overflow.json",
     ": layers[0].calls[0].values[0] = 1e999 is out of float32's range (line 1, column 115)"},
    {"non_utf8_token.json",
     " is not valid JSON: parse error at line 1, column 52: byte 0xff in a string is not UTF-8"},
    {"non_utf8_token.npz",
     ", array 'tokens.npy': string 0 holds 0xd800, which is not a Unicode character"},
    {"entry_name_escape.npz",
     ", array '\\x1b]0;pwned\\x07layer/0.npy': dtype '<i4' is not a little-endian float"},
    {"entry_name_not_utf8.npz",
     " is not a valid .npz: entry '\\x1b[31mred\\xff/0.npy' has a name that is not UTF-8"},
};

class HostileFiles : public attnhook_test::TempDirTest,
                     public ::testing::WithParamInterface<Hostile> {};

TEST_P(HostileFiles, EverySubcommandSaysWhatIsWrongAndWritesNothing) {
  const std::string input = kHostile + "/" + GetParam().file;
  ASSERT_TRUE(std::filesystem::exists(input)) << input;
  const std::string expected = "attention file '" + input + "'" + GetParam().message;
  namespace cli = attnhook::cli;
  const std::vector<std::pair<const char*, std::function<void()>>> commands = {
      {"plot",
       [&] {
         cli::plot({input, "0", "all", 0, 0, path("out.png")});
       }},
      {"plot --head 0",
       [&] {
         cli::plot({input, "0", "0", 0, 0, path("out.png")});
       }},
      {"model-view",
       [&] {
         cli::model_view({input, 0, path("out.png")});
       }},
      {"prepare",
       [&] {
         cli::prepare({input, 0, {"[PAD]"}, path("out.json")});
       }},
      {"html",
       [&] {
         cli::html({input, 0, "", path("out.html")});
       }},
  };
  for (const auto& [name, command] : commands) {
    EXPECT_EQ(error_of(command), expected) << name;
  }
  EXPECT_EQ(files(), std::vector<std::string>{}) << "an output or a temporary file was left behind";
}

INSTANTIATE_TEST_SUITE_P(Issue11, HostileFiles, ::testing::ValuesIn(kFiles),
                         [](const ::testing::TestParamInfo<Hostile>& info) {
                           std::string name = info.param.file;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace

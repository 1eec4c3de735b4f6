// The patch grid of a vision transformer in attention files (issue 13): "patch_grid" and
// "prefix_tokens" in attn.json, int64 arrays of those names in attn.npz. They round trip,
// numpy reads ours and we read numpy's (the independent reference), files without them
// load with no grid, and malformed ones are errors naming the field.
#include <gtest/gtest.h>

#include "attention_data.h"
#include "view_testing.h"

namespace {

using attnhook::detail::AttentionData;
using attnhook::detail::FloatArray;
using attnhook_test::error_of;
using attnhook_test::read_bytes;
using attnhook_test::write_bytes;

class PatchGridFields : public attnhook_test::TempDirTest {};

AttentionData vit(int64_t rows, int64_t columns, int64_t prefix) {
  AttentionData data;
  data.patch_grid = {rows, columns, prefix};
  const int64_t keys = prefix + rows * columns;
  data.values.push_back(
      {"blocks.0.attn", {FloatArray({1, 1, keys, keys}, std::vector<float>(keys * keys, 0.5f))}});
  return data;
}

TEST_F(PatchGridFields, RoundTripInJsonAndNpz) {
  for (const auto& [rows, columns, prefix] : {std::tuple{14, 14, 1}, {2, 3, 0}, {4, 4, 5}}) {
    const AttentionData data = vit(rows, columns, prefix);
    attnhook::detail::write_json(data, path("attn.json"), attnhook::JsonSchema::kAttnhook);
    attnhook::detail::write_npz(data, path("attn.npz"));
    for (const auto& back : {attnhook::detail::read_json(path("attn.json")),
                             attnhook::detail::read_npz(path("attn.npz"))}) {
      EXPECT_EQ(back.patch_grid.rows, rows);
      EXPECT_EQ(back.patch_grid.columns, columns);
      EXPECT_EQ(back.patch_grid.prefix_tokens, prefix);
    }
  }
  // The JSON fields as export.h documents them.
  attnhook::detail::write_json(vit(14, 14, 1), path("vit.json"), attnhook::JsonSchema::kAttnhook);
  EXPECT_NE(
      read_bytes(path("vit.json")).find("\n \"patch_grid\": [14, 14], \"prefix_tokens\": 1,\n"),
      std::string::npos);
  // No grid: neither field is written.
  AttentionData plain = vit(1, 1, 0);
  plain.patch_grid = {};
  attnhook::detail::write_json(plain, path("plain.json"), attnhook::JsonSchema::kAttnhook);
  EXPECT_EQ(read_bytes(path("plain.json")).find("patch_grid"), std::string::npos);
  attnhook::detail::write_npz(plain, path("plain.npz"));
  EXPECT_TRUE(attnhook::detail::read_npz(path("plain.npz")).patch_grid.empty());
}

TEST_F(PatchGridFields, NumpyReadsOursAndWeReadNumpys) {
  if (!attnhook_test::have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  attnhook::detail::write_npz(vit(14, 14, 1), path("ours.npz"));
  const std::string out = attnhook_test::run_python(path("check.py"), R"(import numpy as np, sys
a = np.load(sys.argv[1])
g, p = a["patch_grid"], a["prefix_tokens"]
print(g.dtype, g.shape, g.tolist(), p.dtype, p.shape, int(p))
np.savez(sys.argv[2], **{"l/0": np.full((1, 1, 5, 5), 0.2, np.float32), "patch_grid": np.array([2, 2], np.int32),
                         "prefix_tokens": np.array(1, np.uint8)})
print("ok")
)",
                                                    path("ours.npz") + " " + path("numpy.npz"));
  EXPECT_EQ(out, "int64 (2,) [14, 14] int64 () 1\nok\n");
  const AttentionData theirs = attnhook::detail::read_npz(path("numpy.npz"));
  EXPECT_EQ(theirs.patch_grid.rows, 2);
  EXPECT_EQ(theirs.patch_grid.columns, 2);
  EXPECT_EQ(theirs.patch_grid.prefix_tokens, 1);
}

TEST_F(PatchGridFields, FilesWithoutThemLoadWithNoGrid) {
  write_bytes(path("old.json"),
              R"({"format": "attnhook", "version": 1, "model": "m", "text": "", "tokens": [],
    "layers": [{"name": "l", "calls": [{"shape": [1, 1, 1, 1], "values": [1]}]}]})");
  EXPECT_TRUE(attnhook::detail::read_json(path("old.json")).patch_grid.empty());
  // "prefix_tokens" is optional beside "patch_grid": 0.
  write_bytes(path("grid_only.json"),
              R"({"format": "attnhook", "version": 1, "patch_grid": [1, 1], "layers": []})");
  const AttentionData grid_only = attnhook::detail::read_json(path("grid_only.json"));
  EXPECT_EQ(grid_only.patch_grid.rows, 1);
  EXPECT_EQ(grid_only.patch_grid.prefix_tokens, 0);
}

TEST_F(PatchGridFields, MalformedFieldsAreErrorsNamingThem) {
  const std::string head = R"({"format": "attnhook", "version": 1, "layers": [], )";
  const std::string grid =
      "\"patch_grid\" must be [rows, columns], two positive integers (line 1, column 66)";
  const std::pair<std::string, std::string> cases[] = {
      {R"("patch_grid": [14]})", grid},
      {R"("patch_grid": [14, 0]})", grid},
      {R"("patch_grid": [14, -2]})", grid},
      {R"("patch_grid": "14x14"})", "patch_grid must be an array of integers (line 1, column 66)"},
      {R"("patch_grid": [14, 1.5]})", "patch_grid[1] must be an integer (line 1, column 71)"},
      {R"("patch_grid": [2, 2], "prefix_tokens": -1})",
       "\"prefix_tokens\" must be a non-negative integer (line 1, column 91)"},
      {R"("patch_grid": [2, 2], "prefix_tokens": "1"})",
       "\"prefix_tokens\" must be a non-negative integer (line 1, column 91)"},
      {R"("prefix_tokens": 1})",
       "\"prefix_tokens\" needs \"patch_grid\" [rows, columns] (line 1, column 69)"},
  };
  for (const auto& [tail, message] : cases) {
    write_bytes(path("bad.json"), head + tail);
    const std::string error = error_of([&] { attnhook::detail::read_json(path("bad.json")); });
    EXPECT_EQ(error, "attention file '" + path("bad.json") + "': " + message) << tail;
  }
}

TEST_F(PatchGridFields, MalformedNpzEntriesAreErrorsNamingThem) {
  if (!attnhook_test::have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  const std::pair<std::string, std::string> cases[] = {
      {R"("patch_grid": np.array([2, 2, 2]))",
       "array 'patch_grid.npy': expected [rows, columns], two positive integers"},
      {R"("patch_grid": np.array([[2, 2]]))",
       "array 'patch_grid.npy': expected [rows, columns], two positive integers"},
      {R"("patch_grid": np.array([0, 2]))",
       "array 'patch_grid.npy': expected [rows, columns], two positive integers"},
      {R"("patch_grid": np.array([2.0, 2.0]))",
       "array 'patch_grid.npy': dtype '<f8' is not a little-endian integer or bool"},
      {R"("patch_grid": np.array([2, 2]), "prefix_tokens": np.array([1]))",
       "array 'prefix_tokens.npy': expected one non-negative integer (0-d)"},
      {R"("patch_grid": np.array([2, 2]), "prefix_tokens": np.array(-1))",
       "array 'prefix_tokens.npy': expected one non-negative integer (0-d)"},
      {R"("prefix_tokens": np.array(1))", "'prefix_tokens' needs 'patch_grid' [rows, columns]"},
  };
  for (const auto& [entries, message] : cases) {
    const std::string written = attnhook_test::run_python(path("make.py"),
                                                          R"(import numpy as np, sys
np.savez(sys.argv[1], **{"l/0": np.full((1, 1, 5, 5), 0.2, np.float32), )" +
                                                              entries + R"(})
)",
                                                          path("bad.npz"));
    const std::string error = error_of([&] { attnhook::detail::read_npz(path("bad.npz")); });
    EXPECT_EQ(error, "attention file '" + path("bad.npz") + "'" +
                         (message[0] == '\'' ? ": " : ", ") + message)
        << entries;
  }
}

}  // namespace

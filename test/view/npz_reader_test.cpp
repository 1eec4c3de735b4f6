// The .npz reader on its own: numpy's files read right (numpy is the reference), our files
// aligned and readable by numpy, every zip and .npy field checked, memory bounded by what
// is read, and only the entry asked for read.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "attention_data.h"
#include "npy.h"
#include "view_testing.h"

namespace {

using attnhook::detail::AttentionData;
using attnhook::detail::FloatArray;
using attnhook::detail::npy_header;
using attnhook::detail::open_npz;
using attnhook::detail::read_npz;
using attnhook::detail::ReadLimits;
using attnhook_test::error_of;
using attnhook_test::write_bytes;

// A zip built field by field, independent of the writer under test.
struct Entry {
  std::string name;
  std::string data;         // what the entry holds once inflated
  bool deflate = false;
  int64_t declared = -1;    // uncompressed size written in the headers; -1: the real one
  int64_t crc = -1;         // -1: the real one
  uint16_t flags = 0;
  uint16_t method = 0xffff; // 0xffff: 0 or 8 per `deflate`
  std::string local_name;   // "": the same name
};

void put16(std::string& out, uint32_t v) { out += {char(v & 0xff), char(v >> 8)}; }
void put32(std::string& out, uint32_t v) { put16(out, v & 0xffff), put16(out, v >> 16); }

std::string raw_deflate(const std::string& data) {
  z_stream stream{};
  deflateInit2(&stream, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = data.size();
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = out.size();
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string zip(const std::vector<Entry>& entries, uint16_t count_override = 0) {
  std::string out, directory;
  for (const auto& e : entries) {
    const std::string payload = e.deflate ? raw_deflate(e.data) : e.data;
    const uint32_t crc = e.crc >= 0 ? e.crc : crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), e.data.size());
    const uint32_t size = e.declared >= 0 ? e.declared : e.data.size();
    const uint16_t method = e.method != 0xffff ? e.method : e.deflate ? 8 : 0;
    const std::string local_name = e.local_name.empty() ? e.name : e.local_name;
    const uint32_t offset = out.size();
    put32(out, 0x04034b50), put16(out, 20), put16(out, e.flags), put16(out, method), put32(out, 0);
    put32(out, crc), put32(out, payload.size()), put32(out, size), put16(out, local_name.size()), put16(out, 0);
    out += local_name + payload;
    put32(directory, 0x02014b50), put16(directory, 20), put16(directory, 20), put16(directory, e.flags);
    put16(directory, method), put32(directory, 0), put32(directory, crc), put32(directory, payload.size());
    put32(directory, size), put16(directory, e.name.size()), put32(directory, 0), put32(directory, 0);
    put32(directory, 0), put32(directory, offset);
    directory += e.name;
  }
  const uint16_t count = count_override ? count_override : entries.size();
  std::string end;
  put32(end, 0x06054b50), put32(end, 0), put16(end, count), put16(end, count);
  put32(end, directory.size()), put32(end, out.size()), put16(end, 0);
  return out + directory + end;
}

std::string floats(std::vector<float> values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

std::string layer_npy(std::vector<int64_t> shape = {1, 1, 2, 2}, std::vector<float> values = {0.25, 0.75, 0.5, 0.5}) {
  return npy_header("<f4", shape) + floats(values);
}

class NpzReader : public attnhook_test::TempDirTest {
 protected:
  std::string error(const std::vector<Entry>& entries, const ReadLimits& limits = ReadLimits()) {
    write_bytes(path("e.npz"), zip(entries));
    return error_of([&] { read_npz(path("e.npz"), limits); });
  }
  std::string invalid() { return "attention file '" + path("e.npz") + "' is not a valid .npz: "; }
  std::string array(const std::string& name) { return "attention file '" + path("e.npz") + "', array '" + name + "': "; }
};

TEST_F(NpzReader, ReadsWhatNumpyWrites) {
  if (!attnhook_test::have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  // Each array holds i / 64 at flat index i; the tokens are not ASCII, one is outside the BMP.
  const std::string out = attnhook_test::run_python(path("make.py"), R"(import numpy as np, sys
v = np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4) / 64
tokens = np.array(["[CLS]", "naïve", "😀", ""])
np.savez(sys.argv[1], **{"layers.0/0": v.astype(np.float32), "couche.é/0": v.astype(np.float16), "tokens": tokens,
                         "text": np.array("a b")})
np.savez_compressed(sys.argv[2], **{"layers.0/1": v, "layers.0/0": v.astype(np.float32), "tokens": tokens})
print("ok")
)", path("plain.npz") + " " + path("compressed.npz"));
  ASSERT_EQ(out, "ok\n");
  for (const char* name : {"plain.npz", "compressed.npz"}) {
    SCOPED_TRACE(name);
    const AttentionData file = read_npz(path(name));
    EXPECT_EQ(file.tokens, (std::vector<std::string>{"[CLS]", "naïve", "😀", ""}));
    for (const auto& [layer, calls] : file.values) {
      for (const FloatArray& call : calls) {
        ASSERT_EQ(call.shape(), (std::vector<int64_t>{2, 3, 4, 4})) << layer;
        for (int64_t i = 0; i < call.numel(); ++i) ASSERT_EQ(call.data()[i], i / 64.0f) << layer << " at " << i;
      }
    }
  }
  EXPECT_EQ(read_npz(path("plain.npz")).values.at(1).first, "couche.é");
  EXPECT_EQ(read_npz(path("plain.npz")).text, "a b");
  EXPECT_EQ(read_npz(path("compressed.npz")).values.at(0).second.size(), 2u);
}

TEST_F(NpzReader, WritesAlignedArraysNumpyReads) {
  AttentionData data;
  data.tokens = {"a", "é", "😀"};
  data.text = "text \xff";  // not UTF-8: written as U+FFFD
  std::vector<float> values(2 * 3 * 3 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = i / 64.0f;
  data.values.push_back({"couche.é", {FloatArray({2, 3, 3, 3}, values)}});
  data.values.push_back({"l", {FloatArray({1, 1, 1, 1}, {0.5f}), FloatArray({1, 1, 1, 1}, {0.25f})}});
  attnhook::detail::write_npz(data, path("ours.npz"));
  const AttentionData back = read_npz(path("ours.npz"));
  EXPECT_EQ(back.tokens, data.tokens);
  EXPECT_EQ(back.text, "text \xef\xbf\xbd");
  // The reader maps stored float32 arrays in place: their numbers lie inside the file's mapping.
  const auto reader = open_npz(path("ours.npz"));
  const FloatArray mapped = reader->read(0, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mapped.data()) % 64, 0u);
  for (int64_t i = 0; i < mapped.numel(); ++i) ASSERT_EQ(mapped.data()[i], i / 64.0f);
  if (!attnhook_test::have_numpy()) GTEST_SKIP() << "python3-numpy is not installed";
  const std::string out = attnhook_test::run_python(path("check.py"), R"(import numpy as np, sys, zipfile
a = np.load(sys.argv[1])
print(sorted(a.keys()))
v = a["couche.é/0"]
print(v.dtype, v.shape, bool((v == np.arange(v.size).reshape(v.shape) / 64).all()), list(a["tokens"]), str(a["text"]))
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[1], "rb") as f:
    for info in z.infolist():
        f.seek(info.header_offset + 26)
        n, e = np.frombuffer(f.read(4), "<u2")
        print(info.filename, (info.header_offset + 30 + n + e) % 64)
)", path("ours.npz"));
  EXPECT_EQ(out,
            "['couche.é/0', 'l/0', 'l/1', 'model', 'text', 'tokens']\n"
            "float32 (2, 3, 3, 3) True ['a', 'é', '😀'] text \xef\xbf\xbd\n"
            "couche.é/0.npy 0\nl/0.npy 0\nl/1.npy 0\ntokens.npy 0\ntext.npy 0\nmodel.npy 0\n");
}

TEST_F(NpzReader, ZipFieldsAreChecked) {
  const std::string good = layer_npy();
  EXPECT_EQ(error({{"l/0.npy", good, false, -1, -1, 1}}), invalid() + "entry 'l/0.npy' is encrypted");
  EXPECT_EQ(error({{"l/0.npy", good, false, -1, -1, 0, 12}}),
            invalid() + "entry 'l/0.npy' uses compression method 12 (only stored and deflated are read)");
  EXPECT_EQ(error({{"l/0.npy", good, false, 10}}), invalid() + "stored entry 'l/0.npy' declares 10 bytes but holds 144");
  EXPECT_EQ(error({{"l/0.npy", good, false, 0xffffffff}}), invalid() + "entry 'l/0.npy' needs zip64, which is not supported");
  EXPECT_EQ(error({{"l/0.npy", good, false, -1, -1, 0, 0xffff, "l/1.npy"}}),
            invalid() + "the local header of entry 'l/0.npy' names another entry");
  EXPECT_EQ(error({{"l/0.npy", good}, {"l/0.npy", good}}), array("l/0.npy") + "a second array of this name");
  EXPECT_EQ(error({{"weights.npy", good}}), array("weights.npy") + "layer arrays are named '<layer>/<call>'");
  EXPECT_EQ(error({{"l/first.npy", good}}), array("l/first.npy") + "layer arrays are named '<layer>/<call>' (call: a number)");
  EXPECT_EQ(error({{"l/0.npy", good, false, -1, 0x12345678}}),
            invalid() + "entry 'l/0.npy' fails its CRC-32 check (stored 12345678, computed " +
                fmt::format("{:08x}", crc32(0, reinterpret_cast<const Bytef*>(good.data()), good.size())) +
                "): the file is corrupt");
  write_bytes(path("e.npz"), zip({{"l/0.npy", good}}, 3));
  EXPECT_EQ(error_of([&] { read_npz(path("e.npz")); }), invalid() + "broken central directory (entry 1 of 3)");
  // The same local header listed twice in the central directory: a zip bomb's trick.
  std::string twice = zip({{"l/0.npy", good}});
  const size_t directory = twice.find("PK\x01\x02"), end = twice.find("PK\x05\x06");
  twice.insert(end, twice.substr(directory, end - directory));
  twice[twice.size() - 14] = 2, twice[twice.size() - 12] = 2;  // entries here, entries in all
  twice[twice.size() - 10] = 2 * (end - directory);  // directory size (< 256 here)
  write_bytes(path("e.npz"), twice);
  EXPECT_EQ(error_of([&] { read_npz(path("e.npz")); }), invalid() + "entries 'l/0.npy' and 'l/0.npy' overlap");
  std::string truncated = zip({{"l/0.npy", good}});
  truncated.erase(40, 20);  // cut the middle of the entry's data: offsets now point past it
  write_bytes(path("e.npz"), truncated);
  EXPECT_EQ(error_of([&] { read_npz(path("e.npz")); }).rfind(invalid(), 0), 0u);
}

TEST_F(NpzReader, NpyHeadersAreCheckedStrictly) {
  auto header = [](const std::string& dict) {
    std::string text = dict + std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + "\n";
    return std::string("\x93NUMPY\x01\x00", 8) + char(text.size() & 0xff) + char(text.size() >> 8) + text;
  };
  const std::string data = floats({0.25, 0.75, 0.5, 0.5});
  const std::pair<std::string, std::string> cases[] = {
      {header("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 2, 2), }") + data, "Fortran-ordered arrays are not supported"},
      {header("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 2, 2), }") + data, "dtype '>f4' is not a little-endian float"},
      {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }") + data, "shape [1, 2, 2] is not [batch, heads, tgt, src]"},
      {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 3), }") + data, "16 bytes of data, shape needs 24"},
      {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 2), 'x': 1}") + data, "the .npy header has an unknown key 'x'"},
      {header("{'descr': '<f4', 'fortran_order': False}") + data, "the .npy header has no 'shape'"},
      {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 99999999999999999999, 2), }") + data,
       "shape (1, 1, 99999999999999999999, 2) has a dimension over 2^63"},
      {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 2L), }") + data, ""},  // Python 2's numpy
      {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12) + data, ".npy header of 2147483647 bytes (at most 65535 are read)"},
      {std::string("\x93NUMPY\x07\x00\x10\x00", 10) + data, "unknown .npy version 7"},
      {"not numpy", "not a .npy array (shorter than a .npy header)"},
      {"not a numpy array", "not a .npy array (no \\x93NUMPY magic)"},
  };
  for (const auto& [npy, message] : cases) {
    const std::string got = error({{"l/0.npy", npy}});
    EXPECT_EQ(got, message.empty() ? "(no attnhook::Error)" : array("l/0.npy") + message) << npy.substr(0, 80);
  }
}

TEST_F(NpzReader, StringArraysAreChecked) {
  auto strings = [](const std::string& descr, std::vector<int64_t> shape, std::u32string text) {
    return npy_header(descr, shape) + std::string(reinterpret_cast<const char*>(text.data()), text.size() * 4);
  };
  const Entry layer{"l/0.npy", layer_npy()};
  EXPECT_EQ(error({layer, {"tokens.npy", strings("<U2", {2}, std::u32string(U"ab\0c", 4))}}), "(no attnhook::Error)");
  // As numpy reads it: only trailing NULs are padding.
  EXPECT_EQ(read_npz(path("e.npz")).tokens, (std::vector<std::string>{"ab", std::string("\0c", 2)}));
  EXPECT_EQ(error({layer, {"tokens.npy", strings("<U2", {2}, U"abc")}}),
            array("tokens.npy") + "12 bytes of data, 2 strings of 2 characters need 16");
  EXPECT_EQ(error({layer, {"tokens.npy", strings("<U1", {1}, std::u32string(1, char32_t(0x110000)))}}),
            array("tokens.npy") + "string 0 holds 0x110000, which is not a Unicode character");
  EXPECT_EQ(error({layer, {"tokens.npy", strings("<f4", {1}, U"a")}}),
            array("tokens.npy") + "expected a unicode array ('<U<n>'), found dtype '<f4'");
  EXPECT_EQ(error({layer, {"tokens.npy", strings("<U8", {100}, U"")}}, ReadLimits().max_array_elements(500)),
            array("tokens.npy") + "100 strings of 8 characters are more than 500 characters (the limit of one array)");
}

// A real deflate bomb: 4 MiB of zeros in a few KiB. With a limit of 2^16 elements, it is
// refused from its header, before any memory is reserved for its numbers.
TEST_F(NpzReader, DeflatedArraysAreBoundedByTheElementLimit) {
  const std::string zeros = npy_header("<f4", {1, 1, 1024, 1024}) + std::string(4 << 20, '\0');
  write_bytes(path("e.npz"), zip({{"l/0.npy", zeros, true}}));
  EXPECT_LT(std::ifstream(path("e.npz"), std::ios::ate).tellg(), 10000);
  EXPECT_EQ(error_of([&] { read_npz(path("e.npz"), ReadLimits().max_array_elements(1 << 16)); }),
            array("l/0.npy") + "shape [1, 1, 1024, 1024] has more than 65536 elements (the limit of one array)");
  const auto file = read_npz(path("e.npz"));  // within the default limit
  EXPECT_EQ(file.values.at(0).second.at(0).numel(), 1 << 20);
}

TEST_F(NpzReader, OnlyTheEntryAskedForIsRead) {
  const std::string bad = layer_npy();
  write_bytes(path("e.npz"), zip({{"good/0.npy", layer_npy(), true}, {"bad/0.npy", bad, true, -1, 1}}));
  const auto reader = open_npz(path("e.npz"));
  ASSERT_EQ(reader->layers().size(), 2u);
  EXPECT_EQ(reader->read(0, 0).data()[1], 0.75f);
  EXPECT_NE(error_of([&] { reader->read(1, 0); }).find("entry 'bad/0.npy' fails its CRC-32 check"), std::string::npos);
}

}  // namespace

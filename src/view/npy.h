// Internal: numpy's .npy arrays, as the entries of an .npz hold them: the header, checked
// strictly (shape, dtype and sizes are untrusted), and conversions to float32 and strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnhook::detail {

class ZipEntryReader;

struct NpyHeader {
  std::string descr;            // '<f4', '<U12', ...
  std::vector<int64_t> shape;   // () for a 0-d array
  uint64_t header_bytes = 0;    // magic, version, length and dictionary: where the data starts
};

// Reads and checks the header at the start of `entry`; errors "<where>: <why>".
NpyHeader read_npy_header(ZipEntryReader& entry, const std::string& where);

// Bytes a float element of `descr` takes ('<f2' 2, '<f4' 4, '<f8' 8), or 0 for any other.
int float_item_size(const std::string& descr);

// Bytes an integer (or bool) element of `descr` takes ('|b1', '|i1', '|u1', '<i2' ...
// '<u8'), or 0 for any other; `is_signed` says whether it is two's complement.
int integer_item_size(const std::string& descr, bool& is_signed);

// The header of a .npy array, padded so that the data starts 64-byte aligned.
std::string npy_header(const std::string& descr, const std::vector<int64_t>& shape);

// A numpy unicode array ('<U<n>', UTF-32 little endian): 1-d, or 0-d for one string.
// Bytes that are not UTF-8 are written as U+FFFD.
std::string npy_strings(const std::vector<std::string>& texts, bool scalar);

// IEEE 754 binary16 to float: numpy's '<f2'.
float half_to_float(uint16_t bits);

}  // namespace attnhook::detail

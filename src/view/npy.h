// Internal: numpy's .npy arrays, as the entries of an .npz hold them: the header, checked
// strictly (shape, dtype and sizes are untrusted), and conversions to float32 and strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "float_array.h"

namespace attnhook::detail {

class InputFile;
class ZipEntryReader;

struct NpyHeader {
  std::string descr;            // '<f4', '<U12', ...
  std::vector<int64_t> shape;   // () for a 0-d array
  uint64_t header_bytes = 0;    // magic, version, length and dictionary: where the data starts
};

// Reads and checks the header at the start of `entry`; errors "<where>: <why>".
NpyHeader read_npy_header(ZipEntryReader& entry, const std::string& where);

// The array of one entry, header and data, read to the entry's end (its length and CRC-32
// checked there). At most `max_elements` elements (ReadLimits); errors "<where>: <why>".
//
// A unicode array ('<U<n>') of any shape, flattened; each string's trailing NULs dropped.
std::vector<std::string> read_npy_strings(ZipEntryReader& reader, int64_t max_elements,
                                          const std::string& where);
// Integers (or bools) of any shape, flattened; `shape`, if given, receives the array's.
std::vector<int64_t> read_npy_integers(ZipEntryReader& reader, int64_t max_elements,
                                       const std::string& where,
                                       std::vector<int64_t>* shape = nullptr);
// Floats ('<f2', '<f4', '<f8') as float32. `rank` 0: any shape; else exactly that many
// dimensions (4 for attention, which the message names: [batch, heads, tgt, src]). A stored
// '<f4' entry that lies aligned in `file` is used there, not copied.
FloatArray read_npy_floats(ZipEntryReader& reader, int64_t max_elements, const std::string& where,
                           size_t rank, const std::shared_ptr<const InputFile>& file);

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

#!/usr/bin/env python3
"""Writes the hostile attention files of issue 11 into this directory (one per defect)
and the fuzzers' seed corpus (fuzz/corpus/json, fuzz/corpus/npz: every file here, plus
well-formed seeds). Standard library only; run it again to regenerate, the output is
deterministic:  python3 test/view/hostile/make_hostile.py

Each file is described next to the code that makes it; test/view/hostile_test.cpp asserts
what every subcommand says about it.
"""
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "fuzz", "corpus")


def npy(descr, shape, data=b"", header_extra=""):
    """A .npy array: version 1 header padded to 64 bytes, then `data` as given."""
    dims = ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "")
    text = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), %s}" % (descr, dims, header_extra)
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def zip_archive(entries):
    """entries: (name bytes, data bytes, method, declared size or None, crc or None, stream or None)."""
    out, directory = b"", b""
    for name, data, method, declared, crc, stream in entries:
        crc = zlib.crc32(data) if crc is None else crc
        if method == 8 and stream is None:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            stream = c.compress(data) + c.flush()
        payload = data if method == 0 else stream
        size = len(data) if declared is None else declared
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), size, len(name), 0)
        out += name + payload
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(payload),
                                 size, len(name), 0, 0, 0, 0, 0, offset)
        directory += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(out), 0)
    return out + directory + end


def stored(name, data):
    return (name.encode() if isinstance(name, str) else name, data, 0, None, None, None)


def good_layer():
    return stored("layers.0/0.npy", npy("<f4", (1, 1, 2, 2), f32(0.25, 0.75, 0.5, 0.5)))


def attnhook_json(shape, values, extra=""):
    return ('{"format": "attnhook", "version": 1, %s"layers": [{"name": "layers.0", "calls": '
            '[{"shape": %s, "values": %s}]}]}\n' % (extra, json.dumps(shape), values)).encode()


FILES = {}

# 1. Zip offset wrap: the central directory's local-header offset 0xfffffff0 wrapped the
#    32-bit check `local + 30 <= size` (the reproducer of the issue, as given).
FILES["zip_offset_wrap.npz"] = bytes.fromhex(
    "504b01021400140000000000000000000000000000000000000000000700000000000000000000000000f0ffffff6c2f302e"
    "6e7079504b0506000000000100010035000000000000000000")

# 2. Element count overflow: the product of the shape wrapped in int64, so a shape far
#    larger than its data passed the check (heap bytes written, segfaults, a null pointer).
FILES["count_overflow_heap.json"] = attnhook_json([7905747460161236407, 7, 1, 1], "[0.5]")
FILES["count_overflow_segv.json"] = attnhook_json([8077211433545238529, 1, 1023, 1023], "[0.5]")
FILES["count_overflow_null.json"] = attnhook_json([4294967296, 4294967296, 1, 1], "[]")
FILES["count_overflow.npz"] = zip_archive([stored("layers.0/0.npy", npy("<f4", (7905747460161236407, 7, 1, 1), f32(0.5)))])

# 3. Unicode width overflow: count * width * 4 = 2^64 wrapped to 0 bytes of data.
FILES["unicode_width_overflow.npz"] = zip_archive([good_layer(), stored("tokens.npy", npy("<U4611686018427387904", (1,)))])

# 4. Negative dimensions: (-1) * (-1) = 1 element, so 4 bytes of data passed.
FILES["negative_dims_model_view.npz"] = zip_archive([stored("layers.0/0.npy", npy("<f4", (1, -1, -1, 1), f32(0.5)))])
FILES["negative_dims_prepare.npz"] = zip_archive([stored("layers.0/0.npy", npy("<f4", (1, 1, -1, -1), f32(0.5)))])

# 5. Deflate bombs. A 12-byte stream that declares 4.2 GB (the declared size was
#    allocated up front); six such entries (24 GB); a stream that inflates to less than it
#    declares; one that inflates to more; a wrong CRC-32.
bomb = npy("<f4", (1, 1, 2, 2), f32(0.25, 0.75, 0.5, 0.5))
FILES["deflate_bomb_declared.npz"] = zip_archive([(b"layers.0/0.npy", bomb, 8, 4200000000, None, None)])
FILES["deflate_bomb_entries.npz"] = zip_archive(
    [(("layers.%d/0.npy" % i).encode(), bomb, 8, 4000000000, None, None) for i in range(6)])
short = npy("<f4", (1, 1, 16, 16), f32(*([1.0 / 16] * 256)))
FILES["deflate_short.npz"] = zip_archive([(b"layers.0/0.npy", short[:-64], 8, len(short), zlib.crc32(short), None)])
FILES["deflate_long.npz"] = zip_archive([(b"layers.0/0.npy", short + b"\0" * 64, 8, len(short), zlib.crc32(short), None)])
FILES["deflate_crc.npz"] = zip_archive([(b"layers.0/0.npy", short, 8, None, zlib.crc32(short) ^ 1, None)])

# 6. Deep nesting: a 200 KB "format" value of nested arrays overflowed the stack while the
#    error message printed it.
FILES["deep_nesting.json"] = b'{"format": ' + b"[" * 100000 + b"]" * 100000 + b', "version": 1, "layers": []}\n'

# 8. Raw library errors (stoll, stoul, json type_error.302, out_of_range.406), tokens that
#    are not UTF-8, and entry names with terminal escapes or bytes that are not UTF-8.
FILES["raw_stoll.npz"] = zip_archive([stored("layers.0/0.npy", npy("<f4", ("1", "x", "1", "1")))])
FILES["raw_stoul.npz"] = zip_archive([good_layer(), stored("tokens.npy", npy("<Uabc", (1,), b"a\0\0\0"))])
FILES["raw_type_error.json"] = attnhook_json([1, 1, 1, 1], "[1]", '"model": 5, ')
FILES["raw_number_overflow.json"] = attnhook_json([1, 1, 1, 1], "[1e999]")
FILES["non_utf8_token.json"] = attnhook_json([1, 1, 1, 1], "[1]", '"tokens": ["ok\xff"], '.encode("latin-1").decode("latin-1")).replace(
    "ok\xff".encode(), b"ok\xff")
FILES["non_utf8_token.npz"] = zip_archive([stored("layers.0/0.npy", npy("<f4", (1, 1, 1, 1), f32(1))),
                                           stored("tokens.npy", npy("<U1", (1,), struct.pack("<I", 0xD800)))])
FILES["entry_name_escape.npz"] = zip_archive([stored(b"\x1b]0;pwned\x07layer/0.npy", npy("<i4", (1, 1, 1, 1), b"\1\0\0\0"))])
FILES["entry_name_not_utf8.npz"] = zip_archive([stored(b"\x1b[31mred\xff/0.npy", npy("<f4", (1, 1, 1, 1), f32(1)))])


def seeds():
    """Well-formed files for the fuzzers to mutate (both schemas, stored and deflated)."""
    a = [0.25, 0.75, 0.5, 0.5, 1, 0, 0.125, 0.875]
    doc = {"format": "attnhook", "version": 1, "model": "m.pt", "text": "a b", "tokens": ["a", "b"],
           "src_tokens": ["x", "y"],
           "layers": [{"name": "layers.0.self_attn", "calls": [{"shape": [1, 2, 2, 2], "values": a},
                                                               {"shape": [1, 2, 2, 2], "values": a[::-1]}]},
                      {"name": "layers.1.cross", "tgt_tokens": ["q0", "q1"], "src_tokens": ["k0", "k1"],
                       "calls": [{"shape": [2, 1, 2, 2], "values": [None] + a[1:]}]}]}
    flat = {"tokens": ["a", "b"], "text": "a b", "attention_matrices": [[[[0.25, 0.75], [1, 0]], [[0.5, 0.5], [0, 1]]]]}
    layer = npy("<f4", (1, 2, 2, 2), f32(*a))
    tokens = npy("<U2", (2,), "a\0b\0".encode("utf-32-le"))
    text = npy("<U3", (), "a b".encode("utf-32-le"))
    return {
        "json": {"seed_attnhook.json": json.dumps(doc).encode(), "seed_flat.json": json.dumps(flat).encode()},
        "npz": {
            "seed_stored.npz": zip_archive([stored("layers.0/0.npy", layer), stored("layers.0/1.npy", layer),
                                            stored("tokens.npy", tokens), stored("text.npy", text)]),
            "seed_deflated.npz": zip_archive([(b"layers.0/0.npy", layer, 8, None, None, None),
                                              (b"tokens.npy", tokens, 8, None, None, None),
                                              (b"layers.0/tgt_tokens.npy", tokens, 8, None, None, None),
                                              (b"model.npy", text, 8, None, None, None)]),
            "seed_half_double.npz": zip_archive([stored("h/0.npy", npy("<f2", (1, 1, 2, 2), struct.pack("<4e", 0.25, 0.75, 0.5, 0.5))),
                                                 stored("d/0.npy", npy("<f8", (1, 1, 1, 2), struct.pack("<2d", 0.5, 0.5)))]),
        },
    }


def main():
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    for kind, files in seeds().items():
        directory = os.path.join(CORPUS, kind)
        os.makedirs(directory, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        for name in FILES:
            if name.endswith("." + kind):
                shutil.copyfile(os.path.join(HERE, name), os.path.join(directory, name))


if __name__ == "__main__":
    main()

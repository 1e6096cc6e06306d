#!/usr/bin/python3
"""Regenerate the compressed fixtures of format/compress.

Run from this folder with Debian's python3, python3-joblib and python3-lz4,
and the xz and zstd commands:

    /usr/bin/python3 gen.py

The outputs are committed so that `go test` needs neither Python nor the
commands. payload.bin is the uncompressed reference for the payload.* files.
"""
import bz2
import gzip
import lzma
import pickle
import subprocess
import zlib

import joblib
import lz4.frame

# A small pickle, compressible, that starts with the protocol header \x80.
payload = pickle.dumps({"name": "model", "weights": list(range(1500)),
                        "notes": "aigis " * 300}, protocol=4)
half = len(payload) // 2


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


write("payload.bin", payload)

# bzip2 has no encoder in Go's standard library.
write("payload.bz2", bz2.compress(payload, 9))
write("zeros.bz2", bz2.compress(bytes(16 << 20), 9))  # a bomb: 16 MiB of zeros
write("payload.multi.bz2", bz2.compress(payload[:half]) + bz2.compress(payload[half:]))

# The legacy .lzma format, and Python's LZMAFile reading a .lzma stream
# followed by an .xz stream.
write("payload.lzma", lzma.compress(payload, format=lzma.FORMAT_ALONE, preset=3))
write("payload.multi.lzma",
      lzma.compress(payload[:half], format=lzma.FORMAT_ALONE) +
      lzma.compress(payload[half:], format=lzma.FORMAT_XZ))

# xz with other check types, and a multi-block file from the xz command
# (block headers that record their sizes).
write("payload.sha256.xz", lzma.compress(payload, check=lzma.CHECK_SHA256))
write("payload.nocheck.xz", lzma.compress(payload, check=lzma.CHECK_NONE))
write("payload.multi.xz", lzma.compress(payload[:half]) + lzma.compress(payload[half:]))
write("payload.blocks.xz", subprocess.run(
    ["xz", "-c", "-T2", "--block-size=4096", "-6"], input=payload,
    stdout=subprocess.PIPE, check=True).stdout)

# joblib's BinaryZlibFile reads one zlib stream after another.
write("payload.multi.zlib", zlib.compress(payload[:half]) + zlib.compress(payload[half:]))
write("payload.multi.lz4", lz4.frame.compress(payload[:half], content_checksum=True) +
      lz4.frame.compress(payload[half:], block_linked=False, store_size=True))
write("payload.multi.gz", gzip.compress(payload[:half], mtime=0) + gzip.compress(payload[half:], mtime=0))

write("payload.zst", subprocess.run(
    ["zstd", "-c", "-19", "-q"], input=payload, stdout=subprocess.PIPE,
    check=True).stdout)

# joblib.dump of a tiny dict with each compressor, as users write them.
obj = {"a": 1, "b": [1, 2, 3], "c": "text"}
for name, compress in [
    ("joblib.pkl.z", 3),
    ("joblib.pkl.gz", ("gzip", 3)),
    ("joblib.pkl.bz2", ("bz2", 3)),
    ("joblib.pkl.lzma", ("lzma", 3)),
    ("joblib.pkl.xz", ("xz", 3)),
    ("joblib.pkl.lz4", ("lz4", 3)),
]:
    joblib.dump(obj, name, compress=compress)

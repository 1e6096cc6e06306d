#!/usr/bin/python3
"""Regenerate the .npy fixtures of format/npy with real numpy.

Run from this folder with Debian's python3 and python3-numpy:

    /usr/bin/python3 gen.py

The outputs are committed so that `go test` needs no Python.
"""
import io
import numpy as np
from numpy.lib import format as npformat


def save(name, arr, version=None):
    if version is None:
        np.save(name, arr, allow_pickle=True)
        return
    with open(name, "wb") as f:
        npformat.write_array(f, arr, version=version, allow_pickle=True)


save("float32.npy", np.arange(12, dtype="<f4").reshape(3, 4))
save("int64.npy", np.arange(5, dtype="<i8"))
save("bigendian.npy", np.arange(3, dtype=">i2"))
save("bool.npy", np.array([True, False]))
save("unicode.npy", np.array(["ab", "cde"]))
save("datetime.npy", np.array(["2024-01-01"], dtype="datetime64[ns]"))
save("structured.npy", np.zeros(2, dtype=[
    ("a", "<i4"),
    ("b", "<f8", (2,)),
    ("c", [("x", "u1"), ("y", "S3")]),
]))
# align=True adds padding fields, written with an empty name.
save("padded.npy", np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<i8")], align=True)))
save("titled.npy", np.zeros(1, dtype=[(("the title", "t"), "<i2")]))
save("object.npy", np.array([1, "a", None], dtype=object))
save("structured_object.npy", np.array([(1, {"k": 2})], dtype=[("a", "<i4"), ("o", "O")]))
save("nested_object.npy", np.zeros(1, dtype=[("s", [("x", "<f4"), ("o", "O", (2,))])]))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)))
save("scalar.npy", np.array(3.5))
save("empty.npy", np.zeros((0,), dtype="<f4"))
save("empty2d.npy", np.zeros((2, 0), dtype="<i4"))
save("v2.npy", np.arange(3, dtype="<u2"), version=(2, 0))
save("v3.npy", np.zeros(1, dtype=[("größe", "<f4")]), version=(3, 0))
# A header longer than 65535 bytes: numpy switches to version 2.0 by itself.
save("long_header.npy", np.zeros(1, dtype=[("f%d" % i, "u1") for i in range(3700)]))

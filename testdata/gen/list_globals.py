#!/usr/bin/python3
"""List the globals imported by the *benign* fixtures, statically.

    /usr/bin/python3 testdata/gen/list_globals.py > testdata/gen/benign-globals.txt

Nothing is unpickled: a small symbolic pickle VM (stack, memo, MARK) walks the
opcodes, resolves GLOBAL / STACK_GLOBAL / INST (STACK_GLOBAL operands taken from
the symbolic stack, so memo GETs work), and understands the container layouts the
fixtures use: torch zip (every *.pkl / *.debug_pkl member), legacy torch stacked
pickles, .npy / .npz object arrays, joblib (compressed or not, including the raw
array bytes joblib writes after each NumpyArrayWrapper BUILD). This is also a
reference for the joblib skipping rule the Go scanner needs (see skip_joblib_array).
"""

import bz2
import collections
import gzip
import io
import json
import lzma
import os
import struct
import sys
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "models"))


class Global:
    def __init__(self, mod, name):
        self.mod, self.name = mod, name

    def __repr__(self):
        return f"{self.mod}.{self.name}"


class Obj:
    """Result of a call (REDUCE/NEWOBJ/OBJ/INST); BUILD stores its state."""

    def __init__(self, fn, args):
        self.fn, self.args, self.state = fn, args, None


class Mark:
    pass


class ParseError(Exception):
    pass


def dtype_info(d):
    """(itemsize, hasobject) of a symbolic numpy.dtype object."""
    if not (isinstance(d, Obj) and repr(d.fn) == "numpy.dtype"):
        raise ParseError(f"not a dtype: {d!r}")
    typestr = d.args[0]
    state = d.state
    elsize = state[5] if state is not None and len(state) > 5 else -1
    flags = state[7] if state is not None and len(state) > 7 else 0
    if elsize is not None and elsize >= 0:
        size = elsize
    else:
        digits = "".join(c for c in typestr if c.isdigit())
        size = int(digits)
    return size, bool(flags & 1) or typestr.startswith("O")


class VM:
    def __init__(self, data, pos, found, joblib_mode=False):
        self.d, self.pos, self.found, self.joblib = data, pos, found, joblib_mode
        self.stack, self.memo, self.metastack = [], {}, []
        self.proto = 0

    # -- reading helpers
    def read(self, n):
        if self.pos + n > len(self.d):
            raise ParseError("truncated")
        b = self.d[self.pos:self.pos + n]
        self.pos += n
        return b

    def line(self):
        e = self.d.find(b"\n", self.pos)
        if e < 0:
            raise ParseError("no newline")
        b = self.d[self.pos:e]
        self.pos = e + 1
        return b

    def u(self, fmt):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def add_global(self, mod, name, how):
        g = Global(mod, name)
        self.found[repr(g)] += 1
        self.push(g)

    def push(self, v):
        self.stack.append(v)

    def run(self):
        """Run to STOP; returns the position just after STOP."""
        while True:
            op = self.read(1)
            c = op[0]
            if op == b".":
                return self.pos
            elif op == b"\x80":
                self.proto = self.read(1)[0]
            elif op == b"\x95":  # FRAME: only a length hint
                self.read(8)
            elif op == b"c":
                mod = self.line().decode()
                name = self.line().decode()
                self.add_global(mod, name, "GLOBAL")
            elif op == b"\x93":
                name = self.stack.pop()
                mod = self.stack.pop()
                if not isinstance(mod, str) or not isinstance(name, str):
                    raise ParseError(f"STACK_GLOBAL on non-str {mod!r} {name!r}")
                self.add_global(mod, name, "STACK_GLOBAL")
            elif op == b"i":
                mod = self.line().decode()
                name = self.line().decode()
                args = self.pop_mark()
                self.found[f"{mod}.{name}"] += 1
                self.push(Obj(Global(mod, name), tuple(args)))
            elif op == b"(":
                self.metastack.append(self.stack)
                self.stack = []
            elif op == b"0":
                if self.stack:
                    self.stack.pop()
                else:
                    self.pop_mark()
            elif op == b"1":
                self.pop_mark()
            elif op == b"2":
                self.push(self.stack[-1])
            elif op == b"N":
                self.push(None)
            elif op == b"\x88":
                self.push(True)
            elif op == b"\x89":
                self.push(False)
            elif op == b"I":
                s = self.line()
                self.push({b"00": False, b"01": True}.get(s) if s in (b"00", b"01") else int(s))
            elif op == b"J":
                self.push(self.u("<i"))
            elif op == b"K":
                self.push(self.u("<B"))
            elif op == b"M":
                self.push(self.u("<H"))
            elif op == b"L":
                self.push(int(self.line().rstrip(b"L")))
            elif op == b"\x8a":
                n = self.u("<B")
                self.push(int.from_bytes(self.read(n), "little", signed=True))
            elif op == b"\x8b":
                n = self.u("<i")
                self.push(int.from_bytes(self.read(n), "little", signed=True))
            elif op == b"F":
                self.push(float(self.line()))
            elif op == b"G":
                self.push(self.u(">d"))
            elif op == b"S":
                s = self.line()
                self.push(s[1:-1].decode("latin1"))
            elif op == b"T":
                self.push(self.read(self.u("<I")).decode("latin1"))
            elif op == b"U":
                self.push(self.read(self.u("<B")).decode("latin1"))
            elif op == b"V":
                self.push(self.line().decode("raw-unicode-escape"))
            elif op == b"X":
                self.push(self.read(self.u("<I")).decode("utf-8", "surrogatepass"))
            elif op == b"\x8c":
                self.push(self.read(self.u("<B")).decode("utf-8", "surrogatepass"))
            elif op == b"\x8d":
                self.push(self.read(self.u("<Q")).decode("utf-8", "surrogatepass"))
            elif op == b"B":
                self.push(self.read(self.u("<I")))
            elif op == b"C":
                self.push(self.read(self.u("<B")))
            elif op == b"\x8e":
                self.push(self.read(self.u("<Q")))
            elif op == b"\x96":
                self.push(bytearray(self.read(self.u("<Q"))))
            elif op == b"\x97":  # NEXT_BUFFER (out of band)
                self.push(Obj(Global("<buffer>", "next"), ()))
            elif op == b"\x98":  # READONLY_BUFFER
                pass
            elif op == b")":
                self.push(())
            elif op == b"]":
                self.push([])
            elif op == b"}":
                self.push({})
            elif op == b"\x8f":
                self.push(set())
            elif op == b"t":
                self.push(tuple(self.pop_mark()))
            elif op in (b"\x85", b"\x86", b"\x87"):
                n = c - 0x84
                items = tuple(self.stack[-n:])
                del self.stack[-n:]
                self.push(items)
            elif op == b"l":
                self.push(list(self.pop_mark()))
            elif op == b"d":
                items = self.pop_mark()
                self.push(dict_of(items))
            elif op == b"\x91":
                self.push(frozenset_safe(self.pop_mark()))
            elif op == b"a":
                v = self.stack.pop()
                append_safe(self.stack[-1], [v])
            elif op == b"e":
                items = self.pop_mark()
                append_safe(self.stack[-1], items)
            elif op == b"s":
                v = self.stack.pop()
                k = self.stack.pop()
                setitems_safe(self.stack[-1], [k, v])
            elif op == b"u":
                items = self.pop_mark()
                setitems_safe(self.stack[-1], items)
            elif op == b"\x90":
                items = self.pop_mark()
                if isinstance(self.stack[-1], set):
                    for x in items:
                        try:
                            self.stack[-1].add(x)
                        except TypeError:
                            pass
            elif op in (b"p", b"q", b"r", b"\x94"):
                if op == b"p":
                    k = int(self.line())
                elif op == b"q":
                    k = self.u("<B")
                elif op == b"r":
                    k = self.u("<I")
                else:
                    k = len(self.memo)
                self.memo[k] = self.stack[-1]
            elif op in (b"g", b"h", b"j"):
                k = int(self.line()) if op == b"g" else self.u("<B") if op == b"h" else self.u("<I")
                if k not in self.memo:
                    raise ParseError(f"memo key {k} missing")
                self.push(self.memo[k])
            elif op == b"R":
                args = self.stack.pop()
                fn = self.stack.pop()
                self.push(Obj(fn, args if isinstance(args, tuple) else (args,)))
            elif op == b"\x81":
                args = self.stack.pop()
                cls = self.stack.pop()
                self.push(Obj(cls, args))
            elif op == b"\x92":
                kw = self.stack.pop()
                args = self.stack.pop()
                cls = self.stack.pop()
                self.push(Obj(cls, args))
            elif op == b"o":
                items = self.pop_mark()
                self.push(Obj(items[0], tuple(items[1:])))
            elif op == b"b":
                state = self.stack.pop()
                inst = self.stack[-1]
                if isinstance(inst, Obj):
                    inst.state = state
                    if self.joblib and repr(inst.fn).endswith("numpy_pickle.NumpyArrayWrapper"):
                        self.skip_joblib_array(inst)
            elif op == b"Q":
                self.stack.pop()
                self.push(Obj(Global("<persistent>", "id"), ()))
            elif op == b"P":
                self.line()
                self.push(Obj(Global("<persistent>", "id"), ()))
            elif op in (b"\x82", b"\x83", b"\x84"):
                code = self.u({b"\x82": "<B", b"\x83": "<H", b"\x84": "<i"}[op])
                self.found[f"<EXT code {code}>"] += 1
                self.push(Global("<ext>", str(code)))
            else:
                raise ParseError(f"opcode {op!r} at {self.pos - 1}")

    def skip_joblib_array(self, wrapper):
        """joblib NumpyPickler: the array payload follows the wrapper's BUILD."""
        st = wrapper.state if isinstance(wrapper.state, dict) else {}
        size, hasobject = dtype_info(st["dtype"])
        if hasobject:
            # object arrays: a complete nested pickle (protocol 2) follows
            self.pos = VM(self.d, self.pos, self.found, self.joblib).run()
            return
        if st.get("numpy_array_alignment_bytes") is not None:
            pad = self.read(1)[0]
            self.read(pad)
        count = 1
        for n in st["shape"]:
            count *= n
        self.read(count * size)


def dict_of(items):
    out = {}
    for i in range(0, len(items) - 1, 2):
        try:
            out[items[i]] = items[i + 1]
        except TypeError:
            pass
    return out


def frozenset_safe(items):
    try:
        return frozenset(items)
    except TypeError:
        return tuple(items)


def append_safe(target, items):
    if isinstance(target, list):
        target.extend(items)


def setitems_safe(target, items):
    if isinstance(target, dict):
        for i in range(0, len(items) - 1, 2):
            try:
                target[items[i]] = items[i + 1]
            except TypeError:
                pass


def pickles_in_stream(data, found, max_streams=None, joblib_mode=False):
    pos, n = 0, 0
    while pos < len(data) and (max_streams is None or n < max_streams):
        pos = VM(data, pos, found, joblib_mode).run()
        n += 1
    return pos


def decompress_joblib(data):
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:2] == b"BZ":
        return bz2.decompress(data)
    if data[:5] == b"\xfd7zXZ" or data[:2] == b"\x5d\x00":
        return lzma.decompress(data)
    if data[:4] == b"\x04\x22\x4d\x18":
        import lz4.frame
        return lz4.frame.decompress(data)
    return data


def npy_pickle(data):
    assert data[:6] == b"\x93NUMPY"
    major = data[6]
    if major == 1:
        hlen = struct.unpack_from("<H", data, 8)[0]
        start = 10
    else:
        hlen = struct.unpack_from("<I", data, 8)[0]
        start = 12
    header = data[start:start + hlen].decode("latin1")
    if "'|O'" in header:
        return data[start + hlen:]
    return None


def scan_file(path, found):
    data = open(path, "rb").read()
    rel = os.path.relpath(path, ROOT)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                member = z.read(name)
                if name.endswith(".pkl") or name.endswith(".debug_pkl"):
                    pickles_in_stream(member, found)
                elif name.endswith(".npy"):
                    p = npy_pickle(member)
                    if p:
                        pickles_in_stream(p, found, 1)
        return
    if data[:6] == b"\x93NUMPY":
        p = npy_pickle(data)
        if p:
            pickles_in_stream(p, found, 1)
        return
    if rel.endswith(".safetensors"):
        return
    if rel.endswith(".joblib"):
        pickles_in_stream(decompress_joblib(data), found, 1, joblib_mode=True)
        return
    if data[:2] == b"\x80\x02" and data[2:3] == b"\x8a":  # legacy torch: magic LONG1
        pickles_in_stream(data, found, 5)
        return
    pickles_in_stream(data, found)


def main():
    labels = json.load(open(os.path.join(ROOT, "labels.json")))
    groups = collections.OrderedDict()
    for rel, lab in sorted(labels.items()):
        if lab["label"] != "benign":
            continue
        group = rel.split("/")[1]
        if group == "pickle":
            if "dill" in rel:
                group = "dill"
            elif "cloudpickle" in rel:
                group = "cloudpickle"
            else:
                group = "stdlib pickle"
        if rel.startswith("benign/torch/torchscript"):
            group = "torchscript"
        found = groups.setdefault(group, collections.Counter())
        scan_file(os.path.join(ROOT, rel), found)
    allg = set()
    print("# Distinct GLOBAL / STACK_GLOBAL / INST callables imported by the benign fixtures,")
    print("# per library (static walk by testdata/gen/list_globals.py; nothing unpickled).")
    print("# Python-2 names are as written in the file: protocol <= 2 pickles write")
    print("# __builtin__ / copy_reg for builtins / copyreg (fix_imports).")
    for group, found in groups.items():
        print(f"\n[{group}]")
        for g in sorted(found):
            print(g)
            allg.add(g)
    print("\n[union]")
    for g in sorted(allg):
        print(g)


if __name__ == "__main__":
    main()

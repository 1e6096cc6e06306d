package pickle

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/ascii85"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// canonical maps the C-accelerator and Python 2 spellings of the modules
// whose behaviour the interpreter models to one name. (Policy has its own,
// larger alias table.)
var canonical = map[string]string{
	"__builtin__": "builtins",
	"_operator":   "operator",
	"_functools":  "functools",
	"_pickle":     "pickle",
	"cPickle":     "pickle",
	"_codecs":     "codecs",
	"_io":         "io",
	"binascii":    "binascii",
}

func qualified(g Global) string {
	mod := g.Module
	if c, ok := canonical[mod]; ok {
		mod = c
	}
	return mod + "." + g.Name
}

// loaders deserialise a byte string argument: their input is analysed as a
// nested pickle (or, for torch, as whatever container the bytes hold).
var loaders = map[string]bool{
	"pickle.loads":                   true,
	"pickle._loads":                  true,
	"pickle.load":                    true,
	"pickle._load":                   true,
	"dill.loads":                     true,
	"dill._dill.loads":               true,
	"dill.load":                      true,
	"cloudpickle.loads":              true,
	"cloudpickle.load":               true,
	"cloudpickle.cloudpickle.loads":  true,
	"joblib.load":                    true,
	"numpy.loads":                    true,
	"numpy.load":                     true,
	"numpy.core.numeric.loads":       true,
	"torch.load":                     true,
	"torch.serialization.load":       true,
	"torch.storage._load_from_bytes": true,
	"pandas.read_pickle":             true,
	"marshal.loads":                  false, // code, not a pickle: policy judges marshal itself
}

// call records a call of callee with args and returns the object it makes.
func (m *machine) call(off int64, op string, callee, args Value, via string) Value {
	c := &Call{Callee: callee, Args: args, Op: op, Offset: off}
	switch f := callee.(type) {
	case Global:
		m.record(off, op, f.Index, qualifiedRaw(f), args, via)
		return m.model(c, f, args)
	case *Call:
		switch {
		case f.Partial != nil:
			// Calling a partial calls what it wraps, with its bound
			// arguments first.
			all := concatArgs(f.PartialArgs, args)
			return m.call(off, op, f.Partial, all, "functools.partial")
		case f.MethodName != "":
			obj := firstArg(args)
			target := m.attribute(off, obj, f.MethodName, "operator.methodcaller")
			return m.call(off, op, target, f.PartialArgs, "operator.methodcaller")
		case f.AttrNames != nil:
			obj := firstArg(args)
			var v Value = obj
			for _, name := range f.AttrNames {
				for _, part := range strings.Split(name, ".") {
					v = m.attribute(off, v, part, "operator.attrgetter")
				}
			}
			return v
		}
		g := m.unresolved(off, op, "", "<result of "+Summary(f)+">",
			fmt.Sprintf("calls the object returned by %s", Summary(f)))
		m.record(off, op, g.Index, g.Name, args, via)
		return c
	case PersID:
		// Legacy torch.save stores a whole module's class as the persistent
		// id ("module", cls, source_file, source); torch's persistent_load
		// returns cls. Any other persistent id is the loader's business.
		if t, ok := f.ID.(Tuple); ok && len(t) >= 2 {
			if s, ok := t[0].(Str); ok && s.S == "module" {
				if g, ok := t[1].(Global); ok {
					return m.call(off, op, g, args, "torch persistent_load")
				}
			}
		}
	case attr:
		g := m.unresolved(off, op, "", "<"+Summary(f.obj)+">."+f.name,
			fmt.Sprintf("calls method %q of an object made at load time (%s)", f.name, Summary(f.obj)))
		m.record(off, op, g.Index, g.Name, args, via)
		return c
	}
	g := m.unresolved(off, op, "", "<"+Summary(callee)+">",
		fmt.Sprintf("calls %s, which is not a looked-up name", Summary(callee)))
	m.record(off, op, g.Index, g.Name, args, via)
	return c
}

func qualifiedRaw(g Global) string {
	if g.Module == "" {
		return g.Name
	}
	return g.Module + "." + g.Name
}

func (m *machine) record(off int64, op string, idx int, callee string, args Value, via string) {
	m.res.Calls = append(m.res.Calls, CallRecord{Offset: off, Op: op, Import: idx, Callee: callee, Args: ArgsSummary(args), Via: via, ArgValues: args})
}

// resolvedCall marks the last recorded call as one whose target the
// interpreter resolved statically (getattr with a constant name on a
// looked-up name, import_module of a constant…): the target is judged
// instead of the resolver.
func (m *machine) resolvedCall() {
	if n := len(m.res.Calls); n > 0 {
		m.res.Calls[n-1].Resolved = true
	}
}

// attr is an attribute of an object made at load time.
type attr struct {
	obj  Value
	name string
}

func (a attr) summary(depth int, b *strings.Builder) {
	if a.obj != nil {
		a.obj.summary(depth+1, b)
	}
	b.WriteString("." + a.name)
}

// attribute models getattr(obj, name): on a module or a looked-up name it is
// another name a real load reaches, and is recorded as an import.
func (m *machine) attribute(off int64, obj Value, name, via string) Value {
	switch o := obj.(type) {
	case Module:
		return m.importName(o.Name, name, off, via)
	case Global:
		if o.Module == "" { // unresolved: keep it unresolved
			return m.unresolved(off, via, "", o.Name+"."+name, "attribute of a name computed at load time")
		}
		return m.importName(o.Module, o.Name+"."+name, off, via)
	}
	return attr{obj: obj, name: name}
}

func firstArg(args Value) Value {
	if t, ok := args.(Tuple); ok && len(t) > 0 {
		return t[0]
	}
	return Unknown{Why: "argument"}
}

func concatArgs(a, b Value) Value {
	ta, ok1 := a.(Tuple)
	tb, ok2 := b.(Tuple)
	if a == nil {
		ta, ok1 = Tuple{}, true
	}
	if ok1 && ok2 {
		out := make(Tuple, 0, len(ta)+len(tb))
		return append(append(out, ta...), tb...)
	}
	return b
}

func strArg(args Value, i int) (string, bool) {
	t, ok := args.(Tuple)
	if !ok || len(t) <= i {
		return "", false
	}
	s, ok := t[i].(Str)
	if !ok || s.Truncated {
		return "", false
	}
	return s.S, true
}

// model returns what calling the looked-up name g makes, for the names
// whose behaviour is fixed and matters for analysis.
func (m *machine) model(c *Call, g Global, args Value) Value {
	name := qualified(g)
	t, _ := args.(Tuple)
	switch name {
	case "functools.partial":
		if len(t) > 0 {
			c.Partial = t[0]
			c.PartialArgs = t[1:]
		} else if c.Op == "NEWOBJ" || c.Op == "NEWOBJ_EX" {
			c.Partial = Unknown{Why: "callable set by __setstate__"}
		}
	case "operator.methodcaller":
		if s, ok := strArg(args, 0); ok {
			c.MethodName = s
			c.PartialArgs = t[1:]
		}
	case "operator.attrgetter":
		for i := range t {
			s, ok := strArg(args, i)
			if !ok {
				c.AttrNames = nil
				break
			}
			c.AttrNames = append(c.AttrNames, s)
		}
	case "builtins.getattr":
		if s, ok := strArg(args, 1); ok {
			v := m.attribute(c.Offset, t[0], s, "builtins.getattr")
			if g, isG := v.(Global); isG && g.Module != "" {
				m.resolvedCall()
			}
			return v
		}
	case "builtins.__import__", "importlib.import_module", "importlib.__import__":
		if s, ok := strArg(args, 0); ok {
			// Importing runs the module's code: the module is judged too.
			m.importName(s, "", c.Offset, name)
			m.resolvedCall()
			return Module{Name: s}
		}
	case "pkgutil.resolve_name", "pydoc.locate", "pydoc.pipes", "importlib.util.resolve_name":
		if s, ok := strArg(args, 0); ok {
			mod, attrName := s, ""
			if i := strings.IndexByte(s, ':'); i >= 0 {
				mod, attrName = s[:i], s[i+1:]
			} else if i := strings.LastIndexByte(s, '.'); i >= 0 {
				mod, attrName = s[:i], s[i+1:]
			}
			m.resolvedCall()
			if attrName == "" {
				m.importName(mod, "", c.Offset, name)
				return Module{Name: mod}
			}
			return m.importName(mod, attrName, c.Offset, name)
		}
	case "numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct":
		// How ufuncs pickle: _ufunc_reconstruct("numpy", "log1p") imports the
		// module and returns the attribute — any module, any name.
		if mod, ok := strArg(args, 0); ok {
			if attrName, ok := strArg(args, 1); ok {
				m.resolvedCall()
				return m.importName(mod, attrName, c.Offset, name)
			}
		}
	case "dill._dill._load_type":
		// dill pickles built-in types by name: _load_type("NoneType").
		if tn, ok := strArg(args, 0); ok {
			m.resolvedCall()
			return m.importName("types", tn, c.Offset, name)
		}
	case "builtins.bytes", "builtins.bytearray":
		if len(t) > 0 {
			if b, ok := toBytes(t[0]); ok {
				return b
			}
		}
	case "codecs.encode":
		// Protocol 2 pickles of bytes: _codecs.encode('…', 'latin1').
		if len(t) >= 1 {
			if s, ok := t[0].(Str); ok {
				enc, _ := strArg(args, 1)
				if enc == "" || strings.EqualFold(enc, "latin1") || strings.EqualFold(enc, "latin-1") || strings.EqualFold(enc, "iso-8859-1") {
					bb := latin1(s.S)
					return Bytes{B: bb, Len: int64(len(bb)), Truncated: s.Truncated, Offset: c.Offset}
				}
			}
		}
	case "io.BytesIO":
		if len(t) > 0 {
			if b, ok := toBytes(t[0]); ok {
				return b // a file over the bytes: loaders read it as they would the bytes
			}
		}
	}
	if dec, ok := decoders[name]; ok && len(t) > 0 {
		if b, ok := toBytes(t[0]); ok {
			enc := ""
			if name == "codecs.decode" {
				enc, _ = strArg(args, 1)
			}
			if out, ok := dec(b.B, enc, m.opt.KeepBytes); ok {
				return Bytes{B: out.b, Len: int64(len(out.b)), Truncated: b.Truncated || out.truncated, Offset: c.Offset,
					decoding: append(append([]string(nil), b.decoding...), out.name)}
			}
		}
	}
	if loaders[name] && len(t) > 0 {
		if b, ok := toBytes(t[0]); ok && len(b.B) > 0 {
			m.res.Embedded = append(m.res.Embedded, Embedded{Offset: c.Offset, Loader: name, Data: b.B,
				Truncated: b.Truncated, Decoding: b.decoding})
		}
	}
	return c
}

func toBytes(v Value) (Bytes, bool) {
	switch b := v.(type) {
	case Bytes:
		return b, true
	case Str:
		return Bytes{B: latin1(b.S), Len: b.Len, Truncated: b.Truncated}, true
	}
	return Bytes{}, false
}

// latin1 encodes a str whose characters are all below 256 the way Python's
// latin1 codec does; other characters become '?'.
func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 256 {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return out
}

type decoded struct {
	b         []byte
	truncated bool
	name      string
}

type decoder func(in []byte, encoding string, keep int) (decoded, bool)

func stdDecoder(name string, f func([]byte) ([]byte, error)) decoder {
	return func(in []byte, _ string, _ int) (decoded, bool) {
		out, err := f(in)
		if err != nil {
			return decoded{}, false
		}
		return decoded{b: out, name: name}, true
	}
}

func streamDecoder(name string, open func(io.Reader) (io.Reader, error)) decoder {
	return func(in []byte, _ string, keep int) (decoded, bool) {
		r, err := open(bytes.NewReader(in))
		if err != nil {
			return decoded{}, false
		}
		out, err := io.ReadAll(io.LimitReader(r, int64(keep)+1))
		if err != nil && len(out) == 0 {
			return decoded{}, false
		}
		trunc := len(out) > keep
		if trunc {
			out = out[:keep]
		}
		return decoded{b: out, truncated: trunc || err != nil, name: name}, true
	}
}

func b64(in []byte) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, string(in))
	if out, err := base64.StdEncoding.DecodeString(s); err == nil {
		return out, nil
	}
	if out, err := base64.URLEncoding.DecodeString(s); err == nil {
		return out, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

var (
	zlibDec = streamDecoder("zlib", func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) })
	gzipDec = streamDecoder("gzip", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) })
	bz2Dec  = streamDecoder("bz2", func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil })
	b64Dec  = stdDecoder("base64", b64)
	hexDec  = stdDecoder("hex", func(in []byte) ([]byte, error) { return hex.DecodeString(string(in)) })
	b32Dec  = stdDecoder("base32", func(in []byte) ([]byte, error) { return base32.StdEncoding.DecodeString(string(in)) })
	a85Dec  = stdDecoder("ascii85", func(in []byte) ([]byte, error) {
		out := make([]byte, 4*len(in)/5+4)
		n, _, err := ascii85.Decode(out, in, true)
		return out[:n], err
	})
)

// decoders are the standard-library functions that turn an encoded byte
// string into the bytes of a second-stage payload.
var decoders = map[string]decoder{
	"base64.b64decode":          b64Dec,
	"base64.standard_b64decode": b64Dec,
	"base64.urlsafe_b64decode":  b64Dec,
	"base64.decodebytes":        b64Dec,
	"base64.decodestring":       b64Dec,
	"binascii.a2b_base64":       b64Dec,
	"base64.b32decode":          b32Dec,
	"base64.b16decode":          hexDec,
	"binascii.unhexlify":        hexDec,
	"binascii.a2b_hex":          hexDec,
	"bytes.fromhex":             hexDec,
	"builtins.bytes.fromhex":    hexDec,
	"base64.a85decode":          a85Dec,
	"zlib.decompress":           zlibDec,
	"gzip.decompress":           gzipDec,
	"bz2.decompress":            bz2Dec,
	"codecs.decode": func(in []byte, enc string, keep int) (decoded, bool) {
		switch strings.ToLower(strings.ReplaceAll(enc, "-", "_")) {
		case "base64", "base64_codec":
			return b64Dec(in, enc, keep)
		case "zlib", "zlib_codec", "zip":
			return zlibDec(in, enc, keep)
		case "bz2", "bz2_codec":
			return bz2Dec(in, enc, keep)
		case "hex", "hex_codec":
			return hexDec(in, enc, keep)
		}
		return decoded{}, false
	},
}

// build models BUILD: obj.__setstate__(state), or a __dict__ update.
func (m *machine) build(off int64, obj, state Value) error {
	c, ok := obj.(*Call)
	if !ok {
		return nil
	}
	c.state = state
	// functools.partial restores its callable and arguments in
	// __setstate__((func, args, kwds, dict)).
	if c.Partial != nil {
		if t, ok := state.(Tuple); ok && len(t) >= 2 {
			c.Partial = t[0]
			c.PartialArgs = t[1]
		}
	}
	if g, ok := c.Callee.(Global); ok {
		m.record(off, "BUILD", g.Index, qualifiedRaw(g)+".__setstate__", Tuple{state}, "")
		if isJoblibWrapper(g) {
			start := m.in.off
			err := m.joblibArray(off, state)
			m.skipped = m.in.off - start
			return err
		}
	}
	return nil
}

func isJoblibWrapper(g Global) bool {
	if g.Name != "NumpyArrayWrapper" {
		return false
	}
	return g.Module == "joblib.numpy_pickle" || g.Module == "sklearn.externals.joblib.numpy_pickle"
}

// joblibArray skips the array bytes that joblib writes into the pickle
// stream right after a NumpyArrayWrapper, as joblib's NumpyUnpickler reads
// them in load_build: an optional padding-length byte and padding, then the
// raw array bytes — or, for object arrays, a whole pickle of the array.
func (m *machine) joblibArray(off int64, state Value) error {
	d, ok := state.(*Dict)
	if !ok {
		return m.fail(off, opBuild, "joblib array wrapper without a state dict")
	}
	dt, _ := d.Get("dtype")
	itemsize, hasObject, ok := dtypeInfo(dt)
	if !ok {
		return m.fail(off, opBuild, "joblib array wrapper with a dtype that cannot be read: %s", Summary(dt))
	}
	if hasObject {
		return m.inlinePickle(off)
	}
	if a, ok := d.Get("numpy_array_alignment_bytes"); ok {
		if _, none := a.(None); !none {
			pad, err := m.in.readByte()
			if err != nil {
				return err
			}
			if err := m.in.skip(int64(pad)); err != nil {
				return err
			}
		}
	}
	shapeV, _ := d.Get("shape")
	shape, ok := shapeV.(Tuple)
	if !ok {
		return m.fail(off, opBuild, "joblib array wrapper without a shape")
	}
	count := int64(1)
	for _, s := range shape {
		n, ok := s.(Int)
		if !ok || n.Big != nil || n.V < 0 {
			return m.fail(off, opBuild, "joblib array shape %s is not a tuple of sizes", Summary(shapeV))
		}
		if n.V != 0 && count > (1<<62)/n.V {
			return m.fail(off, opBuild, "joblib array shape %s overflows", Summary(shapeV))
		}
		count *= n.V
	}
	if itemsize != 0 && count > (1<<62)/itemsize {
		return m.fail(off, opBuild, "joblib array of %d items of %d bytes overflows", count, itemsize)
	}
	return m.in.skip(count * itemsize)
}

// inlinePickle interprets a complete pickle written inside the current one
// (joblib object arrays) with its own stack and memo.
func (m *machine) inlinePickle(off int64) error {
	if m.depth >= 4 {
		return m.fail(off, opBuild, "joblib object arrays nested too deep")
	}
	saved := *m
	m.stack, m.marks, m.memo = nil, nil, memo{}
	m.depth++
	_, err := m.stream()
	stack, marks, memo := saved.stack, saved.marks, saved.memo
	m.stack, m.marks, m.memo, m.proto, m.frameEnd, m.depth = stack, marks, memo, saved.proto, saved.frameEnd, saved.depth
	m.streamOps += saved.streamOps
	if err != nil {
		return stopErr{err}
	}
	return nil
}

// dtypeInfo reads a numpy.dtype made at load time: numpy.dtype('f8', False,
// True) followed by BUILD with the state tuple (version, byteorder,
// subarray, names, fields, elsize, alignment, flags[, metadata]).
func dtypeInfo(v Value) (itemsize int64, hasObject bool, ok bool) {
	c, isCall := v.(*Call)
	if !isCall {
		return 0, false, false
	}
	g, isG := c.Callee.(Global)
	if !isG || g.Name != "dtype" || !strings.HasPrefix(g.Module, "numpy") {
		return 0, false, false
	}
	t, _ := c.Args.(Tuple)
	if len(t) == 0 {
		return 0, false, false
	}
	s, isStr := t[0].(Str)
	if !isStr || s.S == "" {
		return 0, false, false
	}
	kind := s.S[0]
	if kind == 'O' {
		return 8, true, true
	}
	if c.state != nil {
		if st, ok := c.state.(Tuple); ok && len(st) >= 8 {
			if fl, ok := st[7].(Int); ok && fl.V&1 != 0 {
				return 0, true, true
			}
			if es, ok := st[5].(Int); ok && es.V > 0 {
				return es.V, false, true
			}
		}
	}
	var size int64
	for _, ch := range s.S[1:] {
		if ch < '0' || ch > '9' {
			break
		}
		size = size*10 + int64(ch-'0')
		if size > 1<<40 {
			return 0, false, false
		}
	}
	switch kind {
	case 'U':
		size *= 4
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V', 'M', 'm', '?':
	default:
		return 0, false, false
	}
	if kind == '?' && size == 0 {
		size = 1
	}
	if size == 0 {
		return 0, false, false
	}
	return size, false, true
}

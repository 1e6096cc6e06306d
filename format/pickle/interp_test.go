package pickle

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func interpret(b []byte) *Result { return Interpret(bytes.NewReader(b), Options{}) }

// called returns "module.name(args)" for every call that reaches a resolved
// import, in order.
func called(r *Result) []string {
	var out []string
	for _, c := range r.Calls {
		if c.Import < 0 || c.Op == "BUILD" {
			continue
		}
		imp := r.Imports[c.Import]
		name := imp.Qualified()
		if !imp.Resolved {
			name = "?" + name
		}
		out = append(out, name+"("+c.Args+")")
	}
	return out
}

func imported(r *Result) []string {
	var out []string
	for _, i := range r.Imports {
		q := i.Qualified()
		if !i.Resolved {
			q = "?" + q
		}
		out = append(out, q)
	}
	return out
}

func TestCallsAreResolved(t *testing.T) {
	payload := new(pb).proto(2).call("os", "system", "echo hi").stop().b
	tests := []struct {
		name  string
		in    []byte
		calls []string
	}{
		{"protocol 0 GLOBAL and REDUCE",
			[]byte("cposix\nsystem\n(S'echo hi'\ntR."),
			[]string{`posix.system("echo hi")`}},
		{"INST",
			[]byte("(S'echo hi'\nisubprocess\nPopen\n."),
			[]string{`subprocess.Popen("echo hi")`}},
		{"OBJ whose result is popped",
			new(pb).proto(2).op(opMark).global("subprocess", "Popen").str("id").op(opObj, opPop).op(opNone).stop().b,
			[]string{`subprocess.Popen("id")`}},
		{"NEWOBJ",
			new(pb).proto(2).global("subprocess", "Popen").str("id").tuple1().op(opNewobj).stop().b,
			[]string{`subprocess.Popen("id")`}},
		{"NEWOBJ_EX",
			new(pb).proto(4).global("subprocess", "Popen").str("id").tuple1().op(opEmptyDict, opNewobjEx).stop().b,
			[]string{`subprocess.Popen("id")`}},
		{"STACK_GLOBAL from memo",
			new(pb).proto(4).str("os").memoize().op(opPop).str("system").memoize().op(opPop).
				get(0).get(1).stackGlobal().str("id").tuple1().reduce().stop().b,
			[]string{`os.system("id")`}},
		{"STACK_GLOBAL from Python 2 strings at offset 0",
			new(pb).binstring("os").binstring("system").stackGlobal().str0("id").tuple1().reduce().stop().b,
			[]string{`os.system("id")`}},
		{"memo confusion: MEMOIZE after PUT uses the memo length",
			// PUT 5 stores "builtins"; MEMOIZE then stores "os" at index 1
			// (one entry so far), not at 6.
			new(pb).proto(4).str("builtins").put(5).op(opPop).str("os").memoize().op(opPop).
				str("system").memoize().op(opPop).get(1).get(2).stackGlobal().str("id").tuple1().reduce().stop().b,
			[]string{`os.system("id")`}},
		{"dotted name walks attributes",
			new(pb).proto(4).str("pathlib").str("os.system").stackGlobal().str("id").tuple1().reduce().stop().b,
			[]string{`pathlib.os.system("id")`}},
		{"getattr on an imported module",
			new(pb).proto(2).global("builtins", "getattr").
				call("builtins", "__import__", "os").str("system").tuple2().reduce().
				str("id").tuple1().reduce().stop().b,
			[]string{`builtins.__import__("os")`, `builtins.getattr(<module os>, "system")`, `os.system("id")`}},
		{"attrgetter applied to a module",
			new(pb).proto(2).call("operator", "attrgetter", "system").
				call("importlib", "import_module", "os").tuple1().reduce().
				str("id").tuple1().reduce().stop().b,
			[]string{`operator.attrgetter("system")`, `importlib.import_module("os")`, `os.system("id")`}},
		{"methodcaller applied to a module",
			new(pb).proto(2).call("operator", "methodcaller", "system", "id").
				call("builtins", "__import__", "os").tuple1().reduce().stop().b,
			[]string{`operator.methodcaller("system", "id")`, `builtins.__import__("os")`, `os.system("id")`}},
		{"functools.partial",
			new(pb).proto(2).global("functools", "partial").global("os", "system").str("id").tuple2().reduce().
				op(opEmptyTuple).reduce().stop().b,
			[]string{`functools.partial(os.system, "id")`, `os.system("id")`}},
		{"numpy ufunc reconstructor as a resolver",
			new(pb).proto(2).call("numpy.core", "_ufunc_reconstruct", "os", "system").str("id").tuple1().reduce().stop().b,
			[]string{`numpy.core._ufunc_reconstruct("os", "system")`, `os.system("id")`}},
		{"pkgutil.resolve_name",
			new(pb).proto(2).call("pkgutil", "resolve_name", "os:system").str("id").tuple1().reduce().stop().b,
			[]string{`pkgutil.resolve_name("os:system")`, `os.system("id")`}},
		{"stacked pickles: payload in the second stream",
			append(new(pb).proto(2).op(opNone).stop().b, payload...),
			[]string{`os.system("echo hi")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := interpret(tt.in)
			if r.Err != nil {
				t.Fatalf("error: %v", r.Err)
			}
			if diff := cmp.Diff(tt.calls, called(r)); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnresolvedNames(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string // an unresolved import containing this
	}{
		{"STACK_GLOBAL of computed strings",
			new(pb).proto(4).call("builtins", "str", "os").call("builtins", "str", "system").stackGlobal().stop().b,
			"computed at load time"},
		{"EXT2 extension code",
			new(pb).proto(2).op(opExt2, 0x01, 0x02).stop().b,
			"extension code 513"},
		{"calling the result of a call",
			new(pb).proto(2).call("builtins", "str", "x").op(opEmptyTuple).reduce().stop().b,
			"calls the object returned by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := interpret(tt.in)
			found := false
			for _, i := range r.Imports {
				if !i.Resolved && strings.Contains(i.Why, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no unresolved import with %q; imports: %+v, err %v", tt.want, r.Imports, r.Err)
			}
		})
	}
}

func TestBrokenPickleKeepsWhatCameBefore(t *testing.T) {
	// nullifAI: the payload runs, then the stream is corrupt.
	in := new(pb).proto(2).call("os", "system", "id").b
	in = append(in, 0xff, 0xfe, 'x')
	r := interpret(in)
	if r.Err == nil {
		t.Fatal("no error for a broken stream")
	}
	if diff := cmp.Diff([]string{`os.system("id")`}, called(r)); diff != "" {
		t.Errorf("calls before the break (-want +got):\n%s", diff)
	}
	if !r.Identified {
		t.Error("a stream with PROTO 2 and a call is a pickle")
	}
	if r.Err.Offset != int64(len(in)-3) {
		t.Errorf("break at %d, want %d", r.Err.Offset, len(in)-3)
	}
}

func TestMissingMemoKeyStopsLikeTheLoader(t *testing.T) {
	in := new(pb).proto(2).call("os", "system", "id").op(opPop).get(9).stop().b
	r := interpret(in)
	if r.Err == nil || !strings.Contains(r.Err.Msg, "memo") {
		t.Fatalf("err = %v, want a memo error", r.Err)
	}
	if len(called(r)) != 1 {
		t.Errorf("the call before the bad GET was lost: %v", called(r))
	}
}

func TestNestedPicklesAreEmbedded(t *testing.T) {
	inner := new(pb).proto(2).call("os", "system", "id").stop().b
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(inner)
	zw.Close()
	tests := []struct {
		name     string
		in       []byte
		decoding []string
	}{
		{"pickle.loads of bytes", new(pb).proto(3).global("pickle", "loads").bytes(inner).tuple1().reduce().stop().b, nil},
		{"_pickle.loads of _codecs.encode", new(pb).proto(2).global("_pickle", "loads").
			global("_codecs", "encode").str(string(latin1Runes(inner))).str("latin1").tuple2().reduce().tuple1().reduce().stop().b, nil},
		{"pickle.loads of base64", new(pb).proto(3).global("pickle", "loads").
			call("base64", "b64decode", base64.StdEncoding.EncodeToString(inner)).tuple1().reduce().stop().b, []string{"base64"}},
		{"pickle.loads of zlib", new(pb).proto(3).global("pickle", "loads").
			global("zlib", "decompress").bytes(z.Bytes()).tuple1().reduce().tuple1().reduce().stop().b, []string{"zlib"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := interpret(tt.in)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if len(r.Embedded) != 1 {
				t.Fatalf("embedded = %d, want 1", len(r.Embedded))
			}
			e := r.Embedded[0]
			if !bytes.Equal(e.Data, inner) {
				t.Errorf("embedded data = %q, want %q", e.Data, inner)
			}
			if diff := cmp.Diff(tt.decoding, e.Decoding); diff != "" {
				t.Errorf("decoding (-want +got):\n%s", diff)
			}
		})
	}
}

func latin1Runes(b []byte) []rune {
	out := make([]rune, len(b))
	for i, c := range b {
		out[i] = rune(c)
	}
	return out
}

func TestTrailingBinaryIsNotABrokenPickle(t *testing.T) {
	in := new(pb).proto(2).op(opNone).stop().b
	in = append(in, 0x80, 0x02, 0xff, 0x00, 0x13)
	r := interpret(in)
	if r.Err != nil {
		t.Fatalf("err = %v: data after the last pickle that breaks at once is trailing data", r.Err)
	}
	if len(r.Anomalies) == 0 || r.Anomalies[0].Kind != AnomalyTrailingData {
		t.Errorf("anomalies = %+v, want trailing data", r.Anomalies)
	}
}

func TestLimits(t *testing.T) {
	// A billion-laughs style stream: DUP forever.
	var b []byte
	b = append(b, opProto, 2, opNone)
	for i := 0; i < 10000; i++ {
		b = append(b, opDup)
	}
	r := Interpret(bytes.NewReader(b), Options{MaxStack: 100})
	if r.Err == nil || r.Err.Limit == nil || r.Err.Limit.Limit != "PickleMaxStack" {
		t.Errorf("err = %v, want PickleMaxStack", r.Err)
	}
	r = Interpret(bytes.NewReader(b), Options{MaxOps: 50})
	if r.Err == nil || r.Err.Limit == nil || r.Err.Limit.Limit != "PickleMaxOps" {
		t.Errorf("err = %v, want PickleMaxOps", r.Err)
	}
	// A declared length far beyond the input costs nothing.
	huge := []byte{opProto, 4, opBinbytes8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}
	r = interpret(huge)
	if r.Err == nil {
		t.Error("truncated BINBYTES8 not reported")
	}
}

func TestSniff(t *testing.T) {
	yes := map[string][]byte{
		"protocol 2":        new(pb).proto(2).op(opEmptyDict).stop().b,
		"protocol 0 global": []byte("cos\nsystem\n(S'id'\ntR."),
		"protocol 0 dict":   []byte("(dp0\nS'a'\np1\nI1\ns."),
		"protocol 1 list":   []byte("]q\x00(K\x01K\x02e."),
		"protocol 4 framed": append([]byte{0x80, 4, 0x95, 5, 0, 0, 0, 0, 0, 0, 0}, '}', 0x94, '.'),
	}
	for name, b := range yes {
		if !Sniff(b) {
			t.Errorf("%s: not recognised", name)
		}
	}
	no := map[string][]byte{
		"PNG":         []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
		"JSON":        []byte(`{"a": 1}`),
		"text":        []byte("# README\nhello\n"),
		"zip":         []byte("PK\x03\x04\x14\x00"),
		"version":     []byte("3\n"),
		"byteorder":   []byte("little"),
		"float bytes": {0x80, 0x02, 0x3f, 0x11, 0x42, 0x99},
		"empty":       {},
	}
	for name, b := range no {
		if Sniff(b) {
			t.Errorf("%s: recognised as a pickle", name)
		}
	}
}

// getattr with a constant name on a looked-up class is resolved: the
// attribute reached is an import of its own, and the call says so, so
// policy can judge the target instead of the resolver (enum members).
func TestResolvedGetattr(t *testing.T) {
	in := new(pb).proto(4).global("builtins", "getattr").global("mylib", "Color").str("RED").tuple2().reduce().stop().b
	r := interpret(in)
	if diff := cmp.Diff([]string{"builtins.getattr", "mylib.Color", "mylib.Color.RED"}, imported(r)); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	if len(r.Calls) != 1 || !r.Calls[0].Resolved {
		t.Errorf("calls = %+v, want one resolved getattr", r.Calls)
	}
	// A name computed at load time is not resolved.
	in = new(pb).proto(4).global("builtins", "getattr").global("mylib", "Color").call("builtins", "str", "RED").tuple2().reduce().stop().b
	r = interpret(in)
	for _, c := range r.Calls {
		if c.Callee == "builtins.getattr" && c.Resolved {
			t.Error("getattr with a computed name marked resolved")
		}
	}
}

package pickle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzInterpret feeds arbitrary bytes to the interpreter. Invariants: no
// panic, bounded work, a result that never claims to have read more than
// the input, and an error for every stream that did not reach STOP.
func FuzzInterpret(f *testing.F) {
	f.Add(new(pb).proto(2).call("os", "system", "id").stop().b)
	f.Add([]byte("cposix\nsystem\n(S'echo hi'\ntR."))
	f.Add([]byte("(S'echo hi'\nisubprocess\nPopen\n."))
	f.Add(new(pb).proto(4).str("pathlib").str("os.system").stackGlobal().str("id").tuple1().reduce().stop().b)
	f.Add(new(pb).proto(2).call("operator", "methodcaller", "system", "id").call("builtins", "__import__", "os").tuple1().reduce().stop().b)
	f.Add(new(pb).proto(3).global("pickle", "loads").bytes(new(pb).proto(2).call("os", "system", "id").stop().b).tuple1().reduce().stop().b)
	f.Add([]byte{0x80, 4, 0x95, 5, 0, 0, 0, 0, 0, 0, 0, '}', 0x94, '.'})
	f.Add([]byte{0x80, 2, 0x82, 1, '.'})
	// Real pickles made by real libraries, when the fixtures are there.
	for _, dir := range []string{"../../testdata/models/benign", "../../testdata/models/malicious"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && len(b) < 64<<10 && Sniff(b) {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		Sniff(b)
		r := Interpret(bytes.NewReader(b), Options{MaxOps: 100000, MaxStack: 10000, MaxMemo: 10000, KeepBytes: 1 << 16})
		if r == nil {
			t.Fatal("nil result")
		}
		if r.BytesRead > int64(len(b)) {
			t.Fatalf("read %d of %d bytes", r.BytesRead, len(b))
		}
		for i, s := range r.Streams {
			if !s.Complete && (r.Err == nil || i != len(r.Streams)-1) {
				t.Fatalf("stream %d incomplete without an error", i)
			}
		}
		for _, c := range r.Calls {
			if c.Import >= len(r.Imports) {
				t.Fatalf("call refers to import %d of %d", c.Import, len(r.Imports))
			}
		}
	})
}

package onnx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/format/internal/protowire"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks the invariants of Parse on any input: no panic, a
// Model with every result, an error that is malformed input or a limit,
// counts within the limits, and the same model from the stream parser
// (fed one byte at a time) whenever the input parses. Seeds are the
// generated fixtures and the hostile shapes of the tests.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.onnx"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(nested(5))
	f.Add(model(externalTensor("w", "../x"), node("Add", ""), node("Op", "com.evil")))
	f.Add(append(append(tag(99, protowire.StartGroup), vfield(1, 5)...), append(tag(99, protowire.EndGroup), model()...)...))
	f.Add([]byte{0x08, 0x80})

	lim := DefaultLimits()
	lim.MaxGraphDepth = 8
	lim.MaxNodes = 1000
	lim.MaxDistinct = 100
	lim.MaxStringBytes = 1024
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseBytes(data, lim)
		if m == nil {
			t.Fatalf("nil model, err %v", err)
		}
		if err != nil {
			if _, ok := safeio.IsLimit(err); !ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
		if m.Nodes > lim.MaxNodes || len(m.Ops) > lim.MaxDistinct {
			t.Fatalf("limits exceeded: %d nodes, %d ops", m.Nodes, len(m.Ops))
		}
		sum := 0
		for _, op := range m.Ops {
			if op.Count < 1 || op.Offset < 0 || op.Offset >= int64(len(data)) {
				t.Fatalf("bad op %+v", op)
			}
			sum += op.Count
		}
		if sum > m.Nodes {
			t.Fatalf("%d operator uses in %d nodes", sum, m.Nodes)
		}
		for _, e := range m.ExternalData {
			if int64(len(e.Location)) > lim.MaxStringBytes || e.At < 0 || e.At >= int64(len(data)) {
				t.Fatalf("bad external %+v", e)
			}
		}
		m2, err2 := ParseReader(&oneByteReader{data}, lim)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Parse err %v, ParseReader err %v", err, err2)
		}
		if err == nil {
			if d := cmp.Diff(m, m2); d != "" {
				t.Fatalf("stream model differs (-at +stream):\n%s", d)
			}
		}
	})
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

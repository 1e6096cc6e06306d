package npy

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseHeader checks the invariants of ParseHeader on any input: no
// panic, a nil header with every error, a header that says where the data
// starts and that the reader is left exactly there, and a result that does
// not depend on how the reader splits its reads. Inputs without the magic
// are also tried as the header literal of a version 1.0 file, so the fuzzer
// spends its time in the literal parser.
func FuzzParseHeader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	for _, h := range []string{
		`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`,
		`{'descr': [('a', '<i4'), ('b', '|O', (2,))], 'fortran_order': False, 'shape': (1,), }`,
		`{'descr': ('|O', (2,)), 'fortran_order': True, 'shape': (), }`,
		`{"descr": u'\x4f' "\N{latin small letter o}", 'fortran_order': False, 'shape': (0x10, 1_0, 3L)}`,
		`{'descr': {'aO': 1}, 'fortran_order': False, 'shape': (True,), # c` + "\n}",
		`{'descr': r'''\O''', 'fortran_order': False, 'shape': (-1, 99999999999999999999)}`,
		`[[[[[[[[((((({{{{`,
		`{'descr': [(('t', 'n'), [('x', '<U3', 2)]), ('', '|V4')], 'fortran_order': False, 'shape': (2,)}`,
	} {
		f.Add([]byte(h))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		if !Sniff(data) && len(data) < 60000 {
			check(t, npyFile(1, string(data)))
		}
	})
}

func check(t *testing.T, data []byte) {
	r := bytes.NewReader(data)
	h, err := ParseHeader(r)
	if err != nil {
		if h != nil {
			t.Fatalf("header %+v returned with error %v", h, err)
		}
		return
	}
	if !Sniff(data) {
		t.Fatalf("parsed a header from input that does not sniff as .npy")
	}
	if h.HeaderLen > MaxHeaderLen {
		t.Fatalf("HeaderLen %d > MaxHeaderLen", h.HeaderLen)
	}
	if read := int64(len(data) - r.Len()); read != h.DataOffset {
		t.Fatalf("read %d bytes, DataOffset %d", read, h.DataOffset)
	}
	for _, d := range h.Shape {
		if d < 0 {
			t.Fatalf("negative dimension in %v", h.Shape)
		}
	}
	if n, ok := h.DataBytes(); ok && (n < 0 || h.HasObject()) {
		t.Fatalf("DataBytes = %d, %v with HasObject %v", n, ok, h.HasObject())
	}
	// The same bytes read one at a time give the same header.
	h2, err := ParseHeader(&oneByteReader{data})
	if err != nil {
		t.Fatalf("byte-at-a-time read failed: %v", err)
	}
	if diff := cmp.Diff(h, h2); diff != "" {
		t.Fatalf("byte-at-a-time read differs:\n%s", diff)
	}
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

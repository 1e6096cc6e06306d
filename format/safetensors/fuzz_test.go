package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks Parse's invariants on any input: no panic, a nil file
// with every error, tensors whose ranges are non-negative and ordered, and
// the same result twice. Inputs that are not safetensors files are also
// tried as the JSON header of one, so the fuzzer spends its time there.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/models/benign/safetensors/*.safetensors")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, h := range []string{
		"{" + tensorJSON("a", "F32", []int64{2}, 0, 8) + "," + tensorJSON("b", "F4", []int64{2}, 8, 9) + `,"__metadata__":{"k":"v"}}`,
		`{"a":{"dtype":"F32","dtype":"X","shape":[-1,1.5],"data_offsets":[9,0,1],"z":[{}]}}`,
		`{"__metadata__":{"n":1,"o":{"a":[1,{"b":null}]}}} x`,
		`  {"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,18446744073709551615]}}`,
		`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`,
	} {
		f.Add(build(h, 8))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		if len(data) < 8 || binary.LittleEndian.Uint64(data) > uint64(len(data)) {
			check(t, build(string(data), 16))
		}
	})
}

func check(t *testing.T, data []byte) {
	lim := DefaultLimits()
	f, err := Parse(bytes.NewReader(data), int64(len(data)), lim)
	if err != nil {
		if f != nil {
			t.Fatalf("file returned with error %v", err)
		}
		return
	}
	if len(f.Anomalies) > MaxAnomalies {
		t.Fatalf("%d anomalies", len(f.Anomalies))
	}
	if f.ParamCount < 0 {
		t.Fatalf("ParamCount %d", f.ParamCount)
	}
	n := 0
	for _, c := range f.DTypes {
		n += c
	}
	if n != len(f.Tensors) {
		t.Fatalf("DTypes count %d tensors, have %d", n, len(f.Tensors))
	}
	for _, ten := range f.Tensors {
		if ten.Begin < 0 || ten.End < ten.Begin {
			t.Fatalf("tensor %+v", ten)
		}
		for _, d := range ten.Shape {
			if d < 0 {
				t.Fatalf("tensor %+v", ten)
			}
		}
	}
	if len(f.Anomalies) == 0 {
		// A clean file tiles its data area exactly.
		var sum int64
		for _, ten := range f.Tensors {
			sum += ten.End - ten.Begin
		}
		if sum != f.Size-f.DataOffset {
			t.Fatalf("clean file: tensors cover %d of %d bytes", sum, f.Size-f.DataOffset)
		}
	}
	f2, _ := Parse(bytes.NewReader(data), int64(len(data)), lim)
	if fmt.Sprint(f) != fmt.Sprint(f2) {
		t.Fatalf("two parses differ")
	}
}

// BenchmarkParse parses the header of a file with 1,000 tensors, as a scan
// of a real checkpoint does; the data area is not read.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int64
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, ",%s", tensorJSON(fmt.Sprintf("model.layers.%d.self_attn.q_proj.weight", i), "BF16", []int64{64, 64}, off, off+8192))
		off += 8192
	}
	sb.WriteString("}")
	hdr := build(sb.String(), 0)
	r := &sparse{head: hdr, size: int64(len(hdr)) + off}
	b.SetBytes(int64(len(hdr)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(r, r.size, DefaultLimits())
		if err != nil || len(f.Anomalies) != 0 || len(f.Tensors) != 1000 {
			b.Fatalf("%v %+v", err, f.Anomalies)
		}
	}
}

// sparse is a file of size bytes that starts with head and is zero after.
type sparse struct {
	head []byte
	size int64
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		if off+int64(i) < int64(len(s.head)) {
			p[i] = s.head[off+int64(i)]
		} else {
			p[i] = 0
		}
	}
	return len(p), nil
}

package gguf

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzParse checks Parse's invariants on any input: no panic, a nil file
// with every error, kept values within the keep limits, tensors that are
// only sized when their type is known, and the same result twice. Inputs
// without the magic are also tried after a v3 preamble, so the fuzzer spends
// its time in the header.
func FuzzParse(f *testing.F) {
	kvs, ts := llama()
	size := layout(ts, 32)
	f.Add(build(3, kvs, ts, 32, size))
	f.Add(build(2, kvs, ts, 32, size))
	f.Add(build(1, kvs[:5], ts, 32, size))
	f.Add(build(3, []kv{{"general.alignment", TypeUint32, 3}}, []tensor{{name: "a", dims: []uint64{1 << 62}, typ: 2, offset: 7}}, 32, 0))
	f.Add(hostile(func(w *writer) {
		w.u64(0)
		w.u64(1)
		w.str("k")
		w.u32(uint32(TypeArray))
		w.u32(uint32(TypeArray))
		w.u64(2)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		if !Sniff(data) {
			check(t, append([]byte("GGUF\x03\x00\x00\x00"), data...))
		}
	})
}

func check(t *testing.T, data []byte) {
	lim := DefaultLimits()
	lim.MaxElems = 1 << 16
	f, err := Parse(bytes.NewReader(data), int64(len(data)), lim)
	if err != nil {
		if f != nil {
			t.Fatalf("file returned with error %v", err)
		}
		return
	}
	if !Sniff(data) {
		t.Fatal("parsed a file that does not sniff as GGUF")
	}
	if len(f.Anomalies) > MaxAnomalies || f.ParamCount < 0 {
		t.Fatalf("%d anomalies, ParamCount %d", len(f.Anomalies), f.ParamCount)
	}
	if uint64(len(f.Metadata)) > f.KVCount || uint64(len(f.Tensors)) > f.TensorCount {
		t.Fatalf("kept more than declared")
	}
	var walk func(v Value)
	walk = func(v Value) {
		if len(v.Str) > lim.KeepString || len(v.Elems) > lim.KeepArrayElems {
			t.Fatalf("kept too much: %d bytes, %d elements", len(v.Str), len(v.Elems))
		}
		for _, e := range v.Elems {
			walk(e)
		}
	}
	for _, kv := range f.Metadata {
		walk(kv.Value)
	}
	for _, ten := range f.Tensors {
		if len(ten.Dims) > MaxDims {
			t.Fatalf("tensor %+v", ten)
		}
		if _, ok := ten.Type.Info(); !ok && ten.Size != 0 {
			t.Fatalf("unknown type with size %+v", ten)
		}
	}
	if f.Complete && len(f.Anomalies) == 0 {
		for _, ten := range f.Tensors {
			if f.DataOffset+int64(ten.Offset)+int64(ten.Size) > f.Size {
				t.Fatalf("clean file with tensor past the end: %+v", ten)
			}
		}
	}
	f2, _ := Parse(bytes.NewReader(data), int64(len(data)), lim)
	if fmt.Sprint(f) != fmt.Sprint(f2) {
		t.Fatal("two parses differ")
	}
}

// BenchmarkParse parses the header of a 1,000-tensor file with a 32,000
// token vocabulary; the tensor data is not read.
func BenchmarkParse(b *testing.B) {
	toks := make([]any, 32000)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
	}
	kvs := []kv{
		{"general.architecture", TypeString, "llama"},
		{"tokenizer.ggml.tokens", TypeArray, arr{TypeString, toks}},
		{"tokenizer.ggml.scores", TypeArray, arr{TypeFloat32, make([]any, 0)}},
		{ChatTemplateKey, TypeString, template},
	}
	var ts []tensor
	for i := 0; i < 1000; i++ {
		ts = append(ts, tensor{name: fmt.Sprintf("blk.%d.attn_q.weight", i), dims: []uint64{4096, 4096}, typ: 12})
	}
	size := layout(ts, 32)
	hdr := build(3, kvs, ts, 32, 0)
	r := &sparse{head: hdr}
	total := int64(len(hdr) + size)
	b.SetBytes(int64(len(hdr)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(r, total, DefaultLimits())
		if err != nil || len(f.Anomalies) != 0 || len(f.Tensors) != 1000 {
			b.Fatalf("%v %+v", err, f.Anomalies)
		}
	}
}

// sparse is a file that starts with head and is zero after.
type sparse struct{ head []byte }

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(s.head)) {
		copy(p, s.head[off:])
	}
	return len(p), nil
}

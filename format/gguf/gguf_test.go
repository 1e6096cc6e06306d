package gguf

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
)

func parse(t *testing.T, data []byte) *File {
	t.Helper()
	f, err := Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func kinds(f *File) []string {
	var out []string
	for _, a := range f.Anomalies {
		out = append(out, a.Kind)
	}
	return out
}

const template = `{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}`

func llama() ([]kv, []tensor) {
	kvs := []kv{
		{"general.architecture", TypeString, "llama"},
		{"general.alignment", TypeUint32, 32},
		{"llama.context_length", TypeUint32, 4096},
		{"llama.rope.freq_base", TypeFloat32, 10000.0},
		{"general.file_type", TypeUint32, 15},
		{"tokenizer.ggml.tokens", TypeArray, arr{TypeString, []any{"<s>", "</s>", "a", "b"}}},
		{"tokenizer.ggml.scores", TypeArray, arr{TypeFloat32, []any{0.0, 0.0, -1.0, -2.0}}},
		{"tokenizer.ggml.add_bos_token", TypeBool, true},
		{ChatTemplateKey, TypeString, template},
		{ChatTemplateKey + ".tool_use", TypeString, "{{ tools }}"},
		{"test.nested", TypeArray, arr{TypeArray, []any{arr{TypeInt64, []any{1, -2}}, arr{TypeInt8, []any{-3}}}}},
		{"test.u64", TypeUint64, 1 << 40},
		{"test.f64", TypeFloat64, 0.5},
		{"test.i16", TypeInt16, -7},
		{"test.u16", TypeUint16, 7},
		{"test.i32", TypeInt32, -9},
		{"test.u8", TypeUint8, 200},
	}
	ts := []tensor{
		{name: "token_embd.weight", dims: []uint64{256, 4}, typ: 12},     // Q4_K
		{name: "output_norm.weight", dims: []uint64{256}, typ: 0},        // F32
		{name: "blk.0.attn_q.weight", dims: []uint64{64, 3}, typ: 8},     // Q8_0
		{name: "blk.0.ffn_up.weight", dims: []uint64{32, 2, 1}, typ: 30}, // BF16
	}
	return kvs, ts
}

func TestValid(t *testing.T) {
	for _, v := range []uint32{1, 2, 3} {
		kvs, ts := llama()
		if v == 1 {
			kvs = kvs[:len(kvs)-6] // v1 had no 64-bit types
			kvs = append(kvs, kv{"test.i16", TypeInt16, -7})
		}
		size := layout(ts, 32)
		data := build(v, kvs, ts, 32, size)
		if !Sniff(data) {
			t.Fatalf("v%d: Sniff = false", v)
		}
		f := parse(t, data)
		if len(f.Anomalies) != 0 || !f.Complete {
			t.Fatalf("v%d: anomalies %+v", v, f.Anomalies)
		}
		if f.Version != v || f.TensorCount != 4 || len(f.Tensors) != 4 || f.Alignment != 32 || f.DataOffset%32 != 0 {
			t.Errorf("v%d: %+v", v, f)
		}
		if want := int64(256*4 + 256 + 64*3 + 64); f.ParamCount != want {
			t.Errorf("v%d: ParamCount %d, want %d", v, f.ParamCount, want)
		}
		if diff := cmp.Diff(map[string]int{"Q4_K": 1, "F32": 1, "Q8_0": 1, "BF16": 1}, f.Types); diff != "" {
			t.Errorf("types: %s", diff)
		}
		if got := []uint64{f.Tensors[0].Size, f.Tensors[1].Size, f.Tensors[2].Size, f.Tensors[3].Size}; !cmp.Equal(got, []uint64{4 * 144, 1024, 6 * 34, 128}) {
			t.Errorf("sizes %v", got)
		}
		if f.String("general.architecture") != "llama" {
			t.Errorf("architecture %q", f.String("general.architecture"))
		}
		ct := f.ChatTemplates()
		if len(ct) != 2 || ct[0].Value.Str != template || ct[1].Key != ChatTemplateKey+".tool_use" {
			t.Errorf("chat templates %+v", ct)
		}
		toks, _ := f.Get("tokenizer.ggml.tokens")
		if toks.Len != 4 || len(toks.Elems) != 4 || toks.Elems[2].Str != "a" {
			t.Errorf("tokens %+v", toks)
		}
		if i16, _ := f.Get("test.i16"); i16.Int != -7 {
			t.Errorf("i16 %+v", i16)
		}
		if v > 1 {
			n, _ := f.Get("test.nested")
			if n.Len != 2 || n.Elems[0].Elems[1].Int != -2 || n.Elems[1].Elems[0].Int != -3 {
				t.Errorf("nested %+v", n)
			}
			if u, _ := f.Get("test.u64"); u.Uint != 1<<40 {
				t.Errorf("u64 %+v", u)
			}
		}
	}
}

func TestBigEndian(t *testing.T) {
	kvs, ts := llama()
	size := layout(ts, 32)
	w := &writer{version: 3, order: binary.BigEndian}
	w.header(kvs, ts)
	for w.b.Len()%32 != 0 {
		w.b.WriteByte(0)
	}
	w.b.Write(make([]byte, size))
	f := parse(t, w.b.Bytes())
	if !f.BigEndian || len(f.Anomalies) != 0 || f.Tensors[0].Dims[0] != 256 {
		t.Errorf("%+v", f)
	}
}

func TestBigArraysKeepCounts(t *testing.T) {
	toks := make([]any, 150_000)
	for i := range toks {
		toks[i] = "token"
	}
	long := strings.Repeat("x", 2<<20)
	f := parse(t, build(3, []kv{
		{"tokenizer.ggml.tokens", TypeArray, arr{TypeString, toks}},
		{"tokenizer.ggml.token_type", TypeArray, arr{TypeInt32, make([]any, 0)}},
		{ChatTemplateKey, TypeString, long},
	}, nil, 32, 0))
	v, _ := f.Get("tokenizer.ggml.tokens")
	if v.Len != 150_000 || len(v.Elems) != 64 || !v.Truncated {
		t.Errorf("tokens: Len %d, %d kept", v.Len, len(v.Elems))
	}
	ct, _ := f.Get(ChatTemplateKey)
	if ct.Len != 2<<20 || len(ct.Str) != 1<<20 || !ct.Truncated {
		t.Errorf("template: Len %d, %d kept", ct.Len, len(ct.Str))
	}
}

func TestAnomalies(t *testing.T) {
	f32 := func(name string, n, off uint64) tensor {
		return tensor{name: name, dims: []uint64{n}, typ: 0, offset: off}
	}
	for _, tc := range []struct {
		name string
		kvs  []kv
		ts   []tensor
		data int
		want []string
	}{
		{"alignment 0", []kv{{"general.alignment", TypeUint32, 0}}, []tensor{f32("a", 8, 0)}, 32, []string{KindAlignment}},
		{"alignment 3", []kv{{"general.alignment", TypeUint32, 3}}, []tensor{f32("a", 8, 0)}, 32, []string{KindAlignment}},
		{"alignment wrong type", []kv{{"general.alignment", TypeUint64, 64}}, nil, 0, []string{KindAlignment}},
		{"misaligned", nil, []tensor{f32("a", 8, 0), f32("b", 8, 33)}, 96, []string{KindMisaligned, KindLayout}},
		{"past EOF", nil, []tensor{f32("a", 1024, 0)}, 32, []string{KindOutOfBounds}},
		{"offset overflow", nil, []tensor{f32("a", 8, 1<<64-32)}, 32, []string{KindOverflow}},
		{"element overflow", nil, []tensor{{name: "a", dims: []uint64{1 << 32, 1 << 32}, typ: 0}}, 32, []string{KindOverflow}},
		{"size overflow", nil, []tensor{{name: "a", dims: []uint64{1 << 62}, typ: 0}}, 32, []string{KindOverflow}},
		{"negative dim", nil, []tensor{{name: "a", dims: []uint64{1 << 63}, typ: 0}}, 32, []string{KindDims}},
		{"five dims", nil, []tensor{{name: "a", dims: []uint64{1, 1, 1, 1, 1}, typ: 0}}, 32, []string{KindDims}},
		{"unknown type", nil, []tensor{{name: "a", dims: []uint64{32}, typ: 4}}, 32, []string{KindUnknownType}},
		{"huge type", nil, []tensor{{name: "a", dims: []uint64{32}, typ: 1 << 31}}, 32, []string{KindUnknownType}},
		{"scalar of blocks", nil, []tensor{{name: "a", typ: 2}}, 32, []string{KindBlockSize}},
		{"block size", nil, []tensor{{name: "a", dims: []uint64{31}, typ: 2}}, 32, []string{KindBlockSize}},
		{"overlap", nil, []tensor{f32("a", 16, 0), f32("b", 8, 32)}, 64, []string{KindLayout, KindOverlap}},
		{"out of order", nil, []tensor{f32("a", 8, 32), f32("b", 8, 0)}, 64, []string{KindLayout}},
		{"gap", nil, []tensor{f32("a", 8, 0), f32("b", 8, 64)}, 96, []string{KindLayout}},
		{"trailing bytes", nil, []tensor{f32("a", 8, 0)}, 64, []string{KindTrailingBytes}},
		{"duplicate key", []kv{{"a", TypeUint8, 1}, {"a", TypeString, "x"}}, nil, 0, []string{KindDuplicateKey}},
		{"duplicate tensor", nil, []tensor{f32("a", 8, 0), f32("a", 8, 32)}, 64, []string{KindDuplicateTensor}},
		{"long name", nil, []tensor{f32(strings.Repeat("n", 64), 8, 0)}, 32, []string{KindNameTooLong}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, build(3, tc.kvs, tc.ts, 32, tc.data))
			if diff := cmp.Diff(tc.want, kinds(f)); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s\n%+v", diff, f.Anomalies)
			}
		})
	}
}

// hostile writes a v3 header by hand for the cases the builder cannot
// express (lengths and counts that lie).
func hostile(fn func(w *writer)) []byte {
	w := &writer{version: 3, order: binary.LittleEndian}
	w.b.WriteString(Magic)
	w.u32(3)
	fn(w)
	w.b.Write(make([]byte, 64))
	return w.b.Bytes()
}

func TestHostileCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"2^60 pairs", hostile(func(w *writer) { w.u64(0); w.u64(1 << 60) }), []string{KindCount}},
		{"2^63 tensors", hostile(func(w *writer) { w.u64(1 << 63); w.u64(0) }), []string{KindCount}},
		{"huge key length", hostile(func(w *writer) { w.u64(0); w.u64(1); w.u64(1<<64 - 1) }), []string{KindTruncated}},
		{"huge string length", hostile(func(w *writer) { w.u64(0); w.u64(1); w.str("k"); w.u32(uint32(TypeString)); w.u64(1 << 62) }), []string{KindTruncated}},
		{"huge array", hostile(func(w *writer) {
			w.u64(0)
			w.u64(1)
			w.str("k")
			w.u32(uint32(TypeArray))
			w.u32(uint32(TypeUint8))
			w.u64(1 << 63)
		}), []string{KindCount}},
		{"huge string array", hostile(func(w *writer) {
			w.u64(0)
			w.u64(1)
			w.str("k")
			w.u32(uint32(TypeArray))
			w.u32(uint32(TypeString))
			w.u64(1 << 40)
		}), []string{KindCount}},
		{"unknown value type", hostile(func(w *writer) { w.u64(0); w.u64(1); w.str("k"); w.u32(13) }), []string{KindValueType}},
		{"unknown element type", hostile(func(w *writer) {
			w.u64(0)
			w.u64(1)
			w.str("k")
			w.u32(uint32(TypeArray))
			w.u32(99)
			w.u64(1)
		}), []string{KindValueType}},
		{"truncated", build(3, []kv{{"k", TypeString, "v"}}, nil, 1, 0)[:40], []string{KindTruncated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, tc.data)
			if diff := cmp.Diff(tc.want, kinds(f)); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s\n%+v", diff, f.Anomalies)
			}
			if f.Complete {
				t.Error("Complete = true")
			}
		})
	}
}

func TestLimits(t *testing.T) {
	// Arrays nested 10,000 deep: each level is an element type and a count.
	bomb := hostile(func(w *writer) {
		w.u64(0)
		w.u64(1)
		w.str("k")
		w.u32(uint32(TypeArray))
		for i := 0; i < 10000; i++ {
			w.u32(uint32(TypeArray))
			w.u64(1)
		}
	})
	many := build(3, []kv{{"k", TypeArray, arr{TypeString, []any{"a", "b", "c"}}}}, nil, 32, 0)
	for _, tc := range []struct {
		name  string
		data  []byte
		lim   func(*Limits)
		limit string
	}{
		{"depth bomb", bomb, func(*Limits) {}, "MaxDepth"},
		{"array length", many, func(l *Limits) { l.MaxArrayLen = 2 }, "MaxArrayLen"},
		{"elements", many, func(l *Limits) { l.MaxElems = 2 }, "MaxElems"},
		{"pairs", many, func(l *Limits) { l.MaxKV = 0 }, "MaxKV"},
		{"key length", many, func(l *Limits) { l.MaxKeyLen = 0 }, "MaxKeyLen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			tc.lim(&lim)
			f, err := Parse(bytes.NewReader(tc.data), int64(len(tc.data)), lim)
			if le, ok := safeio.IsLimit(err); !ok || le.Limit != tc.limit || f != nil {
				t.Errorf("got %v, %v; want limit %s", f, err, tc.limit)
			}
		})
	}
}

func TestNotGGUF(t *testing.T) {
	for _, data := range [][]byte{[]byte("GGU"), []byte("GGML\x03\x00\x00\x00"), []byte("GGUF\x04\x00\x00\x00........")} {
		if Sniff(data) {
			t.Errorf("Sniff(%q) = true", data)
		}
		if f, err := Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits()); err == nil || f != nil {
			t.Errorf("Parse(%q) = %v, %v", data, f, err)
		}
	}
}

func TestKeptBytesLimit(t *testing.T) {
	big := strings.Repeat("t", 1<<20)
	data := build(3, []kv{{"a", TypeString, big}, {"b", TypeString, big}, {"c", TypeString, big}}, nil, 32, 0)
	lim := DefaultLimits()
	lim.MaxKeptBytes = 2 << 20
	_, err := Parse(bytes.NewReader(data), int64(len(data)), lim)
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxKeptBytes" {
		t.Errorf("got %v", err)
	}
}

// A misaligned offset is not reported again when the alignment itself is
// invalid.
func TestInvalidAlignmentDoesNotCascade(t *testing.T) {
	f := parse(t, build(3, []kv{{"general.alignment", TypeUint32, 48}},
		[]tensor{{name: "a", dims: []uint64{4}, offset: 0}, {name: "b", dims: []uint64{4}, offset: 16}}, 32, 96))
	if diff := cmp.Diff([]string{KindAlignment}, kinds(f)); diff != "" {
		t.Error(diff)
	}
}

// Hostile counts and lengths must not be allocated from.
func TestHostileInputsAllocateLittle(t *testing.T) {
	inputs := [][]byte{
		hostile(func(w *writer) { w.u64(0); w.u64(1 << 60) }),
		hostile(func(w *writer) { w.u64(0); w.u64(1); w.str("k"); w.u32(uint32(TypeString)); w.u64(1 << 62) }),
		hostile(func(w *writer) {
			w.u64(0)
			w.u64(1)
			w.str("k")
			w.u32(uint32(TypeArray))
			w.u32(uint32(TypeUint64))
			w.u64(1 << 61)
		}),
		hostile(func(w *writer) {
			w.u64(1)
			w.u64(0)
			w.str("t")
			w.u32(4)
			for range 4 {
				w.u64(1 << 62)
			}
			w.u32(0)
			w.u64(0)
		}),
	}
	for i, data := range inputs {
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits()); err != nil {
				t.Fatal(err)
			}
		})
		var m1, m2 runtime.MemStats
		runtime.ReadMemStats(&m1)
		Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits())
		runtime.ReadMemStats(&m2)
		if b := m2.TotalAlloc - m1.TotalAlloc; b > 64<<10 || allocs > 100 {
			t.Errorf("input %d: %d bytes in %v allocations", i, b, allocs)
		}
	}
}

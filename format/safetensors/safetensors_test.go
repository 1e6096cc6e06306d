package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
)

// build writes a safetensors file as the format says: the header length,
// the JSON header padded with spaces to a multiple of 8, and data bytes.
func build(header string, data int) []byte {
	h := []byte(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(h)))
	b.Write(h)
	b.Write(make([]byte, data))
	return b.Bytes()
}

// tensorJSON is one tensor entry.
func tensorJSON(name, dtype string, shape []int64, begin, end int64) string {
	s, _ := json.Marshal(shape)
	return fmt.Sprintf("%q:{\"dtype\":%q,\"shape\":%s,\"data_offsets\":[%d,%d]}", name, dtype, s, begin, end)
}

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

func TestValid(t *testing.T) {
	hdr := "{" + tensorJSON("a", "F32", []int64{2, 3}, 0, 24) + "," +
		tensorJSON("b", "BF16", []int64{4}, 24, 32) + "," +
		tensorJSON("c", "F4", []int64{3, 2}, 32, 35) + "," +
		tensorJSON("empty", "I64", []int64{0, 5}, 35, 35) + `,"__metadata__":{"format":"pt"}}`
	data := build(hdr, 35)
	if !Sniff(data, int64(len(data))) {
		t.Fatal("Sniff = false")
	}
	f := parse(t, data)
	want := &File{
		HeaderLen: int64(len(data) - 8 - 35), DataOffset: int64(len(data) - 35), Size: int64(len(data)),
		Tensors: []Tensor{
			{Name: "a", DType: "F32", Shape: []int64{2, 3}, Begin: 0, End: 24},
			{Name: "b", DType: "BF16", Shape: []int64{4}, Begin: 24, End: 32},
			{Name: "c", DType: "F4", Shape: []int64{3, 2}, Begin: 32, End: 35},
			{Name: "empty", DType: "I64", Shape: []int64{0, 5}, Begin: 35, End: 35},
		},
		Metadata:   map[string]string{"format": "pt"},
		ParamCount: 6 + 4 + 6,
		DTypes:     map[string]int{"F32": 1, "BF16": 1, "F4": 1, "I64": 1},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

// The committed files were written by the safetensors library; two have
// header lengths whose first bytes look like other formats' magic.
func TestCommittedFiles(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/models/benign/safetensors/*.safetensors")
	if len(files) < 3 {
		t.Fatalf("found %d committed files", len(files))
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !Sniff(data[:min(len(data), 4096)], int64(len(data))) {
			t.Errorf("%s: Sniff = false", name)
		}
		f := parse(t, data)
		if len(f.Anomalies) != 0 || len(f.Tensors) != 1 || f.Metadata["format"] != "pt" || f.ParamCount != 4 {
			t.Errorf("%s: %+v", name, f)
		}
	}
}

func TestAnomalies(t *testing.T) {
	f32 := func(name string, b, e int64) string { return tensorJSON(name, "F32", []int64{(e - b) / 4}, b, e) }
	for _, tc := range []struct {
		name   string
		header string
		data   int
		want   []string
	}{
		{"duplicate tensor", "{" + f32("a", 0, 4) + "," + f32("a", 4, 8) + "}", 8, []string{KindDuplicateKey}},
		{"duplicate field", `{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, 4, []string{KindDuplicateKey}},
		{"duplicate metadata", `{"__metadata__":{"k":"1","k":"2"}}`, 0, []string{KindDuplicateKey}},
		{"overlap", "{" + f32("a", 0, 8) + "," + f32("b", 4, 12) + "}", 12, []string{KindOverlap}},
		{"same range", "{" + f32("a", 0, 8) + "," + f32("b", 0, 8) + "}", 8, []string{KindOverlap}},
		{"hole", "{" + f32("a", 0, 4) + "," + f32("b", 8, 12) + "}", 12, []string{KindHole}},
		{"hole at start", "{" + f32("a", 4, 8) + "}", 8, []string{KindHole}},
		{"trailing bytes", "{" + f32("a", 0, 4) + "}", 100, []string{KindTrailingBytes}},
		{"past the end", "{" + f32("a", 0, 8) + "}", 4, []string{KindOutOfBounds}},
		{"huge end", `{"a":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}`, 4, []string{KindOutOfBounds}},
		{"shape times dtype", "{" + tensorJSON("a", "F32", []int64{3}, 0, 8) + "}", 8, []string{KindSizeMismatch}},
		{"shape overflow", `{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0, []string{KindInvalidShape}},
		{"bytes overflow", `{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}`, 0, []string{KindSizeMismatch}},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 0, []string{KindInvalidShape}},
		{"fractional dim", `{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}`, 0, []string{KindInvalidShape}},
		{"reversed offsets", `{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4, []string{KindInvalidOffsets, KindTrailingBytes}},
		{"three offsets", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 1, []string{KindInvalidOffsets, KindTrailingBytes}},
		{"unknown dtype", "{" + tensorJSON("a", "Q4_K", []int64{1}, 0, 1) + "}", 1, []string{KindUnknownDType}},
		{"odd F4 count", "{" + tensorJSON("a", "F4", []int64{3}, 0, 2) + "}", 2, []string{KindSizeMismatch}},
		{"missing field", `{"a":{"dtype":"U8","shape":[1]}}`, 0, []string{KindMissingField}},
		{"unknown field", `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":{"y":1}}}`, 1, []string{KindUnknownField}},
		{"metadata number", `{"__metadata__":{"format":"pt","n":1}}`, 0, []string{KindMetadataType}},
		{"metadata nested", `{"__metadata__":{"x":{"y":"z"}}}`, 0, []string{KindMetadataType}},
		{"metadata null", `{"__metadata__":null}`, 0, nil},
		{"metadata list", `{"__metadata__":["a"]}`, 0, []string{KindMetadataType}},
		{"trailing garbage", `{}garbage`, 0, []string{KindTrailingGarbage}},
		{"second object", `{}{"a":1}`, 0, []string{KindTrailingGarbage}},
		{"leading space", `  {}`, 0, []string{KindHeaderStart}},
		{"not an object", `[1,2]   `, 0, []string{KindInvalidJSON}},
		{"syntax error", `{"a":}`, 0, []string{KindInvalidJSON}},
		{"tensor not object", `{"a":[1]}`, 0, []string{KindInvalidJSON}},
		{"invalid utf8", "{\"\xff\":" + `{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, 0, []string{KindInvalidUTF8}},
		{"deep nesting", `{"__metadata__":{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}}", 0, []string{KindMetadataType, KindInvalidJSON}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, build(tc.header, tc.data))
			if diff := cmp.Diff(tc.want, kinds(f)); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s\n%+v", diff, f.Anomalies)
			}
		})
	}
}

func TestHeaderLength(t *testing.T) {
	for _, n := range []uint64{1<<64 - 1, 1<<63 + 5, 1 << 40, 100} {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], n)
		copy(b[8:], "{}      ")
		if Sniff(b[:], 16) {
			t.Errorf("Sniff(%#x) = true", n)
		}
		f := parse(t, b[:])
		if diff := cmp.Diff([]string{KindHeaderLength}, kinds(f)); diff != "" {
			t.Errorf("%#x: %s", n, diff)
		}
	}
	if _, err := Parse(bytes.NewReader([]byte{1, 2}), 2, DefaultLimits()); err != ErrNotSafetensors {
		t.Errorf("short file: %v", err)
	}
}

func TestLimits(t *testing.T) {
	data := build("{"+tensorJSON("a", "U8", []int64{1}, 0, 1)+","+tensorJSON("b", "U8", []int64{1}, 1, 2)+"}", 2)
	_, err := Parse(bytes.NewReader(data), int64(len(data)), Limits{MaxHeaderLen: 16, MaxTensors: 10})
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxHeaderLen" {
		t.Errorf("header limit: %v", err)
	}
	_, err = Parse(bytes.NewReader(data), int64(len(data)), Limits{MaxHeaderLen: 1 << 20, MaxTensors: 1})
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "MaxTensors" {
		t.Errorf("tensor limit: %v", err)
	}
}

func TestManyAnomaliesAreCapped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(tensorJSON(fmt.Sprint(i), "XX", []int64{1}, 0, 1))
	}
	sb.WriteString("}")
	f := parse(t, build(sb.String(), 1))
	if len(f.Anomalies) != MaxAnomalies || f.Anomalies[MaxAnomalies-1].Kind != KindTooMany {
		t.Errorf("%d anomalies, last %+v", len(f.Anomalies), f.Anomalies[len(f.Anomalies)-1])
	}
}

func TestSniff(t *testing.T) {
	ok := build("{}", 0)
	for _, tc := range []struct {
		name string
		head []byte
		size int64
		want bool
	}{
		{"valid", ok, int64(len(ok)), true},
		{"unknown size", ok, -1, true},
		{"spaces first", build("   {}", 0), 16, true},
		{"too long for file", ok, 9, false},
		{"no brace", build("[]", 0), 16, false},
		{"pickle", []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}"), 100, false},
		{"short", ok[:8], 16, false},
	} {
		if got := Sniff(tc.head, tc.size); got != tc.want {
			t.Errorf("%s: Sniff = %v", tc.name, got)
		}
	}
}

func TestIndex(t *testing.T) {
	idx, err := ParseIndex([]byte(`{"metadata":{"total_size":24},"weight_map":{
		"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors",
		"c":"../../etc/passwd","d":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"../../etc/passwd", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}, idx.Shards); diff != "" {
		t.Errorf("shards: %s", diff)
	}
	if idx.Metadata["total_size"] != "24" || len(idx.Anomalies) != 1 || idx.Anomalies[0].Kind != KindDuplicateKey {
		t.Errorf("index: %+v", idx)
	}
	shard2 := parse(t, build("{"+tensorJSON("a", "U8", []int64{1}, 0, 1)+","+tensorJSON("e", "U8", []int64{1}, 1, 2)+"}", 2))
	got := CheckIndex(idx, func(s string) bool { return s != "model-00001-of-00002.safetensors" },
		map[string]*File{"model-00002-of-00002.safetensors": shard2})
	var gk []string
	for _, a := range got {
		gk = append(gk, a.Kind)
	}
	want := []string{KindShardPath, KindMissingShard, KindMissingTensor, KindMissingTensor, KindUnlisted, KindUnlisted}
	if diff := cmp.Diff(want, gk); diff != "" {
		t.Errorf("CheckIndex (-want +got):\n%s\n%+v", diff, got)
	}
	for _, bad := range []string{`[]`, `{"weight_map":{}} x`, `{"metadata":{}}`, "{\"weight_map\":{\"\xff\":\"a\"}}"} {
		if _, err := ParseIndex([]byte(bad)); err == nil {
			t.Errorf("ParseIndex(%q) succeeded", bad)
		}
	}
}

// A header length near 2^64 must not be allocated from.
func TestHugeHeaderLengthAllocatesLittle(t *testing.T) {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], 1<<64-2)
	copy(b[8:], "{}")
	var m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m1)
	f := parse(t, b[:])
	runtime.ReadMemStats(&m2)
	if got := m2.TotalAlloc - m1.TotalAlloc; got > 64<<10 || !f.HasAnomaly(KindHeaderLength) {
		t.Errorf("%d bytes allocated, anomalies %+v", got, f.Anomalies)
	}
}

package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The fixtures are written by real numpy; see testdata/gen.py.
func TestParseHeaderNumpyFiles(t *testing.T) {
	type want struct {
		header    Header
		hasObject bool
		dataBytes int64 // -1 when DataBytes reports false
	}
	v1 := func(h Header) Header { h.Major, h.Minor, h.HeaderLen, h.DataOffset = 1, 0, 118, 128; return h }
	tests := map[string]want{
		"float32.npy":   {v1(Header{Descr: "<f4", Shape: []int64{3, 4}}), false, 48},
		"int64.npy":     {v1(Header{Descr: "<i8", Shape: []int64{5}}), false, 40},
		"bigendian.npy": {v1(Header{Descr: ">i2", Shape: []int64{3}}), false, 6},
		"bool.npy":      {v1(Header{Descr: "|b1", Shape: []int64{2}}), false, 2},
		"unicode.npy":   {v1(Header{Descr: "<U3", Shape: []int64{2}}), false, 24},
		"datetime.npy":  {v1(Header{Descr: "<M8[ns]", Shape: []int64{1}}), false, 8},
		"fortran.npy":   {v1(Header{Descr: "<f8", FortranOrder: true, Shape: []int64{2, 3}}), false, 48},
		"scalar.npy":    {v1(Header{Descr: "<f8", Shape: []int64{}}), false, 8},
		"empty.npy":     {v1(Header{Descr: "<f4", Shape: []int64{0}}), false, 0},
		"empty2d.npy":   {v1(Header{Descr: "<i4", Shape: []int64{2, 0}}), false, 0},
		"object.npy":    {v1(Header{Descr: "|O", Shape: []int64{3}}), true, -1},
		"structured.npy": {Header{Major: 1, HeaderLen: 182, DataOffset: 192, Shape: []int64{2}, Fields: []Field{
			{Name: "a", Descr: "<i4"},
			{Name: "b", Descr: "<f8", Shape: []int64{2}},
			{Name: "c", Fields: []Field{{Name: "x", Descr: "|u1"}, {Name: "y", Descr: "|S3"}}},
		}}, false, 2 * (4 + 16 + 4)},
		"padded.npy": {v1(Header{Shape: []int64{2}, Fields: []Field{
			{Name: "a", Descr: "|u1"}, {Name: "", Descr: "|V7"}, {Name: "b", Descr: "<i8"},
		}}), false, 32},
		"titled.npy": {v1(Header{Shape: []int64{1}, Fields: []Field{
			{Name: "t", Title: "the title", Descr: "<i2"},
		}}), false, 2},
		"structured_object.npy": {v1(Header{Shape: []int64{1}, Fields: []Field{
			{Name: "a", Descr: "<i4"}, {Name: "o", Descr: "|O"},
		}}), true, -1},
		"nested_object.npy": {v1(Header{Shape: []int64{1}, Fields: []Field{
			{Name: "s", Fields: []Field{{Name: "x", Descr: "<f4"}, {Name: "o", Descr: "|O", Shape: []int64{2}}}},
		}}), true, -1},
		"v2.npy": {Header{Major: 2, Descr: "<u2", Shape: []int64{3}, HeaderLen: 116, DataOffset: 128}, false, 6},
		"v3.npy": {Header{Major: 3, Shape: []int64{1}, HeaderLen: 116, DataOffset: 128, Fields: []Field{
			{Name: "größe", Descr: "<f4"},
		}}, false, 4},
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			if !Sniff(data) {
				t.Errorf("Sniff = false")
			}
			h, err := ParseHeader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			if diff := cmp.Diff(&w.header, h, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if h.Shape == nil {
				t.Errorf("Shape is nil; want an empty, non-nil shape for a 0-d array")
			}
			if got := h.HasObject(); got != w.hasObject {
				t.Errorf("HasObject = %v, want %v", got, w.hasObject)
			}
			n, ok := h.DataBytes()
			if !ok {
				n = -1
			}
			if n != w.dataBytes {
				t.Errorf("DataBytes = %d, %v; want %d", n, ok, w.dataBytes)
			}
			if ok && h.DataOffset+n != int64(len(data)) {
				t.Errorf("DataOffset %d + DataBytes %d != file size %d", h.DataOffset, n, len(data))
			}
			if w.hasObject && data[h.DataOffset] != 0x80 {
				t.Errorf("data at DataOffset starts with %#x, want a pickle PROTO opcode", data[h.DataOffset])
			}
		})
	}
}

func TestParseHeaderLongHeader(t *testing.T) {
	// numpy switched to version 2.0 because the header needs more than 65535
	// bytes: 3700 fields f0…f3699 of one byte each.
	data := readFixture(t, "long_header.npy")
	h, err := ParseHeader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ParseHeader: %v", err)
	}
	if h.Major != 2 || h.HeaderLen <= 65535 {
		t.Errorf("version %d.%d, header length %d; want 2.0 and more than 65535", h.Major, h.Minor, h.HeaderLen)
	}
	if len(h.Fields) != 3700 || !cmp.Equal(h.Fields[3699], Field{Name: "f3699", Descr: "|u1"}) {
		t.Errorf("got %d fields, last %+v", len(h.Fields), h.Fields[len(h.Fields)-1])
	}
	if n, ok := h.DataBytes(); !ok || n != 3700 || h.DataOffset+n != int64(len(data)) {
		t.Errorf("DataBytes = %d, %v; DataOffset %d; file size %d", n, ok, h.DataOffset, len(data))
	}
}

// TestParseHeaderLeavesReaderAtData checks that ParseHeader reads no more
// than the header, so a caller can go on reading the data (the pickle of an
// object array) from the same reader.
func TestParseHeaderLeavesReaderAtData(t *testing.T) {
	data := readFixture(t, "object.npy")
	r := bytes.NewReader(data)
	h, err := ParseHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if off := int64(len(data)) - int64(r.Len()); off != h.DataOffset {
		t.Errorf("reader at %d, DataOffset %d", off, h.DataOffset)
	}
}

// TestParseHeaderLiterals covers header forms numpy accepts but does not
// write: Python 2 headers, other quoting, comments, and the odd descr forms
// that numpy's descr_to_dtype tolerates. Each was checked against numpy
// 1.24's np.load.
func TestParseHeaderLiterals(t *testing.T) {
	tests := []struct {
		name      string
		header    string
		want      Header
		hasObject bool
	}{
		{"python 2 longs", `{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }`,
			Header{Descr: "<f4", Shape: []int64{3, 4}}, false},
		{"double quotes and unicode prefix", `{"descr": u"<f4", "fortran_order": False, "shape": (2,)}`,
			Header{Descr: "<f4", Shape: []int64{2}}, false},
		{"key order, whitespace, comments", "{ 'shape' : ( 2 , ) ,\n# a comment\n 'fortran_order':True,'descr':'<i8'\n}",
			Header{Descr: "<i8", Shape: []int64{2}, FortranOrder: true}, false},
		{"hex, underscores, bool dims", `{'descr': '<f4', 'fortran_order': False, 'shape': (0x10, 1_000, True)}`,
			Header{Descr: "<f4", Shape: []int64{16, 1000, 1}}, false},
		{"last of repeated keys wins", `{'descr': '<f4', 'descr': '|O', 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "|O", Shape: []int64{}}, true},
		{"implicit concatenation", `{'descr': '|' "O", 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "|O", Shape: []int64{}}, true},
		{"escapes", `{'descr': '\x7c\117', 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "|O", Shape: []int64{}}, true},
		{"unicode escape", `{'descr': '\u004f', 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "O", Shape: []int64{}}, true},
		{"named unicode escapes", `{'descr': '|\N{latin capital letter o}', 'fortran_order': False, 'shape': (), }`,
			Header{Descr: "|O", Shape: []int64{}}, true},
		{"named escape in a field name", `{'descr': [('\N{SNOWMAN}', '<i4')], 'fortran_order': False, 'shape': (), }`,
			Header{Fields: []Field{{Name: "\uFFFD", Descr: "<i4"}}, Shape: []int64{}}, false},
		{"raw string", `{'descr': r'\O', 'fortran_order': False, 'shape': (), }`,
			Header{Descr: "\\O", Shape: []int64{}}, true},
		{"triple quotes", `{'descr': '''|O''', 'fortran_order': False, 'shape': (), }`,
			Header{Descr: "|O", Shape: []int64{}}, true},
		{"object by name", `{'descr': 'object', 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "object", Shape: []int64{}}, true},
		{"comma dtype string", `{'descr': 'i4,O', 'fortran_order': False, 'shape': ()}`,
			Header{Descr: "i4,O", Shape: []int64{}}, true},
		{"field given as a str", `{'descr': ['aO'], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "a", Descr: "O"}}, Shape: []int64{1}}, true},
		{"descr given as a dict", `{'descr': {'aO': 1}, 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "a", Descr: "O"}}, Shape: []int64{1}}, true},
		{"fields as lists", `{'descr': [['a', '<i4', [2, 3]]], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "a", Descr: "<i4", Shape: []int64{2, 3}}}, Shape: []int64{1}}, false},
		{"subarray descr", `{'descr': ('|O', (2,)), 'fortran_order': False, 'shape': (1,)}`,
			Header{Descr: "|O", SubShape: []int64{2}, Shape: []int64{1}}, true},
		{"nested subarray field", `{'descr': [('a', ('<i4', 2), (3,))], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "a", Descr: "<i4", Shape: []int64{3, 2}}}, Shape: []int64{1}}, false},
		{"non-str title", `{'descr': [((1, 'n'), '<i4')], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "n", Title: "1", Descr: "<i4"}}, Shape: []int64{1}}, false},
		{"empty structured", `{'descr': [], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{}, Shape: []int64{1}}, false},
		{"field named O is not an object", `{'descr': [('O', '<i4')], 'fortran_order': False, 'shape': (1,)}`,
			Header{Fields: []Field{{Name: "O", Descr: "<i4"}}, Shape: []int64{1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(bytes.NewReader(npyFile(1, tt.header)))
			if err != nil {
				t.Fatalf("ParseHeader: %v", err)
			}
			want := tt.want
			want.Major, want.HeaderLen, want.DataOffset = 1, h.HeaderLen, h.DataOffset
			if diff := cmp.Diff(&want, h, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if got := h.HasObject(); got != tt.hasObject {
				t.Errorf("HasObject = %v, want %v", got, tt.hasObject)
			}
		})
	}
}

func TestDataBytes(t *testing.T) {
	tests := []struct {
		h    Header
		want int64 // -1: not known
	}{
		{Header{Descr: "<c16", Shape: []int64{2}}, 32},
		{Header{Descr: "|S7", Shape: []int64{3}}, 21},
		{Header{Descr: "<m8[D]", Shape: []int64{}}, 8},
		{Header{Descr: "?", Shape: []int64{4}}, 4},
		{Header{Descr: "float32", Shape: []int64{4}}, -1}, // a name: size not derived
		{Header{Descr: "<i3", Shape: []int64{4}}, -1},
		{Header{Descr: "|O", Shape: []int64{4}}, -1},
		{Header{Descr: "<f8", SubShape: []int64{2, 2}, Shape: []int64{3}}, 96},
		{Header{Descr: "<f8", Shape: []int64{1 << 40, 1 << 40}}, -1},    // overflow
		{Header{Descr: "<U4611686018427387904", Shape: []int64{1}}, -1}, // 4n overflows
		{Header{Fields: []Field{{Descr: "<f8", Shape: []int64{1 << 62}}, {Descr: "<f8", Shape: []int64{1 << 62}}}, Shape: []int64{1}}, -1},
		{Header{Fields: []Field{{Descr: "<i4"}, {Fields: []Field{{Descr: "float"}}}}, Shape: []int64{1}}, -1},
	}
	for _, tt := range tests {
		n, ok := tt.h.DataBytes()
		if !ok {
			n = -1
		}
		if n != tt.want {
			t.Errorf("DataBytes(%+v) = %d, %v; want %d", tt.h, n, ok, tt.want)
		}
	}
}

// TestParseHeaderHostile feeds headers an attacker could write. Each must
// fail cleanly: an error, no panic, no large allocation.
func TestParseHeaderHostile(t *testing.T) {
	good := `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`
	tests := []struct {
		name    string
		data    []byte
		isLimit bool
	}{
		{"empty", nil, false},
		{"magic only", []byte(Magic), false},
		{"no length", []byte(Magic + "\x01\x00"), false},
		{"half a length", []byte(Magic + "\x01\x00\x10"), false},
		{"truncated header", npyFile(1, good)[:40], false},
		{"version 1.1", append([]byte(Magic+"\x01\x01"), npyFile(1, good)[8:]...), false},
		{"version 4.0", []byte(Magic + "\x04\x00\x00\x00\x00\x00"), false},
		{"huge length v2", []byte(Magic + "\x02\x00\xff\xff\xff\xff{"), true},
		{"length just over the limit", binary.LittleEndian.AppendUint32([]byte(Magic+"\x03\x00"), MaxHeaderLen+1), true},
		{"long header at the limit, truncated", binary.LittleEndian.AppendUint32([]byte(Magic+"\x03\x00"), MaxHeaderLen), false},
		{"deep nesting", npyFile(1, `{'descr': `+strings.Repeat("[", 10000)+`'<f4'`+strings.Repeat("]", 10000)+`, 'fortran_order': False, 'shape': ()}`), true},
		{"deep parentheses", npyFile(2, strings.Repeat("(", 100_000)), true},
		{"unbalanced open", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (3,`), false},
		{"unbalanced close", npyFile(1, good+`}`), false},
		{"mismatched brackets", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (3,]}`), false},
		{"unterminated string", npyFile(1, `{'descr': '<f4`), false},
		{"not a dict", npyFile(1, `['descr', '<f4']`), false},
		{"missing key", npyFile(1, `{'descr': '<f4', 'shape': (3,)}`), false},
		{"extra key", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}`), false},
		{"bytes key", npyFile(1, `{b'descr': '<f4', 'fortran_order': False, 'shape': (3,)}`), false},
		{"shape as list", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': [3]}`), false},
		{"shape of str", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': ('3',)}`), false},
		{"negative dim", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}`), false},
		{"overflowing shape", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}`), false},
		{"dim beyond int64", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}`), false},
		{"fortran_order int", npyFile(1, `{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}`), false},
		{"long suffix in version 3", npyFile(3, `{'descr': '<f4', 'fortran_order': False, 'shape': (3L,)}`), false},
		{"call", npyFile(1, `{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': ()}`), false},
		{"float", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}`), false},
		{"leading zeros", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (03,)}`), false},
		{"f-string", npyFile(1, `{'descr': f'<f4', 'fortran_order': False, 'shape': (3,)}`), false},
		{"NUL byte", npyFile(1, "{'descr': '<f4\x00', 'fortran_order': False, 'shape': (3,)}"), false},
		{"invalid utf-8 in v3", npyFile(3, "{'descr': '\xff', 'fortran_order': False, 'shape': (3,)}"), false},
		{"empty descr", npyFile(1, `{'descr': '', 'fortran_order': False, 'shape': (3,)}`), false},
		{"bad field", npyFile(1, `{'descr': [('a',)], 'fortran_order': False, 'shape': (3,)}`), false},
		{"bytes field name", npyFile(1, `{'descr': [(b'a', '<i4')], 'fortran_order': False, 'shape': (3,)}`), false},
		{"negative subarray", npyFile(1, `{'descr': [('a', '<i4', -1)], 'fortran_order': False, 'shape': (3,)}`), false},
		{"bool subarray", npyFile(1, `{'descr': [('a', '<i4', True)], 'fortran_order': False, 'shape': (3,)}`), false},
		{"mixed str and bytes", npyFile(1, `{'descr': '<' b'f4', 'fortran_order': False, 'shape': (3,)}`), false},
		{"unclosed named escape", npyFile(1, `{'descr': '\N{LATIN CAPITAL', 'fortran_order': False, 'shape': (3,)}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("ParseHeader = %+v, want an error", h)
			}
			if h != nil {
				t.Errorf("header %+v returned with error %v", h, err)
			}
			if _, isLimit := safeio.IsLimit(err); isLimit != tt.isLimit {
				t.Errorf("error %q: is a LimitError = %v, want %v", err, isLimit, tt.isLimit)
			}
		})
	}
}

func TestParseHeaderNotNPY(t *testing.T) {
	for _, in := range []string{"", "\x93NUMP", "PK\x03\x04", "\x80\x02}q\x00.", "\x93NUMPX\x01\x00"} {
		_, err := ParseHeader(strings.NewReader(in))
		if in == "\x93NUMP" {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("ParseHeader(%q) = %v, want unexpected EOF", in, err)
			}
			continue
		}
		if !errors.Is(err, ErrNotNPY) {
			t.Errorf("ParseHeader(%q) = %v, want ErrNotNPY", in, err)
		}
		if Sniff([]byte(in)) {
			t.Errorf("Sniff(%q) = true", in)
		}
	}
}

func TestParseHeaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(npyFile(1, "{")[:12]), errReader{boom})
	if _, err := ParseHeader(r); !errors.Is(err, boom) {
		t.Errorf("ParseHeader = %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// npyFile builds an .npy file of the given major version around a header
// literal, padded with spaces and a newline to a multiple of 64 as np.save
// does.
func npyFile(major byte, header string) []byte {
	pre := 10
	if major >= 2 {
		pre = 12
	}
	pad := 64 - (pre+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	b := []byte(Magic)
	b = append(b, major, 0)
	if major >= 2 {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	}
	return append(b, header...)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func BenchmarkParseHeader(b *testing.B) {
	for _, name := range []string{"float32.npy", "structured.npy", "long_header.npy"} {
		data := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseHeader(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleParseHeader() {
	f := npyFile(1, `{'descr': '|O', 'fortran_order': False, 'shape': (3,), }`)
	h, err := ParseHeader(bytes.NewReader(f))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Descr, h.Shape, h.HasObject(), h.DataOffset)
	// Output: |O [3] true 128
}

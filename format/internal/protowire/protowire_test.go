package protowire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var errTest = errors.New("test: malformed protobuf")

var opt = Options{Name: "test", Malformed: errTest}

func tag(num, wire int) []byte { return binary.AppendUvarint(nil, uint64(num)<<3|uint64(wire)) }

func bfield(num int, body ...byte) []byte {
	return append(binary.AppendUvarint(tag(num, Bytes), uint64(len(body))), body...)
}

// walk reads the message from the reader's offset to end: every field,
// the content of short Bytes fields, and the Bytes fields with an odd
// number as messages down to depth 3.
func walk(r *Reader, end int64, depth int, out *[]string) error {
	return r.Fields(end, func(f Field) error {
		if f.Wire == Varint {
			*out = append(*out, fmt.Sprintf("%d %d: varint %d", depth, f.At, f.Val))
			return nil
		}
		*out = append(*out, fmt.Sprintf("%d %d: field %d [%d,%d)", depth, f.At, f.Num, f.Start, f.End))
		if f.Num%2 == 1 && depth < 3 {
			return walk(r, f.End, depth+1, out)
		}
		if f.End-f.Start <= 64 {
			b, err := r.Bytes(f.End - f.Start)
			if err != nil {
				return err
			}
			*out = append(*out, fmt.Sprintf("%q", b))
		}
		return nil
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

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated varint", []byte{0x08, 0x80}, "test: malformed protobuf at offset 1: truncated varint"},
		{"varint of 11 bytes", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), "at offset 1: varint overflows 64 bits"},
		{"length beyond the end", []byte{0x0a, 0x05, 1}, "at offset 0: field 1 declares 5 bytes, more than remain"},
		{"length beyond its message", bfield(1, 0x12, 0x7f), "at offset 2: field 2 declares 127 bytes, more than remain"},
		{"field number zero", []byte{0x02, 0x00}, "at offset 0: invalid field number 0"},
		{"truncated fixed32", []byte{0x0d, 1, 2}, "at offset 0: truncated fixed-size field 1"},
		{"stray end group", tag(9, EndGroup), "at offset 0: unexpected wire type 4"},
		{"wire type 7", tag(9, 7), "at offset 0: unexpected wire type 7"},
		{"unclosed group", tag(9, StartGroup), "at offset 1: truncated varint"},
		{"unbalanced group", append(tag(9, StartGroup), tag(8, EndGroup)...), "at offset 1: end of group 8 closes group 9"},
		{"deep groups", bytes.Repeat(tag(9, StartGroup), 101), "at offset 100: groups nested deeper than 100"},
		{"bad length in group", append(tag(9, StartGroup), 0x0a, 0x7f), "at offset 1: field 1 declares 127 bytes"},
		{"bad fixed in group", append(tag(9, StartGroup), 0x09, 0), "at offset 1: truncated fixed-size field 1"},
		{"bad wire type in group", append(tag(9, StartGroup), 0x0f), "at offset 1: unexpected wire type 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []string
			err := walk(NewReaderAt(bytes.NewReader(tt.in), int64(len(tt.in)), opt), int64(len(tt.in)), 0, &out)
			if !errors.Is(err, errTest) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGroupsSkipped(t *testing.T) {
	group := append(tag(9, StartGroup), 0x08, 0x05, 0x12, 0x01, 'x', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8)
	group = append(append(group, tag(10, StartGroup)...), tag(10, EndGroup)...)
	in := append(append(append(group, tag(9, EndGroup)...), 0x10, 0x2a), bfield(4, 'a', 'b')...)
	for _, r := range []*Reader{NewReaderAt(bytes.NewReader(in), int64(len(in)), opt), NewReader(&oneByteReader{in}, opt)} {
		end := int64(len(in))
		if r.ra == nil {
			end = Unbounded
		}
		var out []string
		if err := walk(r, end, 0, &out); err != nil {
			t.Fatal(err)
		}
		want := []string{"0 23: varint 42", "0 25: field 4 [27,29)", `"ab"`}
		if d := cmp.Diff(want, out); d != "" {
			t.Errorf("fields (-want +got):\n%s", d)
		}
	}
}

// shortReaderAt holds fewer bytes than the size the reader is given.
type shortReaderAt struct{ b []byte }

func (s shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(s.b).ReadAt(p, off)
}

func TestShortReads(t *testing.T) {
	in := append(bfield(2, 'a', 'b', 'c'), 0x10, 0x01)
	// The file claims two bytes more than it has: the window is short.
	for _, full := range []bool{false, true} {
		o := opt
		o.FullReads = full
		r := NewReaderAt(shortReaderAt{in}, int64(len(in))+2, o)
		var out []string
		err := walk(r, int64(len(in))+2, 0, &out)
		want := "test: read at offset 7: unexpected EOF"
		if full {
			want = "test: read at offset 0: unexpected EOF"
		}
		if err == nil || err.Error() != want || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("FullReads %v: err = %v, want %q", full, err, want)
		}
	}
}

func TestPeekLong(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789"), WindowSize/5)
	r := NewReaderAt(bytes.NewReader(in), int64(len(in)), opt)
	b, err := r.Peek(3, int64(len(in)))
	if err != nil || !bytes.Equal(b, in[3:]) {
		t.Fatalf("Peek of %d bytes: %d bytes, err %v", len(in)-3, len(b), err)
	}
	if _, err := r.Peek(3, int64(len(in))+1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Peek past the end: err %v", err)
	}
	b, err = r.Peek(WindowSize-2, WindowSize+2)
	if err != nil || string(b) != "4567" {
		t.Fatalf("Peek across windows = %q, err %v", b, err)
	}
	if r.Pos() != 0 {
		t.Errorf("Peek moved to %d", r.Pos())
	}
}

// FuzzFields checks the reader on any input: no panic, errors that wrap
// Options.Malformed, fields within their message, Peek and Bytes giving
// the bytes of the input, the same fields from the stream reader (fed one
// byte at a time) whenever the input parses, and Uvarint agreeing with
// encoding/binary on the varints both decode.
func FuzzFields(f *testing.F) {
	f.Add([]byte{0x08, 0x80})
	f.Add(append(bfield(1, append(bfield(3, 0x08, 0x01), bfield(2, 'x')...)...), 0x15, 1, 2, 3, 4))
	f.Add(append(append(tag(9, StartGroup), bfield(1, 'a')...), tag(9, EndGroup)...))
	f.Add(append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 10)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		r := NewReaderAt(bytes.NewReader(data), size, opt)
		var out []string
		err := walk(r, size, 0, &out)
		if err != nil && !errors.Is(err, errTest) {
			t.Fatalf("unexpected error kind: %v", err)
		}

		r = NewReaderAt(bytes.NewReader(data), size, opt)
		top := r.Fields(size, func(f Field) error {
			if f.At < 0 || f.At >= size || (f.Wire == Bytes && (f.Start <= f.At || f.Start > f.End || f.End > size)) {
				t.Fatalf("bad field %+v", f)
			}
			if f.Wire == Bytes {
				b, err := r.Peek(f.Start, f.End)
				if err != nil || !bytes.Equal(b, data[f.Start:f.End]) {
					t.Fatalf("Peek %+v = %q, err %v", f, b, err)
				}
			}
			return nil
		})
		// The walk also reads nested messages: it may fail where the top
		// level does not, never the other way round.
		if top != nil && err == nil {
			t.Fatalf("top level fails (%v) where the walk does not", top)
		}

		var out2 []string
		err2 := walk(NewReader(&oneByteReader{data}, opt), Unbounded, 0, &out2)
		if err2 != nil && !errors.Is(err2, errTest) {
			t.Fatalf("unexpected stream error kind: %v", err2)
		}
		if err == nil {
			if err2 != nil {
				t.Fatalf("stream err %v where the reader at parses", err2)
			}
			if d := cmp.Diff(out, out2); d != "" {
				t.Fatalf("stream fields differ (-at +stream):\n%s", d)
			}
		}

		v, n := Uvarint(data)
		bv, bn := binary.Uvarint(data)
		switch {
		// binary.Uvarint wants an 11th byte before it calls a 10-byte
		// prefix that overflows an overflow; Uvarint stops at the 10th.
		case n > 0 && (bv != v || bn != n), n == 0 && bn != 0, n < 0 && bn > 0:
			t.Fatalf("Uvarint = %d, %d; binary.Uvarint = %d, %d", v, n, bv, bn)
		}
	})
}

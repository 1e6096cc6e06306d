package tfgraph

import (
	"errors"
	"fmt"
	"io"
)

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireStart   = 3 // start group: deprecated, still skipped by protobuf parsers
	wireEnd     = 4
	wireFixed32 = 5
)

const (
	maxFieldNumber = 1<<29 - 1
	maxGroupDepth  = 100 // protobuf's own recursion limit
	windowSize     = 64 << 10
)

// ErrMalformed is wrapped by every error about bytes that are not a valid
// protobuf message of the expected type.
var ErrMalformed = errors.New("tfgraph: malformed protobuf")

func malformed(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, off, fmt.Sprintf(format, args...))
}

// wire reads protobuf fields from an io.ReaderAt through a window, so
// skipping a field (a tensor of many MiB) costs nothing but a change of
// offset.
type wire struct {
	ra   io.ReaderAt
	size int64
	buf  []byte // the bytes at [base, base+len(buf))
	base int64
	pos  int64
}

func newWire(ra io.ReaderAt, size int64) *wire {
	// A small file gets a small window: fuzzing and small graphs parse
	// without allocating 64 KiB each.
	return &wire{ra: ra, size: size, buf: make([]byte, 0, max(0, min(windowSize, size)))}
}

// load makes the window start at off and hold up to windowSize bytes.
func (w *wire) load(off int64) error {
	n := min(int64(cap(w.buf)), w.size-off)
	if n <= 0 {
		return malformed(off, "unexpected end of input")
	}
	w.buf = w.buf[:n]
	m, err := w.ra.ReadAt(w.buf, off)
	w.base = off
	w.buf = w.buf[:m]
	if int64(m) < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("tfgraph: read at offset %d: %w", off, err)
	}
	return nil
}

// varint reads a base-128 varint that must end before end.
func (w *wire) varint(end int64) (uint64, error) {
	start := w.pos
	var v uint64
	for k := 0; ; k++ {
		if w.pos >= end {
			return 0, malformed(start, "truncated varint")
		}
		i := w.pos - w.base
		if w.pos < w.base || i >= int64(len(w.buf)) {
			if err := w.load(w.pos); err != nil {
				return 0, err
			}
			i = 0
		}
		b := w.buf[i]
		w.pos++
		if k == 9 && b > 1 {
			return 0, malformed(start, "varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << (7 * k)
		if b < 0x80 {
			return v, nil
		}
	}
}

// text returns the bytes of [start, end) as a string; callers bound the
// length before asking.
func (w *wire) text(start, end int64) (string, error) {
	b, err := w.peek(start, end)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// peek returns the bytes of [start, end). The slice is valid until the
// next read; runs longer than the window are read into a new slice.
func (w *wire) peek(start, end int64) ([]byte, error) {
	n := end - start
	if n <= 0 {
		return nil, nil
	}
	if n > windowSize {
		b := make([]byte, n)
		if m, err := w.ra.ReadAt(b, start); int64(m) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("tfgraph: read at offset %d: %w", start, err)
		}
		return b, nil
	}
	if start < w.base || end > w.base+int64(len(w.buf)) {
		if err := w.load(start); err != nil {
			return nil, err
		}
		if end > w.base+int64(len(w.buf)) {
			return nil, malformed(start, "truncated field")
		}
	}
	return w.buf[start-w.base : end-w.base], nil
}

// field is one protobuf field: number, wire type, varint value and, for
// length-delimited fields, where its content lies.
type field struct {
	num        int
	wire       int
	val        uint64
	at         int64 // offset of the tag
	start, end int64
}

// fields calls fn for each field of the message in [w.pos, end). After fn
// returns the reader moves past the field whatever fn read. Fixed-size
// values and groups are skipped, as unknown fields are by protobuf.
func (w *wire) fields(end int64, fn func(f field) error) error {
	var f field
	for w.pos < end {
		f.at = w.pos
		tag, err := w.varint(end)
		if err != nil {
			return err
		}
		f.num, f.wire = int(tag>>3), int(tag&7)
		if tag>>3 == 0 || tag>>3 > maxFieldNumber {
			return malformed(f.at, "invalid field number %d", tag>>3)
		}
		switch f.wire {
		case wireVarint:
			if f.val, err = w.varint(end); err != nil {
				return err
			}
			if err := fn(f); err != nil {
				return err
			}
		case wireFixed64, wireFixed32:
			n := int64(8)
			if f.wire == wireFixed32 {
				n = 4
			}
			if end-w.pos < n {
				return malformed(f.at, "truncated fixed-size field %d", f.num)
			}
			w.pos += n
		case wireBytes:
			l, err := w.varint(end)
			if err != nil {
				return err
			}
			if l > uint64(end-w.pos) {
				return malformed(f.at, "field %d declares %d bytes, more than remain", f.num, l)
			}
			f.start, f.end = w.pos, w.pos+int64(l)
			if err := fn(f); err != nil {
				return err
			}
			w.pos = f.end
		case wireStart:
			if err := w.skipGroup(f.num, end); err != nil {
				return err
			}
		default:
			return malformed(f.at, "unexpected wire type %d", f.wire)
		}
	}
	if w.pos != end {
		return malformed(w.pos, "field overruns its message")
	}
	return nil
}

// skipGroup skips a group's content up to and including its end tag.
func (w *wire) skipGroup(num int, end int64) error {
	stack := []int{num}
	for len(stack) > 0 {
		at := w.pos
		tag, err := w.varint(end)
		if err != nil {
			return err
		}
		n, t := int(tag>>3), int(tag&7)
		if n == 0 || tag>>3 > maxFieldNumber {
			return malformed(at, "invalid field number %d", tag>>3)
		}
		switch t {
		case wireVarint:
			if _, err := w.varint(end); err != nil {
				return err
			}
		case wireFixed64, wireFixed32:
			k := int64(8)
			if t == wireFixed32 {
				k = 4
			}
			if end-w.pos < k {
				return malformed(at, "truncated fixed-size field %d", n)
			}
			w.pos += k
		case wireBytes:
			l, err := w.varint(end)
			if err != nil {
				return err
			}
			if l > uint64(end-w.pos) {
				return malformed(at, "field %d declares %d bytes, more than remain", n, l)
			}
			w.pos += int64(l)
		case wireStart:
			if len(stack) >= maxGroupDepth {
				return malformed(at, "groups nested deeper than %d", maxGroupDepth)
			}
			stack = append(stack, n)
		case wireEnd:
			if stack[len(stack)-1] != n {
				return malformed(at, "end of group %d closes group %d", n, stack[len(stack)-1])
			}
			stack = stack[:len(stack)-1]
		default:
			return malformed(at, "unexpected wire type %d", t)
		}
	}
	return nil
}

// uvarint decodes a varint from b: n > 0 bytes read, 0 when b ends first,
// -1 when it is longer than 10 bytes or overflows.
func uvarint(b []byte) (uint64, int) {
	var v uint64
	for k := 0; k < 10; k++ {
		if k >= len(b) {
			return 0, 0
		}
		c := b[k]
		if k == 9 && c > 1 {
			return 0, -1
		}
		v |= uint64(c&0x7f) << (7 * k)
		if c < 0x80 {
			return v, k + 1
		}
	}
	return 0, -1
}

package onnx

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireStart   = 3 // start group (deprecated, still skipped by protobuf)
	wireEnd     = 4 // end group
	wireFixed32 = 5
)

// maxFieldNumber is the largest field number protobuf allows (2^29-1).
const maxFieldNumber = 1<<29 - 1

// maxGroupDepth bounds groups nested in unknown fields. Protobuf's own
// parsers stop at 100 levels of recursion.
const maxGroupDepth = 100

// unbounded is the end of a stream whose size is unknown.
const unbounded = math.MaxInt64

// windowSize is how many bytes the cursor reads at once.
const windowSize = 64 << 10

// cursor reads a protobuf stream forward only, so it works on an
// io.ReaderAt (skipping is a change of offset, nothing is read) and on an
// io.Reader (skipping reads and discards).
type cursor struct {
	ra   io.ReaderAt
	rd   io.Reader
	size int64 // bytes in ra; unbounded for a stream

	buf  []byte // window: the bytes at [base, base+len(buf))
	base int64
	pos  int64
	eof  bool // a stream has ended at base+len(buf)
}

func newCursor(ra io.ReaderAt, rd io.Reader, size int64) *cursor {
	return &cursor{ra: ra, rd: rd, size: size, buf: make([]byte, 0, windowSize)}
}

func malformed(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, off, fmt.Sprintf(format, args...))
}

// fill makes the window start at pos and hold at least one byte, unless the
// input ends at pos; it reports whether a byte is available.
func (c *cursor) fill() (bool, error) {
	if c.pos >= c.base && c.pos < c.base+int64(len(c.buf)) {
		return true, nil
	}
	if c.ra != nil {
		if c.pos >= c.size {
			return false, nil
		}
		n := min(int64(cap(c.buf)), c.size-c.pos)
		c.buf = c.buf[:n]
		m, err := c.ra.ReadAt(c.buf, c.pos)
		c.base = c.pos
		c.buf = c.buf[:m]
		if m == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return false, fmt.Errorf("onnx: read at offset %d: %w", c.pos, err)
		}
		return true, nil
	}
	// Stream: discard what lies between the window and pos, then read on.
	end := c.base + int64(len(c.buf))
	if c.pos < end {
		panic("onnx: cursor moved backwards")
	}
	if c.eof {
		return false, nil
	}
	if gap := c.pos - end; gap > 0 {
		n, err := io.CopyN(io.Discard, c.rd, gap)
		if err != nil {
			if err == io.EOF {
				c.eof = true
				c.base, c.buf = end+n, c.buf[:0]
				return false, malformed(end+n, "input ends inside a field that reaches offset %d", c.pos)
			}
			return false, fmt.Errorf("onnx: read at offset %d: %w", end+n, err)
		}
	}
	c.base = c.pos
	c.buf = c.buf[:cap(c.buf)]
	m, err := io.ReadAtLeast(c.rd, c.buf, 1)
	c.buf = c.buf[:m]
	if m == 0 {
		if err == io.EOF {
			c.eof = true
			return false, nil
		}
		return false, fmt.Errorf("onnx: read at offset %d: %w", c.pos, err)
	}
	return true, nil
}

// more reports whether any byte is left at pos.
func (c *cursor) more() (bool, error) { return c.fill() }

// varint reads a base-128 varint that must end before end.
func (c *cursor) varint(end int64) (uint64, error) {
	start := c.pos
	// Fast path: the whole varint is in the window.
	if i := c.pos - c.base; c.pos >= c.base && i+10 <= int64(len(c.buf)) && c.pos+10 <= end {
		var v uint64
		for k := 0; k < 10; k++ {
			b := c.buf[i+int64(k)]
			if k == 9 && b > 1 {
				return 0, malformed(start, "varint overflows 64 bits")
			}
			v |= uint64(b&0x7f) << (7 * k)
			if b < 0x80 {
				c.pos += int64(k + 1)
				return v, nil
			}
		}
		return 0, malformed(start, "varint longer than 10 bytes")
	}
	var v uint64
	for k := 0; ; k++ {
		if c.pos >= end {
			return 0, malformed(start, "truncated varint")
		}
		ok, err := c.fill()
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, malformed(start, "truncated varint")
		}
		b := c.buf[c.pos-c.base]
		c.pos++
		if k == 9 && b > 1 {
			return 0, malformed(start, "varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << (7 * k)
		if b < 0x80 {
			return v, nil
		}
	}
}

// bytes returns the next n bytes. The slice is valid until the next read:
// callers copy what they keep. n must be at most windowSize.
func (c *cursor) bytes(n int64) ([]byte, error) {
	if n > windowSize {
		panic("onnx: cursor.bytes beyond the window")
	}
	if n == 0 {
		return nil, nil
	}
	i := c.pos - c.base
	if c.pos < c.base || i+n > int64(len(c.buf)) {
		// Refill from pos so the whole run is in the window.
		if c.ra != nil {
			c.buf = c.buf[:0]
			c.base = c.pos
		} else {
			// Keep the tail of the window, then read on from the stream.
			if _, err := c.fill(); err != nil {
				return nil, err
			}
			i = c.pos - c.base
			if i < 0 || i > int64(len(c.buf)) {
				return nil, malformed(c.pos, "truncated field")
			}
			rest := copy(c.buf[:cap(c.buf)], c.buf[i:])
			c.base = c.pos
			c.buf = c.buf[:cap(c.buf)]
			m, err := io.ReadAtLeast(c.rd, c.buf[rest:], int(n)-rest)
			c.buf = c.buf[:rest+m]
			if int64(rest+m) < n {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					c.eof = true
					return nil, malformed(c.pos, "truncated field")
				}
				return nil, fmt.Errorf("onnx: read at offset %d: %w", c.pos, err)
			}
			c.pos += n
			return c.buf[:n], nil
		}
		if ok, err := c.fill(); err != nil || !ok {
			if err == nil {
				err = malformed(c.pos, "truncated field")
			}
			return nil, err
		}
		i = 0
		if int64(len(c.buf)) < n {
			return nil, malformed(c.pos, "truncated field")
		}
	}
	b := c.buf[i : i+n]
	c.pos += n
	return b, nil
}

// field is one protobuf field: its number, wire type, the varint value
// (wireVarint) and, for wireBytes, where its content starts and ends.
type field struct {
	num        int
	wire       int
	val        uint64
	at         int64 // offset of the tag
	start, end int64 // content of a length-delimited field
}

// fields calls fn for every field of the message that ends at end (the
// cursor is at its start). After fn returns, the cursor moves to the end
// of the field whatever fn read, so fn may ignore a field. Fixed-size
// values and groups are skipped.
func (c *cursor) fields(end int64, fn func(f field) error) error {
	var f field
	for c.pos < end {
		if end == unbounded {
			ok, err := c.more()
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
		}
		f.at = c.pos
		tag, err := c.varint(end)
		if err != nil {
			return err
		}
		f.num, f.wire = int(tag>>3), int(tag&7)
		if tag>>3 == 0 || tag>>3 > maxFieldNumber {
			return malformed(f.at, "invalid field number %d", tag>>3)
		}
		switch f.wire {
		case wireVarint:
			if f.val, err = c.varint(end); err != nil {
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
			if end-c.pos < n {
				return malformed(f.at, "truncated fixed-size field %d", f.num)
			}
			c.pos += n
		case wireBytes:
			l, err := c.varint(end)
			if err != nil {
				return err
			}
			if l > uint64(end-c.pos) || (c.ra != nil && l > uint64(c.size-c.pos)) {
				return malformed(f.at, "field %d declares %d bytes, more than remain", f.num, l)
			}
			f.start, f.end = c.pos, c.pos+int64(l)
			if err := fn(f); err != nil {
				return err
			}
			if c.pos > f.end {
				panic("onnx: read past the end of a field")
			}
			c.pos = f.end
		case wireStart:
			if err := c.skipGroup(f.num, end); err != nil {
				return err
			}
		default:
			return malformed(f.at, "unexpected wire type %d", f.wire)
		}
	}
	if c.pos != end && end != unbounded {
		return malformed(c.pos, "field overruns its message")
	}
	return nil
}

// skipGroup skips the content of a group started with field number num,
// up to and including its end tag.
func (c *cursor) skipGroup(num int, end int64) error {
	stack := []int{num}
	for len(stack) > 0 {
		at := c.pos
		tag, err := c.varint(end)
		if err != nil {
			return err
		}
		n, w := int(tag>>3), int(tag&7)
		if n == 0 || tag>>3 > maxFieldNumber {
			return malformed(at, "invalid field number %d", tag>>3)
		}
		switch w {
		case wireVarint:
			if _, err := c.varint(end); err != nil {
				return err
			}
		case wireFixed64, wireFixed32:
			k := int64(8)
			if w == wireFixed32 {
				k = 4
			}
			if end-c.pos < k {
				return malformed(at, "truncated fixed-size field %d", n)
			}
			c.pos += k
		case wireBytes:
			l, err := c.varint(end)
			if err != nil {
				return err
			}
			if l > uint64(end-c.pos) || (c.ra != nil && l > uint64(c.size-c.pos)) {
				return malformed(at, "field %d declares %d bytes, more than remain", n, l)
			}
			c.pos += int64(l)
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
			return malformed(at, "unexpected wire type %d", w)
		}
	}
	return nil
}

// ErrMalformed is wrapped by every error about bytes that are not a valid
// protobuf message.
var ErrMalformed = errors.New("onnx: malformed protobuf")

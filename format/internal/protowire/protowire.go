// Package protowire reads the protobuf wire format
// (https://protobuf.dev/programming-guides/encoding/) of untrusted files
// forward, field by field, without a schema and without allocating from a
// declared size: varints, tags, length-delimited fields, and fixed-size
// values and groups skipped as protobuf skips unknown fields. It serves
// the parsers of format/onnx and format/tfgraph, which say what their
// errors read like through Options.
//
// A Reader works on an io.ReaderAt through a window of at most WindowSize
// bytes, so skipping a field (a tensor of many GiB) is a change of offset,
// or on an io.Reader, where skipping reads and discards.
package protowire

import (
	"fmt"
	"io"
	"math"
)

// Wire types.
const (
	Varint     = 0
	Fixed64    = 1
	Bytes      = 2
	StartGroup = 3 // deprecated, still skipped by protobuf parsers
	EndGroup   = 4
	Fixed32    = 5
)

const (
	// maxFieldNumber is the largest field number protobuf allows.
	maxFieldNumber = 1<<29 - 1
	// maxGroupDepth bounds groups nested in unknown fields: protobuf's own
	// parsers stop at 100 levels of recursion.
	maxGroupDepth = 100
)

// Unbounded is the end of a stream whose size is unknown.
const Unbounded = math.MaxInt64

// WindowSize is how many bytes a Reader reads at once, and the most that
// Reader.Bytes returns.
const WindowSize = 64 << 10

// Options say how a Reader's errors read.
type Options struct {
	// Name starts the errors of the underlying reader: "onnx" gives
	// "onnx: read at offset 12: …".
	Name string
	// Malformed is wrapped by every error about bytes that are not valid
	// protobuf, as "<Malformed> at offset 12: …".
	Malformed error
	// FullReads makes a ReadAt that returns less than asked of the file
	// an error. Otherwise what it returned is used and the next read asks
	// again from where it stopped.
	FullReads bool
}

// Reader reads a protobuf stream field by field.
type Reader struct {
	ra   io.ReaderAt
	rd   io.Reader
	size int64 // bytes in ra; Unbounded for a stream
	opt  Options

	buf  []byte // window: the bytes at [base, base+len(buf))
	base int64
	pos  int64
	eof  bool // a stream has ended at base+len(buf)
}

// NewReaderAt returns a Reader of the size bytes of ra, at offset 0.
func NewReaderAt(ra io.ReaderAt, size int64, opt Options) *Reader {
	// A small file gets a small window: fuzzing and small files parse
	// without allocating WindowSize bytes each.
	return &Reader{ra: ra, size: size, opt: opt, buf: make([]byte, 0, max(0, min(WindowSize, size)))}
}

// NewReader returns a Reader of the stream rd. It moves forward only.
func NewReader(rd io.Reader, opt Options) *Reader {
	return &Reader{rd: rd, size: Unbounded, opt: opt, buf: make([]byte, 0, WindowSize)}
}

// Pos is the offset of the next byte to read.
func (r *Reader) Pos() int64 { return r.pos }

// SetPos moves to off. A stream cannot move backwards.
func (r *Reader) SetPos(off int64) { r.pos = off }

// Malformed returns an error about the bytes at off, which wraps
// Options.Malformed.
func (r *Reader) Malformed(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", r.opt.Malformed, off, fmt.Sprintf(format, args...))
}

func (r *Reader) readErr(off int64, err error) error {
	return fmt.Errorf("%s: read at offset %d: %w", r.opt.Name, off, err)
}

// load makes the window of a ReaderAt start at off; it reports whether a
// byte is available there.
func (r *Reader) load(off int64) (bool, error) {
	if off >= r.size {
		return false, nil
	}
	n := min(int64(cap(r.buf)), r.size-off)
	r.buf = r.buf[:n]
	m, err := r.ra.ReadAt(r.buf, off)
	r.base = off
	r.buf = r.buf[:m]
	if m == 0 || (r.opt.FullReads && int64(m) < n) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return false, r.readErr(off, err)
	}
	return true, nil
}

// fill makes the window hold the byte at pos, unless the input ends at
// pos; it reports whether a byte is available.
func (r *Reader) fill() (bool, error) {
	if r.pos >= r.base && r.pos < r.base+int64(len(r.buf)) {
		return true, nil
	}
	if r.ra != nil {
		return r.load(r.pos)
	}
	// Stream: discard what lies between the window and pos, then read on.
	end := r.base + int64(len(r.buf))
	if r.pos < end {
		panic("protowire: reader moved backwards")
	}
	if r.eof {
		return false, nil
	}
	if gap := r.pos - end; gap > 0 {
		n, err := io.CopyN(io.Discard, r.rd, gap)
		if err != nil {
			if err == io.EOF {
				r.eof = true
				r.base, r.buf = end+n, r.buf[:0]
				return false, r.Malformed(end+n, "input ends inside a field that reaches offset %d", r.pos)
			}
			return false, r.readErr(end+n, err)
		}
	}
	r.base = r.pos
	r.buf = r.buf[:cap(r.buf)]
	m, err := io.ReadAtLeast(r.rd, r.buf, 1)
	r.buf = r.buf[:m]
	if m == 0 {
		if err == io.EOF {
			r.eof = true
			return false, nil
		}
		return false, r.readErr(r.pos, err)
	}
	return true, nil
}

// More reports whether any byte is left at the current offset.
func (r *Reader) More() (bool, error) { return r.fill() }

// varint reads a base-128 varint that must end before end.
func (r *Reader) varint(end int64) (uint64, error) {
	start := r.pos
	// Fast path: the whole varint is in the window.
	if i := r.pos - r.base; r.pos >= r.base && i+10 <= int64(len(r.buf)) && r.pos+10 <= end {
		v, n := Uvarint(r.buf[i : i+10])
		if n < 0 {
			return 0, r.Malformed(start, "varint overflows 64 bits")
		}
		r.pos += int64(n)
		return v, nil
	}
	var v uint64
	for k := 0; ; k++ {
		if r.pos >= end {
			return 0, r.Malformed(start, "truncated varint")
		}
		ok, err := r.fill()
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, r.Malformed(start, "truncated varint")
		}
		b := r.buf[r.pos-r.base]
		r.pos++
		if k == 9 && b > 1 {
			return 0, r.Malformed(start, "varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << (7 * k)
		if b < 0x80 {
			return v, nil
		}
	}
}

// Bytes returns the next n bytes and moves past them. The slice is valid
// until the next read: callers copy what they keep. n must be at most
// WindowSize.
func (r *Reader) Bytes(n int64) ([]byte, error) {
	if n > WindowSize {
		panic("protowire: Reader.Bytes beyond the window")
	}
	if r.ra != nil {
		b, err := r.Peek(r.pos, r.pos+n)
		if err == nil {
			r.pos += n
		}
		return b, err
	}
	if n == 0 {
		return nil, nil
	}
	i := r.pos - r.base
	if r.pos >= r.base && i+n <= int64(len(r.buf)) {
		r.pos += n
		return r.buf[i : i+n], nil
	}
	// Keep the tail of the window, then read on from the stream.
	if _, err := r.fill(); err != nil {
		return nil, err
	}
	i = r.pos - r.base
	if i < 0 || i > int64(len(r.buf)) {
		return nil, r.Malformed(r.pos, "truncated field")
	}
	rest := copy(r.buf[:cap(r.buf)], r.buf[i:])
	r.base = r.pos
	r.buf = r.buf[:cap(r.buf)]
	m, err := io.ReadAtLeast(r.rd, r.buf[rest:], int(n)-rest)
	r.buf = r.buf[:rest+m]
	if int64(rest+m) < n {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			r.eof = true
			return nil, r.Malformed(r.pos, "truncated field")
		}
		return nil, r.readErr(r.pos, err)
	}
	r.pos += n
	return r.buf[:n], nil
}

// Peek returns the bytes of [start, end) of a ReaderAt without moving.
// The slice is valid until the next read; runs longer than WindowSize are
// read into a new slice.
func (r *Reader) Peek(start, end int64) ([]byte, error) {
	n := end - start
	if n <= 0 {
		return nil, nil
	}
	if n > WindowSize {
		b := make([]byte, n)
		if m, err := r.ra.ReadAt(b, start); int64(m) < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, r.readErr(start, err)
		}
		return b, nil
	}
	if start < r.base || end > r.base+int64(len(r.buf)) {
		ok, err := r.load(start)
		if err != nil {
			return nil, err
		}
		if !ok || end > r.base+int64(len(r.buf)) {
			return nil, r.Malformed(start, "truncated field")
		}
	}
	return r.buf[start-r.base : end-r.base], nil
}

// Field is one protobuf field: its number, wire type, the value of a
// Varint and, for Bytes, where its content lies.
type Field struct {
	Num        int
	Wire       int
	Val        uint64
	At         int64 // offset of the tag
	Start, End int64 // content of a length-delimited field
}

// Message moves to start and reads the fields of the message in
// [start, end) as Fields does.
func (r *Reader) Message(start, end int64, fn func(f Field) error) error {
	r.SetPos(start)
	return r.Fields(end, fn)
}

// Fields calls fn for each Varint and Bytes field of the message from the
// current offset to end (Unbounded: the end of a stream). After fn
// returns, the reader moves to the end of the field whatever fn read, so
// fn may ignore a field. Fixed-size values and groups are skipped, as
// unknown fields are by protobuf.
func (r *Reader) Fields(end int64, fn func(f Field) error) error {
	var f Field
	for r.pos < end {
		if end == Unbounded {
			ok, err := r.More()
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
		}
		f.At = r.pos
		num, wire, err := r.tag(end)
		if err != nil {
			return err
		}
		f.Num, f.Wire = num, wire
		switch wire {
		case Varint:
			if f.Val, err = r.varint(end); err != nil {
				return err
			}
			if err := fn(f); err != nil {
				return err
			}
		case Bytes:
			if f.End, err = r.length(f.At, num, end); err != nil {
				return err
			}
			f.Start = r.pos
			if err := fn(f); err != nil {
				return err
			}
			if r.pos > f.End {
				panic("protowire: read past the end of a field")
			}
			r.pos = f.End
		case StartGroup:
			if err := r.skipGroup(num, end); err != nil {
				return err
			}
		default:
			if err := r.skipScalar(f.At, num, wire, end); err != nil {
				return err
			}
		}
	}
	if r.pos != end && end != Unbounded {
		return r.Malformed(r.pos, "field overruns its message")
	}
	return nil
}

// tag reads a field's key and checks its number.
func (r *Reader) tag(end int64) (num, wire int, err error) {
	at := r.pos
	tag, err := r.varint(end)
	if err != nil {
		return 0, 0, err
	}
	if tag>>3 == 0 || tag>>3 > maxFieldNumber {
		return 0, 0, r.Malformed(at, "invalid field number %d", tag>>3)
	}
	return int(tag >> 3), int(tag & 7), nil
}

// length reads the length of the Bytes field num whose tag is at at, and
// returns where its content ends.
func (r *Reader) length(at int64, num int, end int64) (int64, error) {
	l, err := r.varint(end)
	if err != nil {
		return 0, err
	}
	if l > uint64(end-r.pos) || (r.ra != nil && l > uint64(r.size-r.pos)) {
		return 0, r.Malformed(at, "field %d declares %d bytes, more than remain", num, l)
	}
	return r.pos + int64(l), nil
}

// skipScalar skips the value of a Fixed64 or Fixed32 field; other wire
// types (EndGroup outside a group, 6, 7) are malformed.
func (r *Reader) skipScalar(at int64, num, wire int, end int64) error {
	n := int64(8)
	switch wire {
	case Fixed64:
	case Fixed32:
		n = 4
	default:
		return r.Malformed(at, "unexpected wire type %d", wire)
	}
	if end-r.pos < n {
		return r.Malformed(at, "truncated fixed-size field %d", num)
	}
	r.pos += n
	return nil
}

// skipGroup skips the content of a group started with field number num,
// up to and including its end tag.
func (r *Reader) skipGroup(num int, end int64) error {
	stack := []int{num}
	for len(stack) > 0 {
		at := r.pos
		n, w, err := r.tag(end)
		if err != nil {
			return err
		}
		switch w {
		case Varint:
			if _, err := r.varint(end); err != nil {
				return err
			}
		case Bytes:
			e, err := r.length(at, n, end)
			if err != nil {
				return err
			}
			r.pos = e
		case StartGroup:
			if len(stack) >= maxGroupDepth {
				return r.Malformed(at, "groups nested deeper than %d", maxGroupDepth)
			}
			stack = append(stack, n)
		case EndGroup:
			if stack[len(stack)-1] != n {
				return r.Malformed(at, "end of group %d closes group %d", n, stack[len(stack)-1])
			}
			stack = stack[:len(stack)-1]
		default:
			if err := r.skipScalar(at, n, w, end); err != nil {
				return err
			}
		}
	}
	return nil
}

// Uvarint decodes a varint from b: n > 0 bytes read, n == 0 when b ends
// first, n < 0 when it overflows 64 bits.
func Uvarint(b []byte) (uint64, int) {
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

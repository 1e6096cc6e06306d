package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is wrapped by every error about bytes that are not a valid
// TFLite flatbuffer.
var ErrMalformed = errors.New("tflite: malformed flatbuffer")

func malformed(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrMalformed, off, fmt.Sprintf(format, args...))
}

const (
	pageSize = 8 << 10
	pages    = 8
)

// buffer reads little-endian values of a flatbuffer through a small cache
// of pages over an io.ReaderAt: a flatbuffer interleaves reads of vectors
// and of the tables they point to, far apart, so one window would thrash.
// Every read is checked against the size: offsets in a hostile file point
// anywhere.
type buffer struct {
	ra    io.ReaderAt
	size  int64
	page  [pages]int64 // page number held in each slot, -1 when empty
	data  [pages][]byte
	clock int
	tmp   [16]byte
}

func newBuffer(ra io.ReaderAt, size int64) *buffer {
	b := &buffer{ra: ra, size: size}
	for i := range b.page {
		b.page[i] = -1
	}
	return b
}

// at returns the n bytes at off, valid until the next read.
func (b *buffer) at(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || n > b.size || off > b.size-n {
		return nil, malformed(off, "%d bytes past the end of the file (%d bytes)", n, b.size)
	}
	pn := off / pageSize
	if (off+n-1)/pageSize != pn || n == 0 {
		// Spans pages: read it directly.
		var p []byte
		if n <= int64(len(b.tmp)) {
			p = b.tmp[:n]
		} else {
			p = make([]byte, n)
		}
		if m, err := b.ra.ReadAt(p, off); int64(m) < n {
			return nil, readErr(off, err)
		}
		return p, nil
	}
	slot := -1
	for i, p := range b.page {
		if p == pn {
			slot = i
			break
		}
	}
	if slot < 0 {
		slot = b.clock
		b.clock = (b.clock + 1) % pages
		if b.data[slot] == nil {
			b.data[slot] = make([]byte, min(pageSize, b.size))
		}
		start := pn * pageSize
		w := min(pageSize, b.size-start)
		b.page[slot] = -1
		if m, err := b.ra.ReadAt(b.data[slot][:w], start); int64(m) < w {
			return nil, readErr(start, err)
		}
		b.page[slot] = pn
	}
	i := off - pn*pageSize
	return b.data[slot][i : i+n], nil
}

func readErr(off int64, err error) error {
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("tflite: read at offset %d: %w", off, err)
}

func (b *buffer) u8(off int64) (uint8, error) {
	p, err := b.at(off, 1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (b *buffer) u16(off int64) (uint16, error) {
	p, err := b.at(off, 2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(p), nil
}

func (b *buffer) u32(off int64) (uint32, error) {
	p, err := b.at(off, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

// deref follows the uoffset stored at off.
func (b *buffer) deref(off int64) (int64, error) {
	u, err := b.u32(off)
	if err != nil {
		return 0, err
	}
	t := off + int64(u)
	if t >= b.size {
		return 0, malformed(off, "offset %d points past the end of the file", u)
	}
	return t, nil
}

// table is a flatbuffer table: its position, its vtable and their sizes.
type table struct {
	pos    int64
	vt     int64
	vtLen  int64
	objLen int64
}

// table reads the table at pos.
func (b *buffer) table(pos int64) (table, error) {
	p, err := b.at(pos, 4)
	if err != nil {
		return table{}, err
	}
	vt := pos - int64(int32(binary.LittleEndian.Uint32(p)))
	if vt < 0 || vt > b.size-4 {
		return table{}, malformed(pos, "vtable at %d is outside the file", vt)
	}
	h, err := b.at(vt, 4)
	if err != nil {
		return table{}, err
	}
	t := table{pos: pos, vt: vt, vtLen: int64(binary.LittleEndian.Uint16(h)), objLen: int64(binary.LittleEndian.Uint16(h[2:]))}
	if t.vtLen < 4 || t.vtLen%2 != 0 || vt+t.vtLen > b.size {
		return table{}, malformed(vt, "vtable of %d bytes is invalid", t.vtLen)
	}
	if t.objLen < 4 || pos+t.objLen > b.size {
		return table{}, malformed(pos, "table of %d bytes is invalid", t.objLen)
	}
	return t, nil
}

// field returns the position of field id of size n in t, or 0 when it is
// absent (the field has its default value).
func (b *buffer) field(t table, id int, n int64) (int64, error) {
	voff := int64(4 + 2*id)
	if voff+2 > t.vtLen {
		return 0, nil
	}
	off, err := b.u16(t.vt + voff)
	if err != nil {
		return 0, err
	}
	if off == 0 {
		return 0, nil
	}
	if int64(off)+n > t.objLen {
		return 0, malformed(t.pos, "field %d at %d overruns its table of %d bytes", id, off, t.objLen)
	}
	return t.pos + int64(off), nil
}

// vector follows the uoffset at off to a vector of elements of size elem
// and returns where its elements start and how many there are.
func (b *buffer) vector(off int64, elem int64) (int64, int64, error) {
	v, err := b.deref(off)
	if err != nil {
		return 0, 0, err
	}
	n, err := b.u32(v)
	if err != nil {
		return 0, 0, err
	}
	start := v + 4
	if int64(n) > (b.size-start)/elem {
		return 0, 0, malformed(v, "vector of %d elements runs past the end of the file", n)
	}
	return start, int64(n), nil
}

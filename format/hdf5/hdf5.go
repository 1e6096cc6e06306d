// Package hdf5 reads the attributes of the root group of an HDF5 file, which
// is all a legacy Keras .h5 model needs to be judged: Keras 2 (and Keras 3's
// legacy saver) writes the model's architecture as the JSON string
// attribute model_config, the compile settings as training_config, and
// keras_version and backend beside them. Loading such a file rebuilds every
// object named in model_config, so that string is what a scanner must read.
//
// The reader follows the HDF5 file format specification (version 3.0) only
// as far as that path: the superblock (versions 0 to 3, found at offset 0
// or after a user block of 512, 1024, 2048… bytes), the root group's object
// header (version 1, and version 2 with its "OHDR"/"OCHK" chunks),
// continuation messages, attribute messages (versions 1 to 3), datatypes of
// class string (fixed-length) and variable-length string (whose bytes live in
// a global heap collection, "GCOL"), and scalar or simple dataspaces.
//
// h5py ≥ 3 writes str and bytes attributes as variable-length strings, so a
// 300 KiB model_config sits in a global heap collection and the object header
// holds a 16-byte reference to it. Fixed-length strings larger than 64 KiB
// only fit when the file uses the newest format (libver="latest"); HDF5 then
// keeps them, and any attributes beyond eight, in "dense" storage: a fractal
// heap indexed by a version 2 B-tree. This reader does not walk dense storage:
// it returns ErrDenseAttributes so the caller marks the scan incomplete.
//
// Every read is bounded by Limits and the file size; continuation chains are
// checked for cycles. Limits that are hit are *safeio.LimitError values.
package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Signature starts the superblock.
const Signature = "\x89HDF\r\n\x1a\n"

// Errors callers branch on.
var (
	ErrNotHDF5 = errors.New("hdf5: no superblock signature")
	// ErrDenseAttributes: the root group keeps (some of) its attributes in
	// dense storage (fractal heap + v2 B-tree), which is not read.
	ErrDenseAttributes = errors.New("hdf5: attributes stored densely (fractal heap), not read")
	// ErrMalformed wraps every structural error.
	ErrMalformed = errors.New("hdf5: malformed")
)

// Limits bound the work done on one file.
type Limits struct {
	MaxSuperblockSearch int64 // highest offset probed for the superblock signature
	MaxMessages         int   // header messages read in total
	MaxChunks           int   // object header chunks (the first one plus continuations)
	MaxHeaderBytes      int64 // bytes of object header chunks read in total
	MaxAttributes       int   // attributes returned
	MaxElements         int64 // string elements read from one array attribute
	MaxHeapBytes        int64 // size of one global heap collection
	MaxHeapTotal        int64 // bytes of global heap collections read in total
	MaxValueBytes       int   // bytes kept of one attribute value; longer values are Truncated
}

// DefaultLimits are generous for real Keras files (a model_config of tens
// of MiB) and small enough that a crafted file cannot exhaust memory.
func DefaultLimits() Limits {
	return Limits{
		MaxSuperblockSearch: 1 << 20,
		MaxMessages:         1 << 16,
		MaxChunks:           1024,
		MaxHeaderBytes:      64 << 20,
		MaxAttributes:       4096,
		MaxElements:         1 << 16,
		MaxHeapBytes:        256 << 20,
		MaxHeapTotal:        512 << 20,
		MaxValueBytes:       64 << 20,
	}
}

// Attribute is one attribute of the root group. Value holds the string of a
// scalar string attribute, and the elements of an array attribute joined by
// "\n" (each also in Values); attributes of other classes have Class set and
// no value.
type Attribute struct {
	Name      string
	Class     string // "string", "vlen-string" or the HDF5 class of other types ("integer", "float"…)
	Value     string
	Values    []string // elements of a simple (array) dataspace; nil for scalars
	Truncated bool     // Value was cut at Limits.MaxValueBytes
}

// Sniff reports whether head starts with the HDF5 signature at offset 0,
// 512, 1024 or 2048 (after a user block).
func Sniff(head []byte) bool {
	for _, off := range []int{0, 512, 1024, 2048} {
		if len(head) >= off+len(Signature) && string(head[off:off+len(Signature)]) == Signature {
			return true
		}
	}
	return false
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

type file struct {
	r      io.ReaderAt
	size   int64
	lim    Limits
	base   int64 // absolute offset addresses are relative to
	offSz  int   // size of offsets (addresses)
	lenSz  int   // size of lengths
	msgs   int
	hdrB   int64
	heapB  int64
	heaps  map[uint64]map[uint16][]byte // global heap collections, by address: objects by index
	chunks int
}

// read returns n bytes at absolute offset off, or an error when they are not
// all inside the file.
func (f *file) read(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || n > f.size-off {
		return nil, malformed("%d bytes at offset %d are past the end of the file (%d bytes)", n, off, f.size)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		return nil, fmt.Errorf("hdf5: read at %d: %w", off, err)
	}
	return b, nil
}

// abs turns a file address into an absolute offset; undefined (all ones)
// and overflowing addresses are errors.
func (f *file) abs(addr uint64, what string) (int64, error) {
	if f.undefined(addr) {
		return 0, malformed("%s has the undefined address", what)
	}
	if addr > uint64(f.size) || f.base+int64(addr) > f.size {
		return 0, malformed("%s at address %d is past the end of the file", what, addr)
	}
	return f.base + int64(addr), nil
}

func (f *file) undefined(addr uint64) bool {
	if f.offSz == 8 {
		return addr == ^uint64(0)
	}
	return addr == (uint64(1)<<(8*f.offSz))-1
}

// ReadRootAttributes reads the attributes of the root group of the HDF5
// file r of size bytes. Errors: ErrNotHDF5, ErrMalformed (wrapped),
// ErrDenseAttributes, *safeio.LimitError, and I/O errors. The map is nil
// whenever the error is not nil.
func ReadRootAttributes(r io.ReaderAt, size int64, lim Limits) (map[string]Attribute, error) {
	f := &file{r: r, size: size, lim: lim, heaps: map[uint64]map[uint16][]byte{}}
	root, err := f.superblock()
	if err != nil {
		return nil, err
	}
	attrs, err := f.objectAttributes(root)
	if err != nil {
		return nil, err
	}
	return attrs, nil
}

// superblock finds and decodes the superblock and returns the absolute
// offset of the root group's object header.
func (f *file) superblock() (int64, error) {
	sb := int64(-1)
	for off := int64(0); off <= f.lim.MaxSuperblockSearch && off+8 <= f.size; {
		b, err := f.read(off, 8)
		if err != nil {
			return 0, err
		}
		if string(b) == Signature {
			sb = off
			break
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	if sb < 0 {
		return 0, ErrNotHDF5
	}
	hd, err := f.read(sb+8, 1)
	if err != nil {
		return 0, fmt.Errorf("hdf5: superblock: %w", err)
	}
	switch v := hd[0]; v {
	case 0, 1:
		// version, free-space version, root symtab version, reserved,
		// shared header version, size of offsets, size of lengths, reserved,
		// leaf K (2), internal K (2), flags (4), [v1: istore K (2), reserved (2)].
		fixed := int64(24)
		if v == 1 {
			fixed = 28
		}
		b, err := f.read(sb, fixed)
		if err != nil {
			return 0, fmt.Errorf("hdf5: superblock: %w", err)
		}
		if err := f.sizes(b[13], b[14]); err != nil {
			return 0, err
		}
		// base, free-space, end-of-file, driver addresses; root symbol
		// table entry: link name offset, object header address, …
		rest, err := f.read(sb+fixed, int64(6*f.offSz))
		if err != nil {
			return 0, fmt.Errorf("hdf5: superblock: %w", err)
		}
		c := cursor{b: rest, off: f.offSz}
		base := c.addr()
		if err := f.setBase(base, sb); err != nil {
			return 0, err
		}
		c.addr() // free space
		c.addr() // end of file
		c.addr() // driver info
		c.addr() // link name offset
		return f.abs(c.addr(), "root group object header")
	case 2, 3:
		b, err := f.read(sb, 12)
		if err != nil {
			return 0, fmt.Errorf("hdf5: superblock: %w", err)
		}
		if err := f.sizes(b[9], b[10]); err != nil {
			return 0, err
		}
		rest, err := f.read(sb+12, int64(4*f.offSz+4))
		if err != nil {
			return 0, fmt.Errorf("hdf5: superblock: %w", err)
		}
		c := cursor{b: rest, off: f.offSz}
		base := c.addr()
		if err := f.setBase(base, sb); err != nil {
			return 0, err
		}
		c.addr() // superblock extension
		c.addr() // end of file
		return f.abs(c.addr(), "root group object header")
	default:
		return 0, malformed("superblock version %d is not supported", v)
	}
}

func (f *file) sizes(off, ln byte) error {
	ok := func(n byte) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(off) || !ok(ln) {
		return malformed("sizes of offsets (%d) and lengths (%d) must be 2, 4 or 8", off, ln)
	}
	f.offSz, f.lenSz = int(off), int(ln)
	return nil
}

// setBase: addresses are relative to the base address, which is the
// superblock's own offset when a user block precedes it. Writers store it;
// a base that disagrees with where the signature was found is malformed.
func (f *file) setBase(base uint64, sb int64) error {
	if base != uint64(sb) && base != 0 {
		return malformed("base address %d, superblock at %d", base, sb)
	}
	f.base = int64(base)
	if base == 0 && sb > 0 {
		// Some writers leave 0 with a user block; addresses are then
		// absolute, which is what base 0 means.
		f.base = 0
	}
	return nil
}

// cursor decodes little-endian fields and remembers when it ran out.
type cursor struct {
	b   []byte
	i   int
	off int // size of offsets
	bad bool
}

func (c *cursor) take(n int) []byte {
	if n < 0 || c.i+n > len(c.b) || c.i+n < c.i {
		c.bad = true
		c.i = len(c.b)
		return make([]byte, max(n, 0)&0xff)
	}
	s := c.b[c.i : c.i+n]
	c.i += n
	return s
}

func (c *cursor) uint(n int) uint64 {
	if n < 0 || n > 8 {
		c.bad = true
		return 0
	}
	b := c.take(n)
	if c.bad {
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (c *cursor) u8() uint8   { return uint8(c.uint(1)) }
func (c *cursor) u16() uint16 { return uint16(c.uint(2)) }
func (c *cursor) u32() uint32 { return uint32(c.uint(4)) }
func (c *cursor) addr() uint64 {
	return c.uint(c.off)
}

func (c *cursor) left() int { return len(c.b) - c.i }

// message is one header message.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// Message types used here.
const (
	msgNil          = 0x0000
	msgAttribute    = 0x000C
	msgContinuation = 0x0010
	msgAttrInfo     = 0x0015
)

type chunkRef struct {
	off, n int64
	v2     bool // an "OCHK" chunk of a version 2 header
}

// objectAttributes reads every message of the object header at off,
// following continuations, and decodes its attributes.
func (f *file) objectAttributes(off int64) (map[string]Attribute, error) {
	msgs, err := f.messages(off)
	if err != nil {
		return nil, err
	}
	attrs := map[string]Attribute{}
	for _, m := range msgs {
		switch m.typ {
		case msgAttrInfo:
			if err := f.attrInfo(m.data); err != nil {
				return nil, err
			}
		case msgAttribute:
			if m.flags&0x02 != 0 {
				return nil, malformed("shared attribute messages are not supported")
			}
			a, err := f.attribute(m.data)
			if err != nil {
				return nil, err
			}
			if len(attrs) >= f.lim.MaxAttributes {
				return nil, &safeio.LimitError{Limit: "MaxAttributes", Value: int64(f.lim.MaxAttributes)}
			}
			if _, dup := attrs[a.Name]; dup {
				return nil, malformed("attribute %q appears twice", a.Name)
			}
			attrs[a.Name] = a
		}
	}
	return attrs, nil
}

// attrInfo decodes an attribute info message: a defined fractal heap
// address means some attributes are stored densely.
func (f *file) attrInfo(b []byte) error {
	c := cursor{b: b, off: f.offSz}
	if v := c.u8(); v != 0 {
		return malformed("attribute info message version %d", v)
	}
	flags := c.u8()
	if flags&1 != 0 {
		c.u16()
	}
	heap := c.addr()
	if c.bad {
		return malformed("attribute info message is truncated")
	}
	if !f.undefined(heap) {
		return ErrDenseAttributes
	}
	return nil
}

// messages collects the messages of the object header at off.
func (f *file) messages(off int64) ([]message, error) {
	b, err := f.read(off, 1)
	if err != nil {
		return nil, fmt.Errorf("hdf5: object header: %w", err)
	}
	var queue []chunkRef
	var out []message
	seen := map[int64]bool{}
	if b[0] == 1 {
		// Version 1: version, reserved, message count (2), reference
		// count (4), header size (4), padding to 8; messages follow.
		h, err := f.read(off, 16)
		if err != nil {
			return nil, fmt.Errorf("hdf5: object header: %w", err)
		}
		size := int64(binary.LittleEndian.Uint32(h[8:12]))
		queue = append(queue, chunkRef{off: off + 16, n: size})
	} else if sig, err := f.read(off, 4); err == nil && string(sig) == "OHDR" {
		h, err := f.read(off, 6)
		if err != nil {
			return nil, fmt.Errorf("hdf5: object header: %w", err)
		}
		if h[4] != 2 {
			return nil, malformed("object header version %d", h[4])
		}
		flags := h[5]
		p := off + 6
		if flags&0x20 != 0 {
			p += 16 // access, modification, change, birth times
		}
		if flags&0x10 != 0 {
			p += 4 // max compact, min dense attribute counts
		}
		w := int64(1) << (flags & 3)
		sb, err := f.read(p, w)
		if err != nil {
			return nil, fmt.Errorf("hdf5: object header: %w", err)
		}
		c := cursor{b: sb}
		size := int64(c.uint(int(w)))
		if size < 0 {
			return nil, malformed("object header chunk size overflows")
		}
		// The checksum follows the chunk; it is not verified (a loader
		// that refuses a bad checksum loads nothing, so nothing is hidden).
		queue = append(queue, chunkRef{off: p + w, n: size, v2: true})
		return f.walk(queue, seen, out, flags&0x04 != 0)
	} else if err != nil {
		return nil, fmt.Errorf("hdf5: object header: %w", err)
	} else {
		return nil, malformed("object header version %d", b[0])
	}
	return f.walk(queue, seen, out, false)
}

// walk reads the chunks in queue, appending their messages to out and the
// chunks named by continuation messages to the queue.
func (f *file) walk(queue []chunkRef, seen map[int64]bool, out []message, order bool) ([]message, error) {
	first := true
	for len(queue) > 0 {
		ch := queue[0]
		queue = queue[1:]
		if seen[ch.off] {
			return nil, malformed("object header continuation cycle at offset %d", ch.off)
		}
		seen[ch.off] = true
		f.chunks++
		if f.chunks > f.lim.MaxChunks {
			return nil, &safeio.LimitError{Limit: "MaxChunks", Value: int64(f.lim.MaxChunks)}
		}
		if ch.n > f.lim.MaxHeaderBytes-f.hdrB {
			return nil, &safeio.LimitError{Limit: "MaxHeaderBytes", Value: f.lim.MaxHeaderBytes}
		}
		f.hdrB += ch.n
		body, err := f.read(ch.off, ch.n)
		if err != nil {
			return nil, fmt.Errorf("hdf5: object header chunk: %w", err)
		}
		if ch.v2 {
			if !first {
				if len(body) < 8 || string(body[:4]) != "OCHK" {
					return nil, malformed("continuation chunk at %d lacks its OCHK signature", ch.off)
				}
				body = body[4 : len(body)-4] // signature and checksum
			}
		}
		first = false
		c := cursor{b: body, off: f.offSz}
		for {
			var m message
			if ch.v2 {
				hs := 4
				if order {
					hs = 6
				}
				if c.left() < hs {
					break // gap
				}
				m.typ = uint16(c.u8())
				n := int(c.u16())
				m.flags = c.u8()
				if order {
					c.u16()
				}
				m.data = c.take(n)
			} else {
				if c.left() < 8 {
					break
				}
				m.typ = c.u16()
				n := int(c.u16())
				m.flags = c.u8()
				c.take(3)
				m.data = c.take(n)
				// Version 1 message data is padded to a multiple of 8.
				if pad := (8 - n%8) % 8; pad > 0 && c.left() >= pad {
					c.take(pad)
				}
			}
			if c.bad {
				return nil, malformed("header message of type %#x runs past its chunk at %d", m.typ, ch.off)
			}
			f.msgs++
			if f.msgs > f.lim.MaxMessages {
				return nil, &safeio.LimitError{Limit: "MaxMessages", Value: int64(f.lim.MaxMessages)}
			}
			if m.typ == msgContinuation {
				cc := cursor{b: m.data, off: f.offSz}
				addr := cc.addr()
				n := cc.uint(f.lenSz)
				if cc.bad {
					return nil, malformed("continuation message is truncated")
				}
				o, err := f.abs(addr, "continuation chunk")
				if err != nil {
					return nil, err
				}
				if n > uint64(f.size) {
					return nil, malformed("continuation chunk of %d bytes is larger than the file", n)
				}
				if ch.v2 && n < 8 {
					return nil, malformed("continuation chunk of %d bytes is too short", n)
				}
				queue = append(queue, chunkRef{off: o, n: int64(n), v2: ch.v2})
				continue
			}
			if m.typ == msgNil {
				continue
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// datatype classes.
const (
	classFixed    = 0
	classFloat    = 1
	classTime     = 2
	classString   = 3
	classBitfield = 4
	classOpaque   = 5
	classCompound = 6
	classRef      = 7
	classEnum     = 8
	classVlen     = 9
	classArray    = 10
)

var classNames = [...]string{"integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "vlen", "array"}

type datatype struct {
	class    int
	size     uint32
	vlenStr  bool // variable-length string
	padding  int  // string padding: 0 null-terminated, 1 null-padded, 2 space-padded
	charset  int
	baseSize uint32
}

func parseDatatype(b []byte) (datatype, error) {
	c := cursor{b: b}
	cv := c.u8()
	bits := c.uint(3)
	size := c.u32()
	if c.bad {
		return datatype{}, malformed("datatype is truncated")
	}
	dt := datatype{class: int(cv & 0x0f), size: size}
	switch dt.class {
	case classString:
		dt.padding = int(bits & 0x0f)
		dt.charset = int(bits >> 4 & 0x0f)
	case classVlen:
		if bits&0x0f == 1 {
			dt.vlenStr = true
		}
		dt.padding = int(bits >> 4 & 0x0f)
		dt.charset = int(bits >> 8 & 0x0f)
	}
	return dt, nil
}

// dataspace returns the number of elements and whether the space is simple.
func (f *file) dataspace(b []byte) (n int64, simple bool, err error) {
	c := cursor{b: b}
	v := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	switch v {
	case 1:
		c.take(5)
		simple = rank > 0
	case 2:
		typ := c.u8()
		switch typ {
		case 0:
			if rank != 0 {
				return 0, false, malformed("scalar dataspace of rank %d", rank)
			}
		case 1:
			simple = true
		case 2:
			return 0, true, nil // null dataspace: no elements
		default:
			return 0, false, malformed("dataspace type %d", typ)
		}
	default:
		return 0, false, malformed("dataspace version %d", v)
	}
	if rank > 32 {
		return 0, false, malformed("dataspace of rank %d", rank)
	}
	_ = flags
	n = 1
	for i := 0; i < rank; i++ {
		d := c.uint(f.lenSz)
		if d > uint64(f.lim.MaxElements) {
			return 0, false, &safeio.LimitError{Limit: "MaxElements", Value: f.lim.MaxElements, Detail: fmt.Sprintf("dimension of %d", d)}
		}
		n *= int64(d)
		if n > f.lim.MaxElements {
			return 0, false, &safeio.LimitError{Limit: "MaxElements", Value: f.lim.MaxElements}
		}
	}
	if c.bad {
		return 0, false, malformed("dataspace is truncated")
	}
	return n, simple, nil
}

func pad8(n int) int { return (n + 7) &^ 7 }

// attribute decodes an attribute message.
func (f *file) attribute(b []byte) (Attribute, error) {
	c := cursor{b: b, off: f.offSz}
	v := c.u8()
	flags := c.u8()
	nameSz := int(c.u16())
	dtSz := int(c.u16())
	dsSz := int(c.u16())
	if c.bad {
		return Attribute{}, malformed("attribute message is truncated")
	}
	var name, dtb, dsb []byte
	switch v {
	case 1:
		name = c.take(nameSz)
		c.take(pad8(nameSz) - nameSz)
		dtb = c.take(dtSz)
		c.take(pad8(dtSz) - dtSz)
		dsb = c.take(dsSz)
		c.take(pad8(dsSz) - dsSz)
	case 2, 3:
		if flags&0x03 != 0 {
			return Attribute{}, malformed("attributes with shared datatypes or dataspaces are not supported")
		}
		if v == 3 {
			c.u8() // name character set
		}
		name = c.take(nameSz)
		dtb = c.take(dtSz)
		dsb = c.take(dsSz)
	default:
		return Attribute{}, malformed("attribute message version %d", v)
	}
	if c.bad {
		return Attribute{}, malformed("attribute message fields run past the message")
	}
	a := Attribute{Name: string(bytes.TrimRight(name, "\x00"))}
	dt, err := parseDatatype(dtb)
	if err != nil {
		return Attribute{}, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	if dt.class < len(classNames) {
		a.Class = classNames[dt.class]
	} else {
		a.Class = fmt.Sprintf("class-%d", dt.class)
	}
	n, simple, err := f.dataspace(dsb)
	if err != nil {
		return Attribute{}, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	data := b[c.i:]
	acc := &values{a: &a, keep: f.lim.MaxValueBytes}
	switch {
	case dt.class == classString:
		a.Class = "string"
		if dt.size == 0 || uint64(dt.size)*uint64(n) > uint64(len(data)) {
			if n == 0 {
				break
			}
			return Attribute{}, malformed("attribute %q: %d strings of %d bytes do not fit in %d bytes", a.Name, n, dt.size, len(data))
		}
		for i := int64(0); i < n; i++ {
			s := data[i*int64(dt.size) : (i+1)*int64(dt.size)]
			if !acc.add(fixedString(s, dt.padding)) {
				break
			}
		}
	case dt.class == classVlen && dt.vlenStr:
		a.Class = "vlen-string"
		ref := int64(4 + f.offSz + 4)
		if uint64(ref)*uint64(n) > uint64(len(data)) {
			return Attribute{}, malformed("attribute %q: %d string references do not fit in %d bytes", a.Name, n, len(data))
		}
		for i := int64(0); i < n; i++ {
			rc := cursor{b: data[i*ref : (i+1)*ref], off: f.offSz}
			ln := rc.u32()
			coll := rc.addr()
			idx := rc.u32()
			s, err := f.heapObject(coll, idx, ln)
			if err != nil {
				return Attribute{}, fmt.Errorf("attribute %q: %w", a.Name, err)
			}
			if !acc.add(s) {
				break
			}
		}
	default:
		return a, nil
	}
	a.Value = acc.sb.String()
	if !simple {
		a.Values = nil
	}
	return a, nil
}

// values accumulates the elements of one attribute within keep bytes in
// total (Value and Values share the budget).
type values struct {
	a    *Attribute
	sb   strings.Builder
	keep int
	used int
}

// add appends one element; it returns false once the budget is spent, so
// the caller stops reading elements.
func (v *values) add(s string) bool {
	room := v.keep - v.used
	if room <= 0 {
		v.a.Truncated = true
		return false
	}
	if len(s) > room {
		s = s[:room]
		v.a.Truncated = true
	}
	if v.sb.Len() > 0 || len(v.a.Values) > 0 {
		v.sb.WriteByte('\n')
	}
	v.sb.WriteString(s)
	v.a.Values = append(v.a.Values, s)
	v.used += len(s) + 1
	return !v.a.Truncated
}

func fixedString(b []byte, padding int) string {
	if padding == 2 {
		return string(bytes.TrimRight(b, " "))
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// heapObject returns object idx of the global heap collection at addr,
// cut to want bytes. A zero address with index 0 is HDF5's empty (NULL)
// string. Each collection is read and indexed once.
func (f *file) heapObject(addr uint64, idx uint32, want uint32) (string, error) {
	if addr == 0 && idx == 0 {
		return "", nil
	}
	objs, ok := f.heaps[addr]
	if !ok {
		var err error
		if objs, err = f.collection(addr); err != nil {
			return "", err
		}
		f.heaps[addr] = objs
	}
	if idx > 0xffff {
		return "", malformed("global heap object index %d", idx)
	}
	data, ok := objs[uint16(idx)]
	if !ok {
		return "", malformed("global heap object %d not found in the collection at %d", idx, addr)
	}
	if uint64(want) < uint64(len(data)) {
		data = data[:want]
	}
	return string(data), nil
}

// collection reads the global heap collection at addr and indexes its
// objects.
func (f *file) collection(addr uint64) (map[uint16][]byte, error) {
	off, err := f.abs(addr, "global heap collection")
	if err != nil {
		return nil, err
	}
	h, err := f.read(off, int64(8+f.lenSz))
	if err != nil {
		return nil, fmt.Errorf("global heap: %w", err)
	}
	if string(h[:4]) != "GCOL" {
		return nil, malformed("global heap collection at %d lacks its GCOL signature", off)
	}
	c := cursor{b: h[8:]}
	size := c.uint(f.lenSz)
	if size < uint64(8+f.lenSz) {
		return nil, malformed("global heap collection of %d bytes", size)
	}
	if size > uint64(f.lim.MaxHeapBytes) {
		return nil, &safeio.LimitError{Limit: "MaxHeapBytes", Value: f.lim.MaxHeapBytes, Detail: fmt.Sprintf("collection of %d bytes", size)}
	}
	// A collection may extend past the end of the file when it is the last
	// thing in it; read only what is there.
	n := int64(size)
	if n > f.size-off {
		n = f.size - off
	}
	if n > f.lim.MaxHeapTotal-f.heapB {
		return nil, &safeio.LimitError{Limit: "MaxHeapTotal", Value: f.lim.MaxHeapTotal}
	}
	f.heapB += n
	coll, err := f.read(off, n)
	if err != nil {
		return nil, fmt.Errorf("global heap: %w", err)
	}
	objs := map[uint16][]byte{}
	c = cursor{b: coll, i: 8 + f.lenSz}
	for c.left() >= 8+f.lenSz {
		i := c.u16()
		c.u16() // reference count
		c.take(4)
		sz := c.uint(f.lenSz)
		if i == 0 {
			break // free space: the rest of the collection
		}
		if sz > uint64(c.left()) {
			return nil, malformed("global heap object %d of %d bytes runs past its collection", i, sz)
		}
		if _, dup := objs[i]; dup {
			return nil, malformed("global heap object %d appears twice in the collection at %d", i, addr)
		}
		objs[i] = c.take(int(sz))
		c.take(min(pad8(int(sz))-int(sz), c.left()))
	}
	return objs, nil
}

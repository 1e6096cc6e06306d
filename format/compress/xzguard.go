package compress

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// xzGuard passes an xz file through unchanged while following its structure
// (stream header, block headers, LZMA2 chunks, block padding and check,
// index, footer, stream padding), so that it can charge the dictionary each
// block header declares to the memory bound before the decoder sees the
// header and allocates up to 4 GiB for it. The layout is the one of the
// .xz file format specification, version 1.2.1.
type xzGuard struct {
	r       *bufio.Reader
	b       *bounds
	buf     []byte // backing store of pending
	pending []byte // bytes parsed but not yet handed out
	pass    int64  // bytes of chunk data to copy through without parsing
	state   xzState
	check   int   // size of the block check of the current stream
	dataLen int64 // compressed bytes of the current block so far
	records int64 // index records left to read; -1 before the count
	index   int64 // bytes of the index so far
	err     error
}

type xzState int

const (
	xzStreamHeader xzState = iota
	xzBlock                // a block header, or the index indicator
	xzChunk                // an LZMA2 chunk of the current block
	xzBlockEnd             // block padding and check
	xzIndex
	xzFooter
	xzPadding // stream padding, then another stream or the end
)

var errXZFormat = errors.New("malformed xz structure")

func newXZGuard(r *bufio.Reader, b *bounds) *xzGuard {
	return &xzGuard{r: r, b: b}
}

func (g *xzGuard) Read(p []byte) (int, error) {
	for len(g.pending) == 0 && g.pass == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.pending = g.buf[:0]
		if g.err = g.step(); g.err != nil {
			// Withhold the unit that failed: the decoder must not get a
			// block header whose dictionary was refused.
			g.pending = nil
		}
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	if int64(len(p)) > g.pass {
		p = p[:g.pass]
	}
	n, err := g.r.Read(p)
	g.pass -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // chunk data cut short
	}
	return n, err
}

// take reads n more bytes into pending and returns them.
func (g *xzGuard) take(n int) ([]byte, error) {
	start := len(g.pending)
	if cap(g.pending)-start < n {
		g.buf = append(g.pending[:start:start], make([]byte, n)...)
		g.pending = g.buf[:start]
	}
	g.pending = g.pending[:start+n]
	m, err := io.ReadFull(g.r, g.pending[start:])
	g.pending = g.pending[:start+m]
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	return g.pending[start:], nil
}

// varint reads an xz variable-length integer (at most 9 bytes, 63 bits).
func (g *xzGuard) varint() (uint64, int, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		b, err := g.take(1)
		if err != nil {
			return 0, i, err
		}
		v |= uint64(b[0]&0x7f) << (7 * i)
		if b[0]&0x80 == 0 {
			if i > 0 && b[0] == 0 {
				return 0, i + 1, errXZFormat // not the shortest encoding
			}
			return v, i + 1, nil
		}
	}
	return 0, 9, errXZFormat
}

// step parses the next structural unit into pending (or sets pass).
func (g *xzGuard) step() error {
	switch g.state {
	case xzStreamHeader:
		h, err := g.take(12)
		if err != nil {
			return err
		}
		if string(h[:6]) != xzMagic || h[6] != 0 || h[7]&0xf0 != 0 {
			return fmt.Errorf("%w: bad stream header", errXZFormat)
		}
		// Check sizes by check type: none, then CRC32, CRC64 and SHA-256 and
		// the reserved ones in groups of three.
		g.check = [16]int{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}[h[7]]
		g.state = xzBlock

	case xzBlock:
		b, err := g.take(1)
		if err != nil {
			return err
		}
		if b[0] == 0 {
			g.state, g.records, g.index = xzIndex, -1, 1
			return nil
		}
		size := (int(b[0]) + 1) * 4
		rest, err := g.take(size - 1)
		if err != nil {
			return err
		}
		dict, err := lzma2Dict(append([]byte{b[0]}, rest...))
		if err != nil {
			return err
		}
		if err := g.b.charge(max(dict, lzma.MinDictCap), "xz block dictionary"); err != nil {
			return err
		}
		g.state, g.dataLen = xzChunk, 0

	case xzChunk:
		c, err := g.take(1)
		if err != nil {
			return err
		}
		g.dataLen++
		switch ctl := c[0]; {
		case ctl == 0: // end of the LZMA2 data
			g.state = xzBlockEnd
		case ctl == 1 || ctl == 2: // uncompressed chunk
			h, err := g.take(2)
			if err != nil {
				return err
			}
			g.pass = int64(binary.BigEndian.Uint16(h)) + 1
			g.dataLen += 2 + g.pass
		case ctl >= 0x80: // LZMA chunk; a properties byte follows from 0xc0 on
			n := 4
			if ctl >= 0xc0 {
				n = 5
			}
			h, err := g.take(n)
			if err != nil {
				return err
			}
			g.pass = int64(binary.BigEndian.Uint16(h[2:4])) + 1
			g.dataLen += int64(n) + g.pass
		default:
			return fmt.Errorf("%w: invalid LZMA2 chunk control byte %#x", errXZFormat, ctl)
		}

	case xzBlockEnd:
		pad := int((4 - g.dataLen%4) % 4)
		if _, err := g.take(pad + g.check); err != nil {
			return err
		}
		g.state = xzBlock

	case xzIndex:
		switch {
		case g.records < 0:
			n, l, err := g.varint()
			if err != nil {
				return err
			}
			if n > 1<<62 {
				return fmt.Errorf("%w: index of %d records", errXZFormat, n)
			}
			g.records, g.index = int64(n), g.index+int64(l)
		case g.records > 0:
			for range 2 { // unpadded size, uncompressed size
				_, l, err := g.varint()
				if err != nil {
					return err
				}
				g.index += int64(l)
			}
			g.records--
		default:
			pad := int((4 - g.index%4) % 4)
			if _, err := g.take(pad + 4); err != nil { // padding, CRC32
				return err
			}
			g.state = xzFooter
		}

	case xzFooter:
		f, err := g.take(12)
		if err != nil {
			return err
		}
		if string(f[10:]) != "YZ" {
			return fmt.Errorf("%w: bad stream footer", errXZFormat)
		}
		g.state = xzPadding

	case xzPadding:
		p, err := g.r.Peek(4)
		if len(p) == 0 && err == io.EOF {
			return io.EOF
		}
		if len(p) == 4 && binary.LittleEndian.Uint32(p) == 0 {
			_, err := g.take(4)
			return err
		}
		if len(p) < 4 {
			return fmt.Errorf("%w: %d bytes after the stream", errXZFormat, len(p))
		}
		g.state = xzStreamHeader
	}
	return nil
}

// lzma2Dict returns the dictionary size an xz block header declares for
// its LZMA2 filter, or 0 when it has none (the decoder will refuse it).
func lzma2Dict(h []byte) (int64, error) {
	bad := fmt.Errorf("%w: bad block header", errXZFormat)
	if len(h) < 8 {
		return 0, bad
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return 0, bad
	}
	body := h[2 : len(h)-4] // up to the CRC32
	pos := 0
	uvarint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && pos < len(body); i++ {
			b := body[pos]
			pos++
			v |= uint64(b&0x7f) << (7 * i)
			if b&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed and uncompressed size
		if present {
			if _, ok := uvarint(); !ok {
				return 0, bad
			}
		}
	}
	var dict int64
	for range int(flags&3) + 1 {
		id, ok1 := uvarint()
		size, ok2 := uvarint()
		if !ok1 || !ok2 || size > uint64(len(body)-pos) {
			return 0, bad
		}
		props := body[pos : pos+int(size)]
		pos += int(size)
		if id == 0x21 { // LZMA2
			if len(props) != 1 || props[0] > 40 {
				return 0, bad
			}
			c := props[0]
			dict = int64(2|c&1) << (c/2 + 11)
			if c == 40 {
				dict = 1<<32 - 1
			}
		}
	}
	return dict, nil
}

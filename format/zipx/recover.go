package zipx

import (
	"bytes"
	"math"
)

// recoverEntries finds entries by their local headers, scanning the whole
// file, as a streaming extractor would read it. With whole set there is no
// usable central directory and every entry comes from here; otherwise the
// directory is incomplete and only local headers it does not list are
// added, each marked as such.
//
// The scan does not skip member data by its declared size: a lying size
// would hide the members behind it, and listing a nested archive's members
// too is the safer mistake.
func (a *Archive) recoverEntries(max int, whole bool) (limitErr, err error) {
	known := make(map[int64]bool, len(a.Entries))
	for _, e := range a.Entries {
		if e.hasLocal {
			known[e.HeaderOffset] = true
		}
	}
	w := &window{a: a, buf: make([]byte, 64<<10)}
	var scratch []byte
	budget := a.size
	found := 0
	for pos := int64(0); ; {
		off, _, err := w.next(pos, isLocalSig)
		if err != nil {
			return nil, err
		}
		if off < 0 {
			break
		}
		pos = off + 4
		if known[off] {
			continue
		}
		// Most false signatures are rejected here, from the window, without
		// another read.
		if h := w.peek(off, localLen); h != nil && int64(localLen+int(u16(h[26:]))+int(u16(h[28:]))) > a.size-off {
			continue
		}
		lh, reason, err := a.readLocalHeader(off, &scratch)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			continue // a signature inside data, most likely
		}
		if len(a.Entries) >= max {
			limitErr = limitError(max, "scanning for local headers")
			break
		}
		e := &Entry{
			Name:             string(lh.name),
			Method:           lh.method,
			Flags:            lh.flags,
			CRC32:            lh.crc,
			CompressedSize:   lh.csize,
			UncompressedSize: lh.usize,
			HeaderOffset:     off,
		}
		lh.setLocal(e, &budget)
		if lh.flags&flagDescriptor != 0 && lh.csize == 0 {
			if err := w.measure(e); err != nil {
				return nil, err
			}
		}
		if !whole {
			e.note(AnomalyNoCentralDirectory, "local header at offset %d is not listed in the central directory", off)
		}
		a.Entries = append(a.Entries, e)
		found++
		pos = e.DataOffset
	}
	if whole {
		a.note(AnomalyNoCentralDirectory, "no usable central directory; %d entries recovered from local headers", found)
	}
	return limitErr, nil
}

func isLocalSig(s uint32) bool { return s == sigLocal }

// isBoundarySig reports records that can follow member data.
func isBoundarySig(s uint32) bool {
	switch s {
	case sigLocal, sigCentral, sigEnd, sigEnd64, sigDescriptor:
		return true
	}
	return false
}

// window is a cached piece of the file for scanning it for signatures.
type window struct {
	a     *Archive
	buf   []byte
	start int64
	n     int
}

// next returns the offset of the first signature at or after from that
// want accepts, and the signature, or -1 when there is none.
func (w *window) next(from int64, want func(uint32) bool) (int64, uint32, error) {
	for from >= 0 && from <= w.a.size-4 {
		if from < w.start || from+4 > w.start+int64(w.n) {
			n, err := w.a.readAt(w.buf, from)
			if err != nil {
				return -1, 0, err
			}
			w.start, w.n = from, n
			if n < 4 {
				return -1, 0, nil
			}
		}
		b := w.buf[from-w.start : w.n]
		for i := 0; ; i++ {
			j := bytes.Index(b[i:], []byte("PK"))
			if j < 0 {
				break
			}
			i += j
			if i+4 > len(b) {
				break
			}
			if sig := u32(b[i:]); want(sig) {
				return from + int64(i), sig, nil
			}
		}
		end := w.start + int64(w.n)
		if end >= w.a.size {
			break
		}
		// Keep the last 3 bytes so a signature cut by the window's edge is
		// found in the next one.
		from = max(end-3, from+1)
	}
	return -1, 0, nil
}

// peek returns the n bytes at off if the window holds them, else nil.
func (w *window) peek(off int64, n int) []byte {
	if off < w.start || off+int64(n) > w.start+int64(w.n) {
		return nil
	}
	return w.buf[off-w.start : off-w.start+int64(n)]
}

// measure finds the sizes of a recovered entry whose local header defers
// them to a data descriptor: the data ends at the descriptor whose
// compressed size matches its distance from the data, or before the next
// header.
func (w *window) measure(e *Entry) error {
	a := w.a
	for from := e.DataOffset; ; {
		q, sig, err := w.next(from, isBoundarySig)
		if err != nil {
			return err
		}
		if q < 0 {
			e.CompressedSize = uint64(a.size - e.DataOffset)
			e.note(AnomalySize, "no data descriptor or header follows the data at offset %d; assumed to run to the end of the file", e.DataOffset)
			return nil
		}
		d := uint64(q - e.DataOffset)
		if sig == sigDescriptor {
			b := w.peek(q, 24)
			if b == nil {
				b = make([]byte, 24)
				n, err := a.readAt(b, q)
				if err != nil {
					return err
				}
				b = b[:n]
			}
			n := len(b)
			switch {
			case n >= 16 && uint64(u32(b[8:])) == d:
				e.CRC32, e.CompressedSize, e.UncompressedSize = u32(b[4:]), d, uint64(u32(b[12:]))
				return nil
			case n >= 24 && u64(b[8:]) == d:
				e.CRC32, e.CompressedSize, e.UncompressedSize = u32(b[4:]), d, u64(b[16:])
				return nil
			}
			from = q + 4 // the signature was part of the data
			continue
		}
		// A descriptor may omit its signature: crc, then 32- or 64-bit sizes.
		var b [20]byte
		if d >= 12 {
			if n, err := a.readAt(b[:12], q-12); err != nil {
				return err
			} else if n == 12 && uint64(u32(b[4:])) == d-12 {
				e.CRC32, e.CompressedSize, e.UncompressedSize = u32(b[:]), d-12, uint64(u32(b[8:]))
				return nil
			}
		}
		if d >= 20 {
			if n, err := a.readAt(b[:], q-20); err != nil {
				return err
			} else if n == 20 && u64(b[4:]) == d-20 {
				e.CRC32, e.CompressedSize, e.UncompressedSize = u32(b[:]), d-20, u64(b[12:])
				return nil
			}
		}
		e.CompressedSize = d
		e.note(AnomalySize, "no data descriptor after the data at offset %d; assumed to end at the next header at offset %d", e.DataOffset, q)
		return nil
	}
}

// dataEnd is where e's data ends by its declared compressed size, if that
// is representable.
func dataEnd(e *Entry) (int64, bool) {
	if e.DataOffset < 0 || e.CompressedSize > uint64(math.MaxInt64-e.DataOffset) {
		return 0, false
	}
	return e.DataOffset + int64(e.CompressedSize), true
}

package zipx

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Record signatures and fixed lengths (APPNOTE.TXT, sections 4.3.7–4.3.16).
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50

	localLen     = 30
	centralLen   = 46
	endLen       = 22
	locator64Len = 20
	end64Len     = 56

	max16 = 0xffff
	max32 = 0xffffffff

	zip64ExtraID = 0x0001

	// flagDescriptor means sizes and CRC follow the data instead of being in
	// the local header.
	flagDescriptor = 0x8
)

func u16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func u32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func u64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// endRecord is the end-of-central-directory record, with the zip64 one
// merged in, and where the central directory was found.
type endRecord struct {
	offset               int64 // of the end record in the file
	end64                int64 // of the zip64 end record, or -1
	disk, dirDisk        uint64
	diskEntries, entries uint64
	dirSize, dirOffset   uint64 // as written: relative to the archive's start
	commentLen           int64
	comment              []byte // the part of the comment the file holds

	dirStart int64 // where the central directory is in the file
	base     int64 // dirStart - dirOffset: bytes in front of the archive
	dirValid bool  // a central directory header (or an empty one) is at dirStart
	notes    []Anomaly
}

// findEnd locates the end-of-central-directory record. Like other readers
// it searches backwards from the end, over at most the record plus the
// longest comment; it prefers the last record that leads to a central
// directory, else the last one found. It returns nil when there is none.
func (a *Archive) findEnd() (*endRecord, error) {
	n := int64(endLen + max16)
	if n > a.size {
		n = a.size
	}
	if n < endLen {
		return nil, nil
	}
	buf := make([]byte, n)
	got, err := a.readAt(buf, a.size-n)
	if err != nil {
		return nil, err
	}
	buf = buf[:got]
	if len(buf) < endLen {
		return nil, nil
	}
	bufStart := a.size - n
	var first *endRecord
	// A record needs endLen bytes from its signature on.
	search := buf[:len(buf)-endLen+4]
	for {
		i := bytes.LastIndex(search, []byte("PK\x05\x06"))
		if i < 0 {
			break
		}
		search = search[:i]
		rec, err := a.parseEnd(buf[i:], bufStart+int64(i))
		if err != nil {
			return nil, err
		}
		if rec.dirValid {
			return rec, nil
		}
		if first == nil {
			first = rec
		}
	}
	return first, nil
}

func (a *Archive) parseEnd(b []byte, off int64) (*endRecord, error) {
	rec := &endRecord{
		offset:      off,
		end64:       -1,
		disk:        uint64(u16(b[4:])),
		dirDisk:     uint64(u16(b[6:])),
		diskEntries: uint64(u16(b[8:])),
		entries:     uint64(u16(b[10:])),
		dirSize:     uint64(u32(b[12:])),
		dirOffset:   uint64(u32(b[16:])),
		commentLen:  int64(u16(b[20:])),
		dirStart:    -1,
	}
	rec.comment = b[endLen:]
	if int64(len(rec.comment)) > rec.commentLen {
		rec.comment = rec.comment[:rec.commentLen]
	}
	if off >= locator64Len {
		var loc [locator64Len]byte
		n, err := a.readAt(loc[:], off-locator64Len)
		if err != nil {
			return nil, err
		}
		if n == locator64Len && u32(loc[:]) == sigLocator64 {
			if err := a.readEnd64(rec, u64(loc[8:])); err != nil {
				return nil, err
			}
		}
	}
	if err := a.resolveDirectory(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// readEnd64 reads the zip64 end record the locator points to. Its values
// replace the 32-bit ones, as Python's zipfile and miniz do; where a 32-bit
// value is not the "see zip64" marker and differs, readers disagree, which
// is recorded.
func (a *Archive) readEnd64(rec *endRecord, declared uint64) error {
	// Where the locator says, or right before the locator when data was
	// prepended and the written offset is off by that much.
	candidates := [2]int64{-1, rec.offset - locator64Len - end64Len}
	if declared <= math.MaxInt64 {
		candidates[0] = int64(declared)
	}
	var b [end64Len]byte
	for _, c := range candidates {
		if c < 0 {
			continue
		}
		n, err := a.readAt(b[:], c)
		if err != nil {
			return err
		}
		if n == end64Len && u32(b[:]) == sigEnd64 {
			rec.end64 = c
			break
		}
	}
	if rec.end64 < 0 {
		rec.notes = append(rec.notes, Anomaly{AnomalyDirectory,
			fmt.Sprintf("zip64 locator at offset %d points to offset %d, where there is no zip64 end record", rec.offset-locator64Len, declared)})
		return nil
	}
	v64 := [...]uint64{u64(b[24:]), u64(b[32:]), u64(b[40:]), u64(b[48:])}
	v32 := [...]*uint64{&rec.diskEntries, &rec.entries, &rec.dirSize, &rec.dirOffset}
	names := [...]string{"entries on this disk", "entries", "directory size", "directory offset"}
	for i, p := range v32 {
		marker := *p == max16 || *p == max32
		if !marker && *p != v64[i] {
			rec.notes = append(rec.notes, Anomaly{AnomalyDirectory,
				fmt.Sprintf("zip64 end record gives %s %d, end record %d", names[i], v64[i], *p)})
		}
		*p = v64[i]
	}
	rec.disk = uint64(u32(b[16:]))
	rec.dirDisk = uint64(u32(b[20:]))
	return nil
}

// resolveDirectory finds the central directory: at the offset written, or,
// when bytes were prepended to the archive (self-extractors), shifted by
// the distance between where it should end and where the end record is.
// archive/zip and Python's zipfile make the same correction.
func (a *Archive) resolveDirectory(rec *endRecord) error {
	dirEnd := rec.offset
	if rec.end64 >= 0 {
		dirEnd = rec.end64
	}
	empty := rec.entries == 0 && rec.dirSize == 0
	if rec.dirOffset <= uint64(dirEnd) {
		start := int64(rec.dirOffset)
		ok := empty && start == dirEnd
		if !ok {
			var err error
			if ok, err = a.isCentral(start); err != nil {
				return err
			}
		}
		if ok {
			rec.dirStart, rec.dirValid = start, true
			return nil
		}
		rec.dirStart = start
	}
	if rec.dirSize <= uint64(dirEnd) {
		start := dirEnd - int64(rec.dirSize)
		if rec.dirOffset < uint64(start) {
			ok := empty
			if !ok {
				var err error
				if ok, err = a.isCentral(start); err != nil {
					return err
				}
			}
			if ok {
				rec.dirStart, rec.base, rec.dirValid = start, start-int64(rec.dirOffset), true
			}
		}
	}
	return nil
}

func (a *Archive) isCentral(off int64) (bool, error) {
	var b [4]byte
	n, err := a.readAt(b[:], off)
	return n == 4 && u32(b[:]) == sigCentral, err
}

// readDirectory reads the central directory the end record leads to, then
// each entry's local header. scan reports that entries may be missing and
// local headers should be searched for.
func (a *Archive) readDirectory(rec *endRecord, max int) (scan bool, limitErr, err error) {
	a.Anomalies = append(a.Anomalies, rec.notes...)
	a.Comment = string(rec.comment)
	a.Zip64 = rec.end64 >= 0
	if rec.disk != 0 || rec.dirDisk != 0 {
		a.note(AnomalyDirectory, "end record names disk %d and directory disk %d; read as a single-disk archive", rec.disk, rec.dirDisk)
	}
	if rec.diskEntries != rec.entries {
		a.note(AnomalyDirectory, "end record gives %d entries on this disk and %d in total", rec.diskEntries, rec.entries)
	}
	switch commentEnd := rec.offset + endLen + rec.commentLen; {
	case commentEnd < a.size:
		a.note(AnomalyTrailing, "%d bytes from offset %d, after the end record and its comment", a.size-commentEnd, commentEnd)
	case commentEnd > a.size:
		a.note(AnomalyDirectory, "archive comment of %d bytes runs %d bytes past the end of the file", rec.commentLen, commentEnd-a.size)
	}
	if !rec.dirValid {
		a.note(AnomalyDirectory, "end record at offset %d points to a central directory at offset %d (%d bytes, %d entries) that is not there",
			rec.offset, rec.dirOffset, rec.dirSize, rec.entries)
		return true, nil, nil
	}
	a.DirectoryOffset, a.BaseOffset = rec.dirStart, rec.base

	// Preallocate no more than the directory could hold, whatever it claims.
	capHint := (a.size - rec.dirStart) / centralLen
	if rec.entries < uint64(capHint) {
		capHint = int64(rec.entries)
	}
	if int64(max) < capHint {
		capHint = int64(max)
	}
	a.Entries = make([]*Entry, 0, capHint)

	// Records are read while their signature is there, not just as many as
	// the end record says: its 16-bit count wraps on big archives, and
	// Python reads by size, miniz and Go by count. Differences are noted.
	br := bufio.NewReaderSize(io.NewSectionReader(a.r, rec.dirStart, a.size-rec.dirStart), 32<<10)
	var (
		hdr       [centralLen]byte
		buf       []byte
		consumed  int64
		truncated bool
	)
	for {
		if _, err := io.ReadFull(br, hdr[:4]); err != nil {
			if !isShort(err) {
				return false, nil, fmt.Errorf("zipx: read central directory: %w", err)
			}
			break
		}
		if u32(hdr[:]) != sigCentral {
			break
		}
		if len(a.Entries) >= max {
			limitErr = limitError(max, fmt.Sprintf("central directory at offset %d has more entries", rec.dirStart))
			break
		}
		if _, err := io.ReadFull(br, hdr[4:]); err != nil {
			if !isShort(err) {
				return false, nil, fmt.Errorf("zipx: read central directory: %w", err)
			}
			truncated = true
			break
		}
		nameLen, extraLen, commentLen := int(u16(hdr[28:])), int(u16(hdr[30:])), int(u16(hdr[32:]))
		need := nameLen + extraLen + commentLen // at most 3×64 KiB by format
		if cap(buf) < need {
			buf = make([]byte, need)
		}
		buf = buf[:need]
		if _, err := io.ReadFull(br, buf); err != nil {
			if !isShort(err) {
				return false, nil, fmt.Errorf("zipx: read central directory: %w", err)
			}
			truncated = true
			break
		}
		consumed += int64(centralLen + need)
		e := &Entry{
			Flags:            u16(hdr[8:]),
			Method:           u16(hdr[10:]),
			CRC32:            u32(hdr[16:]),
			CompressedSize:   uint64(u32(hdr[20:])),
			UncompressedSize: uint64(u32(hdr[24:])),
			Name:             string(buf[:nameLen]),
			Comment:          string(buf[nameLen+extraLen:]),
		}
		rel := uint64(u32(hdr[42:]))
		centralZip64(e, buf[nameLen:nameLen+extraLen], &rel)
		if rel > uint64(math.MaxInt64-rec.base) {
			e.HeaderOffset, e.DataOffset = -1, -1
			e.note(AnomalyLocalHeader, "local header offset %d is outside the file", rel)
		} else {
			e.HeaderOffset = rec.base + int64(rel)
			// Where the data would be if the local header matched the
			// central one; used only when the local header is unreadable.
			e.DataOffset = -1
			if e.HeaderOffset <= math.MaxInt64-localLen-2*max16 {
				e.DataOffset = e.HeaderOffset + localLen + int64(nameLen+extraLen)
			}
		}
		a.Entries = append(a.Entries, e)
	}

	got := uint64(len(a.Entries))
	wrapped := rec.end64 < 0 && got > max16 && got&max16 == rec.entries
	if limitErr == nil && got != rec.entries && !wrapped {
		a.note(AnomalyDirectory, "central directory has %d entries, end record says %d", got, rec.entries)
		if got < rec.entries {
			scan = true
		}
	}
	if truncated {
		a.note(AnomalyDirectory, "central directory record %d at offset %d is truncated", got, rec.dirStart+consumed)
		scan = true
	}
	if limitErr == nil && !truncated && uint64(consumed) != rec.dirSize {
		a.note(AnomalyDirectory, "central directory is %d bytes, end record says %d", consumed, rec.dirSize)
	}
	dirEnd := rec.offset
	if rec.end64 >= 0 {
		dirEnd = rec.end64
	}
	if gap := dirEnd - (rec.dirStart + consumed); limitErr == nil && !truncated && gap > 0 {
		a.note(AnomalyGap, "%d bytes between the central directory and the end record at offset %d", gap, dirEnd)
	}

	var (
		scratch   []byte
		unshifted int
		budget    = a.size
	)
	for _, e := range a.Entries {
		if e.HeaderOffset < 0 {
			continue
		}
		lh, reason, err := a.readLocalHeader(e.HeaderOffset, &scratch)
		if err != nil {
			return false, nil, err
		}
		if reason != "" && rec.base != 0 {
			// The end record's directory offset may be what is wrong, not
			// the entries' offsets: try them as written.
			rel := e.HeaderOffset - rec.base
			if lh2, reason2, err := a.readLocalHeader(rel, &scratch); err != nil {
				return false, nil, err
			} else if reason2 == "" {
				lh, reason = lh2, ""
				e.HeaderOffset = rel
				unshifted++
			}
		}
		if reason != "" {
			e.note(AnomalyLocalHeader, "%s; data assumed at offset %d", reason, e.DataOffset)
			continue
		}
		lh.setLocal(e, &budget)
	}
	if unshifted > 0 {
		a.note(AnomalyDirectory, "the end record puts the archive %d bytes into the file, but %d local headers are at their offsets as written",
			rec.base, unshifted)
	}
	return scan, limitErr, nil
}

func isShort(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// zip64Field returns the body of the zip64 extended information extra
// field, or nil.
func zip64Field(extra []byte) []byte {
	for len(extra) >= 4 {
		id, size := u16(extra), int(u16(extra[2:]))
		extra = extra[4:]
		if size > len(extra) {
			size = len(extra) // a truncated last field: take what is there
		}
		if id == zip64ExtraID {
			return extra[:size]
		}
		extra = extra[size:]
	}
	return nil
}

// centralZip64 replaces the 32-bit fields that hold the "see zip64" marker
// with the zip64 extra field's values, which come in a fixed order and only
// for the fields that need them.
func centralZip64(e *Entry, extra []byte, rel *uint64) {
	if e.UncompressedSize != max32 && e.CompressedSize != max32 && *rel != max32 {
		return
	}
	body := zip64Field(extra)
	for _, f := range [...]struct {
		v    *uint64
		name string
	}{{&e.UncompressedSize, "uncompressed size"}, {&e.CompressedSize, "compressed size"}, {rel, "local header offset"}} {
		if *f.v != max32 {
			continue
		}
		if len(body) < 8 {
			e.note(AnomalySize, "central directory %s is 0xffffffff but no zip64 field gives it", f.name)
			continue
		}
		*f.v = u64(body)
		body = body[8:]
	}
}

// localHeader is what a local file header says.
type localHeader struct {
	flags, method uint16
	crc           uint32
	csize, usize  uint64
	name          []byte // in the caller's scratch buffer; valid until the next read
	dataOffset    int64
	notes         []Anomaly
}

// setLocal copies the local header into e. Local names unlike the central
// ones are kept up to *budget bytes in total, then cut short: central
// entries may all point at overlapping local headers, each naming 64 KiB,
// and a small file must not cost gigabytes of names.
func (lh *localHeader) setLocal(e *Entry, budget *int64) {
	switch name := lh.name; {
	case string(name) == e.Name:
		e.LocalName = e.Name // the usual case: no second copy
	case int64(len(name)) > *budget:
		e.LocalName = string(name[:min(len(name), 256)])
		e.note(AnomalyLocalHeader, "local header name of %d bytes kept to %d: local names exceed the size of the file", len(name), len(e.LocalName))
	default:
		*budget -= int64(len(name))
		e.LocalName = string(name)
	}
	e.LocalFlags = lh.flags
	e.LocalMethod = lh.method
	e.LocalCRC32 = lh.crc
	e.LocalCompressedSize = lh.csize
	e.LocalUncompressedSize = lh.usize
	e.DataOffset = lh.dataOffset
	e.hasLocal = true
	e.Anomalies = append(e.Anomalies, lh.notes...)
}

// readLocalHeader reads the local header at off. A non-empty reason says
// why there is none: no signature, or a name and extra field that run past
// the end of the file. scratch is reused between calls.
func (a *Archive) readLocalHeader(off int64, scratch *[]byte) (lh localHeader, reason string, err error) {
	if off < 0 || off > a.size-localLen {
		return lh, fmt.Sprintf("local header offset %d is outside the file", off), nil
	}
	// One read usually gets the header, name and extra field together.
	if cap(*scratch) < 512 {
		*scratch = make([]byte, 512)
	}
	buf := (*scratch)[:cap(*scratch)]
	n, err := a.readAt(buf, off)
	if err != nil {
		return lh, "", err
	}
	if n < localLen || u32(buf) != sigLocal {
		return lh, fmt.Sprintf("no local header at offset %d", off), nil
	}
	nameLen, extraLen := int(u16(buf[26:])), int(u16(buf[28:]))
	need := localLen + nameLen + extraLen
	if int64(need) > a.size-off {
		return lh, fmt.Sprintf("local header at offset %d: name and extra field run past the end of the file", off), nil
	}
	if need > n {
		if need > len(buf) {
			grown := make([]byte, need)
			copy(grown, buf[:n])
			*scratch, buf = grown, grown
		}
		m, err := a.readAt(buf[n:need], off+int64(n))
		if err != nil {
			return lh, "", err
		}
		if n+m < need {
			return lh, fmt.Sprintf("local header at offset %d is truncated", off), nil
		}
	}
	lh = localHeader{
		flags:      u16(buf[6:]),
		method:     u16(buf[8:]),
		crc:        u32(buf[14:]),
		csize:      uint64(u32(buf[18:])),
		usize:      uint64(u32(buf[22:])),
		name:       buf[localLen : localLen+nameLen],
		dataOffset: off + int64(need),
	}
	if lh.csize == max32 || lh.usize == max32 {
		// The local zip64 field should hold both sizes; take what it has.
		body := zip64Field(buf[localLen+nameLen : need])
		switch {
		case len(body) >= 16:
			if lh.usize == max32 {
				lh.usize = u64(body)
			}
			if lh.csize == max32 {
				lh.csize = u64(body[8:])
			}
		case len(body) >= 8 && lh.usize == max32:
			lh.usize = u64(body)
		case len(body) >= 8:
			lh.csize = u64(body)
		default:
			lh.notes = append(lh.notes, Anomaly{AnomalySize, "local header size is 0xffffffff but no zip64 field gives it"})
		}
	}
	return lh, "", nil
}

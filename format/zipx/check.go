package zipx

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Flag bits that a plaintext member written by an ordinary tool does not
// carry: everything but the deflate options (0x2, 0x4), the data
// descriptor (0x8) and UTF-8 names (0x800).
const unusualFlags = 0xffff &^ (0x2 | 0x4 | flagDescriptor | 0x800)

var flagNames = map[uint16]string{
	0x1:    "encrypted",
	0x10:   "enhanced deflate",
	0x20:   "patched data",
	0x40:   "strong encryption",
	0x2000: "masked local header",
}

// describeFlags names the unusual bits of f.
func describeFlags(f uint16) string {
	var parts []string
	for bit := uint16(1); bit != 0; bit <<= 1 {
		if f&bit == 0 || unusualFlags&bit == 0 {
			continue
		}
		if name, ok := flagNames[bit]; ok {
			parts = append(parts, fmt.Sprintf("0x%x %s", bit, name))
		} else {
			parts = append(parts, fmt.Sprintf("0x%x reserved", bit))
		}
	}
	return strings.Join(parts, ", ")
}

// check records the anomalies that need the whole entry list.
func (a *Archive) check() {
	first := make(map[string]*Entry, len(a.Entries))
	for _, e := range a.Entries {
		a.checkEntry(e)
		// Readers differ in which duplicate they load (a dict keeps the last,
		// a search may find the first), so a scanner must look at both.
		if f, ok := first[e.Name]; ok {
			e.note(AnomalyDuplicateName, "the entry whose local header is at offset %d has the same name", f.HeaderOffset)
		} else {
			first[e.Name] = e
		}
	}
	a.checkLayout()
}

func (a *Archive) checkEntry(e *Entry) {
	if why := pathProblems(e.Name); why != "" {
		e.note(AnomalyPath, "name: %s", why)
	}
	if e.Flags&unusualFlags != 0 {
		e.note(AnomalyFlags, "central directory flags 0x%04x: %s", e.Flags, describeFlags(e.Flags))
	}
	switch e.Method {
	case Store, Deflate, BZip2:
	default:
		e.note(AnomalyMethod, "compression method %d cannot be read", e.Method)
	}
	if e.Method == Store && e.CompressedSize != e.UncompressedSize {
		e.note(AnomalySize, "stored member with compressed size %d and uncompressed size %d", e.CompressedSize, e.UncompressedSize)
	}
	if end, ok := dataEnd(e); e.DataOffset >= 0 && (!ok || end > a.size) {
		e.note(AnomalySize, "%d bytes of data declared at offset %d, but the file ends at %d", e.CompressedSize, e.DataOffset, a.size)
	}
	if !e.hasLocal {
		return
	}

	if e.LocalName != e.Name {
		e.note(AnomalyNameMismatch, "the local header names %s", quote(e.LocalName))
		if why := pathProblems(e.LocalName); why != "" {
			e.note(AnomalyPath, "local header name: %s", why)
		}
	}
	if e.LocalFlags != e.Flags {
		detail := fmt.Sprintf("local header flags 0x%04x differ from central directory flags 0x%04x", e.LocalFlags, e.Flags)
		if d := describeFlags(e.LocalFlags &^ e.Flags); d != "" {
			detail += "; only the local header has " + d
		}
		e.note(AnomalyFlags, "%s", detail)
	}
	if e.LocalMethod != e.Method {
		e.note(AnomalyMethod, "local header method %d differs from central directory method %d", e.LocalMethod, e.Method)
	}
	// With a data descriptor the local header may leave CRC and sizes zero.
	deferred := e.LocalFlags&flagDescriptor != 0
	if e.LocalCRC32 != e.CRC32 && !(deferred && e.LocalCRC32 == 0) {
		e.note(AnomalyCRC, "local header CRC-32 0x%08x differs from central directory CRC-32 0x%08x", e.LocalCRC32, e.CRC32)
	}
	if e.LocalCompressedSize != e.CompressedSize && !(deferred && e.LocalCompressedSize == 0) {
		e.note(AnomalySize, "local header compressed size %d differs from central directory %d", e.LocalCompressedSize, e.CompressedSize)
	}
	if e.LocalUncompressedSize != e.UncompressedSize && !(deferred && e.LocalUncompressedSize == 0) {
		e.note(AnomalySize, "local header uncompressed size %d differs from central directory %d", e.LocalUncompressedSize, e.UncompressedSize)
	}
}

// pathProblems says why a name could escape or confuse an extraction
// directory, or "" when it cannot.
func pathProblems(name string) string {
	var why []string
	if name == "" {
		why = append(why, "empty")
	}
	if strings.IndexByte(name, 0) >= 0 {
		why = append(why, "NUL byte (Python's zipfile cuts the name there)")
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) {
		why = append(why, "absolute path")
	}
	if len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z') {
		why = append(why, "drive letter")
	}
	if strings.IndexByte(name, '\\') >= 0 {
		why = append(why, "backslash")
	}
	for part := range strings.FieldsFuncSeq(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			why = append(why, `".." component`)
			break
		}
	}
	return strings.Join(why, ", ")
}

// checkLayout looks at where members lie in the file: overlapping members
// (zip bombs that reuse one compressed kernel, polyglots), bytes no member
// accounts for, and bytes in front of the archive.
func (a *Archive) checkLayout() {
	type span struct {
		e          *Entry
		start, end int64
	}
	spans := make([]span, 0, len(a.Entries))
	for _, e := range a.Entries {
		if !e.hasLocal {
			continue
		}
		end, ok := dataEnd(e)
		if !ok || end > a.size {
			end = a.size
		}
		spans = append(spans, span{e, e.HeaderOffset, end})
	}
	slices.SortStableFunc(spans, func(x, y span) int { return cmp.Compare(x.start, y.start) })

	// slack allows for a data descriptor (up to 24 bytes) after the data.
	slack := func(e *Entry) int64 {
		if (e.Flags|e.LocalFlags)&flagDescriptor != 0 {
			return 24
		}
		return 0
	}
	var (
		reach int64  = -1 // furthest end of data so far
		by    *Entry      // the entry that reaches it
	)
	for _, s := range spans {
		if by != nil {
			switch {
			case s.start < reach:
				s.e.note(AnomalyOverlap, "local header at offset %d lies inside entry %s, whose data runs from offset %d to %d",
					s.start, quote(by.Name), by.DataOffset, reach)
			case s.start > reach+slack(by):
				by.note(AnomalyGap, "%d bytes from offset %d, after this entry's data, to the next local header belong to no entry",
					s.start-reach, reach)
			}
		}
		if s.end > reach {
			reach, by = s.end, s.e
		}
	}
	if len(spans) > 0 && spans[0].start > 0 {
		a.note(AnomalyPrepended, "%d bytes before the first local header", spans[0].start)
	}
	if a.DirectoryOffset < 0 {
		return
	}
	switch {
	case by == nil && len(a.Entries) == 0 && a.DirectoryOffset > 0:
		a.note(AnomalyPrepended, "%d bytes before the central directory of an empty archive", a.DirectoryOffset)
	case by == nil:
	case reach > a.DirectoryOffset:
		by.note(AnomalyOverlap, "data runs to offset %d, into the central directory at offset %d", reach, a.DirectoryOffset)
	case a.DirectoryOffset > reach+slack(by):
		by.note(AnomalyGap, "%d bytes from offset %d, after this entry's data, to the central directory belong to no entry",
			a.DirectoryOffset-reach, reach)
	}
}

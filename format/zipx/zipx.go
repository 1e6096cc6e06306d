// Package zipx reads ZIP archives the way a scanner of hostile files needs
// to: tolerantly, within limits, and without executing or trusting anything.
//
// # Why tolerant
//
// Zip readers disagree about what a valid archive is, and attackers live in
// the gaps. PyTorch (through miniz) loads members whose CRC is wrong
// (CVE-2025-10156), whose flags claim encryption (CVE-2025-1945) or whose
// local header names a different file than the central directory
// (CVE-2025-1944), while Python's zipfile, and scanners built on it, refuse
// such archives and never look at the pickle inside. A scanner must see at
// least what any loader sees, so this reader keeps going where a strict one
// stops and records each irregularity as an [Anomaly]. It does not judge
// them: a checker decides what an anomaly means.
//
// # What it reads
//
// [Open] reads the end-of-central-directory record (and its zip64 form),
// the central directory and each member's local header. Member data is only
// read through [Archive.Open], so sniffing 16 bytes of each member of a
// multi-GiB checkpoint reads little more than 16 bytes per member. Data
// offsets come from the local header, as PyTorch and miniz compute them.
// When the central directory is missing or unreadable, entries are recovered
// by scanning the file for local headers, as streaming extractors do.
//
// # Bounds
//
// The number of entries is capped by [Limits.MaxEntries]; every length and
// offset read from the file is checked against the file size before it is
// used; nothing recurses. Decompressed output is not capped here: callers
// wrap a [Reader] in safeio.LimitReader and safeio.RatioReader.
package zipx

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Compression methods that Archive.Open can decompress.
const (
	Store   uint16 = 0
	Deflate uint16 = 8
	BZip2   uint16 = 12
)

// Anomaly kinds. Each names an irregularity that some reader tolerates and
// another rejects or reads differently, so it may hide content from a tool.
const (
	// The local header names a different file than the central directory
	// (CVE-2025-1944).
	AnomalyNameMismatch = "name-mismatch"
	// Unusual general-purpose flag bits (0x1 encrypted, 0x20 patched data,
	// 0x40 strong encryption, reserved bits; CVE-2025-1945), or local and
	// central flags that differ.
	AnomalyFlags = "flags"
	// The CRC-32 of the data differs from the central directory's
	// (CVE-2025-10156), or the local header's CRC differs from it.
	AnomalyCRC = "crc-mismatch"
	// Sizes disagree between headers or with the data, or the data is
	// shorter than declared.
	AnomalySize = "size-mismatch"
	// A compression method that is not stored, deflate or bzip2, or local and
	// central methods that differ.
	AnomalyMethod = "method"
	// A name that is absolute, climbs out with "..", uses backslashes or
	// holds a NUL byte (Python's zipfile cuts the name there).
	AnomalyPath = "path"
	// Two entries with the same name: readers differ in which one wins.
	AnomalyDuplicateName = "duplicate-name"
	// Member data overlapping another member or the central directory: zip
	// bombs and polyglots.
	AnomalyOverlap = "overlap"
	// Bytes between members that no entry accounts for, where a hidden
	// member or a second archive can sit.
	AnomalyGap = "gap"
	// The local header is missing, unreadable or outside the file.
	AnomalyLocalHeader = "local-header"
	// The central directory is missing or unreadable (archive level), or an
	// entry was found by its local header only (entry level).
	AnomalyNoCentralDirectory = "no-central-directory"
	// The end record and the central directory disagree: entry counts,
	// sizes, disk numbers, zip64 records.
	AnomalyDirectory = "directory"
	// Bytes before the first member (self-extracting archives, polyglots).
	AnomalyPrepended = "prepended-data"
	// Bytes after the end-of-central-directory record and its comment.
	AnomalyTrailing = "trailing-data"
)

// ErrNotZip is returned by Open when the input has neither an
// end-of-central-directory record nor a local file header.
var ErrNotZip = errors.New("zipx: not a zip archive")

// ErrUnsupportedMethod is returned by Archive.Open for compression methods
// it cannot decompress; the caller records the member as not scanned.
var ErrUnsupportedMethod = errors.New("zipx: unsupported compression method")

// Limits bound the work Open does on one archive.
type Limits struct {
	// MaxEntries caps the central directory entries read, or the local
	// headers recovered when there is no central directory. Zero or less
	// means safeio.Default().MaxEntries.
	MaxEntries int
}

// LimitsFrom takes the zip limits out of the scan-wide limits.
func LimitsFrom(l safeio.Limits) Limits {
	return Limits{MaxEntries: l.MaxEntries}
}

func (l Limits) maxEntries() int {
	if l.MaxEntries <= 0 {
		return safeio.Default().MaxEntries
	}
	return l.MaxEntries
}

// Anomaly is one irregularity of an archive or an entry.
type Anomaly struct {
	Kind   string // one of the Anomaly… constants
	Detail string // what was seen, with offsets, for the finding's evidence
}

// Entry is one member of an archive. Fields come from the central directory
// unless named Local…; an entry recovered without a central directory has
// both set from its local header.
type Entry struct {
	Name       string // central directory name (local name when recovered)
	LocalName  string // name in the local header
	Comment    string
	Method     uint16 // compression method from the central directory, used to read the data
	Flags      uint16 // general-purpose flags, central directory
	LocalFlags uint16 // general-purpose flags, local header

	CRC32            uint32
	CompressedSize   uint64 // zip64 extra field honoured
	UncompressedSize uint64

	LocalMethod           uint16
	LocalCRC32            uint32
	LocalCompressedSize   uint64
	LocalUncompressedSize uint64

	HeaderOffset int64 // offset of the local header in the file; -1 when unrepresentable
	// DataOffset is where the member data starts, after the local header's
	// name and extra field, as PyTorch and miniz compute it. When the local
	// header is unreadable it is a guess from the central lengths; -1 when
	// unknown.
	DataOffset int64

	// Anomalies found by Open. They are not changed afterwards: anomalies
	// found while reading the data are reported by Reader.Anomalies.
	Anomalies []Anomaly

	hasLocal bool // a local header was read at HeaderOffset
}

// Archive is an opened archive. It is safe for concurrent use by several
// goroutines reading different or the same entries, provided the
// io.ReaderAt is.
type Archive struct {
	Entries   []*Entry
	Anomalies []Anomaly // archive-level anomalies
	Comment   string    // archive comment (as much of it as the file holds)
	Zip64     bool      // a zip64 end record was used

	// BaseOffset is how far the archive's own offsets are shifted in the
	// file, as in a self-extracting archive with a program in front.
	BaseOffset int64
	// DirectoryOffset is where the central directory starts in the file, or
	// -1 when the entries were recovered from local headers.
	DirectoryOffset int64

	r    io.ReaderAt
	size int64
}

// Sniff reports whether header starts like a zip archive: a local file
// header, or the end record of an empty archive.
func Sniff(header []byte) bool {
	return bytes.HasPrefix(header, []byte("PK\x03\x04")) || bytes.HasPrefix(header, []byte("PK\x05\x06"))
}

// Open reads the structure of the zip archive in the first size bytes of r.
//
// It fails with ErrNotZip only when nothing zip-like is found. Malformed
// archives are opened as far as they can be read, with anomalies recorded
// on the archive and its entries. Without an end record, or when it leads
// to no readable central directory, entries are recovered by scanning for
// local headers; when the directory holds fewer entries than the end record
// says, the local headers it does not list are added.
//
// Reaching Limits.MaxEntries returns the archive read so far together with
// an error wrapping a *safeio.LimitError; the caller scans what it got and
// marks the scan incomplete. I/O errors other than a short read return a
// nil archive.
func Open(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	if r == nil || size < 0 {
		return nil, ErrNotZip
	}
	a := &Archive{r: r, size: size, DirectoryOffset: -1}
	max := lim.maxEntries()

	end, err := a.findEnd()
	if err != nil {
		return nil, err
	}
	var limitErr error
	scan := end == nil
	if end != nil {
		scan, limitErr, err = a.readDirectory(end, max)
		if err != nil {
			return nil, err
		}
	}
	if scan && limitErr == nil {
		limitErr, err = a.recoverEntries(max, end == nil || !end.dirValid)
		if err != nil {
			return nil, err
		}
	}
	if end == nil && len(a.Entries) == 0 {
		return nil, ErrNotZip
	}
	a.check()
	return a, limitErr
}

func (a *Archive) note(kind, format string, args ...any) {
	a.Anomalies = append(a.Anomalies, Anomaly{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (e *Entry) note(kind, format string, args ...any) {
	e.Anomalies = append(e.Anomalies, Anomaly{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func limitError(max int, detail string) error {
	return fmt.Errorf("zipx: %w", &safeio.LimitError{Limit: "MaxEntries", Value: int64(max), Detail: detail})
}

// readAt fills as much of buf as the file holds at off. A short read is not
// an error: hostile archives lie about lengths all the time, and the caller
// checks n.
func (a *Archive) readAt(buf []byte, off int64) (int, error) {
	if off < 0 || off >= a.size {
		return 0, nil
	}
	if rest := a.size - off; int64(len(buf)) > rest {
		buf = buf[:rest]
	}
	n, err := a.r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return n, fmt.Errorf("zipx: read at offset %d: %w", off, err)
	}
	return n, nil
}

// quote shortens a name for an anomaly's detail: names can be 64 KiB long,
// and a crafted archive has up to MaxEntries entries, each with anomalies.
func quote(s string) string {
	const max = 100
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

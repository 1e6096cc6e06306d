package zipx

import (
	"bufio"
	"compress/bzip2"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Decompressors are pooled: a scanner opens thousands of members to read a
// few bytes of each, and a fresh flate reader costs tens of KiB.
var (
	bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	flatePool sync.Pool // io.ReadCloser that is also a flate.Resetter
)

var errClosed = errors.New("zipx: read after close")

// Open returns a reader of e's decompressed data. It reads the entry's
// compressed size from its data offset, or less where the file ends first
// (Open has recorded that as an AnomalySize). Methods other than stored,
// deflate and bzip2 fail with an error wrapping ErrUnsupportedMethod.
// Flags are ignored, as PyTorch ignores them: a member marked encrypted is
// read as plaintext.
//
// The output is not bounded: wrap the Reader in safeio.LimitReader and
// safeio.RatioReader. Close the Reader to reuse its decompressor.
func (a *Archive) Open(e *Entry) (*Reader, error) {
	if e == nil {
		return nil, errors.New("zipx: open: nil entry")
	}
	if e.DataOffset < 0 {
		return nil, fmt.Errorf("zipx: %s: data offset is unknown", quote(e.Name))
	}
	start := min(e.DataOffset, a.size)
	n := a.size - start
	if e.CompressedSize < uint64(n) {
		n = int64(e.CompressedSize)
	}
	r := &Reader{e: e, sec: *io.NewSectionReader(a.r, start, n), size: n}
	switch e.Method {
	case Store:
		r.src = &r.sec
	case Deflate:
		br := bufioPool.Get().(*bufio.Reader)
		br.Reset(&r.sec)
		var fr io.ReadCloser
		if v, ok := flatePool.Get().(io.ReadCloser); ok {
			fr = v
			if err := fr.(flate.Resetter).Reset(br, nil); err != nil {
				return nil, fmt.Errorf("zipx: %s: %w", quote(e.Name), err)
			}
		} else {
			fr = flate.NewReader(br)
		}
		r.br, r.fr, r.src = br, fr, fr
	case BZip2:
		r.src = bzip2.NewReader(&r.sec)
	default:
		return nil, fmt.Errorf("zipx: %s: method %d: %w", quote(e.Name), e.Method, ErrUnsupportedMethod)
	}
	return r, nil
}

// Reader reads one member's decompressed data and checks it once it has
// all been read. It does not change the Entry: anomalies found while
// reading (a wrong CRC, a size that differs) are reported by Anomalies, and
// the caller adds them to what it reports for the member.
type Reader struct {
	e    *Entry
	sec  io.SectionReader
	size int64 // compressed bytes available
	src  io.Reader
	br   *bufio.Reader // deflate only
	fr   io.ReadCloser // deflate only

	crc       uint32
	n         uint64
	done      bool
	closed    bool
	mismatch  bool
	anomalies []Anomaly
}

// Read reads decompressed data. Decompression errors (a corrupt or
// truncated deflate stream) are returned wrapped with the member's name.
func (r *Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errClosed
	}
	if r.done {
		return 0, io.EOF
	}
	n, err := r.src.Read(p)
	r.crc = crc32.Update(r.crc, crc32.IEEETable, p[:n])
	r.n += uint64(n)
	switch {
	case err == io.EOF:
		r.finish()
	case err != nil:
		err = fmt.Errorf("zipx: %s: %w", quote(r.e.Name), err)
	}
	return n, err
}

func (r *Reader) finish() {
	r.done = true
	if r.crc != r.e.CRC32 {
		r.mismatch = true
		r.note(AnomalyCRC, "CRC-32 of the data is 0x%08x, the central directory says 0x%08x", r.crc, r.e.CRC32)
	}
	if r.n != r.e.UncompressedSize {
		r.note(AnomalySize, "%d bytes of data, the central directory says %d", r.n, r.e.UncompressedSize)
	}
	if r.br != nil {
		// Bytes after the end of the deflate stream are invisible to
		// readers that stop there, and a place to hide something.
		pos, err := r.sec.Seek(0, io.SeekCurrent)
		if used := pos - int64(r.br.Buffered()); err == nil && used < r.size {
			r.note(AnomalySize, "%d bytes of member data follow the end of the deflate stream", r.size-used)
		}
	}
}

func (r *Reader) note(kind, format string, args ...any) {
	r.anomalies = append(r.anomalies, Anomaly{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// CRCMismatch reports whether the CRC-32 of the data differs from the
// central directory's. It is false until Read has returned io.EOF.
func (r *Reader) CRCMismatch() bool { return r.mismatch }

// Anomalies returns what was found wrong with the data once Read has
// returned io.EOF: AnomalyCRC, and AnomalySize when the data is not as
// long as declared or bytes follow the deflate stream. It is nil before.
func (r *Reader) Anomalies() []Anomaly { return r.anomalies }

// Close releases the decompressor. It never fails.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.fr != nil {
		flatePool.Put(r.fr)
		r.fr = nil
	}
	if r.br != nil {
		r.br.Reset(nil)
		bufioPool.Put(r.br)
		r.br = nil
	}
	r.src = nil
	return nil
}

package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/aigis-sec/aigis/internal/safeio"
)

var (
	magicGzip    = []byte{0x1f, 0x8b}
	magicZstd    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicParquet = []byte("PAR1")
	utf8BOM      = []byte{0xef, 0xbb, 0xbf}
)

// headSize is how many bytes Detect is given by Open.
const headSize = 64 << 10

// Detect names the format of a dataset file from its first bytes (head)
// and, as a hint, its name. The content decides when it can: Parquet by its
// magic, JSON by its first non-blank byte ('[' an array, '{' JSON Lines).
// Text that is neither is CSV or TSV, told apart by the delimiter that the
// first line uses most, or by the extension when the line has none.
// Compressed heads (gzip, zstd) are not decoded here: Open does that.
func Detect(path string, head []byte) (format string, ok bool) {
	ext := extension(path)
	if bytes.HasPrefix(head, magicParquet) {
		return "parquet", true
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), " \t\r\n")
	if len(t) > 0 {
		switch t[0] {
		case '[':
			return "json", true
		case '{':
			return "jsonl", true
		}
	}
	if len(t) == 0 || bytes.IndexByte(head, 0) >= 0 {
		// Empty or binary: trust the extension only for formats whose
		// reader will check the bytes anyway.
		switch ext {
		case "csv", "tsv", "jsonl", "json", "parquet":
			return ext, len(t) == 0 || ext == "parquet"
		}
		return "", false
	}
	switch sniffDelimiter(t, ext) {
	case '\t':
		return "tsv", true
	default:
		if ext == "csv" || ext == "tsv" || ext == "txt" || strings.ContainsAny(string(firstLine(t)), ",;|") {
			return "csv", true
		}
	}
	return "", false
}

// extension is the lower-case extension of path without compression
// suffixes: "train.jsonl.gz" → "jsonl".
func extension(path string) string {
	base := strings.ToLower(filepath.Base(path))
	for _, s := range []string{".gz", ".zst", ".zstd"} {
		base = strings.TrimSuffix(base, s)
	}
	ext := strings.TrimPrefix(filepath.Ext(base), ".")
	if ext == "ndjson" {
		ext = "jsonl"
	}
	return ext
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// sniffDelimiter picks the delimiter of a CSV-like text from its first
// line: the candidate seen most often outside quotes. Ties and lines
// without any go to the extension's default.
func sniffDelimiter(head []byte, ext string) byte {
	head = bytes.TrimPrefix(head, utf8BOM)
	counts := map[byte]int{}
	inQuote := false
	for _, c := range head {
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' {
			break
		}
		switch c {
		case ',', '\t', ';', '|':
			counts[c]++
		}
	}
	best, n := byte(','), 0
	if ext == "tsv" {
		best = '\t'
	}
	n = counts[best]
	for _, c := range []byte{',', '\t', ';', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best
}

// Open opens a dataset file for streaming. Compressed files (gzip, zstd)
// are recognised by their magic bytes, whatever their name; the format of
// the content is then found by Detect.
func Open(path string, lim Limits) (Reader, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if bytes.HasPrefix(magic[:n], magicParquet) {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data: %w", err)
		}
		r, err := newParquet(f, st.Size(), lim)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
		return r, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %w", err)
	}
	var (
		src    io.Reader = f
		closer           = []io.Closer{f}
	)
	switch {
	case bytes.HasPrefix(magic[:n], magicGzip):
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data: %s: gzip: %w", path, err)
		}
		src = zr
	case bytes.HasPrefix(magic[:n], magicZstd):
		zr, err := zstd.NewReader(f, zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderMaxWindow(256<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data: %s: zstd: %w", path, err)
		}
		src = zr
		closer = append(closer, closerFunc(func() error { zr.Close(); return nil }))
	}
	r, err := openStream(path, src, lim, closer)
	if err != nil {
		for _, c := range closer {
			c.Close()
		}
		return nil, err
	}
	return r, nil
}

// NewReader streams the rows of a text dataset (CSV, TSV, JSON Lines, JSON
// array) already decompressed; path names the format as in Detect. Parquet
// needs Open, which can seek.
func NewReader(path string, r io.Reader, lim Limits) (Reader, error) {
	return openStream(path, r, lim.withDefaults(), nil)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func openStream(path string, src io.Reader, lim Limits, closers []io.Closer) (Reader, error) {
	br := bufio.NewReaderSize(src, headSize)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if len(head) == 0 {
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
	}
	format, ok := Detect(path, head)
	if !ok {
		if bytes.HasPrefix(head, magicParquet) {
			return nil, fmt.Errorf("data: %s: compressed Parquet is not supported", path)
		}
		return nil, fmt.Errorf("data: %s: unknown dataset format", path)
	}
	switch format {
	case "csv", "tsv":
		delim := sniffDelimiter(bytes.TrimLeft(head, "\r\n"), extension(path))
		if format == "tsv" {
			delim = '\t'
		}
		return newCSV(br, format, delim, lim, closers), nil
	case "jsonl":
		return newJSONL(br, lim, closers), nil
	case "json":
		return newJSONArray(br, lim, closers)
	case "parquet":
		return nil, fmt.Errorf("data: %s: compressed Parquet is not supported", path)
	}
	return nil, fmt.Errorf("data: %s: unknown dataset format", path)
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// closeAll closes cs in order and returns the first error.
func closeAll(cs []io.Closer) error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rowLimit returns a *safeio.LimitError when row number num passes MaxRows.
func rowLimit(num int64, lim Limits) error {
	if lim.MaxRows > 0 && num > lim.MaxRows {
		return &safeio.LimitError{Limit: "MaxRows", Value: lim.MaxRows}
	}
	return nil
}

func columnLimit(n int, lim Limits, where string) error {
	if n > lim.MaxColumns {
		return &safeio.LimitError{Limit: "MaxColumns", Value: int64(lim.MaxColumns), Detail: where}
	}
	return nil
}

func fieldLimit(n int, lim Limits, where string) error {
	if n > lim.MaxFieldBytes {
		return &safeio.LimitError{Limit: "MaxFieldBytes", Value: int64(lim.MaxFieldBytes), Detail: where}
	}
	return nil
}

// lineReader reads physical lines of at most max bytes, without their
// "\n" or "\r\n", and counts them.
type lineReader struct {
	br   *bufio.Reader
	max  int
	line int64 // number of the line last returned
	buf  []byte
	err  error // sticky
}

// next returns the next line; the slice is valid until the next call. The
// last line of a file may lack its "\n". At the end it returns io.EOF.
func (l *lineReader) next() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	l.buf = l.buf[:0]
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(frag) > l.max+1 { // +1: the "\n" itself
			l.err = &safeio.LimitError{Limit: "MaxLineBytes", Value: int64(l.max), Detail: fmt.Sprintf("line %d", l.line+1)}
			return nil, l.err
		}
		if err == bufio.ErrBufferFull {
			l.buf = append(l.buf, frag...)
			continue
		}
		var line []byte
		if len(l.buf) == 0 {
			line = frag // no copy on the common path
		} else {
			l.buf = append(l.buf, frag...)
			line = l.buf
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				l.line++
				return trimEOL(line), nil
			}
			l.err = err
			return nil, err
		}
		l.line++
		return trimEOL(line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

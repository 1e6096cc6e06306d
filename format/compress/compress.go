// Package compress recognises compression wrappers by their first bytes and
// opens them as bounded decompressing readers.
//
// Model files are often compressed as a whole: joblib compresses its pickles
// with zlib (its default), gzip, bz2, lzma, xz or lz4, and models are shipped
// as .gz, .xz or .zst files. A scanner must look inside, and a compressed
// file is also the classic way to exhaust memory (a decompression bomb), so
//
//   - Sniff decides by content only, and is strict about it: the magic bytes
//     and every header field it can check, so an uncompressed file is not
//     mistaken for a compressed one. Formats without a magic number (zlib,
//     the legacy .lzma format) need a valid header checksum or plausible
//     header values, and a trial decode of the bytes at hand.
//   - NewReader bounds the output by Limits.MaxMemberBytes and by
//     Limits.MaxRatio times the compressed size. Passing either is an error
//     wrapping *safeio.LimitError, never a silent end of data. The memory a
//     decoder allocates for its window or dictionary is bounded too, by the
//     same limits, so a 40-byte file cannot ask for gigabytes.
//   - Concatenated streams are read the way Python reads them (gzip, bz2,
//     lzma and joblib's zlib files all continue with the next stream), so
//     data hidden in a second stream is not missed; bytes after the last
//     stream that are not another stream are an error.
package compress

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sync"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Kind names a compression format.
type Kind string

// The formats Sniff recognises and NewReader opens.
const (
	Gzip  Kind = "gzip"
	Bzip2 Kind = "bzip2"
	XZ    Kind = "xz"
	LZMA  Kind = "lzma" // the legacy .lzma ("LZMA alone") format, no magic number
	Zlib  Kind = "zlib" // RFC 1950, as zlib.compress writes it
	LZ4   Kind = "lz4"  // LZ4 frame format
	Zstd  Kind = "zstd"
)

// Kinds lists every Kind, in the order Sniff tries them.
var Kinds = []Kind{Gzip, Bzip2, XZ, Zstd, LZ4, Zlib, LZMA}

// SniffLen is how many leading bytes Sniff needs to recognise every format
// with all its checks; fewer bytes make it stricter, never looser.
const SniffLen = 64

// Sniff reports which compression format header starts with. It checks the
// magic number and the header fields that can be checked:
//
//	gzip   1f 8b, method 8 (deflate), no reserved flags
//	bzip2  "BZh", a block size 1-9, then a block or end-of-stream magic
//	xz     fd "7zXZ" 00, then valid stream flags
//	zstd   28 b5 2f fd, with the reserved bit of the frame header clear
//	lz4    04 22 4d 18, then a frame descriptor of version 1
//	zlib   78 (deflate, 32 KiB window), FLG with a valid FCHECK and no
//	       preset dictionary, and a trial inflate of the bytes given
//	lzma   properties lc+lp ≤ 4 (the only ones xz and Python accept), a
//	       dictionary size of 2^n or 2^n+2^(n-1), a size that is unknown or
//	       at most 256 GiB, and the first range-coder byte 0
//
// A stream that starts with a skippable frame (zstd and lz4 share them) is
// not recognised.
func Sniff(header []byte) (Kind, bool) {
	for _, k := range Kinds {
		if sniffers[k](header) {
			return k, true
		}
	}
	return "", false
}

var sniffers = map[Kind]func([]byte) bool{
	Gzip:  sniffGzip,
	Bzip2: sniffBzip2,
	XZ:    sniffXZ,
	Zstd:  sniffZstd,
	LZ4:   sniffLZ4,
	Zlib:  sniffZlib,
	LZMA:  sniffLZMA,
}

func sniffGzip(b []byte) bool {
	return len(b) >= 4 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 && b[3]&0xe0 == 0
}

func sniffBzip2(b []byte) bool {
	if len(b) < 10 || string(b[:3]) != "BZh" || b[3] < '1' || b[3] > '9' {
		return false
	}
	m := string(b[4:10])
	return m == "\x31\x41\x59\x26\x53\x59" || m == "\x17\x72\x45\x38\x50\x90"
}

const xzMagic = "\xfd7zXZ\x00"

func sniffXZ(b []byte) bool {
	return len(b) >= 8 && string(b[:6]) == xzMagic && b[6] == 0 && b[7]&0xf0 == 0
}

func sniffZstd(b []byte) bool {
	return len(b) >= 5 && string(b[:4]) == "\x28\xb5\x2f\xfd" && b[4]&0x08 == 0
}

func sniffLZ4(b []byte) bool {
	if len(b) < 6 || string(b[:4]) != "\x04\x22\x4d\x18" {
		return false
	}
	flg, bd := b[4], b[5]
	return flg>>6 == 1 && flg&0x02 == 0 && bd&0x8f == 0 && bd>>4 >= 4
}

func sniffZlib(b []byte) bool {
	if len(b) < 3 || b[0] != 0x78 || (uint16(b[0])<<8|uint16(b[1]))%31 != 0 || b[1]&0x20 != 0 {
		return false
	}
	// Two bytes match one text start in 31 ("x^"), so inflate what we
	// have: random bytes rarely make a valid deflate stream for long.
	if len(b) > 1024 {
		b = b[:1024]
	}
	var zr io.ReadCloser
	var err error
	if pooled, ok := trialPool.Get().(io.ReadCloser); ok {
		zr, err = pooled, pooled.(zlib.Resetter).Reset(bytes.NewReader(b), nil)
	} else {
		zr, err = zlib.NewReader(bytes.NewReader(b))
	}
	if err == nil {
		var buf [4096]byte
		for n := 0; err == nil && n < 64<<10; {
			var m int
			m, err = zr.Read(buf[:])
			n += m
		}
		trialPool.Put(zr)
	}
	return err == nil || err == io.EOF || err == io.ErrUnexpectedEOF
}

// trialPool keeps the zlib readers of sniffZlib: a fresh one allocates a
// 40 KB decompressor, and Sniff is called on every file.
var trialPool sync.Pool

func sniffLZMA(b []byte) bool {
	if len(b) < 14 || b[13] != 0 {
		return false
	}
	props := b[0]
	lc, lp := props%9, props/9%5
	if props >= 9*5*5 || lc+lp > 4 {
		return false
	}
	if !plausibleDictSize(binary.LittleEndian.Uint32(b[1:5])) {
		return false
	}
	size := binary.LittleEndian.Uint64(b[5:13])
	return size == math.MaxUint64 || size <= 1<<38
}

// plausibleDictSize accepts the dictionary sizes encoders write: 2^n or
// 2^n+2^(n-1) (xz rounds up to these, Python uses presets), or the maximum.
func plausibleDictSize(d uint32) bool {
	if d == math.MaxUint32 {
		return true
	}
	for n := 10; n < 32; n++ {
		if d == 1<<n || (n < 31 && d == 1<<n+1<<(n-1)) {
			return true
		}
	}
	return false
}

// NewReader returns a reader of the data decompressed from r, which holds
// a stream of the given kind (and possibly more streams after it). Its
// output is bounded by lim.MaxMemberBytes and, when compressedSize is not
// negative, by lim.MaxRatio × compressedSize (plus a 1 MiB allowance, see
// safeio.RatioReader); pass the size whenever it is known, a negative one
// only for a stream of unknown length. Reading past a bound fails with an
// error wrapping *safeio.LimitError, as does a stream whose declared window
// or dictionary needs more memory than the bounds allow.
//
// NewReader reads the stream header before it returns. It may read r past
// the end of the compressed data. Closing the reader releases the decoder;
// it does not close r.
func NewReader(kind Kind, r io.Reader, compressedSize int64, lim safeio.Limits) (io.ReadCloser, error) {
	b := newBounds(compressedSize, lim)
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		dec     io.Reader
		closeFn func() error
		err     error
	)
	switch kind {
	case Gzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(br); err == nil {
			dec, closeFn = zr, zr.Close
		}
	case Bzip2:
		// compress/bzip2 reads the header on the first Read; check it here.
		// Its memory is bounded by the 900 kB block size.
		var h []byte
		if h, err = br.Peek(4); err == nil {
			if string(h[:3]) != "BZh" || h[3] < '1' || h[3] > '9' {
				err = errors.New("bad bzip2 header")
			}
			dec = bzip2.NewReader(br)
		}
	case XZ:
		dec, err = newXZ(br, b)
	case Zstd:
		dec, closeFn, err = newZstd(br, b)
	case Zlib, LZ4, LZMA:
		dec, err = newMultiStream(kind, br, b)
	default:
		return nil, fmt.Errorf("compress: unknown kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("compress: %s: %w", kind, unexpectedEOF(err))
	}
	out := dec
	if compressedSize >= 0 {
		out = safeio.RatioReader(out, compressedSize, lim.MaxRatio)
	}
	out = safeio.LimitReader(out, lim.MaxMemberBytes, "MaxMemberBytes")
	return &reader{r: out, kind: kind, close: closeFn}, nil
}

// reader adds the kind to errors and releases the decoder on Close.
type reader struct {
	r     io.Reader
	kind  Kind
	close func() error
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("compress: %s: %w", r.kind, err)
	}
	return n, err
}

func (r *reader) Close() error {
	if r.close == nil {
		return nil
	}
	c := r.close
	r.close = nil
	return c()
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// bounds holds what the limits allow for one stream: its output, and the
// memory its decoders may allocate for windows and dictionaries.
type bounds struct {
	out   int64 // bytes of output allowed
	limit string
	value int64
	peak  int64 // the largest single window or dictionary allowed
	churn int64 // what all of them (one per xz block) may still add up to
}

// Decoders need a window or dictionary no larger than their output, but
// streams declare theirs up front; 64 MiB covers every preset of xz and
// zstd's default levels whatever the output bound.
const memAllowance = 64 << 20

func newBounds(compressedSize int64, lim safeio.Limits) *bounds {
	b := &bounds{out: max(lim.MaxMemberBytes, 0), limit: "MaxMemberBytes", value: lim.MaxMemberBytes}
	if compressedSize >= 0 {
		ratio := max(lim.MaxRatio, 0)
		r := int64(math.MaxInt64)
		if hi, lo := bits.Mul64(uint64(compressedSize), uint64(ratio)); hi == 0 && lo <= math.MaxInt64-1<<20 {
			r = int64(lo) + 1<<20
		}
		if r < b.out {
			b.out, b.limit, b.value = r, "MaxRatio", lim.MaxRatio
		}
	}
	b.peak, b.churn = math.MaxInt64, math.MaxInt64
	if b.out <= (math.MaxInt64-memAllowance)/32 {
		b.peak = memAllowance + 2*b.out
		b.churn = 16 * b.peak
	}
	return b
}

// charge accounts for a window or dictionary of n bytes.
func (b *bounds) charge(n int64, what string) error {
	var detail string
	switch {
	case n > b.peak:
		detail = fmt.Sprintf("%s of %d bytes needs more memory than the output bound of %d bytes allows", what, n, b.out)
	case n > b.churn:
		detail = fmt.Sprintf("%s of %d bytes: the stream's dictionaries add up to more than the output bound of %d bytes allows", what, n, b.out)
	default:
		b.churn -= n
		return nil
	}
	return &safeio.LimitError{Limit: b.limit, Value: b.value, Detail: detail}
}

func newZstd(br *bufio.Reader, b *bounds) (io.Reader, func() error, error) {
	if _, err := br.Peek(4); err != nil {
		return nil, nil, err
	}
	window := uint64(min(b.peak, zstd.MaxWindowSize))
	window = max(window, zstd.MinWindowSize)
	d, err := zstd.NewReader(br,
		zstd.WithDecoderConcurrency(1), // no goroutines
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(window),
		zstd.WithDecoderMaxMemory(window),
	)
	if err != nil {
		return nil, nil, zstdError(err, b, window)
	}
	zr := &zstdReader{d: d, b: b, window: window}
	return zr, func() error { d.Close(); return nil }, nil
}

type zstdReader struct {
	d      *zstd.Decoder
	b      *bounds
	window uint64
}

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	return n, zstdError(err, z.b, z.window)
}

// zstdError reports a frame whose window or declared size exceeds what the
// bounds allow as the limit it is.
func zstdError(err error, b *bounds, window uint64) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return fmt.Errorf("%w (%v)", &safeio.LimitError{Limit: b.limit, Value: b.value,
			Detail: fmt.Sprintf("zstd frame needs a window or size over %d bytes", window)}, err)
	}
	return err
}

// multiStream reads one stream after another from br, the way Python's
// readers do for zlib (joblib), lz4 frames and .lzma files (which, like
// Python's LZMAFile, may continue with an xz stream).
type multiStream struct {
	kind  Kind
	br    *bufio.Reader
	b     *bounds
	cur   io.Reader
	ended bool // cur returned io.EOF
	empty int  // reads in a row that returned nothing
	zlib  io.ReadCloser
	lz4   *lz4.Reader
	err   error
}

func newMultiStream(kind Kind, br *bufio.Reader, b *bounds) (*multiStream, error) {
	m := &multiStream{kind: kind, br: br, b: b}
	if err := m.open(kind); err != nil {
		return nil, err
	}
	return m, nil
}

// open starts the next stream, of kind k, at the current position.
func (m *multiStream) open(k Kind) error {
	var err error
	switch k {
	case Zlib:
		if m.zlib == nil {
			m.zlib, err = zlib.NewReader(m.br)
		} else {
			err = m.zlib.(zlib.Resetter).Reset(m.br, nil)
		}
		m.cur = m.zlib
	case LZ4:
		if _, err = m.br.Peek(7); err != nil { // magic and the shortest descriptor
			return err
		}
		if m.lz4 == nil {
			m.lz4 = lz4.NewReader(m.br)
			if err := m.lz4.Apply(lz4.ConcurrencyOption(1)); err != nil {
				return err
			}
		} else {
			m.lz4.Reset(m.br)
		}
		m.cur = m.lz4
	case LZMA:
		m.cur, err = newLZMA(m.br, m.b)
	case XZ:
		m.cur, err = newXZ(m.br, m.b)
	default:
		err = fmt.Errorf("cannot continue a %s file with a %s stream", m.kind, k)
	}
	m.ended = false
	return err
}

func (m *multiStream) Read(p []byte) (int, error) {
	for m.err == nil {
		if !m.ended {
			n, err := m.cur.Read(p)
			if err == io.EOF {
				m.ended = true
				err = nil
			}
			if n > 0 || err != nil {
				m.err, m.empty = err, 0
				return n, err
			}
			if m.empty++; m.empty > 100 {
				m.err = io.ErrNoProgress
			}
			continue
		}
		// The stream ended: is there another one?
		if _, err := m.br.Peek(1); err != nil {
			m.err = err // io.EOF at the real end
			break
		}
		next, _ := m.br.Peek(SniffLen)
		k, ok := Sniff(next)
		if !ok || !(k == m.kind || (m.kind == LZMA && k == XZ)) {
			m.err = fmt.Errorf("data after the %s stream is not another %s stream", m.kind, m.kind)
			break
		}
		if err := m.open(k); err != nil {
			m.err = unexpectedEOF(err)
		}
	}
	return 0, m.err
}

// newLZMA opens a .lzma stream after checking that the dictionary its
// header declares fits the memory bound; the decoder allocates it at once.
func newLZMA(br *bufio.Reader, b *bounds) (io.Reader, error) {
	h, err := br.Peek(lzma.HeaderLen)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if h[0] >= 9*5*5 {
		return nil, fmt.Errorf("invalid properties byte %#x", h[0])
	}
	// The decoder uses the smaller of the declared dictionary and the
	// declared size, but at least 4 KiB.
	dict := int64(binary.LittleEndian.Uint32(h[1:5]))
	if size := binary.LittleEndian.Uint64(h[5:13]); size != math.MaxUint64 && size < uint64(dict) {
		dict = int64(size)
	}
	if err := b.charge(max(dict, lzma.MinDictCap), "lzma dictionary"); err != nil {
		return nil, err
	}
	// Our bound replaces the decoder's own cap on the declared size.
	dictCap := int64(lzma.MaxDictCap)
	if dictCap > math.MaxInt {
		dictCap = math.MaxInt
	}
	return lzma.ReaderConfig{DictCap: int(dictCap)}.NewReader(br)
}

// newXZ opens an xz stream through a guard that charges each block's
// dictionary to the memory bound before the decoder allocates it.
func newXZ(br *bufio.Reader, b *bounds) (io.Reader, error) {
	// The smallest capacity: each block then gets the dictionary its header
	// declares and no more.
	return xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(newXZGuard(br, b))
}

// Package safeio holds the limits that bound every read of untrusted bytes,
// and readers that enforce them. A limit that is hit is an error of type
// *LimitError: callers turn it into a finding and mark the scan incomplete;
// it is never a silent end of input.
package safeio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Limits bound the work done on one top-level input.
type Limits struct {
	MaxDepth       int   // containers inside containers (zip in 7z in tar…)
	MaxEntries     int   // entries read from one archive
	MaxMemberBytes int64 // uncompressed bytes read from one member or stream
	MaxTotalBytes  int64 // uncompressed bytes read below one top-level file
	MaxRatio       int64 // uncompressed/compressed bytes of one member
	MaxFiles       int   // files visited below one folder argument
	// Timeout bounds the analysis of one top-level file (0: none).
	Timeout time.Duration

	PickleMaxOps    int   // opcodes interpreted in one pickle file
	PickleMaxStack  int   // values on the stack, including marks
	PickleMaxMemo   int   // memo entries
	PickleMaxBytes  int64 // bytes of one pickle file or member
	PickleMaxNested int   // pickles inside pickles (pickle.loads(b"…"))
	PickleKeepBytes int   // bytes of one string/bytes argument kept for analysis
}

// Default returns the limits aigis uses unless told otherwise. They are
// generous for real models (pickles of a few hundred MiB, archives of tens of
// thousands of members) and small enough that a crafted file cannot exhaust
// memory or time.
func Default() Limits {
	return Limits{
		MaxDepth:       8,
		MaxEntries:     100_000,
		MaxMemberBytes: 8 << 30,
		MaxTotalBytes:  64 << 30,
		MaxRatio:       200,
		MaxFiles:       1_000_000,
		Timeout:        10 * time.Minute,

		PickleMaxOps:    50_000_000,
		PickleMaxStack:  1_000_000,
		PickleMaxMemo:   10_000_000,
		PickleMaxBytes:  16 << 30,
		PickleMaxNested: 4,
		PickleKeepBytes: 16 << 20,
	}
}

// LimitError reports that a limit was reached. Limit names the field of
// Limits; Value is the limit's value.
type LimitError struct {
	Limit  string
	Value  int64
	Detail string
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("limit %s (%d) reached", e.Limit, e.Value)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// IsLimit reports whether err is or wraps a *LimitError, and returns it.
func IsLimit(err error) (*LimitError, bool) {
	var le *LimitError
	if errors.As(err, &le) {
		return le, true
	}
	return nil, false
}

// LimitReader reads at most n bytes from r; reading past that returns a
// *LimitError naming limit, so a truncated read is never mistaken for the end
// of the input.
func LimitReader(r io.Reader, n int64, limit string) io.Reader {
	return &limitReader{r: r, left: n, max: n, limit: limit}
}

type limitReader struct {
	r     io.Reader
	left  int64
	max   int64
	limit string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe one byte: input that ends exactly at the limit is fine.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, &LimitError{Limit: l.limit, Value: l.max}
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// RatioReader fails with a *LimitError when more than ratio times compressed
// bytes come out of r (plus a 1 MiB allowance so tiny members with high ratios,
// such as a zero-filled tensor, are not flagged).
func RatioReader(r io.Reader, compressed, ratio int64) io.Reader {
	max := compressed*ratio + 1<<20
	if compressed > 0 && max/compressed < ratio { // overflow
		max = 1<<63 - 1
	}
	return &ratioReader{r: r, left: max, max: max, ratio: ratio}
}

type ratioReader struct {
	r         io.Reader
	left, max int64
	ratio     int64
}

func (l *ratioReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, &LimitError{Limit: "MaxRatio", Value: l.ratio, Detail: fmt.Sprintf("more than %d bytes decompressed", l.max)}
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ContextReader reads from r until ctx is done; from then on every Read
// returns ctx.Err(), so a long copy stops when the context is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// errTruncated is returned by the cursor for a read past the end of the
// file; Parse turns it into a KindTruncated anomaly.
var errTruncated = errors.New("gguf: truncated")

const bufSize = 64 << 10

// cursor reads a ReaderAt sequentially through a buffer. Skips past
// unwanted bytes cost nothing: they are never read.
type cursor struct {
	r      io.ReaderAt
	size   int64
	off    int64
	order  binary.ByteOrder
	buf    []byte
	bufOff int64
}

// read returns the next n bytes; the slice is valid until the next call.
func (c *cursor) read(n int64) ([]byte, error) {
	if n < 0 || n > c.size-c.off {
		return nil, errTruncated
	}
	if c.off >= c.bufOff && c.off+n <= c.bufOff+int64(len(c.buf)) {
		b := c.buf[c.off-c.bufOff : c.off-c.bufOff+n]
		c.off += n
		return b, nil
	}
	if n > bufSize {
		b := make([]byte, n)
		if err := c.readAt(b, c.off); err != nil {
			return nil, err
		}
		c.off += n
		return b, nil
	}
	if c.buf == nil {
		// Small files (and fuzz inputs) get a small buffer.
		c.buf = make([]byte, min(int64(bufSize), c.size))
	}
	m := min(int64(cap(c.buf)), c.size-c.off)
	c.buf = c.buf[:m]
	if err := c.readAt(c.buf, c.off); err != nil {
		c.buf = c.buf[:0]
		return nil, err
	}
	c.bufOff = c.off
	b := c.buf[:n]
	c.off += n
	return b, nil
}

func (c *cursor) readAt(b []byte, off int64) error {
	n, err := c.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("gguf: read %d bytes at %d: %w", len(b), off, err)
}

// skip moves past n bytes without reading them.
func (c *cursor) skip(n int64) error {
	if n < 0 || n > c.size-c.off {
		return errTruncated
	}
	c.off += n
	return nil
}

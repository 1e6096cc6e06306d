package pickle

import (
	"bufio"
	"errors"
	"io"
)

// input is the byte source of the interpreter: a buffered reader that
// counts its offset and never allocates more than it is asked to keep.
type input struct {
	br  *bufio.Reader
	off int64
}

var errEOF = errors.New("pickle data was truncated")

func (in *input) readByte() (byte, error) {
	b, err := in.br.ReadByte()
	if err != nil {
		return 0, eofErr(err)
	}
	in.off++
	return b, nil
}

func eofErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errEOF
	}
	return err
}

// read reads exactly n bytes (n is small: opcode arguments of fixed size).
func (in *input) read(buf []byte) error {
	n, err := io.ReadFull(in.br, buf)
	in.off += int64(n)
	if err != nil {
		return eofErr(err)
	}
	return nil
}

// readKeep reads n bytes, keeping at most keep of them. The rest is
// discarded without being held in memory.
func (in *input) readKeep(n int64, keep int) ([]byte, error) {
	k := n
	if k > int64(keep) {
		k = int64(keep)
	}
	// Grow the buffer as data arrives, so a huge declared length at the end
	// of a short input costs nothing.
	var out []byte
	const chunk = 1 << 20
	for int64(len(out)) < k {
		want := k - int64(len(out))
		if want > chunk {
			want = chunk
		}
		start := len(out)
		out = append(out, make([]byte, want)...)
		m, err := io.ReadFull(in.br, out[start:])
		in.off += int64(m)
		if err != nil {
			return nil, eofErr(err)
		}
	}
	if rest := n - k; rest > 0 {
		if err := in.skip(rest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (in *input) skip(n int64) error {
	for n > 0 {
		step := n
		if step > 1<<30 {
			step = 1 << 30
		}
		m, err := in.br.Discard(int(step))
		in.off += int64(m)
		n -= int64(m)
		if err != nil {
			return eofErr(err)
		}
	}
	return nil
}

// readLine reads up to and including '\n', keeping at most keep bytes of
// the line (without the newline). total is the line's full length.
func (in *input) readLine(keep int) (line []byte, total int64, err error) {
	for {
		frag, e := in.br.ReadSlice('\n')
		in.off += int64(len(frag))
		total += int64(len(frag))
		if room := keep - len(line); room > 0 {
			f := frag
			if len(f) > room {
				f = f[:room]
			}
			line = append(line, f...)
		}
		if e == nil {
			break
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		return nil, 0, eofErr(e)
	}
	total-- // the newline
	if int64(len(line)) > total {
		line = line[:total]
	}
	return line, total, nil
}

func (in *input) peek(n int) []byte {
	b, _ := in.br.Peek(n)
	return b
}

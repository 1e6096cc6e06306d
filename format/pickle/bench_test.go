package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// opcodeDense builds a protocol 4 pickle of n small records — the shape of
// a pickled data frame of objects or a tokenizer vocabulary: many short
// strings, ints and floats, memoized, in dicts appended to a list.
func opcodeDense(n int) []byte {
	p := new(pb).proto(4).op(opEmptyList).memoize().op(opMark)
	for i := 0; i < n; i++ {
		if i > 0 && i%1000 == 0 { // the pickler appends in batches of 1000
			p.op(opAppends, opMark)
		}
		p.op(opEmptyDict).memoize().op(opMark)
		p.str("token").memoize().str(fmt.Sprintf("w%d", i)).memoize()
		p.str("id").memoize().op(opBinint)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(i))
		p.str("score").memoize().op(opBinfloat)
		p.b = binary.BigEndian.AppendUint64(p.b, uint64(i)*0x3ff0000000000000)
		p.op(opSetitems)
	}
	return p.op(opAppends).stop().b
}

// blobDense builds a pickle of large byte strings — arrays pickled inline
// (numpy's _reconstruct + BINBYTES at protocol 3+).
func blobDense(n, size int) []byte {
	blob := bytes.Repeat([]byte{0x42}, size)
	p := new(pb).proto(4).op(opEmptyList).op(opMark)
	for i := 0; i < n; i++ {
		p.global("numpy.core.multiarray", "_reconstruct").op(opMark).bytes(blob).op(opTuple, opReduce)
	}
	return p.op(opAppends).stop().b
}

func benchInterpret(b *testing.B, in []byte) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := Interpret(bytes.NewReader(in), Options{})
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkInterpretOpcodeDense: about 24 bytes an opcode, the worst case
// for throughput.
func BenchmarkInterpretOpcodeDense(b *testing.B) { benchInterpret(b, opcodeDense(1_000_000)) }

// BenchmarkInterpretBlobDense: 64 MiB of 1 MiB byte strings.
func BenchmarkInterpretBlobDense(b *testing.B) { benchInterpret(b, blobDense(64, 1<<20)) }

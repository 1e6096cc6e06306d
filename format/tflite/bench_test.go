package tflite

import (
	"bytes"
	"testing"

	tt "github.com/aigis-sec/aigis/format/tflite/tflitetest"
)

// BenchmarkParse10kOperators parses a model of 10,000 operators over 50
// operator codes.
func BenchmarkParse10kOperators(b *testing.B) {
	var codes []*tt.Table
	for i := range 50 {
		codes = append(codes, tt.OpCode(int32(i), "", 1))
	}
	uses := make([]uint32, 10_000)
	for i := range uses {
		uses[i] = uint32(i % 50)
	}
	data := tt.Model(codes, uses...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits())
		if err != nil || m.Operators != 10_000 {
			b.Fatalf("operators %d err %v", m.Operators, err)
		}
	}
}

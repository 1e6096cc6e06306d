package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/format/internal/protowire"
)

// largeModel writes a model whose graph holds one initializer with size
// bytes of inline raw_data, between two nodes, as a sparse file.
func largeModel(b *testing.B, size int64) (*os.File, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "large.onnx")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	n1, n2 := node("MatMul", ""), node("Add", "")
	tensorHead := bytes.Join([][]byte{vfield(1, uint64(size/4)), vfield(2, 1), str(8, "W"), tag(9, protowire.Bytes), varint(uint64(size))}, nil)
	tensorLen := int64(len(tensorHead)) + size
	init := append(append(tag(5, protowire.Bytes), varint(uint64(tensorLen))...), tensorHead...)
	graphLen := int64(len(n1)+len(init)) + size + int64(len(n2))
	head := bytes.Join([][]byte{vfield(1, 8), str(2, "bench"), bfield(8, str(1, ""), vfield(2, 17)), tag(7, protowire.Bytes), varint(uint64(graphLen)), n1, init}, nil)
	if _, err := f.Write(head); err != nil {
		b.Fatal(err)
	}
	total := int64(len(head)) + size + int64(len(n2))
	if _, err := f.WriteAt(n2, int64(len(head))+size); err != nil {
		b.Fatal(err)
	}
	return f, total
}

// BenchmarkParseLargeInitializer parses a model with 512 MiB of inline
// weights from a file: the weights are skipped by offset, never read.
func BenchmarkParseLargeInitializer(b *testing.B) {
	f, size := largeModel(b, 512<<20)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(f, size, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if m.Nodes != 2 || m.Initializers != 1 {
			b.Fatalf("nodes %d initializers %d", m.Nodes, m.Initializers)
		}
	}
}

// BenchmarkParseReaderLargeInitializer reads the same model as a stream
// (a compressed archive member): the weights pass through a fixed buffer.
func BenchmarkParseReaderLargeInitializer(b *testing.B) {
	f, size := largeModel(b, 512<<20)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		m, err := ParseReader(f, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if m.Nodes != 2 {
			b.Fatalf("nodes %d", m.Nodes)
		}
	}
}

// BenchmarkParseManyNodes parses a graph of 100,000 nodes.
func BenchmarkParseManyNodes(b *testing.B) {
	data := model(bytes.Repeat(node("Add", "", str(1, "input_a"), str(1, "input_b"), str(2, "out"), str(3, "node_name")), 100_000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseBytes(data, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

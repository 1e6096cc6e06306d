package jinja

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseLargest parses the largest committed benign chat template.
func BenchmarkParseLargest(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "benign", "*.jinja"))
	var src []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if len(data) > len(src) {
			src = data
		}
	}
	if len(src) == 0 {
		b.Fatal("no benign templates")
	}
	s := string(src)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

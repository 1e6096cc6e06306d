package pysrc

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkAnalyze1MiB analyses 1 MiB of realistic model code.
func BenchmarkAnalyze1MiB(b *testing.B) {
	one, err := os.ReadFile("../../testdata/repos/benign-custom-model/modeling_custom.py")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for buf.Len() < 1<<20 {
		buf.Write(one)
	}
	src := buf.Bytes()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Analyze(src, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

package data

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchBytes is the size of the generated files the benchmarks read.
const benchBytes = 256 << 20

// benchRead reads every row of path and reports rows/s and MB/s.
func benchRead(b *testing.B, path string) {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var rows int64
	for range b.N {
		r, err := Open(path, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSV(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("id,text,label\n")
	text := strings.Repeat("the quick brown fox jumps over the lazy dog ", 4)
	written := 0
	for i := 0; written < benchBytes; i++ {
		var line string
		if i%10 == 0 {
			line = fmtInt(i) + ",\"" + text + "with \"\"quotes\"\", and commas\"," + fmtInt(i%2) + "\n"
		} else {
			line = fmtInt(i) + "," + text + "," + fmtInt(i%2) + "\n"
		}
		n, _ := w.WriteString(line)
		written += n
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	benchRead(b, path)
}

func BenchmarkParquet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.parquet")
	// About 70 bytes a row after Snappy: grow until the file is 256 MiB.
	n := 1 << 20
	for {
		writeParquet(b, path, n, 1<<17)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		if st.Size() >= benchBytes {
			break
		}
		n = int(float64(n) * float64(benchBytes) / float64(st.Size()) * 1.05)
	}
	benchRead(b, path)
}

package manifest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkHash hashes a generated 2 GiB model (8 files of 256 MiB, made
// in a temporary folder at bench time and read once to be in page cache)
// and reports MB/s. Run: go test ./signing/manifest -run '^$' -bench Hash
func BenchmarkHash(b *testing.B) {
	const files, size = 8, 256 << 20
	dir := b.TempDir()
	buf := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, files)))
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < size; n += len(buf) {
			buf[0], buf[1] = byte(i), byte(n>>20) // no two chunks alike
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"sha256/files", Options{}},
		{"sha256/shards", Options{Serialization: MethodShards, ShardSize: 64 << 20}},
		{"blake3/files", Options{Algorithm: BLAKE3}},
		{"blake2b/files", Options{Algorithm: BLAKE2b}},
		{"sha256/files/1worker", Options{Workers: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(files * size)
			for b.Loop() {
				if _, err := Hash(context.Background(), dir, c.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

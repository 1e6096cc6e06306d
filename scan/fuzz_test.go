package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/aigis-sec/aigis/scan/checks"
)

// FuzzBlob runs the whole engine — recognition, containers, decompression,
// pickles, checkers — on arbitrary bytes. Invariants: no panic, and every
// incomplete entry comes with a finding that says so.
func FuzzBlob(f *testing.F) {
	_ = filepath.WalkDir(filepath.Join("..", "testdata"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && len(b) < 32<<10 {
				f.Add(b)
			}
		}
		return nil
	})
	lim := safeio.Default()
	lim.MaxMemberBytes = 4 << 20
	lim.MaxTotalBytes = 16 << 20
	lim.PickleMaxOps = 200_000
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &session{ctx: context.Background(), opt: Options{Limits: lim, Checkers: checks.All()}, total: lim.MaxTotalBytes}
		s.blob(blob{loc: finding.Location{Path: "fuzz"}, ra: bytes.NewReader(b), size: int64(len(b))})
		if len(s.incomplete) > 0 && len(s.findings) == 0 {
			t.Fatalf("incomplete without a finding: %+v", s.incomplete)
		}
	})
}

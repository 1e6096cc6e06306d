package compress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// FuzzSniffAndRead opens any input the way the scanner does: sniff it, and
// if it is compressed, read at most 1 MiB of its content. Inputs that do not
// sniff are still fed to a decoder chosen by their first byte, so every
// decoder sees hostile bytes. Invariants: no panic, a Kind only with ok,
// a reader or an error, output within the bound, and a bound that is hit is
// a *safeio.LimitError.
func FuzzSniffAndRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= 8<<10 {
			f.Add(data)
		}
	}
	for _, enc := range []string{"gzip", "zlib best", "xz blocks", "lzma sized", "lz4 options", "zstd best"} {
		f.Add(encoders[enc](f, []byte("aigis fuzz seed, aigis fuzz seed")))
	}
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\xa8\x29\x00\x00hello"))
	f.Add([]byte{0x5d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0})

	const maxOut = 1 << 20
	lim := safeio.Default()
	lim.MaxMemberBytes = maxOut
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, ok := Sniff(data)
		if ok != (kind != "") {
			t.Fatalf("Sniff = %q, %v", kind, ok)
		}
		in := data
		if !ok {
			if len(data) == 0 {
				return
			}
			kind, in = Kinds[int(data[0])%len(Kinds)], data[1:]
		}
		r, err := NewReader(kind, bytes.NewReader(in), int64(len(in)), lim)
		if err != nil {
			if r != nil {
				t.Fatalf("reader and error %v", err)
			}
			return
		}
		defer r.Close()
		n, err := io.Copy(io.Discard, io.LimitReader(r, maxOut+1))
		if n > maxOut {
			t.Fatalf("%s: read %d bytes past MaxMemberBytes %d", kind, n, maxOut)
		}
		if n == maxOut && err == nil {
			// Hitting the bound must not look like the end of the data: the
			// next read says which.
			var one [1]byte
			if m, err := r.Read(one[:]); m > 0 {
				t.Fatalf("%s: read past the bound", kind)
			} else if _, isLimit := safeio.IsLimit(err); err != io.EOF && !isLimit {
				t.Logf("%s: at the bound: %v", kind, err)
			}
		}
	})
}

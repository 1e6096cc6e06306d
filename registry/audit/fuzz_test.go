package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary bytes as the records file of a log whose hashes
// file is that of a valid 5-entry log. Invariants: no panic; Open either
// fails with ErrCorrupt or returns a log of at most 5 entries whose Entry
// calls return an entry or an error; Verify never panics and, when Open
// succeeded read-only, agrees on nothing being served past the damage.
func FuzzOpen(f *testing.F) {
	k := newKeys(f, "aigis.test/audit")
	dir, cp := buildLog(f, k, 5)
	recs, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil {
		f.Fatal(err)
	}
	hashes, err := os.ReadFile(filepath.Join(dir, HashesFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(recs)
	f.Add(recs[:len(recs)-3])
	f.Add(append(recs, 0, 0, 0, 1, '{'))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	syncFile = func(*os.File) error { return nil }
	f.Cleanup(func() { syncFile = (*os.File).Sync })
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, RecordsFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, HashesFile), hashes, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(d, k.verifier, [][]byte{cp})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if rep.Size > 5 {
			t.Fatalf("Verify size %d > 5", rep.Size)
		}
		for _, signer := range []bool{false, true} {
			s := k.signer
			if !signer {
				s = nil
			}
			l, err := Open(d, s)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open: unexpected error %v", err)
				}
				continue
			}
			if l.Size() > 5 {
				t.Fatalf("Size %d > 5", l.Size())
			}
			for i := range l.Size() {
				// A record that matches its stored hash but is not a
				// canonical entry is an error, not a panic.
				_, _ = l.Entry(i)
			}
			if signer {
				if _, err := l.Append(entry(99)); err != nil {
					t.Fatalf("Append after Open: %v", err)
				}
			}
			l.Close()
		}
	})
}

// FuzzOpenCheckpoint feeds arbitrary bytes as a signed checkpoint, as Verify
// and the checkpoint endpoint's clients receive them. Invariants: no panic;
// a body that parses, signed or not, starts with the canonical three lines
// for the size and root returned, so one tree head has one encoding.
func FuzzOpenCheckpoint(f *testing.F) {
	k := newKeys(f, "aigis.test/audit")
	_, cp := buildLog(f, k, 3)
	_, cp0 := buildLog(f, k, 0)
	f.Add(cp)
	f.Add(cp0)
	f.Add([]byte(Origin + "\n3\nAAAA\n\n— aigis.test/audit AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The body alone: what parseCheckpoint accepts is canonical.
		if size, root, err := parseCheckpoint(string(b)); err == nil {
			if want := formatCheckpoint(size, root); !strings.HasPrefix(string(b), want) {
				t.Fatalf("parsed body %q does not start with %q", b, want)
			}
		}
		size, root, err := OpenCheckpoint(b, k.verifier)
		if err != nil {
			return
		}
		if want := formatCheckpoint(size, root); !strings.HasPrefix(string(b), want) {
			t.Fatalf("opened checkpoint %q does not start with %q", b, want)
		}
	})
}

package audit

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// BenchmarkAppend measures one durable append (two fsyncs) to a log that
// already holds 10k entries.
func BenchmarkAppend(b *testing.B) {
	k := newKeys(b, "aigis.test/audit")
	dir := b.TempDir()
	writeLogFiles(b, dir, 10_000)
	l, err := Open(dir, k.signer)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e := entry(0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify100k measures Verify of a 100k-entry log with one checkpoint.
func BenchmarkVerify100k(b *testing.B) {
	k := newKeys(b, "aigis.test/audit")
	dir := b.TempDir()
	writeLogFiles(b, dir, 100_000)
	l, err := Open(dir, k.signer)
	if err != nil {
		b.Fatal(err)
	}
	cp, err := l.Checkpoint()
	l.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Verify(dir, k.verifier, [][]byte{cp})
		if err != nil || !rep.OK() {
			b.Fatalf("Verify: %v %v", err, rep.Problems)
		}
	}
}

// writeLogFiles writes a log of n entries directly, without an fsync per
// entry, so that large benchmark logs build quickly.
func writeLogFiles(tb testing.TB, dir string, n int) {
	tb.Helper()
	var recs, hb []byte
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for i := range n {
		data, err := entry(i).Encode()
		if err != nil {
			tb.Fatal(err)
		}
		recs = binary.BigEndian.AppendUint32(recs, uint32(len(data)))
		recs = append(recs, data...)
		hs, err := tlog.StoredHashes(int64(i), data, r)
		if err != nil {
			tb.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	for _, h := range hashes {
		hb = append(hb, h[:]...)
	}
	if err := os.WriteFile(filepath.Join(dir, RecordsFile), recs, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, HashesFile), hb, 0o600); err != nil {
		tb.Fatal(err)
	}
}

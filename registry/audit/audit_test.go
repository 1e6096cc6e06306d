package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type keys struct {
	signer   note.Signer
	verifier note.Verifier
}

func newKeys(t testing.TB, name string) keys {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keys{s, v}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func entry(i int) Entry {
	return Entry{
		Time:    t0.Add(time.Duration(i) * time.Millisecond),
		Actor:   fmt.Sprintf("user:%d", i%7),
		Action:  "artifact.download",
		Subject: fmt.Sprintf("hf:model/org/m%d@abc/model.safetensors", i),
		Details: map[string]string{"decision": "allow", "request": fmt.Sprint(i)},
	}
}

// buildLog appends n entries to a new log and returns its dir and a checkpoint.
func buildLog(t testing.TB, k keys, n int) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		idx, err := l.Append(entry(i))
		if err != nil {
			t.Fatal(err)
		}
		if idx != int64(i) {
			t.Fatalf("Append %d returned index %d", i, idx)
		}
	}
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return dir, cp
}

// copyLog copies a log directory so a test can damage it.
func copyLog(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{RecordsFile, HashesFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// recordSpans returns the [start, end) byte offsets of each record.
func recordSpans(t testing.TB, b []byte) [][2]int {
	t.Helper()
	var spans [][2]int
	for off := 0; off < len(b); {
		m := int(binary.BigEndian.Uint32(b[off:]))
		spans = append(spans, [2]int{off, off + 4 + m})
		off += 4 + m
	}
	return spans
}

func hasProblem(r *Report, k Kind, i int64) bool {
	for _, p := range r.Problems {
		if p.Kind == k && p.Index == i {
			return true
		}
	}
	return false
}

func TestAppendCheckpointVerify(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir, cp := buildLog(t, k, 1000)

	size, root, err := OpenCheckpoint(cp, k.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if size != 1000 {
		t.Fatalf("checkpoint size %d, want 1000", size)
	}
	if !bytes.HasPrefix(cp, []byte("aigis-audit\n1000\n")) {
		t.Fatalf("checkpoint text:\n%s", cp)
	}
	rep, err := Verify(dir, k.verifier, [][]byte{cp})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Size != 1000 || rep.Root != root {
		t.Fatalf("Verify = %+v, want OK, size 1000, root %s", rep, root)
	}

	// Reopen read-only: same size, entries round-trip, proofs check.
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Size() != 1000 {
		t.Fatalf("Size = %d", l.Size())
	}
	if _, err := l.Append(entry(0)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only Append: %v", err)
	}
	for _, i := range []int64{0, 1, 499, 500, 999} {
		e, err := l.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		want := entry(int(i))
		if !e.Time.Equal(want.Time) || e.Subject != want.Subject || e.Details["request"] != want.Details["request"] {
			t.Fatalf("Entry(%d) = %+v, want %+v", i, e, want)
		}
		data, _ := want.Encode()
		for _, treeSize := range []int64{i + 1, 1000} {
			p, err := l.InclusionProof(i, treeSize)
			if err != nil {
				t.Fatal(err)
			}
			th, err := l.TreeHash(treeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(p, treeSize, th, i, tlog.RecordHash(data)); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", i, treeSize, err)
			}
			if treeSize == 1000 && th != root {
				t.Fatal("TreeHash(1000) differs from the checkpoint root")
			}
		}
	}
	p, err := l.InclusionProof(500, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p, 1000, root, 500, tlog.RecordHash([]byte("forged"))); err == nil {
		t.Fatal("inclusion proof accepted a forged record")
	}
	old, _ := l.TreeHash(500)
	tp, err := l.ConsistencyProof(500, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(tp, 1000, root, 500, old); err != nil {
		t.Fatalf("consistency 500→1000: %v", err)
	}
	if _, err := l.Entry(1000); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Entry(1000): %v", err)
	}
}

func TestVerifyTamper(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir, cp := buildLog(t, k, 1000)
	recs, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	spans := recordSpans(t, recs)
	rec := func(i int) []byte { return recs[spans[i][0]:spans[i][1]] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	tests := []struct {
		name   string
		damage func() []byte
		kind   Kind
		index  int64
	}{
		{"change one byte of entry 500", func() []byte {
			b := bytes.Clone(recs)
			// A byte inside the subject's model name: "m500" -> "m501".
			at := spans[500][0] + bytes.Index(rec(500), []byte("m500")) + 3
			b[at] = '1'
			return b
		}, KindChanged, 500},
		{"delete entry 500", func() []byte {
			return join(recs[:spans[500][0]], recs[spans[501][0]:])
		}, KindRemoved, 500},
		{"swap entries 500 and 700", func() []byte {
			return join(recs[:spans[500][0]], rec(700), recs[spans[501][0]:spans[700][0]], rec(500), recs[spans[701][0]:])
		}, KindReordered, 500},
		{"truncate mid-record 700", func() []byte {
			return recs[:spans[700][0]+10]
		}, KindTornRecord, 700},
		{"uncommitted junk after the end", func() []byte {
			return join(recs, []byte{0, 0, 0, 9, 'x'})
		}, KindTornRecord, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copyLog(t, dir)
			if err := os.WriteFile(filepath.Join(d, RecordsFile), tt.damage(), 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(d, k.verifier, [][]byte{cp})
			if err != nil {
				t.Fatal(err)
			}
			if !hasProblem(rep, tt.kind, tt.index) {
				t.Fatalf("want %s at %d, got %v", tt.kind, tt.index, rep.Problems)
			}
			if tt.name == "swap entries 500 and 700" && !hasProblem(rep, KindReordered, 700) {
				t.Fatalf("want reordered at 700 too, got %v", rep.Problems)
			}
			t.Logf("%v", rep.Problems)
		})
	}

	t.Run("rewrite both files without the key", func(t *testing.T) {
		// An attacker drops the last 100 entries and rebuilds hashes: only
		// the checkpoint kept elsewhere notices.
		d := copyLog(t, dir)
		if err := os.WriteFile(filepath.Join(d, RecordsFile), recs[:spans[900][0]], 0o600); err != nil {
			t.Fatal(err)
		}
		h, _ := os.ReadFile(filepath.Join(d, HashesFile))
		if err := os.WriteFile(filepath.Join(d, HashesFile), h[:tlog.StoredHashCount(900)*tlog.HashSize], 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(d, k.verifier, [][]byte{cp})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Problems) != 1 || !hasProblem(rep, KindInconsistent, 0) {
			t.Fatalf("want only inconsistent-checkpoint 0, got %v", rep.Problems)
		}
	})

	t.Run("stored hash changed", func(t *testing.T) {
		d := copyLog(t, dir)
		h, _ := os.ReadFile(filepath.Join(d, HashesFile))
		h[tlog.StoredHashIndex(1, 250)*tlog.HashSize] ^= 1
		os.WriteFile(filepath.Join(d, HashesFile), h, 0o600)
		rep, err := Verify(d, k.verifier, [][]byte{cp})
		if err != nil {
			t.Fatal(err)
		}
		if !hasProblem(rep, KindStoredHash, 250) || len(rep.Problems) != 1 {
			t.Fatalf("want stored-hash at 250, got %v", rep.Problems)
		}
	})
}

func TestVerifyCheckpoints(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	other := newKeys(t, "aigis.test/audit")
	dir, cp := buildLog(t, k, 100)

	// Same log content signed by another key.
	l, err := Open(copyLog(t, dir), other.signer)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := l.Checkpoint()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}

	// A fork: the same first 60 entries, then different ones, signed by the
	// right key (a compromised server showing different histories).
	fork, err := Open(t.TempDir(), k.signer)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		e := entry(i)
		if i >= 60 {
			e.Action = "artifact.approve"
		}
		if _, err := fork.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	forked, err := fork.Checkpoint()
	fork.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A forked checkpoint at a size below ours.
	fork2 := buildForkAt(t, k, 80, 60)

	// An old, honest checkpoint of the prefix of size 40.
	prefix := copyLog(t, dir)
	recs, _ := os.ReadFile(filepath.Join(prefix, RecordsFile))
	os.WriteFile(filepath.Join(prefix, RecordsFile), recs[:recordSpans(t, recs)[40][0]], 0o600)
	h, _ := os.ReadFile(filepath.Join(prefix, HashesFile))
	os.WriteFile(filepath.Join(prefix, HashesFile), h[:tlog.StoredHashCount(40)*tlog.HashSize], 0o600)
	pl, err := Open(prefix, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	old, err := pl.Checkpoint()
	pl.Close()
	if err != nil {
		t.Fatal(err)
	}

	rep, err := Verify(dir, k.verifier, [][]byte{old, cp, foreign, forked, fork2, []byte("garbage")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{Index: 2, Kind: KindBadSignature},
		{Index: 3, Kind: KindInconsistent},
		{Index: 4, Kind: KindInconsistent},
		{Index: 5, Kind: KindBadSignature},
	}
	if len(rep.Problems) != len(want) {
		t.Fatalf("got %v, want %v", rep.Problems, want)
	}
	for i, p := range rep.Problems {
		if p.Index != want[i].Index || p.Kind != want[i].Kind {
			t.Fatalf("problem %d = %v, want %v", i, p, want[i])
		}
	}
}

// buildForkAt builds a log of size n that shares the first common entries
// with entry(i) and differs after, and returns its checkpoint.
func buildForkAt(t *testing.T, k keys, n, common int) []byte {
	l, err := Open(t.TempDir(), k.signer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range n {
		e := entry(i)
		if i >= common {
			e.Actor = "user:mallory"
		}
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestConcurrentAppend(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir := t.TempDir()
	l, err := Open(dir, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	idx := make([][]int64, workers)
	for w := range workers {
		wg.Go(func() {
			for j := range each {
				i, err := l.Append(entry(w*each + j))
				if err != nil {
					t.Error(err)
					return
				}
				idx[w] = append(idx[w], i)
			}
		})
	}
	wg.Wait()
	if l.Size() != workers*each {
		t.Fatalf("Size = %d", l.Size())
	}
	seenIdx := map[int64]bool{}
	for _, s := range idx {
		for _, i := range s {
			if seenIdx[i] {
				t.Fatalf("index %d returned twice", i)
			}
			seenIdx[i] = true
		}
	}
	seen := map[string]bool{}
	for i := range l.Size() {
		e, err := l.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.Subject] {
			t.Fatalf("entry %s twice", e.Subject)
		}
		seen[e.Subject] = true
	}
	l.Close()
	rep, err := Verify(dir, k.verifier, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: %v %v", err, rep.Problems)
	}
}

func TestCrashRecovery(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir, cp := buildLog(t, k, 100)
	recPath := filepath.Join(dir, RecordsFile)
	good, _ := os.ReadFile(recPath)
	goodHashes, _ := os.ReadFile(filepath.Join(dir, HashesFile))

	// A crash in the middle of writing record 100: a length prefix and half
	// of the payload, and a few bytes of its hashes.
	data, _ := entry(100).Encode()
	torn := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	torn = append(torn, data[:len(data)/2]...)
	os.WriteFile(recPath, append(bytes.Clone(good), torn...), 0o600)
	os.WriteFile(filepath.Join(dir, HashesFile), append(bytes.Clone(goodHashes), make([]byte, 40)...), 0o600)

	rep, err := Verify(dir, k.verifier, [][]byte{cp})
	if err != nil {
		t.Fatal(err)
	}
	if !hasProblem(rep, KindTornRecord, 100) || rep.Size != 100 {
		t.Fatalf("Verify before recovery: %v", rep.Problems)
	}

	// Read-only open ignores the tail and leaves the files alone.
	ro, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ro.Size() != 100 || !hasProblem(&Report{Problems: ro.Recovered()}, KindTornRecord, 100) {
		t.Fatalf("read-only open: size %d, recovered %v", ro.Size(), ro.Recovered())
	}
	ro.Close()
	if b, _ := os.ReadFile(recPath); len(b) != len(good)+len(torn) {
		t.Fatal("read-only Open changed the records file")
	}

	l, err := Open(dir, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	if l.Size() != 100 || !hasProblem(&Report{Problems: l.Recovered()}, KindTornRecord, 100) {
		t.Fatalf("recovery: size %d, recovered %v", l.Size(), l.Recovered())
	}
	if b, _ := os.ReadFile(recPath); !bytes.Equal(b, good) {
		t.Fatal("torn record was not truncated")
	}
	if _, err := l.Entry(100); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("torn entry served: %v", err)
	}
	if i, err := l.Append(entry(100)); err != nil || i != 100 {
		t.Fatalf("Append after recovery = %d, %v", i, err)
	}
	cp2, err := l.Checkpoint()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(dir, k.verifier, [][]byte{cp, cp2})
	if err != nil || !rep.OK() || rep.Size != 101 {
		t.Fatalf("Verify after recovery: %v %+v", err, rep)
	}
}

func TestEntryRefusesChangedRecord(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir, _ := buildLog(t, k, 10)
	recs, _ := os.ReadFile(filepath.Join(dir, RecordsFile))
	at := bytes.Index(recs, []byte("m5@"))
	recs[at+1] = '6'
	os.WriteFile(filepath.Join(dir, RecordsFile), recs, 0o600)
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Entry(5); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Entry(5) on a changed record: %v", err)
	}
	if _, err := l.Entry(4); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeCanonical(t *testing.T) {
	e := Entry{
		Time:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600)),
		Actor:   "user:1",
		Action:  "login",
		Subject: "ui",
		Details: map[string]string{"z": "1", "a": "<2>"},
	}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"login","actor":"user:1","details":{"a":"\u003c2\u003e","z":"1"},"subject":"ui","time":"2026-01-02T02:04:05.000000006Z","v":1}`
	if string(b) != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", b, want)
	}
	got, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(e.Time) || got.Details["a"] != "<2>" {
		t.Fatalf("decode = %+v", got)
	}
	if _, err := decodeEntry([]byte(`{"v":1,"action":"login","actor":"user:1","subject":"ui","time":"2026-01-02T02:04:05.000000006Z"}`)); err == nil {
		t.Fatal("non-canonical record accepted")
	}
}

func TestOpenLocksDir(t *testing.T) {
	k := newKeys(t, "aigis.test/audit")
	dir, _ := buildLog(t, k, 3)
	l, err := Open(dir, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, k.signer)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second writable Open: %v, want ErrLocked", err)
	}
	if pid := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), pid) {
		t.Fatalf("second writable Open: %v, want the holder's %s", err, pid)
	}
	ro, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("read-only Open while locked: %v", err)
	}
	if ro.Size() != 3 {
		t.Fatalf("read-only Size = %d", ro.Size())
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(entry(3)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(dir, k.signer)
	if err != nil {
		t.Fatalf("writable Open after Close: %v", err)
	}
	if l2.Size() != 4 {
		t.Fatalf("Size after reopen = %d", l2.Size())
	}
	l2.Close()
}

package audit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Kind names what Verify found.
type Kind string

const (
	KindChanged      Kind = "changed"                 // the record at Index is not the one committed there
	KindRemoved      Kind = "removed"                 // committed entries from Index on are missing
	KindReordered    Kind = "reordered"               // the record at Index was committed at another index
	KindBadSignature Kind = "bad-signature"           // checkpoint number Index does not verify
	KindInconsistent Kind = "inconsistent-checkpoint" // checkpoint number Index is not a prefix of the current tree
	KindTornRecord   Kind = "torn-record"             // bytes past the last committed append (a crash, or appended junk)
	KindStoredHash   Kind = "stored-hash"             // records are intact but an interior stored hash differs
)

// Problem is one finding of Verify. For entry kinds Index is the entry
// index; for checkpoint kinds it is the checkpoint's position in the list
// given to Verify.
type Problem struct {
	Index  int64
	Kind   Kind
	Detail string
}

func (p Problem) String() string { return fmt.Sprintf("%s at %d: %s", p.Kind, p.Index, p.Detail) }

// Report is the result of Verify. Size and Root describe the tree recomputed
// from the records file (up to the committed size); the log is intact when
// Problems is empty.
type Report struct {
	Size     int64
	Root     tlog.Hash
	Problems []Problem
}

// OK reports whether Verify found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify recomputes the tree from the records in dir, compares it with the
// stored hashes, verifies each checkpoint with verifier and checks that the
// recomputed tree is consistent with it. It does not modify dir. The error is
// for failures to read; damage is reported in the Report.
func Verify(dir string, verifier note.Verifier, checkpoints [][]byte) (*Report, error) {
	stored, err := os.ReadFile(filepath.Join(dir, HashesFile))
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	rep := &Report{}
	nh, used := sizeFromHashes(int64(len(stored)))
	if used != int64(len(stored)) {
		rep.add(nh, KindTornRecord, "hashes file has %d bytes past the last complete append", int64(len(stored))-used)
	}
	storedHash := func(x int64) (h tlog.Hash) {
		copy(h[:], stored[x*tlog.HashSize:])
		return h
	}
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer f.Close()
	R, undecodable, err := readRecords(f, nh, rep)
	if err != nil {
		return nil, err
	}

	return verifyTree(rep, nh, storedHash, R, undecodable, verifier, checkpoints)
}

// verifyTree compares the leaf hashes R of the records (undecodable: the
// indexes of records that are not canonical entries) with the nh committed
// entries whose stored hashes storedHash returns, recomputes every stored
// hash and the root, and checks the checkpoints against the recomputed tree.
func verifyTree(rep *Report, nh int64, storedHash func(x int64) tlog.Hash, R []tlog.Hash, undecodable []int64, verifier note.Verifier, checkpoints [][]byte) (*Report, error) {
	S := make([]tlog.Hash, nh)
	posS := make(map[tlog.Hash]int64, nh)
	for i := range S {
		S[i] = storedHash(tlog.StoredHashIndex(0, int64(i)))
		if _, dup := posS[S[i]]; !dup {
			posS[S[i]] = int64(i)
		}
	}
	var err error
	// Leaf comparison.
	d := nh - int64(len(R))
	first := int64(len(R))
	for i := range R {
		if R[i] != S[i] {
			first = int64(i)
			break
		}
	}
	switch {
	case first == int64(len(R)) && d > 0:
		rep.add(first, KindRemoved, "%d committed entries (%d..%d) are missing", d, first, nh-1)
	case d > 0 && equalHashes(R[first:], S[first+d:]):
		rep.add(first, KindRemoved, "%d committed entries (%d..%d) are missing", d, first, first+d-1)
	default:
		for i := first; i < int64(len(R)); i++ {
			if R[i] == S[i] {
				continue
			}
			if k, ok := posS[R[i]]; ok && k != i {
				rep.add(i, KindReordered, "the record here was committed as entry %d", k)
			} else {
				rep.add(i, KindChanged, "record hash %s, committed %s", R[i], S[i])
			}
		}
		if d > 0 {
			rep.add(int64(len(R)), KindRemoved, "%d committed entries (%d..%d) are missing", d, len(R), nh-1)
		}
	}
	leafProblems := len(rep.Problems)
	for _, i := range undecodable {
		if !rep.has(i) {
			rep.add(i, KindChanged, "record is not a canonical entry")
		}
	}

	// Recompute every stored hash from the records.
	n := int64(len(R))
	computed := make([]tlog.Hash, 0, tlog.StoredHashCount(n))
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(computed)) {
				return nil, fmt.Errorf("audit: hash %d not computed", x)
			}
			out[i] = computed[x]
		}
		return out, nil
	})
	for i := int64(0); i < n; i++ {
		hs, err := tlog.StoredHashesForRecordHash(i, R[i], reader)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		computed = append(computed, hs...)
	}
	if leafProblems == 0 {
		for x := range computed {
			if computed[x] != storedHash(int64(x)) {
				level, idx := tlog.SplitStoredHashIndex(int64(x))
				rep.add(idx, KindStoredHash, "stored hash %d (level %d) differs from the one recomputed from the records", x, level)
				break
			}
		}
	}
	rep.Size = n
	if rep.Root, err = tlog.TreeHash(n, reader); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}

	for c, cp := range checkpoints {
		size, root, err := OpenCheckpoint(cp, verifier)
		if err != nil {
			rep.add(int64(c), KindBadSignature, "%v", err)
			continue
		}
		if size > n {
			rep.add(int64(c), KindInconsistent, "checkpoint of size %d is larger than the log (%d): entries were removed or the log rolled back", size, n)
			continue
		}
		proof, err := tlog.ProveTree(n, size, reader)
		if err == nil {
			err = tlog.CheckTree(proof, n, rep.Root, size, root)
		}
		if err != nil {
			rep.add(int64(c), KindInconsistent, "checkpoint of size %d is not a prefix of the log: %v", size, err)
		}
	}
	return rep, nil
}

// readRecords reads record leaf hashes up to the committed count nh and
// reports anything after them or a cut-off record. It returns the indexes of
// records that are not canonical entries.
func readRecords(f *os.File, nh int64, rep *Report) (leaves []tlog.Hash, undecodable []int64, err error) {
	br := bufio.NewReaderSize(f, 1<<16)
	var hdr [4]byte
	var off int64
	buf := make([]byte, 0, 4096)
	for i := int64(0); ; i++ {
		k, err := io.ReadFull(br, hdr[:])
		if err == io.EOF {
			return leaves, undecodable, nil
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return nil, nil, fmt.Errorf("audit: verify: read records: %w", err)
		}
		if i >= nh {
			rest, err := io.Copy(io.Discard, br)
			if err != nil {
				return nil, nil, fmt.Errorf("audit: verify: read records: %w", err)
			}
			rep.add(nh, KindTornRecord, "%d bytes of an uncommitted append after the last committed entry", int64(k)+rest)
			return leaves, undecodable, nil
		}
		if err == io.ErrUnexpectedEOF {
			rep.add(i, KindTornRecord, "record %d is cut off in its length prefix at offset %d", i, off)
			return leaves, undecodable, nil
		}
		m := int64(binary.BigEndian.Uint32(hdr[:]))
		if m == 0 || m > MaxRecordSize {
			rep.add(i, KindChanged, "bad length prefix %d at offset %d; the rest of the file cannot be read", m, off)
			return leaves, undecodable, nil
		}
		buf = buf[:0]
		buf = append(buf, make([]byte, m)...)
		got, err := io.ReadFull(br, buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			rep.add(i, KindTornRecord, "record %d is cut off after %d of %d bytes", i, got, m)
			return leaves, undecodable, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("audit: verify: read records: %w", err)
		}
		leaves = append(leaves, tlog.RecordHash(buf))
		if _, err := decodeEntry(buf); err != nil {
			undecodable = append(undecodable, i)
		}
		off += 4 + m
	}
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (r *Report) add(i int64, k Kind, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Index: i, Kind: k, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) has(i int64) bool {
	for _, p := range r.Problems {
		if p.Index == i && p.Kind != KindBadSignature && p.Kind != KindInconsistent {
			return true
		}
	}
	return false
}

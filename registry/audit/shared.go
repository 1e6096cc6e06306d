package audit

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Backend keeps a log's records and stored hashes in a database that several
// processes share (the registry's store implements it). AppendAudit must
// append at the current size n, atomically with the stored hashes that
// hashes(n, read) returns, excluding other appenders for the duration.
type Backend interface {
	AppendAudit(ctx context.Context, record []byte, hashes func(n int64, read tlog.HashReader) ([]tlog.Hash, error)) (int64, error)
	AuditSize(ctx context.Context) (int64, error)
	// AuditRecords returns records start to end-1; a missing one is nil.
	AuditRecords(ctx context.Context, start, end int64) ([][]byte, error)
	AuditHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error)
}

// Shared is a log kept by a Backend: the same tree, entries and checkpoints
// as a Log in a directory, appended to by every process of a registry that
// shares the database. An append is committed when the database commits it.
type Shared struct {
	b       Backend
	signer  note.Signer
	timeout time.Duration
}

// NewShared returns the log kept by b; signer signs checkpoints (nil: the
// log cannot sign them, and Append still works).
func NewShared(b Backend, signer note.Signer) *Shared {
	return &Shared{b: b, signer: signer, timeout: 30 * time.Second}
}

func (l *Shared) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), l.timeout)
}

func (l *Shared) reader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return l.b.AuditHashes(ctx, idx) })
}

// Append adds e and returns its index; on error nothing was committed.
func (l *Shared) Append(e Entry) (int64, error) {
	data, err := e.Encode()
	if err != nil {
		return 0, err
	}
	if len(data) > MaxRecordSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxRecordSize)
	}
	ctx, cancel := l.ctx()
	defer cancel()
	n, err := l.b.AppendAudit(ctx, data, func(n int64, read tlog.HashReader) ([]tlog.Hash, error) {
		return tlog.StoredHashes(n, data, read)
	})
	if err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	return n, nil
}

// Size returns the number of committed entries (0 if the database cannot
// be read).
func (l *Shared) Size() int64 {
	ctx, cancel := l.ctx()
	defer cancel()
	n, err := l.b.AuditSize(ctx)
	if err != nil {
		return 0
	}
	return n
}

// Entry returns entry i, checked against its stored leaf hash.
func (l *Shared) Entry(i int64) (Entry, error) {
	ctx, cancel := l.ctx()
	defer cancel()
	recs, err := l.b.AuditRecords(ctx, i, i+1)
	if err != nil {
		return Entry{}, err
	}
	if i < 0 || len(recs) != 1 || recs[0] == nil {
		return Entry{}, fmt.Errorf("%w: entry %d", ErrOutOfRange, i)
	}
	leaf, err := l.b.AuditHashes(ctx, []int64{tlog.StoredHashIndex(0, i)})
	if err != nil {
		return Entry{}, err
	}
	if tlog.RecordHash(recs[0]) != leaf[0] {
		return Entry{}, fmt.Errorf("%w: entry %d does not match its stored hash", ErrCorrupt, i)
	}
	return decodeEntry(recs[0])
}

// TreeHash returns the root of the tree of the first size entries.
func (l *Shared) TreeHash(size int64) (tlog.Hash, error) {
	ctx, cancel := l.ctx()
	defer cancel()
	return tlog.TreeHash(size, l.reader(ctx))
}

// InclusionProof proves that entry i is in the tree of size treeSize.
func (l *Shared) InclusionProof(i, treeSize int64) (tlog.RecordProof, error) {
	if i < 0 || i >= treeSize || treeSize > l.Size() {
		return nil, fmt.Errorf("%w: entry %d in tree %d", ErrOutOfRange, i, treeSize)
	}
	ctx, cancel := l.ctx()
	defer cancel()
	return tlog.ProveRecord(treeSize, i, l.reader(ctx))
}

// Checkpoint signs the current tree head, as Log.Checkpoint does.
func (l *Shared) Checkpoint() ([]byte, error) {
	if l.signer == nil {
		return nil, ErrReadOnly
	}
	n := l.Size()
	root, err := l.TreeHash(n)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: formatCheckpoint(n, root)}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return signed, nil
}

// verifyBatch is how many records or hashes VerifyBackend reads at once.
const verifyBatch = 10_000

// VerifyBackend verifies a log kept by a Backend as Verify verifies one in
// a directory: every record against the stored hashes, every stored hash
// recomputed, every checkpoint's signature and consistency. A record
// missing from the database is reported as removed.
func VerifyBackend(ctx context.Context, b Backend, verifier note.Verifier, checkpoints [][]byte) (*Report, error) {
	n, err := b.AuditSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	count := tlog.StoredHashCount(n)
	stored := make([]tlog.Hash, 0, count)
	for lo := int64(0); lo < count; lo += verifyBatch {
		idx := make([]int64, 0, verifyBatch)
		for x := lo; x < min(lo+verifyBatch, count); x++ {
			idx = append(idx, x)
		}
		hs, err := b.AuditHashes(ctx, idx)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: read stored hashes: %w", err)
		}
		stored = append(stored, hs...)
	}
	rep := &Report{}
	leaves := make([]tlog.Hash, 0, n)
	var undecodable []int64
	for lo := int64(0); lo < n; lo += verifyBatch {
		recs, err := b.AuditRecords(ctx, lo, min(lo+verifyBatch, n))
		if err != nil {
			return nil, fmt.Errorf("audit: verify: read records: %w", err)
		}
		for k, rec := range recs {
			i := lo + int64(k)
			if rec == nil {
				rep.add(i, KindRemoved, "record %d is missing from the database", i)
				leaves = append(leaves, tlog.Hash{})
				continue
			}
			leaves = append(leaves, tlog.RecordHash(rec))
			if _, err := decodeEntry(rec); err != nil {
				undecodable = append(undecodable, i)
			}
		}
	}
	return verifyTree(rep, n, func(x int64) tlog.Hash { return stored[x] }, leaves, undecodable, verifier, checkpoints)
}

package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// File names inside a log directory.
const (
	RecordsFile = "records"
	HashesFile  = "hashes"
	LockFile    = "lock" // flock'ed by a writable Log; holds its pid
)

// Errors callers may branch on.
var (
	ErrReadOnly   = errors.New("audit: log opened read-only")
	ErrCorrupt    = errors.New("audit: log is damaged; run Verify")
	ErrTooLarge   = errors.New("audit: entry too large")
	ErrOutOfRange = errors.New("audit: index out of range")
	ErrLocked     = errors.New("audit: log is locked by another writer")
)

// Log is an append-only Merkle log in a directory. It is safe for concurrent
// use by one process. A writable Log holds an exclusive lock on the
// directory, so a second writable Open, in this or another process, fails
// with [ErrLocked]; read-only Opens are not affected.
type Log struct {
	mu        sync.RWMutex
	signer    note.Signer
	lock      *os.File // nil when read-only
	records   *os.File
	hashes    *os.File
	offsets   []int64 // offsets[i] is where record i starts; one per committed entry, plus the end
	broken    error   // set when a failed append could not be rolled back
	recovered []Problem
}

// Open opens the log in dir. With a signer the log is writable (dir and files
// are created if missing) and an uncommitted tail left by a crash is truncated;
// with a nil signer it is read-only and the tail is only ignored. Either way
// the tail is reported by [Log.Recovered]. A writable Open fails with
// [ErrLocked] while another writable Log of dir is open.
func Open(dir string, signer note.Signer) (*Log, error) {
	l := &Log{signer: signer}
	var err error
	flag := os.O_RDONLY
	if signer != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("audit: open %s: %w", dir, err)
		}
		flag = os.O_RDWR | os.O_CREATE
		if l.lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	if l.records, err = os.OpenFile(filepath.Join(dir, RecordsFile), flag, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	if l.hashes, err = os.OpenFile(filepath.Join(dir, HashesFile), flag, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	if err := l.load(); err != nil {
		l.Close()
		return nil, err
	}
	if signer != nil {
		// Make the creation of the files themselves durable.
		if err := syncDir(dir); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// load finds the committed size from the hashes file, indexes that many
// records and deals with whatever follows them.
func (l *Log) load() error {
	hst, err := l.hashes.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat hashes: %w", err)
	}
	rst, err := l.records.Stat()
	if err != nil {
		return fmt.Errorf("audit: stat records: %w", err)
	}
	n, hashBytes := sizeFromHashes(hst.Size())
	offsets, err := l.index(n, rst.Size())
	if err != nil && n > 0 {
		// A crash can leave the hashes of the last append complete in
		// length but not in content (a file extended with zeros). The
		// records are written first, so only the last append can be
		// affected: step back one entry, once.
		var err2 error
		if offsets, err2 = l.index(n-1, rst.Size()); err2 == nil {
			l.recovered = append(l.recovered, Problem{Index: n - 1, Kind: KindTornRecord,
				Detail: fmt.Sprintf("the last append was not complete: %v", err)})
			n, hashBytes, err = n-1, tlog.StoredHashCount(n-1)*tlog.HashSize, nil
		}
	}
	if err != nil {
		return err
	}
	if hashBytes != hst.Size() {
		l.recovered = append(l.recovered, Problem{Index: n, Kind: KindTornRecord,
			Detail: fmt.Sprintf("hashes file has %d bytes past the last complete append", hst.Size()-hashBytes)})
		if l.signer != nil {
			if err := truncateSync(l.hashes, hashBytes); err != nil {
				return err
			}
		}
	}
	off := offsets[n]
	if off < rst.Size() {
		l.recovered = append(l.recovered, Problem{Index: n, Kind: KindTornRecord,
			Detail: fmt.Sprintf("%d bytes of an uncommitted append after the last committed entry", rst.Size()-off)})
		if l.signer != nil {
			if err := truncateSync(l.records, off); err != nil {
				return err
			}
		}
	}
	l.offsets = offsets
	return nil
}

// index returns the offsets of the first n records (plus the end of the
// last) and checks the last record against its stored leaf hash.
func (l *Log) index(n, fileSize int64) ([]int64, error) {
	offsets := make([]int64, 0, n+1)
	var off int64
	var hdr [4]byte
	for i := int64(0); i < n; i++ {
		offsets = append(offsets, off)
		if _, err := l.records.ReadAt(hdr[:], off); err != nil {
			return nil, fmt.Errorf("%w: record %d: header: %v", ErrCorrupt, i, err)
		}
		m := int64(binary.BigEndian.Uint32(hdr[:]))
		if m == 0 || m > MaxRecordSize || off+4+m > fileSize {
			return nil, fmt.Errorf("%w: record %d: bad length %d at offset %d", ErrCorrupt, i, m, off)
		}
		off += 4 + m
	}
	offsets = append(offsets, off)
	if n > 0 {
		last := make([]byte, offsets[n]-offsets[n-1]-4)
		if _, err := l.records.ReadAt(last, offsets[n-1]+4); err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, n-1, err)
		}
		leaf, err := l.hashReader().ReadHashes([]int64{tlog.StoredHashIndex(0, n-1)})
		if err != nil {
			return nil, err
		}
		if tlog.RecordHash(last) != leaf[0] {
			return nil, fmt.Errorf("%w: record %d does not match its stored hash", ErrCorrupt, n-1)
		}
	}
	return offsets, nil
}

// sizeFromHashes returns the largest tree size whose stored hashes fit in a
// file of the given length, and the byte length of those hashes.
func sizeFromHashes(fileSize int64) (n, used int64) {
	count := fileSize / tlog.HashSize
	// StoredHashCount(n) >= n, so n <= count.
	n = int64(sort.Search(int(count)+1, func(k int) bool {
		return tlog.StoredHashCount(int64(k)) > count
	})) - 1
	return n, tlog.StoredHashCount(n) * tlog.HashSize
}

// syncFile makes a file's writes durable. FuzzOpen swaps it for a no-op:
// durability is not what it tests, and fsync would make it crawl.
var syncFile = (*os.File).Sync

func truncateSync(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("audit: truncate %s: %w", f.Name(), err)
	}
	if err := syncFile(f); err != nil {
		return fmt.Errorf("audit: sync %s: %w", f.Name(), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: sync dir: %w", err)
	}
	defer d.Close()
	if err := syncFile(d); err != nil {
		return fmt.Errorf("audit: sync dir %s: %w", dir, err)
	}
	return nil
}

// Close closes the files and releases the lock of a writable Log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, f := range []*os.File{l.records, l.hashes, l.lock} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Recovered lists what Open found past the last committed append (a torn
// record or hashes left by a crash). With a signer it has been truncated.
func (l *Log) Recovered() []Problem { return l.recovered }

// Size returns the number of committed entries.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size()
}

// size is the number of committed entries; l.mu must be held.
func (l *Log) size() int64 { return int64(len(l.offsets)) - 1 }

// Append adds e and returns its index. When it returns without error the
// entry and its hashes are on stable storage (fsync). On error nothing was
// committed; the caller must treat the audited action as not permitted.
func (l *Log) Append(e Entry) (int64, error) {
	if l.signer == nil {
		return 0, ErrReadOnly
	}
	data, err := e.Encode()
	if err != nil {
		return 0, err
	}
	if len(data) > MaxRecordSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxRecordSize)
	}
	rec := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(rec, uint32(len(data)))
	copy(rec[4:], data)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		return 0, l.broken
	}
	n := l.size()
	off := l.offsets[n]
	hashOff := tlog.StoredHashCount(n) * tlog.HashSize
	hs, err := tlog.StoredHashes(n, data, l.hashReader())
	if err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	hb := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		hb = append(hb, h[:]...)
	}
	// Record first, hashes second: the hashes are the commit point, so a
	// crash in between leaves only a tail that Open discards.
	if err := writeSync(l.records, rec, off); err != nil {
		return 0, l.rollback(n, off, hashOff, err)
	}
	if err := writeSync(l.hashes, hb, hashOff); err != nil {
		return 0, l.rollback(n, off, hashOff, err)
	}
	l.offsets = append(l.offsets, off+int64(len(rec)))
	return n, nil
}

func writeSync(f *os.File, b []byte, off int64) error {
	if _, err := f.WriteAt(b, off); err != nil {
		return fmt.Errorf("audit: write %s: %w", f.Name(), err)
	}
	if err := syncFile(f); err != nil {
		return fmt.Errorf("audit: sync %s: %w", f.Name(), err)
	}
	return nil
}

// rollback undoes a partial append. If that fails too, the log refuses
// further appends until it is reopened (which truncates the tail).
func (l *Log) rollback(n, off, hashOff int64, cause error) error {
	if err := errors.Join(truncateSync(l.hashes, hashOff), truncateSync(l.records, off)); err != nil {
		l.broken = fmt.Errorf("audit: append %d failed and could not be rolled back; reopen the log: %w", n, errors.Join(cause, err))
		return l.broken
	}
	return cause
}

// hashReader reads stored hashes from the hashes file.
func (l *Log) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if _, err := l.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("audit: read stored hash %d: %w", x, err)
			}
		}
		return out, nil
	})
}

// Entry returns entry i. The record is checked against its stored leaf hash,
// so a record changed on disk is reported, never returned.
func (l *Log) Entry(i int64) (Entry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < 0 || i >= l.size() {
		return Entry{}, fmt.Errorf("%w: entry %d of %d", ErrOutOfRange, i, l.size())
	}
	off, end := l.offsets[i], l.offsets[i+1]
	buf := make([]byte, end-off)
	if _, err := l.records.ReadAt(buf, off); err != nil && !(err == io.EOF && len(buf) == 0) {
		return Entry{}, fmt.Errorf("audit: read entry %d: %w", i, err)
	}
	data := buf[4:]
	leaf, err := l.hashReader().ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
	if err != nil {
		return Entry{}, err
	}
	if tlog.RecordHash(data) != leaf[0] {
		return Entry{}, fmt.Errorf("%w: entry %d does not match its stored hash", ErrCorrupt, i)
	}
	return decodeEntry(data)
}

// TreeHash returns the root of the tree of the first size entries.
func (l *Log) TreeHash(size int64) (tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size < 0 || size > l.size() {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d of %d", ErrOutOfRange, size, l.size())
	}
	return tlog.TreeHash(size, l.hashReader())
}

// InclusionProof proves that entry i is in the tree of size treeSize; check it
// with tlog.CheckRecord.
func (l *Log) InclusionProof(i, treeSize int64) (tlog.RecordProof, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if i < 0 || i >= treeSize || treeSize > l.size() {
		return nil, fmt.Errorf("%w: entry %d in tree %d of %d", ErrOutOfRange, i, treeSize, l.size())
	}
	return tlog.ProveRecord(treeSize, i, l.hashReader())
}

// ConsistencyProof proves that the tree of size newSize extends the tree of
// size oldSize; check it with tlog.CheckTree.
func (l *Log) ConsistencyProof(oldSize, newSize int64) (tlog.TreeProof, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if oldSize < 0 || oldSize > newSize || newSize > l.size() {
		return nil, fmt.Errorf("%w: trees %d and %d of %d", ErrOutOfRange, oldSize, newSize, l.size())
	}
	return tlog.ProveTree(newSize, oldSize, l.hashReader())
}

package store

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// The audit log in the database: records and the tlog stored hashes of an
// RFC 6962 tree, so that every server and worker process appends to one
// log. Package audit computes the hashes (AppendAudit's callback) and
// verifies the log; the store only keeps the rows and serialises appenders.

// MaxAuditRecord caps one audit record, as package audit does.
const MaxAuditRecord = 1 << 20

// AppendAudit appends record at index n, the current size, with the stored
// hashes hashes(n, read) returns (read reads hashes already stored), in one
// transaction that excludes other appenders. It returns n. hashes may run
// more than once if the database retries the transaction.
func (s *sqlStore) AppendAudit(ctx context.Context, record []byte, hashes func(n int64, read tlog.HashReader) ([]tlog.Hash, error)) (int64, error) {
	if len(record) == 0 || len(record) > MaxAuditRecord {
		return 0, fmt.Errorf("store: append audit record of %d bytes: %w", len(record), ErrInvalid)
	}
	var n int64
	err := s.tx(ctx, func(c conn) error {
		if s.d.auditLock != "" {
			if _, err := c.exec(ctx, s.d.auditLock); err != nil {
				return fmt.Errorf("store: lock audit log: %w", err)
			}
		}
		if err := c.row(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_records`).Scan(&n); err != nil {
			return fmt.Errorf("store: audit size: %w", err)
		}
		hs, err := hashes(n, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return readAuditHashes(ctx, c, idx) }))
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO audit_records (idx, body) VALUES (?, ?)`, n, record); err != nil {
			return fmt.Errorf("store: append audit record %d: %w", n, err)
		}
		base := tlog.StoredHashIndex(0, n)
		for i, h := range hs {
			if _, err := c.exec(ctx, `INSERT INTO audit_hashes (idx, hash) VALUES (?, ?)`, base+int64(i), h[:]); err != nil {
				return fmt.Errorf("store: append audit hash %d: %w", base+int64(i), err)
			}
		}
		return nil
	})
	return n, err
}

// AuditSize is the number of audit records.
func (s *sqlStore) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.c().row(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: audit size: %w", err)
	}
	return n, nil
}

// AuditRecords returns records start to end-1, in order. A missing index
// (a row deleted behind the store's back) is returned as nil, for the
// verifier to report.
func (s *sqlStore) AuditRecords(ctx context.Context, start, end int64) ([][]byte, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("store: audit records %d..%d: %w", start, end, ErrInvalid)
	}
	rows, err := s.c().query(ctx, `SELECT idx, body FROM audit_records WHERE idx >= ? AND idx < ? ORDER BY idx`, start, end)
	if err != nil {
		return nil, fmt.Errorf("store: audit records: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, end-start)
	for rows.Next() {
		var i int64
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return nil, fmt.Errorf("store: audit records: %w", err)
		}
		out[i-start] = b
	}
	return out, rows.Err()
}

// AuditHashes returns the stored hashes at the given indexes.
func (s *sqlStore) AuditHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	return readAuditHashes(ctx, s.c(), idx)
}

// maxHashBatch bounds the IN list of one query.
const maxHashBatch = 500

func readAuditHashes(ctx context.Context, c conn, idx []int64) ([]tlog.Hash, error) {
	found := make(map[int64]tlog.Hash, len(idx))
	for lo := 0; lo < len(idx); lo += maxHashBatch {
		part := idx[lo:min(lo+maxHashBatch, len(idx))]
		args := make([]any, len(part))
		for i, x := range part {
			args[i] = x
		}
		rows, err := c.query(ctx, `SELECT idx, hash FROM audit_hashes WHERE idx IN (`+strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: audit hashes: %w", err)
		}
		for rows.Next() {
			var i int64
			var b []byte
			if err := rows.Scan(&i, &b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: audit hashes: %w", err)
			}
			if len(b) != tlog.HashSize {
				rows.Close()
				return nil, fmt.Errorf("store: audit hash %d has %d bytes", i, len(b))
			}
			found[i] = tlog.Hash(b)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: audit hashes: %w", err)
		}
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("store: audit hash %d: %w", x, ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
)

// MaxSignatureSize caps a stored signature bundle.
const MaxSignatureSize = 1 << 20

// PutSignature stores the signature bundle (OpenSSF model signing JSON) the
// server made for a revision, replacing an earlier one.
func (s *sqlStore) PutSignature(ctx context.Context, repoID, commit string, bundle []byte) error {
	op := "put signature " + repoID + "@" + commit
	if !keysValid(repoID, commit) {
		return notFound(op)
	}
	if len(bundle) == 0 || len(bundle) > MaxSignatureSize || !validText(string(bundle)) {
		return fmt.Errorf("store: %s: a bundle is 1 byte to 1 MiB of UTF-8 JSON without NUL: %w", clip(op), ErrInvalid)
	}
	_, err := s.c().exec(ctx, `
		INSERT INTO signatures (repo_id, commit_sha, bundle) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, commit_sha) DO UPDATE SET bundle = excluded.bundle`,
		repoID, commit, string(bundle))
	if err != nil {
		return s.missingParent(op, err)
	}
	return nil
}

// Signature returns the stored signature bundle of a revision; ErrNotFound
// when it was not signed.
func (s *sqlStore) Signature(ctx context.Context, repoID, commit string) ([]byte, error) {
	op := "signature " + repoID + "@" + commit
	if !keysValid(repoID, commit) {
		return nil, notFound(op)
	}
	var b string
	if err := s.c().row(ctx, `SELECT bundle FROM signatures WHERE repo_id = ? AND commit_sha = ?`, repoID, commit).Scan(&b); err != nil {
		return nil, noRows(op, err)
	}
	return []byte(b), nil
}

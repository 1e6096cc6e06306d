// Package blob stores file contents by their SHA-256 digest.
//
// Every artifact the registry serves (model weights, dataset shards, config
// files) is kept once, named by the hex SHA-256 of its bytes. A Store does
// not know about repositories or revisions: the metadata store maps paths at
// a commit to digests, and this package maps digests to bytes.
//
// Put streams its input while hashing, so callers need not know the digest in
// advance; they compare the returned Ref with what they expected (an LFS
// pointer's oid, say) and Delete on a mismatch. Put is idempotent: storing
// the same bytes twice yields the same Ref and one object.
//
// Backends:
//
//   - FS keeps objects in a local directory; `aigis serve` uses it with no
//     setup.
//   - S3 keeps them in an S3-compatible bucket (AWS, MinIO, Ceph, versitygw).
//   - Encrypted wraps either and stores AES-256-GCM ciphertext under the
//     plaintext's digest (see its doc for what that reveals).
//
// Every backend passes blobtest.TestContract. The S3 tests need a server:
// eval "$(.ci/versitygw.sh)" starts one and sets AIGIS_TEST_S3_ENDPOINT;
// blobtest.S3FromEnv opens a fresh store on it.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrNotFound is returned when no object has the requested digest.
var ErrNotFound = errors.New("blob: not found")

// ErrBadDigest is returned for a digest that is not 64 lowercase hex
// characters. Digests name files and keys, so anything else (a path, "..",
// upper case aliases) is refused before it reaches the backend.
var ErrBadDigest = errors.New("blob: malformed sha256 digest")

// Ref names a stored object.
type Ref struct {
	SHA256 string // 64 lowercase hex characters
	Size   int64
}

// Store is content-addressed blob storage.
type Store interface {
	// Put reads r to EOF and stores its bytes. The object becomes visible
	// only once complete and durable; a failed or interrupted Put leaves
	// nothing behind under the digest.
	Put(ctx context.Context, r io.Reader) (Ref, error)
	// Open returns the object and its size. The reader seeks, so callers can
	// serve HTTP Range requests (http.ServeContent).
	Open(ctx context.Context, sha256 string) (io.ReadSeekCloser, int64, error)
	// Stat returns the size of the object.
	Stat(ctx context.Context, sha256 string) (int64, error)
	// Delete removes the object; ErrNotFound if there was none.
	Delete(ctx context.Context, sha256 string) error
}

// NamedPutter is implemented by stores that can keep bytes under a name the
// caller computes instead of the digest of those bytes. A wrapper that
// transforms content (Encrypted stores ciphertext) uses it to file the
// transformed bytes under the digest of the original ones, which it only
// knows once the whole input has streamed through. FS and S3 implement it.
//
// The stored bytes are not checked against the name: only wrappers that
// check the content themselves on Open should use it.
type NamedPutter interface {
	// PutNamed reads r to EOF, then calls name for the digest to store the
	// bytes under, with the same guarantees as Put: the object appears only
	// once complete and durable, and a failed Put (including an error from
	// name) leaves nothing behind. If an object with that name exists
	// already it is kept and the new bytes are dropped. PutNamed returns the
	// number of bytes read from r.
	PutNamed(ctx context.Context, r io.Reader, name func() (string, error)) (int64, error)
}

// ValidDigest reports whether s is a well-formed SHA-256 digest in the form
// Store uses: 64 lowercase hex characters.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// namedDigest calls a PutNamed name function and checks what it returns.
func namedDigest(name func() (string, error)) (string, error) {
	digest, err := name()
	if err == nil {
		err = checkDigest(digest)
	}
	if err != nil {
		return "", fmt.Errorf("blob: put: %w", err)
	}
	return digest, nil
}

func checkDigest(s string) error {
	if !ValidDigest(s) {
		return fmt.Errorf("%w: %q", ErrBadDigest, s)
	}
	return nil
}

// seekOffset resolves a Seek to an absolute position in an object of the
// given size read up to cur. Positions past the end are allowed (a Read there
// returns io.EOF); negative ones are not.
func seekOffset(cur, size, offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += cur
	case io.SeekEnd:
		offset += size
	default:
		return 0, errors.New("blob: seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blob: seek: negative position")
	}
	return offset, nil
}

package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// FS stores objects as files under a directory:
//
//	dir/objects/ab/cdef…   the object whose digest is abcdef… (read-only)
//	dir/tmp/put-*          uploads in progress
//
// Put writes to dir/tmp (the same file system as objects, so the final
// rename is atomic), fsyncs the file, renames it into place and fsyncs the
// parent directory. A crash mid-Put leaves at most a file in dir/tmp, which
// NewFS removes once nobody has written to it for StaleUpload. Several
// processes may share a directory: an upload in progress in another one
// keeps its temporary file fresh, and renames are atomic.
type FS struct {
	objects string
	tmp     string
}

var _ Store = (*FS)(nil)

// StaleUpload is how long a temporary upload file must sit unwritten before
// NewFS takes it for the remains of an interrupted upload.
const StaleUpload = time.Hour

// NewFS opens (creating if needed) a blob directory and removes temporary
// files left by interrupted uploads (untouched for StaleUpload).
func NewFS(dir string) (*FS, error) {
	f := &FS{objects: filepath.Join(dir, "objects"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{f.objects, f.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: create %s: %w", d, err)
		}
	}
	if _, err := f.CleanupTemp(context.Background(), StaleUpload); err != nil {
		return nil, err
	}
	return f, nil
}

// CleanupTemp removes temporary upload files nobody has written to for
// olderThan (the remains of interrupted uploads) and returns how many.
func (f *FS) CleanupTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(f.tmp)
	if err != nil {
		return 0, fmt.Errorf("blob: read %s: %w", f.tmp, err)
	}
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) < olderThan {
			continue // possibly an upload in progress, here or in another process
		}
		if err := os.RemoveAll(filepath.Join(f.tmp, e.Name())); err != nil {
			return n, fmt.Errorf("blob: remove stale upload: %w", err)
		}
		n++
	}
	return n, nil
}

func (f *FS) path(digest string) string {
	return filepath.Join(f.objects, digest[:2], digest[2:])
}

// Put implements Store.
func (f *FS) Put(ctx context.Context, r io.Reader) (Ref, error) {
	h := sha256.New()
	var digest string
	n, err := f.PutNamed(ctx, io.TeeReader(r, h), func() (string, error) {
		digest = hex.EncodeToString(h.Sum(nil))
		return digest, nil
	})
	if err != nil {
		return Ref{}, err
	}
	return Ref{SHA256: digest, Size: n}, nil
}

var _ NamedPutter = (*FS)(nil)

// PutNamed implements NamedPutter.
func (f *FS) PutNamed(ctx context.Context, r io.Reader, name func() (string, error)) (n int64, err error) {
	tmp, err := os.CreateTemp(f.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if err != nil {
			os.Remove(tmpName)
		}
	}()

	n, err = io.Copy(tmp, safeio.ContextReader(ctx, r))
	if err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return 0, fmt.Errorf("blob: put: sync: %w", err)
	}
	if err := tmp.Chmod(0o440); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return 0, fmt.Errorf("blob: put: close: %w", err)
	}
	digest, err := namedDigest(name)
	if err != nil {
		return 0, err
	}

	final := f.path(digest)
	if _, err := os.Stat(final); err == nil {
		// Already stored: same digest, same content.
		os.Remove(tmpName)
		return n, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := os.Rename(tmpName, final); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	// Make the rename durable: fsync the directory that now names the object.
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	return n, nil
}

// Open implements Store. The returned *os.File seeks.
func (f *FS) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	if err := checkDigest(digest); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	file, err := os.Open(f.path(digest))
	if err != nil {
		return nil, 0, notFound(digest, err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("blob: stat %s: %w", digest, err)
	}
	return file, st.Size(), nil
}

// Stat implements Store.
// LocalPath returns the file that holds the object, for callers that can
// use it in place, such as a hard link into a scratch folder. Objects are
// read-only (mode 0440); never write to the file.
func (f *FS) LocalPath(digest string) (string, error) {
	if err := checkDigest(digest); err != nil {
		return "", err
	}
	p := f.path(digest)
	if _, err := os.Stat(p); err != nil {
		return "", notFound(digest, err)
	}
	return p, nil
}

func (f *FS) Stat(ctx context.Context, digest string) (int64, error) {
	if err := checkDigest(digest); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	st, err := os.Stat(f.path(digest))
	if err != nil {
		return 0, notFound(digest, err)
	}
	return st.Size(), nil
}

// Delete implements Store.
func (f *FS) Delete(ctx context.Context, digest string) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(f.path(digest)); err != nil {
		return notFound(digest, err)
	}
	return nil
}

func notFound(digest string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return fmt.Errorf("blob: %s: %w", digest, err)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

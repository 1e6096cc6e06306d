// Package blobtest is the contract every blob.Store must meet. Each backend
// (FS, S3, Encrypted over either) runs TestContract on a fresh, empty store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aigis-sec/aigis/registry/blob"
)

// TestContract checks s against the blob.Store contract. s must start empty
// and is left with some objects stored.
func TestContract(t *testing.T, s blob.Store) {
	t.Run("PutOpenRoundTrip", func(t *testing.T) { testRoundTrip(t, s) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, s) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, s) })
	t.Run("Range", func(t *testing.T) { testRange(t, s) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, s) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, s) })
	t.Run("MalformedDigest", func(t *testing.T) { testMalformed(t, s) })
	t.Run("FailedPutLeavesNothing", func(t *testing.T) { testFailedPut(t, s) })
	t.Run("CancelledPut", func(t *testing.T) { testCancelled(t, s) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrent(t, s) })
}

// Digest returns the hex SHA-256 of b.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func put(t *testing.T, s blob.Store, data []byte) blob.Ref {
	t.Helper()
	ref, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	want := blob.Ref{SHA256: Digest(data), Size: int64(len(data))}
	if ref != want {
		t.Fatalf("Put = %+v, want %+v", ref, want)
	}
	return ref
}

func readAll(t *testing.T, s blob.Store, digest string) []byte {
	t.Helper()
	rc, size, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", digest, err)
	}
	if int64(len(got)) != size {
		t.Fatalf("Open(%s) size = %d, read %d bytes", digest, size, len(got))
	}
	return got
}

func testRoundTrip(t *testing.T, s blob.Store) {
	// 3 MiB + 7 crosses any internal buffer and multipart boundary a backend
	// is likely to use for small objects.
	for _, n := range []int{1, 4096, 3<<20 + 7} {
		data := pattern(n, byte(n))
		ref := put(t, s, data)
		if got := readAll(t, s, ref.SHA256); !bytes.Equal(got, data) {
			t.Fatalf("Open(%d bytes): content differs", n)
		}
		size, err := s.Stat(context.Background(), ref.SHA256)
		if err != nil || size != int64(n) {
			t.Fatalf("Stat = %d, %v; want %d", size, err, n)
		}
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	ref := put(t, s, nil)
	if ref.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty digest = %s", ref.SHA256)
	}
	if got := readAll(t, s, ref.SHA256); len(got) != 0 {
		t.Fatalf("empty object read %d bytes", len(got))
	}
}

func testIdempotent(t *testing.T, s blob.Store) {
	data := []byte("the same bytes, twice")
	a := put(t, s, data)
	b := put(t, s, data)
	if a != b {
		t.Fatalf("second Put = %+v, first %+v", b, a)
	}
	if got := readAll(t, s, a.SHA256); !bytes.Equal(got, data) {
		t.Fatalf("content after second Put differs")
	}
}

func testRange(t *testing.T, s blob.Store) {
	data := pattern(100000, 42)
	ref := put(t, s, data)
	rc, size, err := s.Open(context.Background(), ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if size != int64(len(data)) {
		t.Fatalf("size = %d", size)
	}
	// bytes=50000-50099, then a suffix range, then back to the start.
	for _, r := range []struct{ off, n int64 }{{50000, 100}, {size - 10, 10}, {0, 1}} {
		pos, err := rc.Seek(r.off, io.SeekStart)
		if err != nil || pos != r.off {
			t.Fatalf("Seek(%d) = %d, %v", r.off, pos, err)
		}
		buf := make([]byte, r.n)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("read at %d: %v", r.off, err)
		}
		if !bytes.Equal(buf, data[r.off:r.off+r.n]) {
			t.Fatalf("range %d+%d differs", r.off, r.n)
		}
	}
	end, err := rc.Seek(0, io.SeekEnd)
	if err != nil || end != size {
		t.Fatalf("Seek(end) = %d, %v; want %d", end, err, size)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := context.Background()
	missing := Digest([]byte("never stored"))
	if _, _, err := s.Open(ctx, missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(missing) error = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete(missing) error = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	ref := put(t, s, []byte("to be deleted"))
	if err := s.Delete(ctx, ref.SHA256); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, ref.SHA256); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after Delete error = %v, want ErrNotFound", err)
	}
	// Storing it again works after a delete.
	put(t, s, []byte("to be deleted"))
}

func testMalformed(t *testing.T, s blob.Store) {
	ctx := context.Background()
	good := Digest([]byte("x"))
	bad := []string{
		"",
		"abc",
		strings.ToUpper(good),
		good + "0",
		good[:63],
		"../../../../../../etc/passwd",
		"../" + good[3:],
		good[:2] + "/" + good[3:],
		good[:63] + "\x00",
		good[:62] + "..",
		strings.Repeat("g", 64),
	}
	for _, d := range bad {
		if _, _, err := s.Open(ctx, d); !errors.Is(err, blob.ErrBadDigest) {
			t.Errorf("Open(%q) error = %v, want ErrBadDigest", d, err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrBadDigest) {
			t.Errorf("Stat(%q) error = %v, want ErrBadDigest", d, err)
		}
		if err := s.Delete(ctx, d); !errors.Is(err, blob.ErrBadDigest) {
			t.Errorf("Delete(%q) error = %v, want ErrBadDigest", d, err)
		}
	}
}

// failingReader yields data and then an error, as a dropped upstream
// connection would.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func testFailedPut(t *testing.T, s blob.Store) {
	ctx := context.Background()
	data := pattern(1<<20, 7)
	boom := errors.New("upstream reset")
	if _, err := s.Put(ctx, &failingReader{data: data[:1000], err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Put(failing reader) error = %v, want %v", err, boom)
	}
	for _, d := range []string{Digest(data), Digest(data[:1000])} {
		if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("after failed Put, Stat(%s) error = %v, want ErrNotFound", d, err)
		}
	}
}

func testCancelled(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := []byte("cancelled before it started")
	if _, err := s.Put(ctx, bytes.NewReader(data)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put(cancelled) error = %v, want context.Canceled", err)
	}
	if _, err := s.Stat(context.Background(), Digest(data)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("cancelled Put left an object: %v", err)
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	// Eight writers of the same bytes and eight of different bytes at once.
	same := pattern(200000, 99)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := same
			if i%2 == 1 {
				data = pattern(50000, byte(i))
			}
			ref, err := s.Put(context.Background(), bytes.NewReader(data))
			if err == nil && ref.SHA256 != Digest(data) {
				err = errors.New("wrong digest " + ref.SHA256)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Put: %v", err)
	}
	if got := readAll(t, s, Digest(same)); !bytes.Equal(got, same) {
		t.Fatalf("object written concurrently differs")
	}
}

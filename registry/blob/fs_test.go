package blob_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/blob/blobtest"
)

func TestFSContract(t *testing.T) {
	s, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobtest.TestContract(t, s)
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello")
	ref, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "objects", ref.SHA256[:2], ref.SHA256[2:])
	got, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("object not at %s: %v", want, err)
	}
	if left := entries(t, filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("tmp not empty after Put: %v", left)
	}
}

func TestFSFailedPutCleansTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(context.Background(), errReader{})
	if err == nil {
		t.Fatal("Put succeeded on a failing reader")
	}
	if left := entries(t, filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("tmp not empty after failed Put: %v", left)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

// slowReader writes some bytes and then blocks, so the helper process is
// killed in the middle of Put.
type slowReader struct{ sent bool }

func (r *slowReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, strings.Repeat("partial ", 1000)), nil
	}
	os.WriteFile(os.Getenv("BLOB_CRASH_DIR")+"/ready", nil, 0o600)
	time.Sleep(time.Hour)
	return 0, nil
}

// TestFSCrashDuringPut kills a process in the middle of Put and checks that
// no object is visible and that NewFS removes the partial upload.
func TestFSCrashDuringPut(t *testing.T) {
	if dir := os.Getenv("BLOB_CRASH_DIR"); dir != "" {
		s, err := blob.NewFS(filepath.Join(dir, "store"))
		if err != nil {
			os.Exit(2)
		}
		s.Put(context.Background(), &slowReader{})
		os.Exit(3) // not reached: the parent kills us
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFSCrashDuringPut$")
	cmd.Env = append(os.Environ(), "BLOB_CRASH_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper never reached the middle of Put")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	storeDir := filepath.Join(dir, "store")
	if left := entries(t, filepath.Join(storeDir, "tmp")); len(left) != 1 {
		t.Fatalf("expected one partial upload in tmp, found %v", left)
	}
	if objs := entries(t, filepath.Join(storeDir, "objects")); len(objs) != 0 {
		t.Fatalf("killed Put left objects: %v", objs)
	}
	// A fresh temporary file may be another process's upload: kept.
	if _, err := blob.NewFS(storeDir); err != nil {
		t.Fatal(err)
	}
	left := entries(t, filepath.Join(storeDir, "tmp"))
	if len(left) != 1 {
		t.Fatalf("NewFS removed a fresh upload file: %v", left)
	}
	old := time.Now().Add(-blob.StaleUpload - time.Minute)
	if err := os.Chtimes(filepath.Join(storeDir, "tmp", left[0]), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.NewFS(storeDir); err != nil {
		t.Fatal(err)
	}
	if left := entries(t, filepath.Join(storeDir, "tmp")); len(left) != 0 {
		t.Fatalf("NewFS left stale partial uploads: %v", left)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func BenchmarkFSPut(b *testing.B) {
	s, err := blob.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := s.Put(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFSLocalPath(t *testing.T) {
	s, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(t.Context(), strings.NewReader("weights"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.LocalPath(ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	st, _ := os.Stat(p)
	if err != nil || string(b) != "weights" || st.Mode().Perm()&0o222 != 0 {
		t.Errorf("LocalPath file: %q, mode %v, %v; want the content, read-only", b, st.Mode(), err)
	}
	if _, err := s.LocalPath(strings.Repeat("0", 64)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("missing object: %v", err)
	}
	if _, err := s.LocalPath("../../etc/passwd"); !errors.Is(err, blob.ErrBadDigest) {
		t.Errorf("bad digest: %v", err)
	}
}

func TestFSCleanupTempThroughEncrypted(t *testing.T) {
	dir := t.TempDir()
	fs, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := blob.NewEncrypted(fs, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "tmp", "put-stale")
	fresh := filepath.Join(dir, "tmp", "put-fresh")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.WriteFile(fresh, []byte("y"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	if n, err := enc.CleanupTemp(t.Context(), time.Hour); err != nil || n != 1 {
		t.Fatalf("CleanupTemp = %d, %v; want the stale file removed", n, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh upload file was removed: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale file is still there: %v", err)
	}
}

package blob_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/blob/blobtest"
)

const seg = 64 << 10 // plaintext bytes per encrypted segment

var testKey = bytes.Repeat([]byte{0x42}, 32)

func newEncryptedFS(t testing.TB) (*blob.Encrypted, string) {
	dir := t.TempDir()
	fs, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := blob.NewEncrypted(fs, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return e, dir
}

func objectPath(dir, digest string) string {
	return filepath.Join(dir, "objects", digest[:2], digest[2:])
}

func TestEncryptedContract(t *testing.T) {
	e, _ := newEncryptedFS(t)
	blobtest.TestContract(t, e)
}

func TestEncryptedS3Contract(t *testing.T) {
	e, err := blob.NewEncrypted(blobtest.S3FromEnv(t), testKey)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.TestContract(t, e)
}

// What lies on disk is ciphertext of the documented size, named by the
// plaintext's digest.
func TestEncryptedAtRest(t *testing.T) {
	e, dir := newEncryptedFS(t)
	for _, n := range []int{0, 1, seg - 1, seg, seg + 1, 3 * seg, 3*seg + 5} {
		data := pattern(n, byte(n))
		ref, err := e.Put(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if ref.SHA256 != blobtest.Digest(data) || ref.Size != int64(n) {
			t.Fatalf("Put(%d bytes) = %+v", n, ref)
		}
		raw, err := os.ReadFile(objectPath(dir, ref.SHA256))
		if err != nil {
			t.Fatal(err)
		}
		segments := max(1, (n+seg-1)/seg)
		if want := 25 + n + 16*segments; len(raw) != want {
			t.Fatalf("%d bytes stored as %d, want %d", n, len(raw), want)
		}
		if !bytes.HasPrefix(raw, []byte("aigisenc\x01")) {
			t.Fatalf("no header: %q", raw[:9])
		}
		if n >= 16 && bytes.Contains(raw, data[:16]) {
			t.Fatalf("%d bytes: plaintext visible on disk", n)
		}
		if size, err := e.Stat(context.Background(), ref.SHA256); err != nil || size != int64(n) {
			t.Fatalf("Stat = %d, %v; want %d", size, err, n)
		}
		if got := readAllStore(t, e, ref.SHA256); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: round trip differs", n)
		}
	}
}

// Reads at every segment boundary and across them return the plaintext.
func TestEncryptedSeek(t *testing.T) {
	e, _ := newEncryptedFS(t)
	data := pattern(5*seg+123, 1)
	ref, err := e.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rc, size, err := e.Open(context.Background(), ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if size != int64(len(data)) {
		t.Fatalf("size %d", size)
	}
	for _, r := range []struct{ off, n int }{
		{0, 10}, {seg - 3, 6}, {seg, 1}, {2*seg - 1, seg + 2}, {len(data) - 200, 200}, {17, 4 * seg}, {0, len(data)},
	} {
		if _, err := rc.Seek(int64(r.off), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, r.n)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("read %d+%d: %v", r.off, r.n, err)
		}
		if !bytes.Equal(buf, data[r.off:r.off+r.n]) {
			t.Fatalf("read %d+%d differs", r.off, r.n)
		}
	}
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read at end = %d, %v", n, err)
	}
	if _, err := rc.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek(-1) succeeded")
	}
}

// countingStore counts the bytes read from the objects it opens.
type countingStore struct {
	*blob.FS
	n atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, d string) (io.ReadSeekCloser, int64, error) {
	rc, size, err := c.FS.Open(ctx, d)
	if err != nil {
		return nil, 0, err
	}
	return &countingReader{rc, &c.n}, size, nil
}

type countingReader struct {
	io.ReadSeekCloser
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadSeekCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// A 100-byte read in the middle of a 4 MiB object decrypts the last segment
// (checked on Open) and the one segment holding the bytes, not the object.
func TestEncryptedRangeReadsOnlyNeededSegments(t *testing.T) {
	fs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{FS: fs}
	e, err := blob.NewEncrypted(cs, testKey)
	if err != nil {
		t.Fatal(err)
	}
	data := pattern(4<<20, 2)
	ref, err := e.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := e.Open(context.Background(), ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	off := int64(2<<20 + 1000)
	rc.Seek(off, io.SeekStart)
	buf := make([]byte, 100)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, data[off:off+100]) {
		t.Fatal("range differs")
	}
	if got, most := cs.n.Load(), int64(25+2*(seg+16)); got > most {
		t.Fatalf("read %d stored bytes for 100, want at most %d", got, most)
	}
}

// Every change to the stored bytes is an error, never different plaintext.
func TestEncryptedTamper(t *testing.T) {
	data := pattern(3*seg+500, 4)
	other := pattern(3*seg+500, 5)
	for _, tc := range []struct {
		name   string
		tamper func(ct, otherCT []byte) []byte
	}{
		{"FlipHeaderNonce", func(ct, _ []byte) []byte { ct[12] ^= 1; return ct }},
		{"FlipMagic", func(ct, _ []byte) []byte { ct[0] ^= 1; return ct }},
		{"FlipVersion", func(ct, _ []byte) []byte { ct[8] = 2; return ct }},
		{"FlipFirstSegment", func(ct, _ []byte) []byte { ct[25+100] ^= 0x80; return ct }},
		{"FlipMiddleTag", func(ct, _ []byte) []byte { ct[25+2*(seg+16)-1] ^= 1; return ct }},
		{"FlipLastByte", func(ct, _ []byte) []byte { ct[len(ct)-1] ^= 1; return ct }},
		{"TruncateOneByte", func(ct, _ []byte) []byte { return ct[:len(ct)-1] }},
		{"DropLastSegment", func(ct, _ []byte) []byte { return ct[:25+3*(seg+16)] }},
		{"DropFirstSegment", func(ct, _ []byte) []byte {
			return append(ct[:25:25], ct[25+seg+16:]...)
		}},
		{"SwapSegments", func(ct, _ []byte) []byte {
			s0 := bytes.Clone(ct[25 : 25+seg+16])
			copy(ct[25:], ct[25+seg+16:25+2*(seg+16)])
			copy(ct[25+seg+16:], s0)
			return ct
		}},
		{"AppendSegment", func(ct, _ []byte) []byte { return append(ct, ct[25:25+seg+16]...) }},
		{"OtherObjectsSegment", func(ct, o []byte) []byte {
			copy(ct[25+seg+16:25+2*(seg+16)], o[25+seg+16:])
			return ct
		}},
		{"OtherObjectUnderThisName", func(_, o []byte) []byte { return o }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, dir := newEncryptedFS(t)
			ref, err := e.Put(context.Background(), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			oref, err := e.Put(context.Background(), bytes.NewReader(other))
			if err != nil {
				t.Fatal(err)
			}
			path := objectPath(dir, ref.SHA256)
			ct, _ := os.ReadFile(path)
			oct, _ := os.ReadFile(objectPath(dir, oref.SHA256))
			ct = tc.tamper(ct, oct)
			os.Chmod(path, 0o600)
			if err := os.WriteFile(path, ct, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readEncrypted(e, ref.SHA256)
			if err == nil {
				same := bytes.Equal(got, data)
				t.Fatalf("tampered object read without error (plaintext unchanged: %v)", same)
			}
			t.Logf("%v", err)
		})
	}
}

func readEncrypted(s blob.Store, digest string) ([]byte, error) {
	rc, _, err := s.Open(context.Background(), digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestEncryptedWrongKey(t *testing.T) {
	e, dir := newEncryptedFS(t)
	data := pattern(100000, 8)
	ref, err := e.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := blob.NewFS(dir)
	wrong, _ := blob.NewEncrypted(fs, bytes.Repeat([]byte{0x43}, 32))
	if _, err := readEncrypted(wrong, ref.SHA256); !errors.Is(err, blob.ErrDecrypt) {
		t.Fatalf("read with the wrong key: error = %v, want ErrDecrypt", err)
	}
	// Plain objects stored before encryption was turned on are refused too.
	plainRef, err := fs.Put(context.Background(), bytes.NewReader(pattern(100000, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readEncrypted(e, plainRef.SHA256); err == nil || !strings.Contains(err.Error(), "not an encrypted object") {
		t.Fatalf("read of an unencrypted object: error = %v", err)
	}
}

type plainStore struct{ blob.Store }

func TestNewEncryptedErrors(t *testing.T) {
	fs, _ := blob.NewFS(t.TempDir())
	if _, err := blob.NewEncrypted(fs, make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("16-byte key: %v", err)
	}
	if _, err := blob.NewEncrypted(plainStore{fs}, testKey); err == nil || !strings.Contains(err.Error(), "NamedPutter") {
		t.Fatalf("store without PutNamed: %v", err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := pattern(32, 77)
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	for name, content := range map[string]string{
		"hex":       hex.EncodeToString(key) + "\n",
		"base64":    base64.StdEncoding.EncodeToString(key) + "\n",
		"rawurl":    "  " + base64.RawURLEncoding.EncodeToString(key),
		"uppercase": strings.ToUpper(hex.EncodeToString(key)),
	} {
		got, err := blob.LoadKeyFile(write(name, content, 0o600))
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: LoadKeyFile = %x, %v", name, got, err)
		}
	}
	if _, err := blob.LoadKeyFile(write("open", hex.EncodeToString(key), 0o644)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key: error = %v, want a chmod 600 hint", err)
	}
	if _, err := blob.LoadKeyFile(write("group", hex.EncodeToString(key), 0o640)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable key: error = %v, want a chmod 600 hint", err)
	}
	for name, content := range map[string]string{
		"short":    hex.EncodeToString(key[:16]),
		"long":     base64.StdEncoding.EncodeToString(append(key, 1)),
		"zero":     strings.Repeat("0", 64),
		"text":     "correct horse battery staple",
		"empty":    "",
		"oversize": strings.Repeat("A", 5000),
	} {
		if _, err := blob.LoadKeyFile(write(name, content, 0o600)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := blob.LoadKeyFile(dir); err == nil {
		t.Error("a directory was accepted as a key file")
	}
}

func benchPutGet(b *testing.B, s blob.Store, size int) {
	data := pattern(size, 1)
	var ref blob.Ref
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; b.Loop(); i++ {
			data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
			var err error
			if ref, err = s.Put(context.Background(), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			rc, _, err := s.Open(context.Background(), ref.SHA256)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(size) {
				b.Fatalf("read %d, %v", n, err)
			}
			rc.Close()
		}
	})
}

func BenchmarkFS_16MiB(b *testing.B) {
	fs, err := blob.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchPutGet(b, fs, 16<<20)
}

func BenchmarkEncryptedFS_16MiB(b *testing.B) {
	e, _ := newEncryptedFS(b)
	benchPutGet(b, e, 16<<20)
}

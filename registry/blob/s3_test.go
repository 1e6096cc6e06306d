package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/blob/blobtest"
)

func listKeys(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}

// listUploads lists the incomplete multipart uploads under prefix.
func listUploads(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	out, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, *u.Key)
	}
	return keys
}

// newS3 opens a store on a fresh bucket (or AIGIS_TEST_S3_BUCKET) under a
// fresh prefix.
func newS3(t testing.TB, edit func(*blob.S3Config)) (*blob.S3, blob.S3Config) {
	cfg := blobtest.S3Config(t)
	if edit != nil {
		edit(&cfg)
	}
	s, err := blob.NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

func TestS3Contract(t *testing.T) {
	blobtest.TestContract(t, blobtest.S3FromEnv(t))
}

// The contract again with 5 MiB parts and three uploads in flight, so the
// 3 MiB + 7 round trip and the concurrent Puts stay single-part while a
// 12 MiB object takes the multipart path.
func TestS3Multipart(t *testing.T) {
	s, cfg := newS3(t, func(c *blob.S3Config) { c.PartSize = 5 << 20; c.Concurrency = 3 })
	c := blobtest.S3Client(t)
	for _, n := range []int{5 << 20, 12<<20 + 1} {
		data := pattern(n, byte(n))
		ref, err := s.Put(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if ref.SHA256 != blobtest.Digest(data) || ref.Size != int64(n) {
			t.Fatalf("Put(%d bytes) = %+v", n, ref)
		}
		if got := readAllStore(t, s, ref.SHA256); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: content differs", n)
		}
		// The object is at its documented key, and nothing else is left.
		want := cfg.Prefix + "sha256/" + ref.SHA256[:2] + "/" + ref.SHA256[2:4] + "/" + ref.SHA256
		if got := s.Key(ref.SHA256); got != want {
			t.Fatalf("Key = %s, want %s", got, want)
		}
		if _, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &cfg.Bucket, Key: &want}); err != nil {
			t.Fatalf("object not at %s: %v", want, err)
		}
	}
	if left := listKeys(t, c, cfg.Bucket, cfg.Prefix+"tmp/"); len(left) != 0 {
		t.Fatalf("temporary objects left: %v", left)
	}
	if left := listUploads(t, c, cfg.Bucket, cfg.Prefix); len(left) != 0 {
		t.Fatalf("multipart uploads left: %v", left)
	}
}

// Objects above the single-copy limit (5 GiB on S3) are copied part by part.
func TestS3MultipartCopy(t *testing.T) {
	s, _ := newS3(t, func(c *blob.S3Config) { c.PartSize = 5 << 20 })
	blob.SetS3CopyLimits(s, 5<<20, 5<<20)
	data := pattern(12<<20+3, 5)
	ref, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllStore(t, s, ref.SHA256); !bytes.Equal(got, data) {
		t.Fatal("content after multipart copy differs")
	}
}

func readAllStore(t testing.TB, s blob.Store, digest string) []byte {
	t.Helper()
	rc, _, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingConn counts the bytes the client reads from the server.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func countingClient(n *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, n}, nil
	}
	return &http.Client{Transport: tr}
}

// A Range request for 100 bytes in the middle of a 12 MiB object, served with
// http.ServeContent as the registry does, reads about 100 bytes from S3, not
// the object.
func TestS3RangeReadFetchesOnlyTheRange(t *testing.T) {
	var wire atomic.Int64
	s, _ := newS3(t, func(c *blob.S3Config) { c.HTTPClient = countingClient(&wire) })
	data := pattern(12<<20, 9)
	ref, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, _, err := s.Open(r.Context(), ref.SHA256)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer rc.Close()
		http.ServeContent(w, r, "", time.Time{}, rc)
	}))
	defer srv.Close()

	const off, n = 6_000_000, 100
	wire.Store(0)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if !bytes.Equal(body, data[off:off+n]) {
		t.Fatal("range content differs")
	}
	// HEAD + one ranged GET; the first GET after a seek asks for 256 KiB at
	// most, and what ServeContent does not read is never pulled.
	got := wire.Load()
	t.Logf("bytes read from S3 for a %d-byte range of a %d-byte object: %d", n, len(data), got)
	if got > 300<<10 {
		t.Fatalf("read %d bytes from S3 to serve %d", got, n)
	}

	// A full sequential read stays correct across the growing windows.
	wire.Store(0)
	if got := readAllStore(t, s, ref.SHA256); !bytes.Equal(got, data) {
		t.Fatal("full read differs")
	}
	if w := wire.Load(); w < int64(len(data)) || w > int64(len(data))+64<<10 {
		t.Fatalf("full read pulled %d bytes for %d", w, len(data))
	}
}

// A Put whose source fails after 6 MiB (mid multipart upload) leaves no
// object, no temporary object and no multipart upload.
func TestS3InterruptedPut(t *testing.T) {
	s, cfg := newS3(t, func(c *blob.S3Config) { c.PartSize = 5 << 20 })
	boom := errors.New("upstream reset")
	data := pattern(6<<20, 3)
	_, err := s.Put(context.Background(), &failAfter{r: bytes.NewReader(data), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Put error = %v, want %v", err, boom)
	}
	c := blobtest.S3Client(t)
	if left := listKeys(t, c, cfg.Bucket, cfg.Prefix); len(left) != 0 {
		t.Fatalf("interrupted Put left objects: %v", left)
	}
	if left := listUploads(t, c, cfg.Bucket, cfg.Prefix); len(left) != 0 {
		t.Fatalf("interrupted Put left multipart uploads: %v", left)
	}

	// The same with the caller cancelling mid-upload.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = s.Put(ctx, &failAfter{r: bytes.NewReader(data), hook: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put error = %v, want context.Canceled", err)
	}
	if left := listKeys(t, c, cfg.Bucket, cfg.Prefix); len(left) != 0 {
		t.Fatalf("cancelled Put left objects: %v", left)
	}
	if left := listUploads(t, c, cfg.Bucket, cfg.Prefix); len(left) != 0 {
		t.Fatalf("cancelled Put left multipart uploads: %v", left)
	}
}

// failAfter yields r's bytes, then fails with err; or, with hook set, calls
// hook (which cancels the Put's context) and claims more data follows.
type failAfter struct {
	r    io.Reader
	err  error
	hook func()
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		if f.hook != nil {
			f.hook()
			return n, nil // more data would follow, but the context is done
		}
		return n, f.err
	}
	return n, err
}

// pattern returns n deterministic bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	(&stream{n: uint32(n), x: uint32(seed)}).Read(b)
	return b
}

// stream is an unseekable source of n pattern bytes, generated as read.
type stream struct {
	n, x uint32
}

func (s *stream) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	if uint32(len(p)) > s.n {
		p = p[:s.n]
	}
	for i := range p {
		s.x = s.x*1664525 + 1013904223
		p[i] = byte(s.x >> 24)
	}
	s.n -= uint32(len(p))
	return len(p), nil
}

// A 20 MiB Put from an unseekable reader allocates about two part buffers,
// not the object.
func TestS3PutFlatMemory(t *testing.T) {
	s, _ := newS3(t, func(c *blob.S3Config) { c.PartSize = 5 << 20; c.Concurrency = 1 })
	const size = 20 << 20
	h := sha256.New()
	io.Copy(h, &stream{n: size})
	want := hex.EncodeToString(h.Sum(nil))

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ref, err := s.Put(context.Background(), &stream{n: size})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if ref.SHA256 != want || ref.Size != size {
		t.Fatalf("Put = %+v, want %s", ref, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %d MiB Put allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	if alloc > 14<<20 {
		t.Fatalf("a %d-byte Put allocated %d bytes; it should hold two 5 MiB parts", size, alloc)
	}
}

func TestS3CleanupTemp(t *testing.T) {
	s, cfg := newS3(t, nil)
	c := blobtest.S3Client(t)
	ctx := context.Background()
	stale := cfg.Prefix + "tmp/left-by-a-killed-process"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &cfg.Bucket, Key: &stale, Body: strings.NewReader("partial")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &cfg.Bucket, Key: aws.String(cfg.Prefix + "tmp/half-uploaded")})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, strings.NewReader("a real object"))
	if err != nil {
		t.Fatal(err)
	}

	// Young temporaries may belong to a running Put: kept.
	if n, err := s.CleanupTemp(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("CleanupTemp(1h) = %d, %v; want 0", n, err)
	}
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	n, err := s.CleanupTemp(ctx, 0)
	if err != nil || n != 2 {
		t.Fatalf("CleanupTemp(0) = %d, %v; want 2", n, err)
	}
	if left := listKeys(t, c, cfg.Bucket, cfg.Prefix+"tmp/"); len(left) != 0 {
		t.Fatalf("left: %v", left)
	}
	for _, u := range listUploads(t, c, cfg.Bucket, cfg.Prefix) {
		if u == cfg.Prefix+"tmp/half-uploaded" {
			t.Fatalf("upload %s (id %s) not aborted", u, *up.UploadId)
		}
	}
	if _, err := s.Stat(ctx, ref.SHA256); err != nil {
		t.Fatalf("CleanupTemp removed a stored object: %v", err)
	}
}

func TestNewS3Errors(t *testing.T) {
	ctx := context.Background()
	// Nothing listens on a closed port: the message names the endpoint.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	_, err = blob.NewS3(ctx, blob.S3Config{Endpoint: dead, Bucket: "b", AccessKey: "k", SecretKey: "s", PathStyle: true})
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+dead) {
		t.Fatalf("NewS3(dead endpoint) error = %v", err)
	}
	if _, err := blob.NewS3(ctx, blob.S3Config{Endpoint: dead}); err == nil || !strings.Contains(err.Error(), "no bucket") {
		t.Fatalf("NewS3(no bucket) error = %v", err)
	}
	if _, err := blob.NewS3(ctx, blob.S3Config{Endpoint: dead, Bucket: "b", PartSize: 1 << 20}); err == nil || !strings.Contains(err.Error(), "5 MiB") {
		t.Fatalf("NewS3(1 MiB parts) error = %v", err)
	}

	endpoint, access, secret := blobtest.S3Env(t)
	_, err = blob.NewS3(ctx, blob.S3Config{Endpoint: endpoint, Bucket: "aigis-no-such-bucket", AccessKey: access, SecretKey: secret, PathStyle: true})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("NewS3(missing bucket) error = %v", err)
	}
	_, err = blob.NewS3(ctx, blob.S3Config{Endpoint: endpoint, Bucket: blobtest.S3Bucket(t), AccessKey: access, SecretKey: "wrong", PathStyle: true})
	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("NewS3(wrong secret) error = %v", err)
	}
}

func benchS3(b *testing.B, size int) {
	s, _ := newS3(b, nil)
	ctx := context.Background()
	var ref blob.Ref
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; b.Loop(); i++ {
			var err error
			ref, err = s.Put(ctx, &stream{n: uint32(size), x: uint32(i)})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			rc, _, err := s.Open(ctx, ref.SHA256)
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

func BenchmarkS3_256MiB(b *testing.B) { benchS3(b, 256<<20) }

// blockAfter yields r, then signals ready and blocks forever, so the
// process is killed in the middle of a Put.
type blockAfter struct {
	r     io.Reader
	ready string
}

func (b *blockAfter) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		os.WriteFile(b.ready, nil, 0o600)
		select {}
	}
	return n, err
}

// A process killed in the middle of a multipart Put leaves an incomplete
// upload under tmp/ and nothing under sha256/; CleanupTemp removes it.
func TestS3KilledPut(t *testing.T) {
	if spec := os.Getenv("BLOB_S3_CRASH"); spec != "" {
		f := strings.Split(spec, "|")
		s, err := blob.NewS3(context.Background(), blob.S3Config{
			Endpoint: os.Getenv("AIGIS_TEST_S3_ENDPOINT"), Bucket: f[0], Prefix: f[1],
			AccessKey: os.Getenv("AIGIS_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("AIGIS_TEST_S3_SECRET_KEY"),
			PathStyle: true, PartSize: 5 << 20, Concurrency: 1,
		})
		if err != nil {
			os.Exit(2)
		}
		s.Put(context.Background(), &blockAfter{r: &stream{n: 11 << 20}, ready: f[2]})
		os.Exit(3) // not reached: the parent kills us
	}
	s, cfg := newS3(t, nil)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^TestS3KilledPut$")
	cmd.Env = append(os.Environ(), "BLOB_S3_CRASH="+cfg.Bucket+"|"+cfg.Prefix+"|"+ready)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper never reached the middle of Put")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Two full parts are read; give the first one time to reach the server.
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	c := blobtest.S3Client(t)
	if objs := listKeys(t, c, cfg.Bucket, cfg.Prefix+"sha256/"); len(objs) != 0 {
		t.Fatalf("killed Put left objects: %v", objs)
	}
	ups := listUploads(t, c, cfg.Bucket, cfg.Prefix)
	if len(ups) != 1 || !strings.HasPrefix(ups[0], cfg.Prefix+"tmp/") {
		t.Fatalf("multipart uploads after the kill: %v, want one under %stmp/", ups, cfg.Prefix)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := s.CleanupTemp(context.Background(), 0); err != nil || n != 1 {
		t.Fatalf("CleanupTemp = %d, %v; want 1", n, err)
	}
	if ups := listUploads(t, c, cfg.Bucket, cfg.Prefix); len(ups) != 0 {
		t.Fatalf("uploads left after CleanupTemp: %v", ups)
	}
}

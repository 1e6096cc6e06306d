package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// S3 limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
const (
	s3MinPartSize    = 5 << 20  // every part but the last
	s3MaxParts       = 10000    // parts per multipart upload
	s3MaxCopySize    = 5 << 30  // largest object a single CopyObject copies
	s3DefaultPart    = 16 << 20 // S3Config.PartSize default
	s3DefaultWorkers = 2        // S3Config.Concurrency default
)

// Lazy ranged reads: the first GET after an Open or a Seek asks for
// readWindowMin bytes, each following sequential GET for twice as many, up
// to readWindowMax. A Range request for 100 bytes in the middle of a large
// object so costs at most readWindowMin bytes on the wire, and a full
// download a handful of requests.
const (
	readWindowMin = 256 << 10
	readWindowMax = 64 << 20
)

// S3Config configures an S3-compatible backend (AWS S3, MinIO, Ceph RGW,
// versitygw, Garage, ...).
type S3Config struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:7070. Empty
	// means AWS's own endpoint for Region.
	Endpoint string
	// Region defaults to "us-east-1", which self-hosted servers accept.
	Region string
	// Bucket must exist; NewS3 does not create it.
	Bucket string
	// Prefix is prepended to every key, so one bucket can hold other data
	// too: objects are Prefix+"sha256/ab/cd/<hex>", uploads in progress
	// Prefix+"tmp/<random>". A missing trailing "/" is added.
	Prefix string
	// AccessKey and SecretKey are static credentials. Empty means the
	// default AWS credential chain: AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, an instance role.
	AccessKey, SecretKey string
	// PathStyle addresses the bucket as http://host/bucket/key instead of
	// http://bucket.host/key; most self-hosted servers need it.
	PathStyle bool
	// PartSize is the multipart part size, at least 5 MiB; default 16 MiB.
	// The largest object a Put accepts is 10,000 parts (156 GiB by
	// default).
	PartSize int64
	// Concurrency is the number of parts a Put uploads in parallel; default
	// 2. A Put holds (Concurrency+1)×PartSize bytes of memory whatever the
	// object's size.
	Concurrency int
	// HTTPClient replaces the SDK's HTTP client (custom CA, proxy, tests).
	HTTPClient *http.Client
}

// S3 stores objects in an S3 bucket.
//
// Put streams the input through SHA-256 into a temporary key with a
// multipart upload, then copies it to its content address (server side) and
// deletes the temporary key. A failed or cancelled Put aborts the multipart
// upload and deletes the temporary key; a process killed in the middle of a
// Put can leave a temporary object or an incomplete multipart upload under
// Prefix+"tmp/". Remove those with CleanupTemp, or with a bucket lifecycle
// rule on the "tmp/" prefix (expire current objects and abort incomplete
// multipart uploads after a day).
//
// Objects above 5 GiB are copied with a multipart copy (UploadPartCopy).
//
// The credentials need s3:GetObject, s3:PutObject, s3:DeleteObject,
// s3:ListBucket (without it AWS answers 403 instead of 404 for a missing
// object) and s3:AbortMultipartUpload on the prefix.
type S3 struct {
	client      *s3.Client
	bucket      string
	prefix      string
	partSize    int64
	concurrency int
	checksum    types.ChecksumAlgorithm
	bufs        sync.Pool // *[]byte of partSize

	// Multipart copy thresholds; variables so tests can exercise the
	// multipart copy without 5 GiB objects.
	copyMax  int64
	copyPart int64
}

var (
	_ Store       = (*S3)(nil)
	_ NamedPutter = (*S3)(nil)
)

// NewS3 connects to a bucket and checks that it is reachable (HeadBucket).
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("blob: s3: no bucket configured; set the bucket name")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = s3DefaultPart
	}
	if cfg.PartSize < s3MinPartSize || cfg.PartSize > s3MaxCopySize {
		return nil, fmt.Errorf("blob: s3: part size %d out of range; S3 needs 5 MiB to 5 GiB", cfg.PartSize)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = s3DefaultWorkers
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: load AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
		// Ranged GETs carry no whole-object checksum; that is expected,
		// not worth a log line per read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &S3{
		client:      client,
		bucket:      cfg.Bucket,
		prefix:      cfg.Prefix,
		partSize:    cfg.PartSize,
		concurrency: cfg.Concurrency,
		copyMax:     s3MaxCopySize,
		copyPart:    512 << 20,
	}
	// Parts carry a CRC32 the server checks, unless the user turned request
	// checksums off for a server that rejects them
	// (AWS_REQUEST_CHECKSUM_CALCULATION=when_required).
	if awsCfg.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired {
		s.checksum = types.ChecksumAlgorithmCrc32
	}
	s.bufs.New = func() any { b := make([]byte, s.partSize); return &b }

	where := cfg.Endpoint
	if where == "" {
		where = "AWS region " + cfg.Region
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		switch httpStatus(err) {
		case http.StatusNotFound:
			return nil, fmt.Errorf("blob: s3: bucket %q does not exist at %s; create it (aws s3 mb s3://%s) or fix the bucket name: %w", s.bucket, where, s.bucket, err)
		case http.StatusForbidden, http.StatusUnauthorized:
			return nil, fmt.Errorf("blob: s3: access to bucket %q at %s denied; check the access key and secret (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and that they may list and read the bucket: %w", s.bucket, where, err)
		case http.StatusMovedPermanently:
			return nil, fmt.Errorf("blob: s3: bucket %q is not in region %s; set the bucket's region: %w", s.bucket, cfg.Region, err)
		case 0:
			return nil, fmt.Errorf("blob: s3: cannot reach %s; check the endpoint URL and that the server is running: %w", where, err)
		default:
			return nil, fmt.Errorf("blob: s3: bucket %q at %s: %w", s.bucket, where, err)
		}
	}
	return s, nil
}

// Key returns the object key under which the object with the given digest
// is stored: Prefix+"sha256/ab/cd/abcd…".
func (s *S3) Key(digest string) string {
	return s.prefix + "sha256/" + digest[:2] + "/" + digest[2:4] + "/" + digest
}

func (s *S3) tmpPrefix() string { return s.prefix + "tmp/" }

// Put implements Store.
func (s *S3) Put(ctx context.Context, r io.Reader) (Ref, error) {
	h := sha256.New()
	var digest string
	n, err := s.PutNamed(ctx, io.TeeReader(r, h), func() (string, error) {
		digest = hex.EncodeToString(h.Sum(nil))
		return digest, nil
	})
	if err != nil {
		return Ref{}, err
	}
	return Ref{SHA256: digest, Size: n}, nil
}

// PutNamed implements NamedPutter.
func (s *S3) PutNamed(ctx context.Context, r io.Reader, name func() (string, error)) (n int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	tmp := s.tmpPrefix() + hex.EncodeToString(rnd[:])
	defer func() {
		// The temporary key goes whatever happened. Cleanup runs even when
		// ctx is cancelled: that is when it matters most.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if _, derr := s.client.DeleteObject(cctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &tmp}); derr != nil && err == nil && httpStatus(derr) != http.StatusNotFound {
			err = fmt.Errorf("blob: put: delete temporary object %s (a lifecycle rule on %s or CleanupTemp will remove it): %w", tmp, s.tmpPrefix(), derr)
		}
	}()

	n, err = s.upload(ctx, tmp, safeio.ContextReader(ctx, r))
	if err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	digest, err := namedDigest(name)
	if err != nil {
		return 0, err
	}
	key := s.Key(digest)
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); err == nil {
		return n, nil // already stored
	} else if httpStatus(err) != http.StatusNotFound {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := s.copy(ctx, tmp, key, n); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	return n, nil
}

func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

func (s *S3) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *S3) putBuf(b *[]byte) { s.bufs.Put(b) }

// upload streams r to key: one PutObject if it fits in a part, else a
// multipart upload with up to s.concurrency parts in flight. The memory used
// is (concurrency+1) part buffers at most, whatever the size of r. On error
// the multipart upload is aborted.
func (s *S3) upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	// Buffers cycle through a free list of this upload rather than the
	// shared pool, which a garbage collection may empty mid-upload.
	free := make(chan *[]byte, s.concurrency+1)
	getBuf := func() *[]byte {
		select {
		case b := <-free:
			return b
		default:
			return s.getBuf()
		}
	}
	putBuf := func(b *[]byte) {
		select {
		case free <- b:
		default:
			s.putBuf(b)
		}
	}
	defer func() {
		for {
			select {
			case b := <-free:
				s.putBuf(b)
			default:
				return
			}
		}
	}()

	buf := getBuf()
	n, err := io.ReadFull(r, *buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		defer putBuf(buf)
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:            &s.bucket,
			Key:               &key,
			Body:              bytes.NewReader((*buf)[:n]),
			ContentLength:     aws.Int64(int64(n)),
			ChecksumAlgorithm: s.checksum,
		})
		return int64(n), err
	}
	if err != nil {
		putBuf(buf)
		return 0, err
	}

	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ChecksumAlgorithm: s.checksum,
	})
	if err != nil {
		putBuf(buf)
		return 0, err
	}
	uploadID := created.UploadId

	var (
		mu       sync.Mutex
		firstErr error
		parts    []types.CompletedPart
		wg       sync.WaitGroup
		slots    = make(chan struct{}, s.concurrency)
	)
	failed := func() error { mu.Lock(); defer mu.Unlock(); return firstErr }
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	total := int64(0)
	for num := int32(1); ; num++ {
		if num > s3MaxParts {
			putBuf(buf)
			fail(fmt.Errorf("object larger than %d parts of %d bytes; raise the S3 part size", s3MaxParts, s.partSize))
			break
		}
		total += int64(n)
		slots <- struct{}{}
		wg.Add(1)
		go func(num int32, buf *[]byte, n int) {
			defer func() { putBuf(buf); <-slots; wg.Done() }()
			if failed() != nil {
				return
			}
			out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket:            &s.bucket,
				Key:               &key,
				UploadId:          uploadID,
				PartNumber:        aws.Int32(num),
				Body:              bytes.NewReader((*buf)[:n]),
				ContentLength:     aws.Int64(int64(n)),
				ChecksumAlgorithm: s.checksum,
			})
			if err != nil {
				fail(fmt.Errorf("upload part %d: %w", num, err))
				return
			}
			mu.Lock()
			parts = append(parts, types.CompletedPart{
				PartNumber:    aws.Int32(num),
				ETag:          out.ETag,
				ChecksumCRC32: out.ChecksumCRC32,
			})
			mu.Unlock()
		}(num, buf, n)

		if failed() != nil {
			break
		}
		buf = getBuf()
		n, err = io.ReadFull(r, *buf)
		if err == io.EOF {
			putBuf(buf)
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			putBuf(buf)
			fail(err)
			break
		}
		// A short read is the last part; it is sent on the next turn and
		// the one after ends with io.EOF.
	}
	wg.Wait()

	if firstErr == nil {
		slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
		_, firstErr = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          &s.bucket,
			Key:             &key,
			UploadId:        uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		})
	}
	if firstErr != nil {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		s.client.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: uploadID})
		return 0, firstErr
	}
	return total, nil
}

// copySource is the x-amz-copy-source value for key: bucket/key, URL-encoded.
func (s *S3) copySource(key string) *string {
	segs := strings.Split(s.bucket+"/"+key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return aws.String(strings.Join(segs, "/"))
}

// copy copies src to dst on the server: CopyObject up to 5 GiB, a multipart
// copy (UploadPartCopy) above.
func (s *S3) copy(ctx context.Context, src, dst string, size int64) error {
	if size <= s.copyMax {
		_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dst, CopySource: s.copySource(src)})
		if err != nil {
			return fmt.Errorf("copy to %s: %w", dst, err)
		}
		return nil
	}
	part := s.copyPart
	if least := (size + s3MaxParts - 1) / s3MaxParts; part < least {
		part = least
	}
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &dst})
	if err != nil {
		return fmt.Errorf("multipart copy to %s: %w", dst, err)
	}
	var parts []types.CompletedPart
	for off, num := int64(0), int32(1); off < size; off, num = off+part, num+1 {
		end := min(off+part, size) - 1
		out, err := s.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:          &s.bucket,
			Key:             &dst,
			UploadId:        created.UploadId,
			PartNumber:      aws.Int32(num),
			CopySource:      s.copySource(src),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err == nil && out.CopyPartResult == nil {
			err = errors.New("server returned no CopyPartResult")
		}
		if err != nil {
			cctx, cancel := cleanupContext(ctx)
			defer cancel()
			s.client.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &dst, UploadId: created.UploadId})
			return fmt.Errorf("multipart copy to %s, part %d: %w", dst, num, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.CopyPartResult.ETag})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &dst, UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		s.client.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &dst, UploadId: created.UploadId})
		return fmt.Errorf("multipart copy to %s: complete: %w", dst, err)
	}
	return nil
}

// Open implements Store. The reader fetches bytes lazily with ranged GETs:
// Seek costs nothing, and a Read after a Seek asks only for the bytes from
// there on (in growing windows), so http.ServeContent serving a Range
// request downloads about what it sends. The reader issues its requests
// with ctx.
func (s *S3) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	size, err := s.Stat(ctx, digest)
	if err != nil {
		return nil, 0, err
	}
	return &s3Reader{ctx: ctx, s: s, key: s.Key(digest), digest: digest, size: size}, size, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, digest string) (int64, error) {
	if err := checkDigest(digest); err != nil {
		return 0, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.Key(digest))})
	if err != nil {
		return 0, s3NotFound(digest, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, digest string) error {
	if _, err := s.Stat(ctx, digest); err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.Key(digest))}); err != nil {
		return s3NotFound(digest, err)
	}
	return nil
}

// CleanupTemp removes what Puts killed midway left under Prefix+"tmp/":
// temporary objects and incomplete multipart uploads started more than
// olderThan ago. Pick olderThan well above the longest upload (an hour, a
// day): younger ones may belong to a Put still running. It returns how many
// objects and uploads it removed.
func (s *S3) CleanupTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.tmpPrefix())})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return removed, fmt.Errorf("blob: s3: list %s: %w", s.tmpPrefix(), err)
		}
		for _, o := range page.Contents {
			if o.LastModified == nil || !o.LastModified.Before(cutoff) {
				continue
			}
			if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: o.Key}); err != nil && httpStatus(err) != http.StatusNotFound {
				return removed, fmt.Errorf("blob: s3: delete %s: %w", aws.ToString(o.Key), err)
			}
			removed++
		}
	}
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(s.tmpPrefix())}
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return removed, fmt.Errorf("blob: s3: list multipart uploads under %s: %w", s.tmpPrefix(), err)
		}
		for _, u := range page.Uploads {
			if u.Initiated == nil || !u.Initiated.Before(cutoff) {
				continue
			}
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId}); err != nil && httpStatus(err) != http.StatusNotFound {
				return removed, fmt.Errorf("blob: s3: abort upload of %s: %w", aws.ToString(u.Key), err)
			}
			removed++
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	return removed, nil
}

// httpStatus returns the HTTP status of a failed S3 call, 0 if there was no
// response (connection refused, DNS, cancelled).
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchBucket", "NoSuchUpload":
			return http.StatusNotFound
		}
	}
	return 0
}

func s3NotFound(digest string, err error) error {
	if httpStatus(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return fmt.Errorf("blob: %s: %w", digest, err)
}

// s3Reader reads an object with lazy ranged GETs.
type s3Reader struct {
	ctx    context.Context
	s      *S3
	key    string
	digest string
	size   int64
	off    int64 // next byte Read returns

	body    io.ReadCloser // the open GET, if any
	bodyOff int64         // offset of the next byte body yields
	bodyEnd int64         // end (exclusive) of the range body was asked for
	window  int64         // size of the last range asked for
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body == nil || r.bodyOff != r.off || r.bodyOff >= r.bodyEnd {
		sequential := r.body != nil && r.bodyOff == r.off
		r.closeBody()
		if sequential {
			r.window = min(2*r.window, readWindowMax)
		} else {
			r.window = readWindowMin
		}
		end := min(r.off+r.window, r.size)
		out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: &r.s.bucket,
			Key:    &r.key,
			Range:  aws.String(fmt.Sprintf("bytes=%d-%d", r.off, end-1)),
		})
		if err != nil {
			return 0, s3NotFound(r.digest, err)
		}
		r.body, r.bodyOff, r.bodyEnd = out.Body, r.off, end
	}
	if rest := r.bodyEnd - r.bodyOff; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if err == io.EOF {
		if r.bodyOff < r.bodyEnd {
			return n, fmt.Errorf("blob: %s: object ended at %d, want %d: %w", r.digest, r.bodyOff, r.bodyEnd, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	if err != nil {
		return n, fmt.Errorf("blob: read %s: %w", r.digest, err)
	}
	return n, nil
}

func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	offset, err := seekOffset(r.off, r.size, offset, whence)
	if err != nil {
		return 0, err
	}
	// The open GET stays until a Read needs another position.
	r.off = offset
	return offset, nil
}

func (r *s3Reader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

func (r *s3Reader) Close() error {
	r.closeBody()
	return nil
}

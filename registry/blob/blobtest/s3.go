package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aigis-sec/aigis/registry/blob"
)

// The S3 tests' server is configured by environment variables, which
// eval "$(.ci/versitygw.sh)" sets:
//
//	AIGIS_TEST_S3_ENDPOINT    the server's URL; without it S3 tests skip
//	AIGIS_TEST_S3_ACCESS_KEY  credentials
//	AIGIS_TEST_S3_SECRET_KEY
//	AIGIS_TEST_S3_BUCKET      optional: a bucket to share instead of one
//	                          created per test (each test uses its own prefix)

// S3Env returns the test server's endpoint and credentials, or skips tb.
func S3Env(tb testing.TB) (endpoint, access, secret string) {
	tb.Helper()
	endpoint = os.Getenv("AIGIS_TEST_S3_ENDPOINT")
	if endpoint == "" {
		tb.Skip(`no S3 server: run eval "$(.ci/versitygw.sh)" to start one and set AIGIS_TEST_S3_ENDPOINT`)
	}
	return endpoint, os.Getenv("AIGIS_TEST_S3_ACCESS_KEY"), os.Getenv("AIGIS_TEST_S3_SECRET_KEY")
}

// S3Client returns a plain SDK client of the test server, for inspecting
// the bucket behind a store.
func S3Client(tb testing.TB) *s3.Client {
	tb.Helper()
	endpoint, access, secret := S3Env(tb)
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),

		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// S3Bucket returns AIGIS_TEST_S3_BUCKET, or creates a bucket for tb and
// removes it (with its objects and unfinished uploads) when tb ends.
func S3Bucket(tb testing.TB) string {
	tb.Helper()
	if b := os.Getenv("AIGIS_TEST_S3_BUCKET"); b != "" {
		return b
	}
	c := S3Client(tb)
	bucket := "aigis-test-" + randomHex(6)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		tb.Fatalf("create bucket: %v", err)
	}
	tb.Cleanup(func() {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				tb.Errorf("list %s: %v", bucket, err)
				break
			}
			for _, o := range page.Contents {
				c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
			}
		}
		ups, _ := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if ups != nil {
			for _, u := range ups.Uploads {
				c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
			}
		}
		if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
			tb.Logf("delete bucket %s: %v", bucket, err)
		}
	})
	return bucket
}

// S3Config returns the configuration of an empty store on the test server:
// a fresh bucket (S3Bucket) and a fresh prefix in it.
func S3Config(tb testing.TB) blob.S3Config {
	tb.Helper()
	endpoint, access, secret := S3Env(tb)
	return blob.S3Config{
		Endpoint:  endpoint,
		Bucket:    S3Bucket(tb),
		Prefix:    "aigis-" + randomHex(4) + "/",
		AccessKey: access,
		SecretKey: secret,
		PathStyle: true,
	}
}

// S3FromEnv opens an empty S3 store on the test server (S3Config), or
// skips tb when no server is configured.
func S3FromEnv(tb testing.TB) blob.Store {
	tb.Helper()
	s, err := blob.NewS3(context.Background(), S3Config(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

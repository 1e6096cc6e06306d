// Package testbackend opens the shared backends tests run against: a fresh
// PostgreSQL schema (AIGIS_TEST_POSTGRES_URL, see .ci/postgres.sh) and a
// fresh bucket on an S3 server (AIGIS_TEST_S3_ENDPOINT, see
// .ci/versitygw.sh). Each is removed when the test ends.
package testbackend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/store"
)

func suffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Postgres opens a store in a new schema of AIGIS_TEST_POSTGRES_URL.
func Postgres(tb testing.TB) store.Store {
	tb.Helper()
	base := os.Getenv("AIGIS_TEST_POSTGRES_URL")
	if base == "" {
		tb.Fatal("AIGIS_TEST_POSTGRES_URL is not set (eval \"$(.ci/postgres.sh)\")")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	schema := "aigis_srv_" + suffix()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := store.OpenPostgres(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// S3 opens a blob store on a new bucket of AIGIS_TEST_S3_ENDPOINT.
func S3(tb testing.TB) blob.Store {
	tb.Helper()
	endpoint := os.Getenv("AIGIS_TEST_S3_ENDPOINT")
	if endpoint == "" {
		tb.Fatal("AIGIS_TEST_S3_ENDPOINT is not set (eval \"$(.ci/versitygw.sh)\")")
	}
	access, secret := os.Getenv("AIGIS_TEST_S3_ACCESS_KEY"), os.Getenv("AIGIS_TEST_S3_SECRET_KEY")
	c := s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
	ctx := context.Background()
	bucket := "aigis-srv-" + suffix()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		tb.Fatalf("create bucket: %v", err)
	}
	tb.Cleanup(func() {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				break
			}
			for _, o := range page.Contents {
				c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key})
			}
		}
		c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
	})
	bs, err := blob.NewS3(ctx, blob.S3Config{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret, PathStyle: true})
	if err != nil {
		tb.Fatal(err)
	}
	return bs
}

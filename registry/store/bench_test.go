package store_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/registry/store"
)

const benchFiles = 100_000

func benchStore(b *testing.B) *store.SQLite {
	b.Helper()
	s, err := store.OpenSQLite(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := b.Context()
	if err := s.PutRepo(ctx, store.Repo{ID: "org/big", Type: store.Dataset, Source: store.Upstream}); err != nil {
		b.Fatal(err)
	}
	if err := s.PutRevision(ctx, store.Revision{RepoID: "org/big", Commit: "c0"}); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchFile(i int) store.File {
	return store.File{RepoID: "org/big", Commit: "c0", Path: fmt.Sprintf("data/train/%03d/shard-%06d.parquet", i%1000, i),
		Size: int64(i), SHA256: fmt.Sprintf("%064x", i), BlobSHA1: fmt.Sprintf("%040x", i), LFS: true}
}

// BenchmarkPutFile records one file per op into a revision that grows to
// b.N files (run with -benchtime=100000x for the 100k-file case).
func BenchmarkPutFile(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		if err := s.PutFile(ctx, benchFile(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListFiles lists a 100k-file revision page by page, as
// huggingface_hub's list_repo_tree does. One op is one page of 1000.
func BenchmarkListFiles(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	for i := range benchFiles {
		if err := s.PutFile(ctx, benchFile(i)); err != nil {
			b.Fatal(err)
		}
	}
	for _, prefix := range []string{"", "data/train/500/"} {
		b.Run("prefix="+prefix, func(b *testing.B) {
			cursor := ""
			for b.Loop() {
				page, next, err := s.ListFiles(ctx, "org/big", "c0", prefix, cursor, store.DefaultListLimit)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					b.Fatal("empty page")
				}
				cursor = next // wrap to the first page at the end
			}
		})
	}
}

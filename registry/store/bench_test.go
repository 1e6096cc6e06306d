package store_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

const benchFiles = 100_000

// benchBackends runs fn on SQLite, and on PostgreSQL when
// AIGIS_TEST_POSTGRES_URL is set.
func benchBackends(b *testing.B, fn func(b *testing.B, s store.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := store.OpenSQLite(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		fn(b, storetest.PostgresFromEnv(b))
	})
}

func benchRevision(b *testing.B, s store.Store, commit string) {
	b.Helper()
	ctx := b.Context()
	if err := s.PutRepo(ctx, store.Repo{ID: "datasets/org/big", Type: store.Dataset, Source: store.Upstream}); err != nil {
		b.Fatal(err)
	}
	if err := s.PutRevision(ctx, store.Revision{RepoID: "datasets/org/big", Commit: commit}); err != nil {
		b.Fatal(err)
	}
}

func benchFile(commit string, i int) store.File {
	return store.File{RepoID: "datasets/org/big", Commit: commit, Path: fmt.Sprintf("data/train/%03d/shard-%06d.parquet", i%1000, i),
		Size: int64(i), SHA256: fmt.Sprintf("%064x", i), BlobSHA1: fmt.Sprintf("%040x", i), LFS: true}
}

// BenchmarkPutFile records one file per op into a revision that grows to
// b.N files.
func BenchmarkPutFile(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		benchRevision(b, s, "c0")
		ctx := b.Context()
		for i := 0; b.Loop(); i++ {
			if err := s.PutFile(ctx, benchFile("c0", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPutFiles10k records the tree of a 10,000-file revision in one
// call per op, as ingesting a large dataset does.
func BenchmarkPutFiles10k(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		for n := 0; b.Loop(); n++ {
			b.StopTimer()
			commit := fmt.Sprintf("%040d", n)
			benchRevision(b, s, commit)
			files := make([]store.File, 10_000)
			for i := range files {
				files[i] = benchFile(commit, i)
			}
			b.StartTimer()
			if err := s.PutFiles(ctx, files); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10_000, "µs/file")
	})
}

// BenchmarkListFiles lists a 100k-file revision page by page, as
// huggingface_hub's list_repo_tree does. One op is one page of 1000.
func BenchmarkListFiles(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		benchRevision(b, s, "c0")
		files := make([]store.File, benchFiles)
		for i := range files {
			files[i] = benchFile("c0", i)
		}
		if err := s.PutFiles(ctx, files); err != nil {
			b.Fatal(err)
		}
		for _, prefix := range []string{"", "data/train/500/"} {
			b.Run("prefix="+prefix, func(b *testing.B) {
				cursor := ""
				for b.Loop() {
					page, next, err := s.ListFiles(ctx, "datasets/org/big", "c0", prefix, cursor, store.DefaultListLimit)
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
	})
}

// BenchmarkJobCycle is one job's trip through the queue per op: enqueue,
// claim, finish. "serial" is one worker; "parallel" is 8 workers on one
// store, contending for the queue.
func BenchmarkJobCycle(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		var seq atomic.Int64
		cycle := func(worker string) error {
			n := seq.Add(1)
			if _, err := s.EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: "models/org/m", Commit: fmt.Sprintf("%040d", n)}); err != nil {
				return err
			}
			j, err := s.ClaimJob(ctx, worker, time.Minute)
			if err != nil || j == nil { // nil: another worker took it; it claims ours
				return err
			}
			return s.FinishJob(ctx, j.ID, worker, nil)
		}
		b.Run("serial", func(b *testing.B) {
			for b.Loop() {
				if err := cycle("w"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			var workers atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS workers
			b.RunParallel(func(pb *testing.PB) {
				worker := fmt.Sprintf("w%d", workers.Add(1))
				for pb.Next() {
					if err := cycle(worker); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
				}
			})
		})
	})
}

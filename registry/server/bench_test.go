package server

import (
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"testing"

	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/store"
)

// BenchmarkMaterialize lays out a revision with one 256 MiB file for the
// scanner: hard links into the filesystem store (hashed in place to check
// the store), against copies out of a store without local files (the
// encrypted wrapper).
func BenchmarkMaterialize(b *testing.B) {
	const size = 256 << 20
	for _, c := range []struct {
		name    string
		encrypt bool
	}{{"link", false}, {"copy", true}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			st, err := store.OpenSQLite(filepath.Join(dir, "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var bs blob.Store
			fs, err := blob.NewFS(filepath.Join(dir, "blobs"))
			if err != nil {
				b.Fatal(err)
			}
			bs = fs
			if c.encrypt {
				key := make([]byte, 32)
				rand.Read(key)
				if bs, err = blob.NewEncrypted(fs, key); err != nil {
					b.Fatal(err)
				}
			}
			s := &Server{cfg: Config{Store: st, Blobs: bs, WorkDir: filepath.Join(dir, "work")}}
			ctx := context.Background()
			ref, err := bs.Put(ctx, io.LimitReader(rand.Reader, size))
			if err != nil {
				b.Fatal(err)
			}
			const key, commit = "models/acme/m", "0123456789abcdef0123456789abcdef01234567"
			st.PutRepo(ctx, store.Repo{ID: key, Type: store.Model, Source: store.Internal})
			st.PutRevision(ctx, store.Revision{RepoID: key, Commit: commit})
			st.PutFile(ctx, store.File{RepoID: key, Commit: commit, Path: "model.bin", Size: size, SHA256: ref.SHA256, BlobSHA1: ref.SHA256[:40], LFS: true})
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, _, cleanup, err := s.materialize(ctx, key, commit)
				if err != nil {
					b.Fatal(err)
				}
				cleanup()
			}
		})
	}
}

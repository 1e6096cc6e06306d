package audit

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

// sharedBackends opens two handles on one database, as two processes
// would: SQLite always, PostgreSQL when AIGIS_TEST_POSTGRES_URL is set.
func sharedBackends(t *testing.T) (map[string][2]Backend, string) {
	out := map[string][2]Backend{}
	path := filepath.Join(t.TempDir(), "aigis.db")
	var two [2]Backend
	for i := range two {
		s, err := store.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		two[i] = s
	}
	out["sqlite"] = two
	if os.Getenv("AIGIS_TEST_POSTGRES_URL") != "" {
		url := storetest.PostgresURL(t)
		out["postgres"] = [2]Backend{storetest.OpenPostgres(t, url), storetest.OpenPostgres(t, url)}
	}
	return out, path
}

// TestSharedLog: two handles append concurrently to one database log; every
// index is handed out once, the tree equals a directory log of the same
// entries, checkpoints and inclusion proofs check, and VerifyBackend finds
// a changed record.
func TestSharedLog(t *testing.T) {
	k := newKeys(t, "test/shared")
	backends, sqlitePath := sharedBackends(t)
	for name, bs := range backends {
		t.Run(name, func(t *testing.T) {
			logs := [2]*Shared{NewShared(bs[0], k.signer), NewShared(bs[1], k.signer)}
			const n = 60
			var mu sync.Mutex
			seen := map[int64]Entry{}
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < n; i += 2 {
						e := entry(i)
						idx, err := logs[w].Append(e)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						if _, dup := seen[idx]; dup {
							t.Errorf("index %d handed out twice", idx)
						}
						seen[idx] = e
						mu.Unlock()
					}
				}(w)
			}
			wg.Wait()
			if logs[0].Size() != n || len(seen) != n {
				t.Fatalf("size %d, %d indexes, want %d", logs[0].Size(), len(seen), n)
			}
			// The same entries in the same order in a directory log give
			// the same tree.
			dl, err := Open(t.TempDir(), k.signer)
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			for i := int64(0); i < n; i++ {
				got, err := logs[1].Entry(i)
				if err != nil || got.Subject != seen[i].Subject {
					t.Fatalf("entry %d = %+v, %v", i, got, err)
				}
				if _, err := dl.Append(seen[i]); err != nil {
					t.Fatal(err)
				}
			}
			r1, _ := logs[0].TreeHash(n)
			r2, _ := dl.TreeHash(n)
			if r1 != r2 {
				t.Errorf("shared root %s, directory root %s", r1, r2)
			}
			cp, err := logs[1].Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			proof, err := logs[0].InclusionProof(17, n)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := seen[17].Encode()
			if err := tlog.CheckRecord(proof, n, r1, 17, tlog.RecordHash(rec)); err != nil {
				t.Errorf("inclusion proof: %v", err)
			}
			rep, err := VerifyBackend(context.Background(), bs[0], k.verifier, [][]byte{cp})
			if err != nil || !rep.OK() || rep.Size != n {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
			if name != "sqlite" {
				return
			}
			// Change one record behind the log's back.
			db, err := sql.Open("sqlite", sqlitePath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE audit_records SET body = ? WHERE idx = 23`, []byte(`{"action":"x"}`)); err != nil {
				t.Fatal(err)
			}
			rep, err = VerifyBackend(context.Background(), bs[0], k.verifier, [][]byte{cp})
			if err != nil || rep.OK() || !hasProblem(rep, KindChanged, 23) {
				t.Errorf("verify after a change at 23: %+v, %v", rep, err)
			}
			if _, err := logs[0].Entry(23); err == nil {
				t.Error("Entry returned a changed record")
			}
		})
	}
}

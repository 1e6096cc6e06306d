package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

// postgresURL returns a URL of an empty schema of the test database, dropped
// when the test ends. It skips the test when no database is configured.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("AIGIS_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("set AIGIS_TEST_POSTGRES_URL (see .ci/postgres.sh)")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	admin := openAdmin(tb, base)
	var b [6]byte
	rand.Read(b[:])
	schema := "aigis_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.Background())
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close(context.Background())
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openAdmin connects to url for statements the store does not offer.
func openAdmin(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatalf("connect to AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	return c
}

func openPostgresAt(tb testing.TB, url string) *store.Postgres {
	tb.Helper()
	s, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	return s
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	return openPostgresAt(t, postgresURL(t))
}

func TestPostgresContract(t *testing.T) {
	storetest.TestContract(t, openPostgres)
}

// Servers starting together migrate the database once, and every one of
// them then works.
func TestPostgresConcurrentOpen(t *testing.T) {
	url := postgresURL(t)
	const n = 6
	stores := make([]*store.Postgres, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = store.OpenPostgres(t.Context(), url)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	for i, s := range stores {
		id := fmt.Sprintf("models/org/m%d", i)
		if err := s.PutRepo(t.Context(), store.Repo{ID: id, Type: store.Model, Source: store.Upstream}); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	repos, _, err := stores[0].ListRepos(t.Context(), "", 0)
	if err != nil || len(repos) != n {
		t.Fatalf("ListRepos = %d repos, %v; want %d", len(repos), err, n)
	}
	admin := openAdmin(t, url)
	defer admin.Close(context.Background())
	var rows, versions, latest int
	err = admin.QueryRow(t.Context(), "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_version").Scan(&rows, &versions, &latest)
	if err != nil {
		t.Fatal(err)
	}
	if rows != versions || latest != versions {
		t.Fatalf("schema_version has %d rows for %d versions up to %d: a migration ran twice or was skipped", rows, versions, latest)
	}
}

// Workers in separate processes (here: separate connection pools) claim
// every job exactly once.
func TestPostgresConcurrentClaimAcrossHandles(t *testing.T) {
	url := postgresURL(t)
	const jobs, handles, perHandle = 200, 4, 3
	stores := make([]*store.Postgres, handles)
	for i := range stores {
		stores[i] = openPostgresAt(t, url)
	}
	ctx := t.Context()
	for i := range jobs {
		if _, err := stores[i%handles].EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: "models/org/m", Commit: fmt.Sprintf("%040d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
		errs    = make(chan error, handles*perHandle)
	)
	for h, s := range stores {
		for g := range perHandle {
			worker := fmt.Sprintf("h%d-g%d", h, g)
			wg.Go(func() {
				for {
					j, err := s.ClaimJob(ctx, worker, time.Minute)
					if err != nil {
						errs <- fmt.Errorf("%s: %w", worker, err)
						return
					}
					if j == nil {
						return
					}
					mu.Lock()
					prev, dup := claimed[j.ID]
					claimed[j.ID] = worker
					mu.Unlock()
					if dup {
						errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, worker)
						return
					}
					if err := s.FinishJob(ctx, j.ID, worker, nil); err != nil {
						errs <- fmt.Errorf("%s: %w", worker, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != jobs {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), jobs)
	}
	workers := map[string]bool{}
	for _, w := range claimed {
		workers[w] = true
	}
	t.Logf("%d jobs spread over %d workers", jobs, len(workers))
	done, err := stores[0].ListJobs(ctx, store.JobDone, store.MaxListLimit)
	if err != nil || len(done) != jobs {
		t.Fatalf("ListJobs(done) = %d, %v; want %d", len(done), err, jobs)
	}
}

func TestPostgresBadURL(t *testing.T) {
	_, err := store.OpenPostgres(t.Context(), "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("OpenPostgres to a closed port succeeded")
	}
	if s := err.Error(); strings.Contains(s, "hunter2") {
		t.Fatalf("error shows the password: %s", s)
	}
}

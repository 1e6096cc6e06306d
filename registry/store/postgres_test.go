package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

func TestPostgresContract(t *testing.T) {
	storetest.TestContract(t, func(t *testing.T) store.Store { return storetest.PostgresFromEnv(t) })
}

// Servers starting together migrate the database once, and every one of
// them then works.
func TestPostgresConcurrentOpen(t *testing.T) {
	url := storetest.PostgresURL(t)
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
	admin := storetest.PostgresAdmin(t, url)
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
	url := storetest.PostgresURL(t)
	const jobs, handles, perHandle = 200, 4, 3
	stores := make([]store.Store, handles)
	for i := range stores {
		stores[i] = storetest.OpenPostgres(t, url)
	}
	ctx := t.Context()
	for i := range jobs {
		if _, err := stores[i%handles].EnqueueJob(ctx, store.Job{Kind: "scan", RepoID: "models/org/m", Commit: fmt.Sprintf("%040d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	claimed := storetest.DrainJobs(t, stores, perHandle)
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

// Package storetest is the contract every store.Store must meet. Each
// backend (SQLite, later PostgreSQL) runs TestContract; open must return a
// fresh, empty store for each call.
package storetest

import (
	"testing"

	"github.com/aigis-sec/aigis/registry/store"
)

// TestContract checks the store.Store contract on stores made by open.
func TestContract(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Repos", func(t *testing.T) { testRepos(t, open(t)) })
}

func testRepos(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := store.Repo{ID: "org/model", Type: store.Model, Source: store.Upstream}
	if err := s.PutRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRepo(ctx, r.ID)
	if err != nil || got != r {
		t.Fatalf("GetRepo = %+v, %v; want %+v", got, err, r)
	}
}

package store_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := store.OpenSQLite(filepath.Join(t.TempDir(), "aigis.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) {
	storetest.TestContract(t, openSQLite)
}

// Reopening an existing database runs no migration twice and keeps data.
func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aigis.db")
	s, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.PutRepo(ctx, store.Repo{ID: "org/m", Type: store.Model, Source: store.Upstream}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetRepo(ctx, "org/m"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestSQLiteRejectsURIPaths(t *testing.T) {
	for _, p := range []string{"", "x.db?_pragma=foreign_keys(0)", "file:x.db"} {
		if _, err := store.OpenSQLite(p); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}

// A database migrated by a newer aigis is refused, not misread.
func TestSQLiteNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aigis.db")
	s, err := store.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = store.OpenSQLite(path)
	if err == nil || !strings.Contains(err.Error(), "newer than this aigis") {
		t.Fatalf("OpenSQLite(newer schema) = %v, want a refusal that says to upgrade", err)
	}
}

package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/aigis-sec/aigis/registry/store"
)

// PostgresURL returns the URL of a new, empty schema in the database named
// by AIGIS_TEST_POSTGRES_URL (eval "$(.ci/postgres.sh)" sets it); the
// schema is dropped when tb ends. It skips tb when the variable is unset.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("AIGIS_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("set AIGIS_TEST_POSTGRES_URL (see .ci/postgres.sh)")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	admin := PostgresAdmin(tb, base)
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

// PostgresAdmin connects to url for statements the store does not offer.
// The caller closes the connection.
func PostgresAdmin(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		tb.Fatalf("connect to AIGIS_TEST_POSTGRES_URL: %v", err)
	}
	return c
}

// OpenPostgres opens a store at url (a PostgresURL) and closes it when tb
// ends, before the schema is dropped.
func OpenPostgres(tb testing.TB, url string) *store.Postgres {
	tb.Helper()
	s, err := store.OpenPostgres(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// PostgresFromEnv opens a store in a new, empty schema of
// AIGIS_TEST_POSTGRES_URL, removed when tb ends; it skips tb when the
// variable is unset.
func PostgresFromEnv(tb testing.TB) store.Store {
	tb.Helper()
	return OpenPostgres(tb, PostgresURL(tb))
}

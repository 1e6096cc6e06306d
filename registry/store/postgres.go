package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres is the Store for deployments that run several servers and scan
// workers: the schema of SQLite in PostgreSQL's dialect (BIGINT nanosecond
// times, text in COLLATE "C" so that listings page in the same byte order).
// Concurrent ClaimJob calls pass over each other's rows with FOR UPDATE
// SKIP LOCKED; transactions the server aborts (deadlock, serialization
// failure) are retried.
type Postgres struct {
	sqlStore
}

var _ Store = (*Postgres)(nil)

// pgMaxOpenConns bounds the connections one Postgres opens.
const pgMaxOpenConns = 20

// PostgreSQL error codes the store branches on.
const (
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// pgMigrationLock is the pg_advisory_xact_lock key that serialises
// migrations of concurrent OpenPostgres calls ("aigis" + 1).
const pgMigrationLock int64 = 0x6169676973_01

// pgAuditLock serialises appends to the audit log ("aigis" + 2).
const pgAuditLock int64 = 0x6169676973_02

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

var postgresDialect = &dialect{
	name:       "postgres",
	dollar:     true,
	skipLocked: " FOR UPDATE SKIP LOCKED",
	auditLock:  fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", pgAuditLock),
	foreignKey: func(err error) bool { return pgCode(err) == pgForeignKeyViolation },
	retry: func(err error) bool {
		c := pgCode(err)
		return c == pgSerializationFailure || c == pgDeadlockDetected
	},
}

// OpenPostgres connects to the database at url (a postgres:// URL or a
// key=value connection string, as libpq and pgx read them) and brings its
// schema up to date. Tables are created in the first schema of the
// connection's search_path; a search_path parameter in the URL chooses
// another. Concurrent opens of one database migrate it once.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db := sql.OpenDB(&pgConnector{cfg})
	// database/sql keeps only 2 idle connections by default, so under load
	// every other query would dial again; and it opens any number, which
	// would exhaust the server's max_connections (100 by default) shared
	// by every server and worker.
	db.SetMaxOpenConns(pgMaxOpenConns)
	db.SetMaxIdleConns(pgMaxOpenConns / 2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: connect: %w (check the URL, that the server is up and that it accepts this user)", err)
	}
	s := &Postgres{sqlStore{db: db, d: postgresDialect}}
	lock := fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", pgMigrationLock)
	if err := s.migrate(ctx, postgresSchema, lock); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

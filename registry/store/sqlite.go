package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// SQLite is the embedded Store: one database file in WAL mode, so readers
// never block the single writer. Write transactions begin IMMEDIATE (they
// take the write lock up front), and a busy timeout makes concurrent writers
// wait instead of failing.
type SQLite struct {
	sqlStore
}

var _ Store = (*SQLite)(nil)

// busyTimeout is how long a writer waits for the lock before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// sqliteForeignKey is SQLITE_CONSTRAINT_FOREIGNKEY.
const sqliteForeignKey = 787

var sqliteDialect = &dialect{
	name: "sqlite",
	foreignKey: func(err error) bool {
		var coded interface{ Code() int }
		return errors.As(err, &coded) && coded.Code() == sqliteForeignKey
	},
	// IMMEDIATE transactions and the busy timeout leave nothing to retry.
	retry: func(error) bool { return false },
}

// OpenSQLite opens (creating if needed) the database at path and brings its
// schema up to date.
func OpenSQLite(path string) (*SQLite, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: sqlite: unsupported database path %q: give a plain file path", path)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)") // durable across process crashes in WAL mode
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	s := &SQLite{sqlStore{db: db, d: sqliteDialect}}
	if err := s.migrate(context.Background(), sqliteSchema, ""); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

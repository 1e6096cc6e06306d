package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/jackc/pgx/v5"
)

// A database/sql connector over pgx.Conn: the part of pgx/v5/stdlib the
// store needs. (stdlib itself imports pgxpool and with it another module,
// github.com/jackc/puddle/v2; with that module in go.sum, OpenPostgres
// could use stdlib.OpenDB instead.) database/sql does the pooling.
//
// Statements go through pgx's default mode: prepared once per connection
// and cached, arguments sent in binary.
type pgConnector struct {
	cfg *pgx.ConnConfig
}

// errNoDSN: the connector is opened by OpenPostgres, never by name.
var errNoDSN = errors.New("store: postgres: open the database with store.OpenPostgres")

type pgDriver struct{}

func (pgDriver) Open(string) (driver.Conn, error) { return nil, errNoDSN }

func (c *pgConnector) Driver() driver.Driver { return pgDriver{} }

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, c.cfg.Copy())
	if err != nil {
		return nil, err
	}
	return &pgConn{conn}, nil
}

type pgConn struct {
	c *pgx.Conn
}

var (
	_ driver.ConnBeginTx            = (*pgConn)(nil)
	_ driver.ExecerContext          = (*pgConn)(nil)
	_ driver.QueryerContext         = (*pgConn)(nil)
	_ driver.Pinger                 = (*pgConn)(nil)
	_ driver.SessionResetter        = (*pgConn)(nil)
	_ driver.Validator              = (*pgConn)(nil)
	_ driver.NamedValueChecker      = (*pgConn)(nil)
	_ driver.RowsColumnTypeScanType = (*pgRows)(nil)
)

func (c *pgConn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("store: postgres: prepared statements are not used")
}

func (c *pgConn) Close() error { return c.c.Close(context.Background()) }

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var o pgx.TxOptions
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	switch opts.Isolation {
	case driver.IsolationLevel(0): // default: READ COMMITTED
	case 4: // sql.LevelRepeatableRead
		o.IsoLevel = pgx.RepeatableRead
	case 6: // sql.LevelSerializable
		o.IsoLevel = pgx.Serializable
	default:
		return nil, fmt.Errorf("store: postgres: isolation level %d is not supported", opts.Isolation)
	}
	tx, err := c.c.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return pgTx{tx}, nil
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Commit() error   { return t.tx.Commit(context.Background()) }
func (t pgTx) Rollback() error { return t.tx.Rollback(context.Background()) }

// CheckNamedValue passes every argument to pgx, which encodes the types
// the store uses (string, int64, int, bool).
func (c *pgConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func args(named []driver.NamedValue) []any {
	out := make([]any, len(named))
	for i, nv := range named {
		out[i] = nv.Value
	}
	return out
}

func (c *pgConn) ExecContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Result, error) {
	tag, err := c.c.Exec(ctx, query, args(named)...)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *pgConn) QueryContext(ctx context.Context, query string, named []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.c.Query(ctx, query, args(named)...)
	if err != nil {
		return nil, err
	}
	return &pgRows{rows: rows}, nil
}

func (c *pgConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

func (c *pgConn) ResetSession(context.Context) error {
	if c.c.IsClosed() {
		return driver.ErrBadConn
	}
	return nil
}

func (c *pgConn) IsValid() bool { return !c.c.IsClosed() }

type pgRows struct {
	rows pgx.Rows
	cols []string
}

func (r *pgRows) Columns() []string {
	if r.cols == nil {
		fds := r.rows.FieldDescriptions()
		r.cols = make([]string, len(fds))
		for i, fd := range fds {
			r.cols[i] = fd.Name
		}
	}
	return r.cols
}

func (r *pgRows) ColumnTypeScanType(int) reflect.Type { return reflect.TypeFor[any]() }

func (r *pgRows) Close() error {
	r.rows.Close()
	return r.rows.Err()
}

func (r *pgRows) Next(dest []driver.Value) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	vals, err := r.rows.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		switch v := v.(type) {
		case int16:
			dest[i] = int64(v)
		case int32:
			dest[i] = int64(v)
		case float32:
			dest[i] = float64(v)
		case nil, int64, float64, bool, string, []byte:
			dest[i] = v
		default:
			return fmt.Errorf("store: postgres: column %s: unexpected %T", r.Columns()[i], v)
		}
	}
	return nil
}

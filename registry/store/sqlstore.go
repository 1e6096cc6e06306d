package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
)

// sqlStore is the Store on database/sql shared by SQLite and PostgreSQL.
// Queries are written with ? placeholders and the SQL both understand
// (ON CONFLICT, RETURNING, partial indexes); the dialect fills in the rest.
type sqlStore struct {
	db *sql.DB
	d  *dialect
}

// dialect is what differs between the backends.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2, … instead of ?.
	dollar bool
	// skipLocked is appended to the SELECT that picks a job to claim.
	skipLocked string
	// foreignKey reports a foreign key violation: a row names a
	// repository or revision that does not exist.
	foreignKey func(error) bool
	// retry reports an error after which the whole transaction may be
	// run again (serialization failure, deadlock).
	retry func(error) bool
	// auditLock, run first in an audit append's transaction, serialises
	// appenders ("" where write transactions are serial already).
	auditLock string
}

// conn runs queries on a database or transaction, rewriting placeholders
// for the dialect.
type conn struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	d *dialect
}

// rebind numbers the placeholders for PostgreSQL. Every ? is a placeholder:
// the store's queries have no ? in literals or operators.
func (c conn) rebind(query string) string {
	if !c.d.dollar {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.rebind(query), args...)
}

func (c conn) row(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.rebind(query), args...)
}

func (s *sqlStore) c() conn { return conn{s.db, s.d} }

// maxTxAttempts bounds retries of a transaction the database aborted.
const maxTxAttempts = 5

// tx runs fn in a write transaction, again if the database aborted it for
// a reason worth retrying.
func (s *sqlStore) tx(ctx context.Context, fn func(conn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || attempt == maxTxAttempts || !(errors.Is(err, errRetry) || s.d.retry(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
}

func (s *sqlStore) tx1(ctx context.Context, fn func(conn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(conn{tx, s.d}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// migrate brings the schema up to date inside tx; lock, if not empty, is
// run first to serialise concurrent migrators.
func (s *sqlStore) migrate(ctx context.Context, schema *strings.Replacer, lock string) error {
	return s.tx(ctx, func(c conn) error {
		if lock != "" {
			if _, err := c.exec(ctx, lock); err != nil {
				return fmt.Errorf("store: migrate: lock: %w", err)
			}
		}
		if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		var v int
		if err := c.row(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("store: migrate: database schema version %d is newer than this aigis (%d): upgrade aigis", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := c.exec(ctx, schema.Replace(migrations[i])); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			if _, err := c.exec(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
		}
		return nil
	})
}

// missingParent turns a foreign key violation into ErrNotFound: the row
// refers to a repository or revision that was never recorded.
func (s *sqlStore) missingParent(op string, err error) error {
	if s.d.foreignKey(err) {
		return fmt.Errorf("store: %s: %w (no such repository or revision)", clip(op), ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", clip(op), err)
}

func noRows(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", clip(op), ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", clip(op), err)
}

func notFound(op string) error { return fmt.Errorf("store: %s: %w", clip(op), ErrNotFound) }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// execOne runs an UPDATE or DELETE of one row: ErrNotFound when it changed
// none.
func (c conn) execOne(ctx context.Context, op, query string, args ...any) error {
	res, err := c.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

// clip shortens an operation's description for an error message: names
// come from upstream repositories and may be long.
func clip(op string) string {
	const max = 300
	if len(op) <= max {
		return op
	}
	return strings.ToValidUTF8(op[:max], "") + "…"
}

// checkText returns ErrInvalid if any field cannot be stored as text.
func checkText(op string, fields ...string) error {
	for _, f := range fields {
		if !validText(f) {
			return fmt.Errorf("store: %s: %q is not UTF-8 text without NUL: %w", clip(op), clip(f), ErrInvalid)
		}
	}
	return nil
}

// keysValid reports whether lookup keys could name a stored row. Invalid
// ones cannot, and PostgreSQL would reject them with an error rather than
// find nothing.
func keysValid(keys ...string) bool {
	for _, k := range keys {
		if len(k) > MaxPathLen || !validText(k) {
			return false
		}
	}
	return true
}

func listLimit(limit int) int {
	if limit <= 0 {
		return DefaultListLimit
	}
	return min(limit, MaxListLimit)
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, err error, op string, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return out, nil
}

// Repositories.

// PutRepo implements Store.
func (s *sqlStore) PutRepo(ctx context.Context, r Repo) error {
	if err := CheckID("repository ID", r.ID); err != nil {
		return err
	}
	if (r.Type != Model && r.Type != Dataset) || (r.Source != Upstream && r.Source != Internal) {
		return fmt.Errorf("store: put repo %s: type %q, source %q: %w", r.ID, r.Type, r.Source, ErrInvalid)
	}
	_, err := s.c().exec(ctx, `
		INSERT INTO repos (id, type, source, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET type = excluded.type, source = excluded.source`,
		r.ID, string(r.Type), string(r.Source), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("store: put repo %s: %w", r.ID, err)
	}
	return nil
}

func scanRepo(row interface{ Scan(...any) error }) (Repo, error) {
	var r Repo
	var created int64
	err := row.Scan(&r.ID, &r.Type, &r.Source, &created)
	r.CreatedAt = fromNanos(created)
	return r, err
}

// GetRepo implements Store.
func (s *sqlStore) GetRepo(ctx context.Context, id string) (Repo, error) {
	op := "get repo " + id
	if !keysValid(id) {
		return Repo{}, notFound(op)
	}
	r, err := scanRepo(s.c().row(ctx, `SELECT id, type, source, created_at FROM repos WHERE id = ?`, id))
	if err != nil {
		return Repo{}, noRows(op, err)
	}
	return r, nil
}

// ListRepos implements Store.
func (s *sqlStore) ListRepos(ctx context.Context, cursor string, limit int) ([]Repo, string, error) {
	if err := checkText("list repos: cursor", cursor); err != nil {
		return nil, "", err
	}
	limit = listLimit(limit)
	rows, err := s.c().query(ctx, `SELECT id, type, source, created_at FROM repos WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit+1)
	repos, err := collect(rows, err, "list repos", func(r *sql.Rows) (Repo, error) { return scanRepo(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(repos) > limit {
		repos = repos[:limit]
		next = repos[limit-1].ID
	}
	return repos, next, nil
}

// Revisions.

// PutRevision implements Store.
func (s *sqlStore) PutRevision(ctx context.Context, r Revision) error {
	if err := CheckID("repository ID", r.RepoID); err != nil {
		return err
	}
	if err := CheckID("commit", r.Commit); err != nil {
		return err
	}
	if r.Ref != "" {
		if err := CheckID("ref", r.Ref); err != nil {
			return err
		}
	}
	op := "put revision " + r.RepoID + "@" + r.Commit
	if err := checkText(op, r.Reason, r.PolicyVersion, r.RulesetVersion, r.CreatedBy); err != nil {
		return err
	}
	if r.Status == "" {
		r.Status = Pending
	}
	if _, ok := transitions[r.Status]; !ok {
		return fmt.Errorf("store: %s: status %q: %w", op, r.Status, ErrInvalid)
	}
	now := time.Now()
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	return s.tx(ctx, func(c conn) error {
		// An existing revision keeps its status; only the ref moves.
		res, err := c.exec(ctx, `
			INSERT INTO revisions (repo_id, commit_sha, ref, status, reason, policy_version, ruleset_version,
				created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_id, commit_sha) DO NOTHING`,
			r.RepoID, r.Commit, r.Ref, string(r.Status), r.Reason, r.PolicyVersion, r.RulesetVersion,
			r.CreatedBy, now.UnixNano(), r.UpdatedAt.UnixNano())
		if err != nil {
			return s.missingParent(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if n == 1 {
			_, err = c.exec(ctx, `
				INSERT INTO status_history (repo_id, commit_sha, status, reason, policy_version, ruleset_version, actor, at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				r.RepoID, r.Commit, string(r.Status), r.Reason, r.PolicyVersion, r.RulesetVersion, r.CreatedBy, r.UpdatedAt.UnixNano())
		} else if r.Ref != "" {
			_, err = c.exec(ctx, `UPDATE revisions SET ref = ? WHERE repo_id = ? AND commit_sha = ?`, r.Ref, r.RepoID, r.Commit)
		}
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if r.Ref == "" {
			return nil
		}
		_, err = c.exec(ctx, `
			INSERT INTO refs (repo_id, ref, commit_sha, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (repo_id, ref) DO UPDATE SET commit_sha = excluded.commit_sha, updated_at = excluded.updated_at`,
			r.RepoID, r.Ref, r.Commit, now.UnixNano())
		if err != nil {
			return s.missingParent(op, err)
		}
		return nil
	})
}

const revisionColumns = `repo_id, commit_sha, ref, status, reason, policy_version, ruleset_version, created_by, created_at, updated_at`

func scanRevision(row interface{ Scan(...any) error }) (Revision, error) {
	var r Revision
	var created, updated int64
	err := row.Scan(&r.RepoID, &r.Commit, &r.Ref, &r.Status, &r.Reason, &r.PolicyVersion, &r.RulesetVersion,
		&r.CreatedBy, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return r, err
}

// GetRevision implements Store.
func (s *sqlStore) GetRevision(ctx context.Context, repoID, commit string) (Revision, error) {
	op := "get revision " + repoID + "@" + commit
	if !keysValid(repoID, commit) {
		return Revision{}, notFound(op)
	}
	r, err := scanRevision(s.c().row(ctx, `SELECT `+revisionColumns+` FROM revisions
		WHERE repo_id = ? AND commit_sha = ?`, repoID, commit))
	if err != nil {
		return Revision{}, noRows(op, err)
	}
	return r, nil
}

// ListRevisions implements Store.
func (s *sqlStore) ListRevisions(ctx context.Context, repoID string) ([]Revision, error) {
	if !keysValid(repoID) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT `+revisionColumns+` FROM revisions
		WHERE repo_id = ? ORDER BY created_at DESC, commit_sha DESC`, repoID)
	return collect(rows, err, "list revisions "+repoID, func(r *sql.Rows) (Revision, error) { return scanRevision(r) })
}

// ListRevisionsByStatus implements Store.
func (s *sqlStore) ListRevisionsByStatus(ctx context.Context, status Status, limit int) ([]Revision, error) {
	if _, ok := transitions[status]; !ok {
		return nil, fmt.Errorf("store: list revisions: status %q: %w", status, ErrInvalid)
	}
	rows, err := s.c().query(ctx, `SELECT `+revisionColumns+` FROM revisions
		WHERE status = ? ORDER BY updated_at, repo_id, commit_sha LIMIT ?`, string(status), listLimit(limit))
	return collect(rows, err, "list "+string(status)+" revisions", func(r *sql.Rows) (Revision, error) { return scanRevision(r) })
}

// ResolveRef implements Store.
func (s *sqlStore) ResolveRef(ctx context.Context, repoID, ref string) (string, error) {
	op := "resolve " + repoID + "@" + ref
	if !keysValid(repoID, ref) {
		return "", notFound(op)
	}
	var commit string
	err := s.c().row(ctx, `SELECT commit_sha FROM refs WHERE repo_id = ? AND ref = ?`, repoID, ref).Scan(&commit)
	if err != nil {
		return "", noRows(op, err)
	}
	return commit, nil
}

// ListRefs implements Store.
func (s *sqlStore) ListRefs(ctx context.Context, repoID string) ([]Ref, error) {
	if !keysValid(repoID) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT ref, commit_sha, updated_at FROM refs WHERE repo_id = ? ORDER BY ref`, repoID)
	return collect(rows, err, "list refs "+repoID, func(r *sql.Rows) (Ref, error) {
		var ref Ref
		var updated int64
		err := r.Scan(&ref.Name, &ref.Commit, &updated)
		ref.UpdatedAt = fromNanos(updated)
		return ref, err
	})
}

// DeleteRef implements Store.
func (s *sqlStore) DeleteRef(ctx context.Context, repoID, name string) error {
	op := "delete ref " + repoID + "@" + name
	if !keysValid(repoID, name) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `DELETE FROM refs WHERE repo_id = ? AND ref = ?`, repoID, name)
}

// Status.

// transitionsTo lists the statuses from which status may be reached.
func transitionsTo(status Status) []any {
	var from []any
	for s := range transitions {
		if CanTransition(s, status) {
			from = append(from, string(s))
		}
	}
	return from
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// SetStatus implements Store. The transition check and the update are one
// statement (the current status must be one that may move to the new one),
// so concurrent changes cannot both pass the check.
func (s *sqlStore) SetStatus(ctx context.Context, ch StatusChange) error {
	op := "set status " + ch.RepoID + "@" + ch.Commit
	if !keysValid(ch.RepoID, ch.Commit) {
		return notFound(op)
	}
	if err := checkText(op, ch.Reason, ch.PolicyVersion, ch.RulesetVersion, ch.Actor); err != nil {
		return err
	}
	from := transitionsTo(ch.Status)
	if len(from) == 0 {
		return fmt.Errorf("store: %s: unknown status %q: %w", op, ch.Status, ErrInvalidTransition)
	}
	now := time.Now().UnixNano()
	return s.tx(ctx, func(c conn) error {
		args := append([]any{string(ch.Status), ch.Reason, ch.PolicyVersion, ch.RulesetVersion, now, ch.RepoID, ch.Commit}, from...)
		res, err := c.exec(ctx, `
			UPDATE revisions SET status = ?, reason = ?, policy_version = ?, ruleset_version = ?, updated_at = ?
			WHERE repo_id = ? AND commit_sha = ? AND status IN (`+placeholders(len(from))+`)`, args...)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		} else if n == 0 {
			var cur Status
			err := c.row(ctx, `SELECT status FROM revisions WHERE repo_id = ? AND commit_sha = ?`, ch.RepoID, ch.Commit).Scan(&cur)
			if err != nil {
				return noRows(op, err)
			}
			return fmt.Errorf("store: %s: %s -> %s: %w", op, cur, ch.Status, ErrInvalidTransition)
		}
		_, err = c.exec(ctx, `
			INSERT INTO status_history (repo_id, commit_sha, status, reason, policy_version, ruleset_version, actor, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ch.RepoID, ch.Commit, string(ch.Status), ch.Reason, ch.PolicyVersion, ch.RulesetVersion, ch.Actor, now)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return nil
	})
}

// StatusHistory implements Store.
func (s *sqlStore) StatusHistory(ctx context.Context, repoID, commit string) ([]StatusChange, error) {
	if !keysValid(repoID, commit) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `
		SELECT status, reason, policy_version, ruleset_version, actor, at FROM status_history
		WHERE repo_id = ? AND commit_sha = ? ORDER BY id`, repoID, commit)
	return collect(rows, err, "status history "+repoID+"@"+commit, func(r *sql.Rows) (StatusChange, error) {
		ch := StatusChange{RepoID: repoID, Commit: commit}
		var at int64
		err := r.Scan(&ch.Status, &ch.Reason, &ch.PolicyVersion, &ch.RulesetVersion, &ch.Actor, &at)
		ch.At = fromNanos(at)
		return ch, err
	})
}

// Files.

func checkFile(f File) error {
	op := clip("put file " + f.RepoID + "@" + f.Commit + ":" + f.Path)
	switch {
	case f.RepoID == "" || f.Commit == "" || f.Path == "" || f.Size < 0:
		return fmt.Errorf("store: %s: size %d: repository, commit and path are required, size must not be negative: %w", op, f.Size, ErrInvalid)
	case len(f.Path) > MaxPathLen:
		return fmt.Errorf("store: %s: path of %d bytes, longer than %d: %w", op, len(f.Path), MaxPathLen, ErrInvalid)
	case len(f.SHA256) > MaxIDLen || len(f.BlobSHA1) > MaxIDLen:
		return fmt.Errorf("store: %s: digest longer than %d bytes: %w", op, MaxIDLen, ErrInvalid)
	}
	return checkText(op, f.RepoID, f.Commit, f.Path, f.SHA256, f.BlobSHA1)
}

// checkLen returns ErrInvalid if any of the fields is longer than MaxIDLen.
func checkLen(op string, fields ...string) error {
	for _, f := range fields {
		if len(f) > MaxIDLen {
			return fmt.Errorf("store: %s: a key of %d bytes, longer than %d: %w", op, len(f), MaxIDLen, ErrInvalid)
		}
	}
	return nil
}

// PutFile implements Store.
func (s *sqlStore) PutFile(ctx context.Context, f File) error {
	return s.PutFiles(ctx, []File{f})
}

// filesPerInsert bounds the rows of one INSERT (7 parameters each; SQLite
// allows 32766 parameters, PostgreSQL 65535).
const filesPerInsert = 500

// PutFiles implements Store.
func (s *sqlStore) PutFiles(ctx context.Context, files []File) error {
	if len(files) == 0 {
		return nil
	}
	for _, f := range files {
		if err := checkFile(f); err != nil {
			return err
		}
	}
	// One statement must not touch a row twice (PostgreSQL refuses): keep
	// the last of each path.
	type key struct{ repo, commit, path string }
	last := make(map[key]int, len(files))
	for i, f := range files {
		last[key{f.RepoID, f.Commit, f.Path}] = i
	}
	uniq := files
	if len(last) != len(files) {
		uniq = make([]File, 0, len(last))
		for i, f := range files {
			if last[key{f.RepoID, f.Commit, f.Path}] == i {
				uniq = append(uniq, f)
			}
		}
	}
	// Rows in key order: concurrent batches that overlap lock them in the
	// same order and cannot deadlock.
	if len(uniq) > 1 {
		if &uniq[0] == &files[0] {
			uniq = append([]File(nil), files...)
		}
		slices.SortFunc(uniq, func(a, b File) int {
			return cmp.Or(strings.Compare(a.RepoID, b.RepoID), strings.Compare(a.Commit, b.Commit), strings.Compare(a.Path, b.Path))
		})
	}
	op := fmt.Sprintf("put %d files", len(uniq))
	if len(uniq) == 1 {
		op = clip("put file " + uniq[0].RepoID + "@" + uniq[0].Commit + ":" + uniq[0].Path)
	}
	return s.tx(ctx, func(c conn) error {
		for len(uniq) > 0 {
			batch := uniq[:min(len(uniq), filesPerInsert)]
			uniq = uniq[len(batch):]
			args := make([]any, 0, 7*len(batch))
			for _, f := range batch {
				args = append(args, f.RepoID, f.Commit, f.Path, f.Size, f.SHA256, f.BlobSHA1, f.LFS)
			}
			values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(batch)), ", ")
			_, err := c.exec(ctx, `
				INSERT INTO files (repo_id, commit_sha, path, size, sha256, blob_sha1, lfs) VALUES `+values+`
				ON CONFLICT (repo_id, commit_sha, path) DO UPDATE SET
					size = excluded.size, sha256 = excluded.sha256, blob_sha1 = excluded.blob_sha1, lfs = excluded.lfs`,
				args...)
			if err != nil {
				return s.missingParent(op, err)
			}
		}
		return nil
	})
}

// prefixEnd returns the least string greater than every string with the
// given prefix, or "" if there is none. It works on runes, not bytes, so
// the bound is valid UTF-8 (PostgreSQL rejects anything else); for valid
// UTF-8, byte order and code point order agree.
func prefixEnd(prefix string) string {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		if r == utf8.MaxRune {
			continue
		}
		r++
		if r >= 0xD800 && r <= 0xDFFF { // surrogates are not runes
			r = 0xE000
		}
		return prefix + string(r)
	}
	return ""
}

// ListFiles implements Store.
func (s *sqlStore) ListFiles(ctx context.Context, repoID, commit, prefix, cursor string, limit int) ([]File, string, error) {
	op := "list files " + repoID + "@" + commit
	if err := checkText(op, prefix, cursor); err != nil {
		return nil, "", err
	}
	if !keysValid(repoID, commit) {
		return nil, "", nil
	}
	limit = listLimit(limit)
	// One lower bound, not two: SQLite uses only one of "path > cursor" and
	// "path >= prefix" to seek the index, and picking the wrong one scans.
	query := `SELECT path, size, sha256, blob_sha1, lfs FROM files
		WHERE repo_id = ? AND commit_sha = ? AND path >= ?`
	args := []any{repoID, commit, prefix}
	if cursor >= prefix {
		query = strings.Replace(query, "path >= ?", "path > ?", 1)
		args[2] = cursor
	}
	if end := prefixEnd(prefix); end != "" {
		query += ` AND path < ?`
		args = append(args, end)
	}
	query += ` ORDER BY path LIMIT ?`
	args = append(args, limit+1) // one more tells whether there is a next page

	rows, err := s.c().query(ctx, query, args...)
	files, err := collect(rows, err, op, func(r *sql.Rows) (File, error) {
		f := File{RepoID: repoID, Commit: commit}
		err := r.Scan(&f.Path, &f.Size, &f.SHA256, &f.BlobSHA1, &f.LFS)
		return f, err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(files) > limit {
		files = files[:limit]
		next = files[limit-1].Path
	}
	return files, next, nil
}

// BlobReferenced implements Store.
func (s *sqlStore) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	if !keysValid(sha256) {
		return false, nil
	}
	var n int
	err := s.c().row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM files WHERE sha256 = ? LIMIT 1) AS f`, sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: blob referenced: %w", err)
	}
	return n > 0, nil
}

// Findings.

// PutFindings implements Store.
func (s *sqlStore) PutFindings(ctx context.Context, repoID, commit string, fs []finding.Finding) error {
	op := "put findings " + repoID + "@" + commit
	if !keysValid(repoID, commit) {
		return notFound(op)
	}
	if fs == nil {
		fs = []finding.Finding{}
	}
	body, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	// json.Marshal escapes NUL and replaces invalid UTF-8, so body is
	// always storable text.
	_, err = s.c().exec(ctx, `
		INSERT INTO findings (repo_id, commit_sha, body) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, commit_sha) DO UPDATE SET body = excluded.body`,
		repoID, commit, string(body))
	if err != nil {
		return s.missingParent(op, err)
	}
	return nil
}

// Findings implements Store.
func (s *sqlStore) Findings(ctx context.Context, repoID, commit string) ([]finding.Finding, error) {
	op := "findings " + repoID + "@" + commit
	if !keysValid(repoID, commit) {
		return nil, notFound(op)
	}
	var body string
	err := s.c().row(ctx, `SELECT body FROM findings WHERE repo_id = ? AND commit_sha = ?`, repoID, commit).Scan(&body)
	if err != nil {
		return nil, noRows(op, err)
	}
	var fs []finding.Finding
	if err := json.Unmarshal([]byte(body), &fs); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return fs, nil
}

// Approvals.

// AddApproval implements Store.
func (s *sqlStore) AddApproval(ctx context.Context, a Approval) error {
	op := "add approval " + a.RepoID + "@" + a.Commit + " by " + a.Approver
	if !keysValid(a.RepoID, a.Commit) {
		return notFound(op)
	}
	if err := CheckID("approver", a.Approver); err != nil {
		return err
	}
	if err := checkText(op, a.Comment); err != nil {
		return err
	}
	_, err := s.c().exec(ctx, `
		INSERT INTO approvals (repo_id, commit_sha, approver, comment, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (repo_id, commit_sha, approver) DO NOTHING`,
		a.RepoID, a.Commit, a.Approver, a.Comment, time.Now().UnixNano())
	if err != nil {
		return s.missingParent(op, err)
	}
	return nil
}

// Approvals implements Store.
func (s *sqlStore) Approvals(ctx context.Context, repoID, commit string) ([]Approval, error) {
	if !keysValid(repoID, commit) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT approver, comment, at FROM approvals
		WHERE repo_id = ? AND commit_sha = ? ORDER BY at, approver`, repoID, commit)
	return collect(rows, err, "approvals "+repoID+"@"+commit, func(r *sql.Rows) (Approval, error) {
		a := Approval{RepoID: repoID, Commit: commit}
		var at int64
		err := r.Scan(&a.Approver, &a.Comment, &at)
		a.At = fromNanos(at)
		return a, err
	})
}

// Aliases.

// SetAlias implements Store.
func (s *sqlStore) SetAlias(ctx context.Context, ch AliasChange) error {
	op := "set alias " + ch.RepoID + ":" + ch.Alias
	if err := CheckID("alias", ch.Alias); err != nil {
		return err
	}
	if !keysValid(ch.RepoID, ch.Commit) {
		return notFound(op)
	}
	if err := checkText(op, ch.Actor, ch.Reason); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	return s.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `
			INSERT INTO aliases (repo_id, alias, commit_sha, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_id, alias) DO UPDATE SET
				commit_sha = excluded.commit_sha, actor = excluded.actor, reason = excluded.reason, at = excluded.at`,
			ch.RepoID, ch.Alias, ch.Commit, ch.Actor, ch.Reason, now)
		if err != nil {
			return s.missingParent(op, err)
		}
		_, err = c.exec(ctx, `
			INSERT INTO alias_history (repo_id, alias, commit_sha, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
			ch.RepoID, ch.Alias, ch.Commit, ch.Actor, ch.Reason, now)
		if err != nil {
			return s.missingParent(op, err)
		}
		return nil
	})
}

func scanAlias(repoID string) func(*sql.Rows) (AliasChange, error) {
	return func(r *sql.Rows) (AliasChange, error) {
		ch := AliasChange{RepoID: repoID}
		var at int64
		err := r.Scan(&ch.Alias, &ch.Commit, &ch.Actor, &ch.Reason, &at)
		ch.At = fromNanos(at)
		return ch, err
	}
}

// Aliases implements Store.
func (s *sqlStore) Aliases(ctx context.Context, repoID string) ([]AliasChange, error) {
	if !keysValid(repoID) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT alias, commit_sha, actor, reason, at FROM aliases
		WHERE repo_id = ? ORDER BY alias`, repoID)
	return collect(rows, err, "aliases "+repoID, scanAlias(repoID))
}

// AliasHistory implements Store.
func (s *sqlStore) AliasHistory(ctx context.Context, repoID, alias string) ([]AliasChange, error) {
	if !keysValid(repoID, alias) {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT alias, commit_sha, actor, reason, at FROM alias_history
		WHERE repo_id = ? AND alias = ? ORDER BY at DESC, id DESC`, repoID, alias)
	return collect(rows, err, "alias history "+repoID+":"+alias, scanAlias(repoID))
}

// AliasAt implements Store.
func (s *sqlStore) AliasAt(ctx context.Context, repoID, alias string, at time.Time) (AliasChange, error) {
	op := fmt.Sprintf("alias %s:%s at %s", repoID, alias, at.UTC().Format(time.RFC3339Nano))
	if !keysValid(repoID, alias) {
		return AliasChange{}, notFound(op)
	}
	rows, err := s.c().query(ctx, `SELECT alias, commit_sha, actor, reason, at FROM alias_history
		WHERE repo_id = ? AND alias = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1`, repoID, alias, at.UnixNano())
	chs, err := collect(rows, err, op, scanAlias(repoID))
	if err != nil {
		return AliasChange{}, err
	}
	if len(chs) == 0 {
		return AliasChange{}, notFound(op)
	}
	return chs[0], nil
}

// Tokens.

// PutToken implements Store.
func (s *sqlStore) PutToken(ctx context.Context, t Token) error {
	op := "put token " + t.ID
	if t.ID == "" || t.Hash == "" {
		return fmt.Errorf("store: %s: no ID or hash: %w", op, ErrInvalid)
	}
	if t.Kind == "" {
		t.Kind = TokenPersonal
	}
	if t.Kind != TokenPersonal && t.Kind != TokenService {
		return fmt.Errorf("store: %s: kind %q, want %q or %q: %w", op, t.Kind, TokenPersonal, TokenService, ErrInvalid)
	}
	if err := checkLen(op, t.ID, t.Hash, t.Owner); err != nil {
		return err
	}
	if err := checkText(op, append([]string{t.ID, t.Hash, t.Owner, t.Name, t.Prefix}, append(t.Scopes, t.Namespaces...)...)...); err != nil {
		return err
	}
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	namespaces, err := json.Marshal(nonNil(t.Namespaces))
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	// A replaced token keeps its creation time and last use, and stays
	// revoked if it was.
	_, err = s.c().exec(ctx, `
		INSERT INTO tokens (id, hash, owner, name, kind, prefix, scopes, namespaces, expires, created_at, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, owner = excluded.owner, name = excluded.name,
			kind = excluded.kind, prefix = excluded.prefix, scopes = excluded.scopes,
			namespaces = excluded.namespaces, expires = excluded.expires,
			revoked = (tokens.revoked OR excluded.revoked)`,
		t.ID, t.Hash, t.Owner, t.Name, t.Kind, t.Prefix, string(scopes), string(namespaces), nanos(t.Expires),
		t.CreatedAt.UnixNano(), nanos(t.LastUsed), t.Revoked)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const tokenColumns = `id, hash, owner, name, kind, prefix, scopes, namespaces, expires, created_at, last_used, revoked`

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var scopes, namespaces string
	var expires, created, used int64
	err := row.Scan(&t.ID, &t.Hash, &t.Owner, &t.Name, &t.Kind, &t.Prefix, &scopes, &namespaces, &expires, &created, &used, &t.Revoked)
	if err != nil {
		return Token{}, err
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return Token{}, fmt.Errorf("token %s: scopes: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(namespaces), &t.Namespaces); err != nil {
		return Token{}, fmt.Errorf("token %s: namespaces: %w", t.ID, err)
	}
	t.Expires, t.CreatedAt, t.LastUsed = fromNanos(expires), fromNanos(created), fromNanos(used)
	return t, nil
}

// TokenByHash implements Store.
func (s *sqlStore) TokenByHash(ctx context.Context, hash string) (Token, error) {
	// Never put the hash in an error: errors get logged.
	const op = "token by hash"
	if !keysValid(hash) {
		return Token{}, notFound(op)
	}
	t, err := scanToken(s.c().row(ctx, `SELECT `+tokenColumns+` FROM tokens
		WHERE hash = ? AND NOT revoked AND (expires = 0 OR expires > ?)`, hash, time.Now().UnixNano()))
	if err != nil {
		return Token{}, noRows(op, err)
	}
	return t, nil
}

// ListTokens implements Store.
func (s *sqlStore) ListTokens(ctx context.Context, owner string) ([]Token, error) {
	if !keysValid(owner) {
		return nil, nil
	}
	query := `SELECT ` + tokenColumns + ` FROM tokens ORDER BY created_at, id`
	var args []any
	if owner != "" {
		query = `SELECT ` + tokenColumns + ` FROM tokens WHERE owner = ? ORDER BY created_at, id`
		args = append(args, owner)
	}
	rows, err := s.c().query(ctx, query, args...)
	return collect(rows, err, "list tokens", func(r *sql.Rows) (Token, error) { return scanToken(r) })
}

// TouchToken implements Store.
func (s *sqlStore) TouchToken(ctx context.Context, id string, at time.Time) error {
	op := "touch token " + id
	if !keysValid(id) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `UPDATE tokens SET last_used = ? WHERE id = ?`, nanos(at), id)
}

// RevokeToken implements Store.
func (s *sqlStore) RevokeToken(ctx context.Context, id string) error {
	op := "revoke token " + id
	if !keysValid(id) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `UPDATE tokens SET revoked = ? WHERE id = ?`, true, id)
}

// DeleteToken implements Store.
func (s *sqlStore) DeleteToken(ctx context.Context, id string) error {
	op := "delete token " + id
	if !keysValid(id) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `DELETE FROM tokens WHERE id = ?`, id)
}

// Role bindings.

func checkBinding(b RoleBinding) error {
	if err := CheckID("principal", b.Principal); err != nil {
		return err
	}
	if err := CheckID("namespace", b.Namespace); err != nil {
		return err
	}
	return CheckID("role", b.Role)
}

// PutRoleBinding implements Store.
func (s *sqlStore) PutRoleBinding(ctx context.Context, b RoleBinding) error {
	if err := checkBinding(b); err != nil {
		return err
	}
	_, err := s.c().exec(ctx, `
		INSERT INTO role_bindings (principal, namespace, role) VALUES (?, ?, ?)
		ON CONFLICT (principal, namespace, role) DO NOTHING`, b.Principal, b.Namespace, b.Role)
	if err != nil {
		return fmt.Errorf("store: put role binding %+v: %w", b, err)
	}
	return nil
}

// DeleteRoleBinding implements Store.
func (s *sqlStore) DeleteRoleBinding(ctx context.Context, b RoleBinding) error {
	op := fmt.Sprintf("delete role binding %s %s %s", b.Principal, b.Namespace, b.Role)
	if !keysValid(b.Principal, b.Namespace, b.Role) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `DELETE FROM role_bindings WHERE principal = ? AND namespace = ? AND role = ?`,
		b.Principal, b.Namespace, b.Role)
}

// maxPrincipals bounds RoleBindings' query: a user and their groups.
const maxPrincipals = 1000

func scanBinding(r *sql.Rows) (RoleBinding, error) {
	var b RoleBinding
	err := r.Scan(&b.Principal, &b.Namespace, &b.Role)
	return b, err
}

// RoleBindings implements Store.
func (s *sqlStore) RoleBindings(ctx context.Context, principals []string) ([]RoleBinding, error) {
	if len(principals) > maxPrincipals {
		return nil, fmt.Errorf("store: role bindings: %d principals, more than %d: %w", len(principals), maxPrincipals, ErrInvalid)
	}
	args := make([]any, 0, len(principals))
	for _, p := range principals {
		if keysValid(p) {
			args = append(args, p)
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	rows, err := s.c().query(ctx, `SELECT principal, namespace, role FROM role_bindings
		WHERE principal IN (`+placeholders(len(args))+`) ORDER BY principal, namespace, role`, args...)
	return collect(rows, err, "role bindings", scanBinding)
}

// ListRoleBindings implements Store.
func (s *sqlStore) ListRoleBindings(ctx context.Context) ([]RoleBinding, error) {
	rows, err := s.c().query(ctx, `SELECT principal, namespace, role FROM role_bindings ORDER BY principal, namespace, role`)
	return collect(rows, err, "list role bindings", scanBinding)
}

// Sessions.

// PutSession implements Store.
func (s *sqlStore) PutSession(ctx context.Context, se Session) error {
	const op = "put session" // the hash stays out of errors
	if se.IDHash == "" || se.Expires.IsZero() {
		return fmt.Errorf("store: %s: no id hash or expiry: %w", op, ErrInvalid)
	}
	if err := checkLen(op, se.IDHash); err != nil {
		return err
	}
	if err := checkText(op, append([]string{se.IDHash, se.Principal}, se.Groups...)...); err != nil {
		return err
	}
	groups, err := json.Marshal(nonNil(se.Groups))
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	now := time.Now()
	if se.CreatedAt.IsZero() {
		se.CreatedAt = now
	}
	if se.LastSeen.IsZero() {
		se.LastSeen = now
	}
	return s.tx(ctx, func(c conn) error {
		// Logins are rare next to requests: a good time to forget sessions
		// that expired (TouchSession never extends Expires).
		if _, err := c.exec(ctx, `DELETE FROM sessions WHERE expires <= ?`, now.UnixNano()); err != nil {
			return fmt.Errorf("store: %s: expire: %w", op, err)
		}
		_, err := c.exec(ctx, `
			INSERT INTO sessions (id_hash, principal, groups, created_at, last_seen, expires) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id_hash) DO UPDATE SET principal = excluded.principal, groups = excluded.groups,
				created_at = excluded.created_at, last_seen = excluded.last_seen, expires = excluded.expires`,
			se.IDHash, se.Principal, string(groups), se.CreatedAt.UnixNano(), se.LastSeen.UnixNano(), se.Expires.UnixNano())
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return nil
	})
}

// SessionByHash implements Store.
func (s *sqlStore) SessionByHash(ctx context.Context, idHash string) (Session, error) {
	const op = "session by hash"
	if !keysValid(idHash) {
		return Session{}, notFound(op)
	}
	se := Session{IDHash: idHash}
	var groups string
	var created, seen, expires int64
	err := s.c().row(ctx, `SELECT principal, groups, created_at, last_seen, expires FROM sessions
		WHERE id_hash = ? AND expires > ?`, idHash, time.Now().UnixNano()).
		Scan(&se.Principal, &groups, &created, &seen, &expires)
	if err != nil {
		return Session{}, noRows(op, err)
	}
	if err := json.Unmarshal([]byte(groups), &se.Groups); err != nil {
		return Session{}, fmt.Errorf("store: %s: groups: %w", op, err)
	}
	se.CreatedAt, se.LastSeen, se.Expires = fromNanos(created), fromNanos(seen), fromNanos(expires)
	return se, nil
}

// TouchSession implements Store.
func (s *sqlStore) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	const op = "touch session"
	if !keysValid(idHash) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, nanos(at), idHash)
}

// DeleteSession implements Store.
func (s *sqlStore) DeleteSession(ctx context.Context, idHash string) error {
	const op = "delete session"
	if !keysValid(idHash) {
		return notFound(op)
	}
	return s.c().execOne(ctx, op, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
}

// Jobs.

// EnqueueJob implements Store.
func (s *sqlStore) EnqueueJob(ctx context.Context, j Job) (int64, error) {
	op := "enqueue " + j.Kind + " " + j.RepoID + "@" + j.Commit
	if j.Kind == "" || j.RepoID == "" || j.Commit == "" {
		return 0, fmt.Errorf("store: %s: kind, repository and commit are required: %w", op, ErrInvalid)
	}
	if err := checkLen(op, j.Kind, j.RepoID, j.Commit); err != nil {
		return 0, err
	}
	if err := checkText(op, j.Kind, j.RepoID, j.Commit, j.Payload); err != nil {
		return 0, err
	}
	var id int64
	err := s.tx(ctx, func(c conn) error {
		now := time.Now().UnixNano()
		// The partial unique index jobs_live makes a second live job for
		// the same work a no-op.
		_, err := c.exec(ctx, `
			INSERT INTO jobs (kind, repo_id, commit_sha, payload, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)
			ON CONFLICT (kind, repo_id, commit_sha) WHERE state IN ('queued', 'running') DO NOTHING`,
			j.Kind, j.RepoID, j.Commit, j.Payload, now, now)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		err = c.row(ctx, `
			SELECT id FROM jobs WHERE kind = ? AND repo_id = ? AND commit_sha = ? AND state IN ('queued', 'running')`,
			j.Kind, j.RepoID, j.Commit).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// PostgreSQL: the live job we collided with finished between
			// the two statements. Run again.
			return fmt.Errorf("store: %s: %w", op, errRetry)
		}
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return nil
	})
	return id, err
}

// errRetry asks tx to run a transaction again.
var errRetry = errors.New("live job finished concurrently, retry")

const jobColumns = `id, kind, repo_id, commit_sha, payload, state, attempts, worker, lease_until, error, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var lease, created, updated int64
	err := row.Scan(&j.ID, &j.Kind, &j.RepoID, &j.Commit, &j.Payload, &j.State, &j.Attempts, &j.Worker, &lease, &j.Error, &created, &updated)
	j.LeaseUntil, j.CreatedAt, j.UpdatedAt = fromNanos(lease), fromNanos(created), fromNanos(updated)
	return j, err
}

// gaveUp is the Error of a job that used up MaxJobAttempts.
var gaveUp = fmt.Sprintf("gave up after %d attempts (lease expired each time)", MaxJobAttempts)

// ClaimJob implements Store. In one transaction, jobs that used up their
// attempts are failed, then one UPDATE … WHERE id = (SELECT … LIMIT 1)
// RETURNING takes the oldest claimable job. SQLite serialises claimers on
// its write lock; PostgreSQL's FOR UPDATE SKIP LOCKED lets each claimer
// pass over rows another is taking.
func (s *sqlStore) ClaimJob(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	if worker == "" || lease <= 0 {
		return nil, fmt.Errorf("store: claim job: worker %q, lease %v: a worker name and a positive lease are required: %w", worker, lease, ErrInvalid)
	}
	if err := checkLen("claim job", worker); err != nil {
		return nil, err
	}
	if err := checkText("claim job", worker); err != nil {
		return nil, err
	}
	var job *Job
	err := s.tx(ctx, func(c conn) error {
		job = nil
		now := time.Now()
		_, err := c.exec(ctx, `
			UPDATE jobs SET state = 'failed', error = ?, lease_until = 0, updated_at = ?
			WHERE id IN (
				SELECT id FROM jobs WHERE state = 'running' AND lease_until < ? AND attempts >= ?`+s.d.skipLocked+`)`,
			gaveUp, now.UnixNano(), now.UnixNano(), MaxJobAttempts)
		if err != nil {
			return fmt.Errorf("store: claim job: give up: %w", err)
		}
		j, err := scanJob(c.row(ctx, `
			UPDATE jobs SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id = (
				SELECT id FROM jobs
				WHERE (state = 'queued' OR (state = 'running' AND lease_until < ?)) AND attempts < ?
				ORDER BY id LIMIT 1`+s.d.skipLocked+`)
			RETURNING `+jobColumns,
			worker, now.Add(lease).UnixNano(), now.UnixNano(), now.UnixNano(), MaxJobAttempts))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: claim job: %w", err)
		}
		job = &j
		return nil
	})
	return job, err
}

// RenewLease implements Store.
func (s *sqlStore) RenewLease(ctx context.Context, id int64, worker string, lease time.Duration) error {
	op := fmt.Sprintf("renew lease of job %d for %s", id, worker)
	if lease <= 0 {
		return fmt.Errorf("store: %s: lease %v is not positive: %w", op, lease, ErrInvalid)
	}
	if !keysValid(worker) {
		return notFound(op)
	}
	now := time.Now()
	return s.c().execOne(ctx, op, `
		UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND state = 'running' AND worker = ?`,
		now.Add(lease).UnixNano(), now.UnixNano(), id, worker)
}

// FinishJob implements Store.
func (s *sqlStore) FinishJob(ctx context.Context, id int64, worker string, jobErr error) error {
	op := fmt.Sprintf("finish job %d for %s", id, worker)
	if !keysValid(worker) {
		return notFound(op)
	}
	state, msg := JobDone, ""
	if jobErr != nil {
		state, msg = JobFailed, strings.ToValidUTF8(strings.ReplaceAll(jobErr.Error(), "\x00", ""), "\uFFFD")
	}
	return s.c().execOne(ctx, op, `
		UPDATE jobs SET state = ?, error = ?, lease_until = 0, updated_at = ?
		WHERE id = ? AND state = 'running' AND worker = ?`,
		string(state), msg, time.Now().UnixNano(), id, worker)
}

// GetJob implements Store.
func (s *sqlStore) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.c().row(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return Job{}, noRows(fmt.Sprintf("get job %d", id), err)
	}
	return j, nil
}

// ListJobs implements Store.
func (s *sqlStore) ListJobs(ctx context.Context, state JobState, limit int) ([]Job, error) {
	query := `SELECT ` + jobColumns + ` FROM jobs ORDER BY id LIMIT ?`
	args := []any{listLimit(limit)}
	switch state {
	case "":
	case JobQueued, JobRunning, JobDone, JobFailed:
		query = `SELECT ` + jobColumns + ` FROM jobs WHERE state = ? ORDER BY id LIMIT ?`
		args = []any{string(state), listLimit(limit)}
	default:
		return nil, fmt.Errorf("store: list jobs: state %q: %w", state, ErrInvalid)
	}
	rows, err := s.c().query(ctx, query, args...)
	return collect(rows, err, "list jobs", func(r *sql.Rows) (Job, error) { return scanJob(r) })
}

// Close closes the database.
func (s *sqlStore) Close() error { return s.db.Close() }

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/finding"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// SQLite is the embedded Store: one database file in WAL mode, so readers
// never block the single writer. Write transactions begin IMMEDIATE (they
// take the write lock up front), and a busy timeout makes concurrent writers
// wait instead of failing.
type SQLite struct {
	db *sql.DB
}

var _ Store = (*SQLite)(nil)

// busyTimeout is how long a writer waits for the lock before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// OpenSQLite opens (creating if needed) the database at path and brings its
// schema up to date.
func OpenSQLite(path string) (*SQLite, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("store: sqlite: unsupported database path %q", path)
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
	s := &SQLite{db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

func (s *SQLite) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("store: migrate: database schema version %d is newer than this aigis (%d)", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
		}
		return nil
	})
}

// tx runs fn in a write transaction.
func (s *SQLite) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// sqliteForeignKey is SQLITE_CONSTRAINT_FOREIGNKEY.
const sqliteForeignKey = 787

// missingParent turns a foreign key violation into ErrNotFound: the row
// refers to a repository or revision that was never recorded.
func missingParent(op string, err error) error {
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == sqliteForeignKey {
		return fmt.Errorf("store: %s: %w (no such repository or revision)", op, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

func noRows(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

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

// PutRepo implements Store.
func (s *SQLite) PutRepo(ctx context.Context, r Repo) error {
	if r.ID == "" || (r.Type != Model && r.Type != Dataset) || (r.Source != Upstream && r.Source != Internal) {
		return fmt.Errorf("store: put repo %+v: %w", r, ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO repos (id, type, source) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET type = excluded.type, source = excluded.source`,
		r.ID, string(r.Type), string(r.Source))
	if err != nil {
		return fmt.Errorf("store: put repo %s: %w", r.ID, err)
	}
	return nil
}

// GetRepo implements Store.
func (s *SQLite) GetRepo(ctx context.Context, id string) (Repo, error) {
	r := Repo{ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT type, source FROM repos WHERE id = ?`, id).Scan(&r.Type, &r.Source)
	if err != nil {
		return Repo{}, noRows("get repo "+id, err)
	}
	return r, nil
}

// PutRevision implements Store.
func (s *SQLite) PutRevision(ctx context.Context, r Revision) error {
	if r.RepoID == "" || r.Commit == "" {
		return fmt.Errorf("store: put revision %+v: %w", r, ErrInvalid)
	}
	if r.Status == "" {
		r.Status = Pending
	}
	if _, ok := transitions[r.Status]; !ok {
		return fmt.Errorf("store: put revision: status %q: %w", r.Status, ErrInvalid)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	op := "put revision " + r.RepoID + "@" + r.Commit
	return s.tx(ctx, func(tx *sql.Tx) error {
		// An existing revision keeps its status; only the ref moves.
		_, err := tx.ExecContext(ctx, `
			INSERT INTO revisions (repo_id, commit_sha, ref, status, reason, policy_version, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo_id, commit_sha) DO UPDATE SET
				ref = CASE WHEN excluded.ref = '' THEN revisions.ref ELSE excluded.ref END`,
			r.RepoID, r.Commit, r.Ref, string(r.Status), r.Reason, r.PolicyVersion, nanos(r.UpdatedAt))
		if err != nil {
			return missingParent(op, err)
		}
		if r.Ref == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO refs (repo_id, ref, commit_sha) VALUES (?, ?, ?)
			ON CONFLICT (repo_id, ref) DO UPDATE SET commit_sha = excluded.commit_sha`,
			r.RepoID, r.Ref, r.Commit)
		if err != nil {
			return missingParent(op, err)
		}
		return nil
	})
}

// GetRevision implements Store.
func (s *SQLite) GetRevision(ctx context.Context, repoID, commit string) (Revision, error) {
	r := Revision{RepoID: repoID, Commit: commit}
	var updated int64
	err := s.db.QueryRowContext(ctx, `
		SELECT ref, status, reason, policy_version, updated_at FROM revisions
		WHERE repo_id = ? AND commit_sha = ?`, repoID, commit).
		Scan(&r.Ref, &r.Status, &r.Reason, &r.PolicyVersion, &updated)
	if err != nil {
		return Revision{}, noRows("get revision "+repoID+"@"+commit, err)
	}
	r.UpdatedAt = fromNanos(updated)
	return r, nil
}

// ResolveRef implements Store.
func (s *SQLite) ResolveRef(ctx context.Context, repoID, ref string) (string, error) {
	var commit string
	err := s.db.QueryRowContext(ctx, `SELECT commit_sha FROM refs WHERE repo_id = ? AND ref = ?`, repoID, ref).Scan(&commit)
	if err != nil {
		return "", noRows("resolve "+repoID+"@"+ref, err)
	}
	return commit, nil
}

// SetStatus implements Store.
func (s *SQLite) SetStatus(ctx context.Context, repoID, commit string, status Status, reason, policyVersion string) error {
	op := "set status " + repoID + "@" + commit
	return s.tx(ctx, func(tx *sql.Tx) error {
		var cur Status
		err := tx.QueryRowContext(ctx, `SELECT status FROM revisions WHERE repo_id = ? AND commit_sha = ?`, repoID, commit).Scan(&cur)
		if err != nil {
			return noRows(op, err)
		}
		if !CanTransition(cur, status) {
			return fmt.Errorf("store: %s: %s -> %s: %w", op, cur, status, ErrInvalidTransition)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE revisions SET status = ?, reason = ?, policy_version = ?, updated_at = ?
			WHERE repo_id = ? AND commit_sha = ?`,
			string(status), reason, policyVersion, time.Now().UnixNano(), repoID, commit)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return nil
	})
}

// PutFile implements Store.
func (s *SQLite) PutFile(ctx context.Context, f File) error {
	if f.RepoID == "" || f.Commit == "" || f.Path == "" || f.Size < 0 {
		return fmt.Errorf("store: put file %+v: %w", f, ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO files (repo_id, commit_sha, path, size, sha256, blob_sha1, lfs) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (repo_id, commit_sha, path) DO UPDATE SET
			size = excluded.size, sha256 = excluded.sha256, blob_sha1 = excluded.blob_sha1, lfs = excluded.lfs`,
		f.RepoID, f.Commit, f.Path, f.Size, f.SHA256, f.BlobSHA1, f.LFS)
	if err != nil {
		return missingParent("put file "+f.RepoID+"@"+f.Commit+":"+f.Path, err)
	}
	return nil
}

// prefixEnd returns the least string greater than every string with the
// given prefix, or "" if there is none (the prefix is empty or all 0xff).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// ListFiles implements Store.
func (s *SQLite) ListFiles(ctx context.Context, repoID, commit, prefix, cursor string, limit int) ([]File, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
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

	op := "list files " + repoID + "@" + commit
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	files := make([]File, 0, min(limit, 256))
	for rows.Next() {
		f := File{RepoID: repoID, Commit: commit}
		if err := rows.Scan(&f.Path, &f.Size, &f.SHA256, &f.BlobSHA1, &f.LFS); err != nil {
			return nil, "", fmt.Errorf("store: %s: %w", op, err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: %s: %w", op, err)
	}
	next := ""
	if len(files) > limit {
		files = files[:limit]
		next = files[limit-1].Path
	}
	return files, next, nil
}

// PutFindings implements Store.
func (s *SQLite) PutFindings(ctx context.Context, repoID, commit string, fs []finding.Finding) error {
	if fs == nil {
		fs = []finding.Finding{}
	}
	body, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("store: put findings: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO findings (repo_id, commit_sha, body) VALUES (?, ?, ?)
		ON CONFLICT (repo_id, commit_sha) DO UPDATE SET body = excluded.body`,
		repoID, commit, string(body))
	if err != nil {
		return missingParent("put findings "+repoID+"@"+commit, err)
	}
	return nil
}

// Findings implements Store.
func (s *SQLite) Findings(ctx context.Context, repoID, commit string) ([]finding.Finding, error) {
	op := "findings " + repoID + "@" + commit
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM findings WHERE repo_id = ? AND commit_sha = ?`, repoID, commit).Scan(&body)
	if err != nil {
		return nil, noRows(op, err)
	}
	var fs []finding.Finding
	if err := json.Unmarshal([]byte(body), &fs); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return fs, nil
}

// PutToken implements Store.
func (s *SQLite) PutToken(ctx context.Context, t Token) error {
	if t.ID == "" || t.Hash == "" {
		return fmt.Errorf("store: put token %q: %w", t.ID, ErrInvalid)
	}
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return fmt.Errorf("store: put token: %w", err)
	}
	namespaces, err := json.Marshal(nonNil(t.Namespaces))
	if err != nil {
		return fmt.Errorf("store: put token: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO tokens (id, hash, owner, scopes, namespaces, expires) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, owner = excluded.owner,
			scopes = excluded.scopes, namespaces = excluded.namespaces, expires = excluded.expires`,
		t.ID, t.Hash, t.Owner, string(scopes), string(namespaces), nanos(t.Expires))
	if err != nil {
		return fmt.Errorf("store: put token %s: %w", t.ID, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TokenByHash implements Store.
func (s *SQLite) TokenByHash(ctx context.Context, hash string) (Token, error) {
	t := Token{Hash: hash}
	var scopes, namespaces string
	var expires int64
	err := s.db.QueryRowContext(ctx, `
		SELECT id, owner, scopes, namespaces, expires FROM tokens
		WHERE hash = ? AND (expires = 0 OR expires > ?)`, hash, time.Now().UnixNano()).
		Scan(&t.ID, &t.Owner, &scopes, &namespaces, &expires)
	if err != nil {
		// Never put the hash in the error: errors get logged.
		return Token{}, noRows("token by hash", err)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return Token{}, fmt.Errorf("store: token %s: scopes: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(namespaces), &t.Namespaces); err != nil {
		return Token{}, fmt.Errorf("store: token %s: namespaces: %w", t.ID, err)
	}
	t.Expires = fromNanos(expires)
	return t, nil
}

// DeleteToken implements Store.
func (s *SQLite) DeleteToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete token %s: %w", id, err)
	}
	return affected(res, "delete token "+id)
}

func affected(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

// EnqueueJob implements Store.
func (s *SQLite) EnqueueJob(ctx context.Context, j Job) (int64, error) {
	if j.Kind == "" || j.RepoID == "" || j.Commit == "" {
		return 0, fmt.Errorf("store: enqueue job %+v: %w", j, ErrInvalid)
	}
	op := "enqueue " + j.Kind + " " + j.RepoID + "@" + j.Commit
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The partial unique index jobs_live makes a second live job for
		// the same work a no-op.
		_, err := tx.ExecContext(ctx, `
			INSERT INTO jobs (kind, repo_id, commit_sha, state, created_at) VALUES (?, ?, ?, 'queued', ?)
			ON CONFLICT (kind, repo_id, commit_sha) WHERE state IN ('queued', 'running') DO NOTHING`,
			j.Kind, j.RepoID, j.Commit, time.Now().UnixNano())
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		err = tx.QueryRowContext(ctx, `
			SELECT id FROM jobs WHERE kind = ? AND repo_id = ? AND commit_sha = ? AND state IN ('queued', 'running')`,
			j.Kind, j.RepoID, j.Commit).Scan(&id)
		if err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		return nil
	})
	return id, err
}

const jobColumns = `id, kind, repo_id, commit_sha, state, attempts, worker, lease_until, error, created_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var lease, created int64
	err := row.Scan(&j.ID, &j.Kind, &j.RepoID, &j.Commit, &j.State, &j.Attempts, &j.Worker, &lease, &j.Error, &created)
	j.LeaseUntil, j.CreatedAt = fromNanos(lease), fromNanos(created)
	return j, err
}

// ClaimJob implements Store. The claim is one UPDATE … RETURNING inside an
// IMMEDIATE transaction, so concurrent claimers serialise on SQLite's write
// lock and no job is handed out twice.
func (s *SQLite) ClaimJob(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	if worker == "" || lease <= 0 {
		return nil, fmt.Errorf("store: claim job: worker %q, lease %v: %w", worker, lease, ErrInvalid)
	}
	var job *Job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		j, err := scanJob(tx.QueryRowContext(ctx, `
			UPDATE jobs SET state = 'running', worker = ?, lease_until = ?, attempts = attempts + 1
			WHERE id = (
				SELECT id FROM jobs
				WHERE state = 'queued' OR (state = 'running' AND lease_until < ?)
				ORDER BY id LIMIT 1)
			RETURNING `+jobColumns,
			worker, now.Add(lease).UnixNano(), now.UnixNano()))
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

// FinishJob implements Store.
func (s *SQLite) FinishJob(ctx context.Context, id int64, jobErr error) error {
	state, msg := JobDone, ""
	if jobErr != nil {
		state, msg = JobFailed, jobErr.Error()
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE jobs SET state = ?, error = ?, lease_until = 0 WHERE id = ? AND state = 'running'`,
		string(state), msg, id)
	if err != nil {
		return fmt.Errorf("store: finish job %d: %w", id, err)
	}
	return affected(res, fmt.Sprintf("finish job %d", id))
}

// GetJob implements Store.
func (s *SQLite) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return Job{}, noRows(fmt.Sprintf("get job %d", id), err)
	}
	return j, nil
}

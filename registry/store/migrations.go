package store

// migrations are applied in order; schema_version records how many have run.
// Never edit a released migration: append a new one. Timestamps are Unix
// nanoseconds (BIGINT in PostgreSQL); 0 means unset. Paths compare bytewise
// (SQLite BINARY collation; PostgreSQL needs COLLATE "C") so that ListFiles
// pages in the same order on both.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE repos (
	id     TEXT PRIMARY KEY,
	type   TEXT NOT NULL CHECK (type IN ('model', 'dataset')),
	source TEXT NOT NULL CHECK (source IN ('upstream', 'internal'))
);

CREATE TABLE revisions (
	repo_id        TEXT NOT NULL REFERENCES repos (id),
	commit_sha     TEXT NOT NULL,
	ref            TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL CHECK (status IN ('pending', 'scanning', 'approved', 'quarantined')),
	reason         TEXT NOT NULL DEFAULT '',
	policy_version TEXT NOT NULL DEFAULT '',
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (repo_id, commit_sha)
);

CREATE TABLE refs (
	repo_id    TEXT NOT NULL,
	ref        TEXT NOT NULL,
	commit_sha TEXT NOT NULL,
	PRIMARY KEY (repo_id, ref),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE files (
	repo_id    TEXT NOT NULL,
	commit_sha TEXT NOT NULL,
	path       TEXT NOT NULL,
	size       INTEGER NOT NULL,
	sha256     TEXT NOT NULL,
	blob_sha1  TEXT NOT NULL,
	lfs        INTEGER NOT NULL,
	PRIMARY KEY (repo_id, commit_sha, path),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
) WITHOUT ROWID;

CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE findings (
	repo_id    TEXT NOT NULL,
	commit_sha TEXT NOT NULL,
	body       TEXT NOT NULL,
	PRIMARY KEY (repo_id, commit_sha),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	owner      TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	namespaces TEXT NOT NULL,
	expires    INTEGER NOT NULL
);

CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL,
	repo_id     TEXT NOT NULL,
	commit_sha  TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	worker      TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);

-- At most one live job per kind and revision: EnqueueJob is idempotent.
CREATE UNIQUE INDEX jobs_live ON jobs (kind, repo_id, commit_sha) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs (state, id);
`,
}

package store

import "strings"

// migrations are applied in order; schema_version records how many have run.
// Never edit a released migration: append a new one. (Migration 1 is not
// released yet.)
//
// One text serves both backends; a dialect's replacer fills in the few
// words that differ:
//
//	{text}      TEXT; in PostgreSQL TEXT COLLATE "C", so that text orders
//	            bytewise as in SQLite and paging by path or ID agrees.
//	{serial}    an auto-incrementing 64-bit primary key.
//	{norowid}   WITHOUT ROWID in SQLite (tables keyed by text), else nothing.
//
// Timestamps are Unix nanoseconds in BIGINT; 0 means unset.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE repos (
	id         {text} PRIMARY KEY,
	type       TEXT NOT NULL CHECK (type IN ('model', 'dataset')),
	source     TEXT NOT NULL CHECK (source IN ('upstream', 'internal')),
	created_at BIGINT NOT NULL
);

CREATE TABLE revisions (
	repo_id         {text} NOT NULL REFERENCES repos (id),
	commit_sha      {text} NOT NULL,
	ref             {text} NOT NULL DEFAULT '',
	status          TEXT NOT NULL CHECK (status IN ('pending', 'scanning', 'approved', 'quarantined')),
	reason          TEXT NOT NULL DEFAULT '',
	policy_version  TEXT NOT NULL DEFAULT '',
	ruleset_version TEXT NOT NULL DEFAULT '',
	created_by      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	PRIMARY KEY (repo_id, commit_sha)
);

CREATE INDEX revisions_status ON revisions (status, updated_at);
CREATE INDEX revisions_created ON revisions (repo_id, created_at);

CREATE TABLE status_history (
	id              {serial},
	repo_id         {text} NOT NULL,
	commit_sha      {text} NOT NULL,
	status          TEXT NOT NULL,
	reason          TEXT NOT NULL,
	policy_version  TEXT NOT NULL,
	ruleset_version TEXT NOT NULL,
	actor           TEXT NOT NULL,
	at              BIGINT NOT NULL,
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE INDEX status_history_revision ON status_history (repo_id, commit_sha, id);

CREATE TABLE refs (
	repo_id    {text} NOT NULL,
	ref        {text} NOT NULL,
	commit_sha {text} NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (repo_id, ref),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE files (
	repo_id    {text} NOT NULL,
	commit_sha {text} NOT NULL,
	path       {text} NOT NULL,
	size       BIGINT NOT NULL,
	sha256     {text} NOT NULL,
	blob_sha1  TEXT NOT NULL,
	lfs        BOOLEAN NOT NULL,
	PRIMARY KEY (repo_id, commit_sha, path),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
) {norowid};

CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE findings (
	repo_id    {text} NOT NULL,
	commit_sha {text} NOT NULL,
	body       TEXT NOT NULL,
	PRIMARY KEY (repo_id, commit_sha),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE approvals (
	repo_id    {text} NOT NULL,
	commit_sha {text} NOT NULL,
	approver   {text} NOT NULL,
	comment    TEXT NOT NULL,
	at         BIGINT NOT NULL,
	PRIMARY KEY (repo_id, commit_sha, approver),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE aliases (
	repo_id    {text} NOT NULL,
	alias      {text} NOT NULL,
	commit_sha {text} NOT NULL,
	actor      TEXT NOT NULL,
	reason     TEXT NOT NULL,
	at         BIGINT NOT NULL,
	PRIMARY KEY (repo_id, alias),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE TABLE alias_history (
	id         {serial},
	repo_id    {text} NOT NULL,
	alias      {text} NOT NULL,
	commit_sha {text} NOT NULL,
	actor      TEXT NOT NULL,
	reason     TEXT NOT NULL,
	at         BIGINT NOT NULL,
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);

CREATE INDEX alias_history_at ON alias_history (repo_id, alias, at, id);

CREATE TABLE tokens (
	id         {text} PRIMARY KEY,
	hash       {text} NOT NULL UNIQUE,
	owner      {text} NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL CHECK (kind IN ('pat', 'sat')),
	prefix     TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	namespaces TEXT NOT NULL,
	expires    BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	last_used  BIGINT NOT NULL,
	revoked    BOOLEAN NOT NULL
);

CREATE INDEX tokens_owner ON tokens (owner, created_at);

CREATE TABLE role_bindings (
	principal {text} NOT NULL,
	namespace {text} NOT NULL,
	role      {text} NOT NULL,
	PRIMARY KEY (principal, namespace, role)
) {norowid};

CREATE TABLE sessions (
	id_hash    {text} PRIMARY KEY,
	principal  TEXT NOT NULL,
	groups     TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	expires    BIGINT NOT NULL
);

CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE jobs (
	id          {serial},
	kind        {text} NOT NULL,
	repo_id     {text} NOT NULL,
	commit_sha  {text} NOT NULL,
	payload     TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
	attempts    INTEGER NOT NULL DEFAULT 0,
	worker      TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);

-- At most one live job per kind and revision: EnqueueJob is idempotent.
CREATE UNIQUE INDEX jobs_live ON jobs (kind, repo_id, commit_sha) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs (state, id);
`,
	// 2: signatures the server made when it approved a revision.
	`
CREATE TABLE signatures (
	repo_id    {text} NOT NULL,
	commit_sha {text} NOT NULL,
	bundle     TEXT NOT NULL,
	PRIMARY KEY (repo_id, commit_sha),
	FOREIGN KEY (repo_id, commit_sha) REFERENCES revisions (repo_id, commit_sha)
);
`,
	// 3: the audit log, shared by every process of the registry: one row
	// per record and one per tlog stored hash (RFC 6962).
	`
CREATE TABLE audit_records (
	idx  BIGINT PRIMARY KEY,
	body {blob} NOT NULL
);

CREATE TABLE audit_hashes (
	idx  BIGINT PRIMARY KEY,
	hash {blob} NOT NULL
);
`,
}

// Dialect words for the migrations.
var (
	sqliteSchema = strings.NewReplacer(
		"{text}", "TEXT",
		"{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{norowid}", "WITHOUT ROWID",
		"{blob}", "BLOB",
	)
	postgresSchema = strings.NewReplacer(
		"{text}", `TEXT COLLATE "C"`,
		"{serial}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
		"{norowid}", "",
		"{blob}", "BYTEA",
	)
)

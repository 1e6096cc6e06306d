// Package store is the registry's metadata: which repositories and revisions
// it knows, the files in each revision, what the scanner found, the gate's
// decisions and who made them, promotion aliases, who may do what (tokens,
// role bindings, UI sessions), and the queue of scan jobs.
//
// File contents are not here; they live in package blob, named by SHA-256.
// A File row links a path at a commit to its blob, and BlobReferenced tells
// blob garbage collection whether anything still names a digest.
//
// Store is the interface the server and scan workers use. Two backends
// implement it with one schema and one set of queries (sqlstore.go), and
// both pass storetest.TestContract:
//
//   - SQLite (OpenSQLite): pure Go, one file in WAL mode; the embedded
//     default, so `aigis serve` runs with no setup.
//   - PostgreSQL (OpenPostgres): for several servers and workers sharing
//     one database. Jobs are claimed with FOR UPDATE SKIP LOCKED; schema
//     migrations are serialised with an advisory lock.
//
// Both order text bytewise (PostgreSQL columns use COLLATE "C"), so paging
// cursors mean the same on either, and both accept the same records: text
// must be UTF-8 without NUL, keys are at most MaxIDLen bytes and paths
// MaxPathLen, within PostgreSQL's index entry limit. IDs are opaque: the
// server names repositories "models/org/name" and "datasets/org/name".
//
// History is kept, not overwritten: every status change of a revision
// (StatusHistory), every move of an alias (AliasHistory, AliasAt), and
// every approval. The gate's one invariant is kept here as well as in
// policy code: a revision cannot become approved without having been
// scanned (see CanTransition), and re-recording a revision never resets
// its status.
//
// Jobs are leased: a worker that dies loses its job to the next ClaimJob
// once the lease expires, a worker whose job was reclaimed can no longer
// renew or finish it, and a job whose lease expired MaxJobAttempts times is
// failed instead of handed out again.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such repository, revision, ref, findings, alias,
	// token, session, role binding or job.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalidTransition: SetStatus asked for a status change the gate
	// forbids (CanTransition), or named an unknown status.
	ErrInvalidTransition = errors.New("store: invalid status transition")
	// ErrInvalid: a record is missing a required field or has an unknown
	// enum value.
	ErrInvalid = errors.New("store: invalid record")
)

// RepoType says what a repository holds. Hugging Face keeps models and
// datasets in separate namespaces.
type RepoType string

// Repository types.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
)

// Source says where a repository's contents come from.
type Source string

// Repository sources.
const (
	Upstream Source = "upstream" // pulled through from an upstream hub
	Internal Source = "internal" // published to this registry directly
)

// Repo is a repository known to the registry.
type Repo struct {
	// ID is opaque to the store: the server uses keys like
	// "models/org/name" and "datasets/org/name" so that a model and a
	// dataset of the same name do not clash. See CheckID.
	ID        string
	Type      RepoType
	Source    Source
	CreatedAt time.Time // set by PutRepo on first insert; ignored on input
}

// Status is where a revision stands at the gate.
type Status string

// Revision statuses.
const (
	Pending     Status = "pending"     // known, not yet scanned
	Scanning    Status = "scanning"    // a worker holds it
	Approved    Status = "approved"    // may be served
	Quarantined Status = "quarantined" // blocked; Reason says why
)

// transitions lists, for each status, the statuses it may move to. Staying
// in the same status (to update the reason or policy version) is allowed.
var transitions = map[Status][]Status{
	// Approval needs a scan: pending cannot jump to approved. An operator
	// may quarantine a revision before it is scanned.
	Pending:  {Scanning, Quarantined},
	Scanning: {Approved, Quarantined, Pending}, // Pending: the worker gave up
	// A new policy or a revocation can quarantine an approved revision or
	// send it back for a rescan.
	Approved: {Quarantined, Pending},
	// A reviewer approves (waives) or requests a rescan.
	Quarantined: {Approved, Pending},
}

// CanTransition reports whether a revision may move from one status to
// another.
func CanTransition(from, to Status) bool {
	next, ok := transitions[from]
	if !ok {
		return false
	}
	if _, ok := transitions[to]; !ok {
		return false
	}
	if from == to {
		return true
	}
	for _, s := range next {
		if s == to {
			return true
		}
	}
	return false
}

// Revision is one commit of a repository and its gate status.
type Revision struct {
	RepoID         string
	Commit         string // 40-hex git commit
	Ref            string // branch or tag it was fetched as, or ""
	Status         Status
	Reason         string    // why quarantined (or approved by waiver)
	PolicyVersion  string    // policy the status was decided under
	RulesetVersion string    // scanner rules version the status was decided under
	CreatedBy      string    // principal that requested/pushed it ("system:pull-through", "user:alice", "sa:ci")
	CreatedAt      time.Time // set by PutRevision on first insert; ignored on input
	UpdatedAt      time.Time // last status change; PutRevision defaults it to now
}

// StatusChange is one entry of a revision's status history: the status it
// moved to, why, under which policy and rules, and who moved it.
type StatusChange struct {
	RepoID, Commit string
	Status         Status
	Reason         string
	PolicyVersion  string
	RulesetVersion string
	Actor          string    // principal, e.g. "user:alice", "system:scanner"
	At             time.Time // set by the store; ignored on input
}

// Ref is a branch or tag of a repository and the commit it points at.
type Ref struct {
	Name      string
	Commit    string
	UpdatedAt time.Time
}

// Approval is one reviewer's sign-off on a revision. Separation of duties
// (four eyes: two distinct approvers, neither the uploader) is decided by
// the server from the list of approvals; the store only keeps at most one
// approval per approver.
type Approval struct {
	RepoID, Commit string
	Approver       string // principal
	Comment        string
	At             time.Time // set by the store; ignored on input
}

// AliasChange points a promotion alias ("staging", "production", …) of a
// repository at a commit. Every change is kept, so AliasAt can say what
// production served at any past moment.
type AliasChange struct {
	RepoID, Alias, Commit string
	Actor                 string // principal
	Reason                string
	At                    time.Time // set by the store; ignored on input
}

// File is one path in a revision.
type File struct {
	RepoID   string
	Commit   string
	Path     string
	Size     int64
	SHA256   string // content digest: the blob name
	BlobSHA1 string // git blob SHA-1, the ETag of non-LFS files
	LFS      bool
}

// Token is an API token. Only the SHA-256 of the secret is stored; the secret
// is shown once when the token is created.
type Token struct {
	ID         string
	Hash       string // HashToken(secret)
	Owner      string // principal, e.g. "user:alice", "sa:ci"
	Name       string // user-facing label
	Kind       string // TokenPersonal or TokenService; "" means TokenPersonal
	Prefix     string // first chars of the secret shown in UIs, e.g. "aigis_pat_AbC1"
	Scopes     []string
	Namespaces []string
	Expires    time.Time // zero: never
	CreatedAt  time.Time // set by PutToken on first insert when zero
	LastUsed   time.Time // set by TouchToken; kept by PutToken on replace
	Revoked    bool      // set by RevokeToken; PutToken never clears it
}

// Token kinds.
const (
	TokenPersonal = "pat" // personal access token of a user
	TokenService  = "sat" // service account token
)

// RoleBinding grants Role to Principal on the repositories matching
// Namespace. Principal is "user:alice", "sa:ci" or "group:ml-team";
// Namespace is a pattern like "acme/*", "acme/bert" or "*", matched by the
// server, not the store.
type RoleBinding struct {
	Principal, Namespace, Role string
}

// Session is a UI login session. Only a hash of the session id is stored,
// as for tokens.
type Session struct {
	IDHash    string
	Principal string
	Groups    []string
	CreatedAt time.Time // set by PutSession when zero
	LastSeen  time.Time // set by PutSession when zero, moved by TouchSession
	Expires   time.Time // required: sessions always expire
}

// HashToken returns the hex SHA-256 of a token secret, as stored in
// Token.Hash. A fast hash is right for 256-bit random secrets.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// JobState is where a job stands in the queue.
type JobState string

// Job states.
const (
	JobQueued  JobState = "queued"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Job is a unit of work for scan workers.
type Job struct {
	ID         int64
	Kind       string // e.g. "scan"
	RepoID     string
	Commit     string
	Payload    string // opaque to the store (JSON for the worker, e.g. the upstream ref)
	State      JobState
	Attempts   int // times claimed, including reclaims after an expired lease
	Worker     string
	LeaseUntil time.Time
	Error      string // set when State is JobFailed
	CreatedAt  time.Time
	UpdatedAt  time.Time // last change of state, lease or attempts
}

// MaxJobAttempts is how many times a job is handed out. A job whose lease
// expired on its last attempt is marked failed by the next ClaimJob instead
// of being handed out again: a job that kills every worker that takes it
// must not take the whole fleet down one by one forever.
const MaxJobAttempts = 5

// Store is the registry's metadata store.
//
// Every method takes IDs as opaque strings. Text written to the store must
// be valid UTF-8 without NUL bytes (ErrInvalid otherwise); lookups by such
// keys find nothing (ErrNotFound). Both backends order text bytewise.
type Store interface {
	// PutRepo creates or updates a repository.
	PutRepo(ctx context.Context, r Repo) error
	GetRepo(ctx context.Context, id string) (Repo, error)
	// ListRepos returns repositories in byte order of ID, with the same
	// paging contract as ListFiles.
	ListRepos(ctx context.Context, cursor string, limit int) (repos []Repo, next string, err error)

	// PutRevision records a revision. A new revision takes r.Status
	// (Pending when empty), which is also the first entry of its
	// StatusHistory (Actor r.CreatedBy). For a revision already recorded,
	// only the ref is updated: status changes go through SetStatus, so
	// re-ingesting a commit never resets its approval or quarantine. A
	// non-empty Ref also points that ref at the commit (ResolveRef).
	PutRevision(ctx context.Context, r Revision) error
	GetRevision(ctx context.Context, repoID, commit string) (Revision, error)
	// ListRevisions returns a repository's revisions, newest CreatedAt
	// first.
	ListRevisions(ctx context.Context, repoID string) ([]Revision, error)
	// ListRevisionsByStatus returns up to limit revisions in status across
	// all repositories, oldest UpdatedAt first: the approval queue, or the
	// next revisions to rescan. limit as for ListFiles.
	ListRevisionsByStatus(ctx context.Context, status Status, limit int) ([]Revision, error)

	// ResolveRef returns the commit a branch or tag last pointed at.
	ResolveRef(ctx context.Context, repoID, ref string) (commit string, err error)
	// ListRefs returns a repository's refs by name.
	ListRefs(ctx context.Context, repoID string) ([]Ref, error)
	// DeleteRef removes a ref; ErrNotFound if absent. The revision stays.
	DeleteRef(ctx context.Context, repoID, name string) error

	// SetStatus moves a revision to a new status and appends the change to
	// its history; ErrInvalidTransition if CanTransition forbids it,
	// ErrNotFound for an unknown revision.
	SetStatus(ctx context.Context, c StatusChange) error
	// StatusHistory returns every status a revision has had, oldest first,
	// starting with the one PutRevision recorded.
	StatusHistory(ctx context.Context, repoID, commit string) ([]StatusChange, error)

	// PutFile creates or replaces one path of a revision.
	PutFile(ctx context.Context, f File) error
	// PutFiles is PutFile for many files in one transaction: all or
	// nothing. If a path appears twice, the last one wins.
	PutFiles(ctx context.Context, files []File) error
	// ListFiles returns up to limit files of a revision whose paths start
	// with prefix, in byte order of path, starting after cursor ("" for the
	// first page). next is "" on the last page, else the cursor for the
	// next page. limit <= 0 means DefaultListLimit; it is capped at
	// MaxListLimit.
	ListFiles(ctx context.Context, repoID, commit, prefix, cursor string, limit int) (files []File, next string, err error)
	// BlobReferenced reports whether any file of any revision has this
	// content digest: a blob nothing references may be deleted.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)

	// PutFindings replaces the findings of a revision's scan. Findings
	// returns ErrNotFound for a revision never scanned and an empty slice
	// for a clean one.
	PutFindings(ctx context.Context, repoID, commit string, fs []finding.Finding) error
	Findings(ctx context.Context, repoID, commit string) ([]finding.Finding, error)

	// AddApproval records a reviewer's approval of a revision
	// (ErrNotFound for an unknown revision). It is idempotent per approver:
	// a second call by the same approver keeps the first approval.
	AddApproval(ctx context.Context, a Approval) error
	// Approvals returns a revision's approvals, oldest first.
	Approvals(ctx context.Context, repoID, commit string) ([]Approval, error)

	// SetAlias points an alias at a recorded revision (ErrNotFound
	// otherwise) and appends the change to the alias's history.
	SetAlias(ctx context.Context, c AliasChange) error
	// Aliases returns the current value of each alias of a repository, by
	// alias name.
	Aliases(ctx context.Context, repoID string) ([]AliasChange, error)
	// AliasHistory returns every change of an alias, newest first.
	AliasHistory(ctx context.Context, repoID, alias string) ([]AliasChange, error)
	// AliasAt returns the change in effect at time at: the last one made at
	// or before it. ErrNotFound if the alias did not exist yet.
	AliasAt(ctx context.Context, repoID, alias string, at time.Time) (AliasChange, error)

	// PutToken creates or replaces a token. TokenByHash returns ErrNotFound
	// for an unknown, expired or revoked token.
	PutToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens returns the tokens of owner ("" for all), revoked and
	// expired ones included, oldest first. There are no secrets to return:
	// only their hashes are stored.
	ListTokens(ctx context.Context, owner string) ([]Token, error)
	// TouchToken sets a token's LastUsed.
	TouchToken(ctx context.Context, id string, at time.Time) error
	// RevokeToken revokes a token for good; it stays listed.
	RevokeToken(ctx context.Context, id string) error
	DeleteToken(ctx context.Context, id string) error

	// PutRoleBinding grants a role; granting it again is a no-op.
	PutRoleBinding(ctx context.Context, b RoleBinding) error
	// DeleteRoleBinding removes a grant; ErrNotFound if absent.
	DeleteRoleBinding(ctx context.Context, b RoleBinding) error
	// RoleBindings returns the bindings of any of these principals (a user
	// and their groups), ordered by principal, namespace and role.
	RoleBindings(ctx context.Context, principals []string) ([]RoleBinding, error)
	// ListRoleBindings returns every binding, in the same order.
	ListRoleBindings(ctx context.Context) ([]RoleBinding, error)

	// PutSession creates or replaces a UI session (and forgets expired
	// ones). SessionByHash returns ErrNotFound when it is absent or
	// expired.
	PutSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, idHash string) (Session, error)
	// TouchSession sets a session's LastSeen; ErrNotFound if absent.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession ends a session; ErrNotFound if absent.
	DeleteSession(ctx context.Context, idHash string) error

	// EnqueueJob adds a queued job and returns its id. If a job of the same
	// kind for the same revision is already queued or running, its id is
	// returned instead (and j.Payload is dropped).
	EnqueueJob(ctx context.Context, j Job) (int64, error)
	// ClaimJob hands the oldest claimable job to worker for lease: a
	// queued job, or a running one whose lease has expired (its worker is
	// presumed dead) and which has had fewer than MaxJobAttempts attempts;
	// an expired job that has had them all is marked failed instead. It
	// returns (nil, nil) when there is nothing to do. Each job is handed to
	// one worker at a time. Worker names must be unique per process.
	ClaimJob(ctx context.Context, worker string, lease time.Duration) (*Job, error)
	// RenewLease extends a running job's lease to now+lease. ErrNotFound
	// unless the job is running and held by worker.
	RenewLease(ctx context.Context, id int64, worker string, lease time.Duration) error
	// FinishJob marks a running job done, or failed with jobErr's text.
	// ErrNotFound unless the job is running and held by worker: a worker
	// whose expired job was reclaimed by another must not finish it.
	FinishJob(ctx context.Context, id int64, worker string, jobErr error) error
	GetJob(ctx context.Context, id int64) (Job, error)
	// ListJobs returns up to limit jobs in state ("" for all), oldest
	// first. limit as for ListFiles.
	ListJobs(ctx context.Context, state JobState, limit int) ([]Job, error)

	Close() error
}

// Length limits, in bytes. They keep every indexed key within
// PostgreSQL's B-tree entry limit (about 2700 bytes), so both backends
// accept the same records.
const (
	// MaxIDLen bounds repository IDs, commits, refs, aliases, digests,
	// principals, token and session keys, job kinds and workers.
	MaxIDLen = 300
	// MaxPathLen bounds a file's path.
	MaxPathLen = 2000
)

// CheckID reports whether id is acceptable as a key (repository ID, commit,
// ref, alias): non-empty, at most MaxIDLen bytes, valid UTF-8 and without
// NUL. The error wraps ErrInvalid.
func CheckID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("store: %s is empty: %w", what, ErrInvalid)
	case len(id) > MaxIDLen:
		return fmt.Errorf("store: %s is %d bytes, longer than %d: %w", what, len(id), MaxIDLen, ErrInvalid)
	case !validText(id):
		return fmt.Errorf("store: %s %q is not UTF-8 text without NUL: %w", what, id, ErrInvalid)
	}
	return nil
}

// validText reports whether s can be stored as text by every backend:
// PostgreSQL rejects NUL and invalid UTF-8.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// List limits for ListFiles and the other listings.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

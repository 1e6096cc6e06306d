// Package store is the registry's metadata: which repositories and revisions
// it knows, the files in each revision, what the scanner found, whether a
// revision is approved or quarantined, API tokens, and the queue of scan jobs.
//
// File contents are not here; they live in package blob, named by SHA-256.
// A File row links a path at a commit to its blob.
//
// Store is the interface the server and scan workers use. SQLite (this
// package, pure Go, WAL mode) is the embedded default so `aigis serve` runs
// with no setup; a PostgreSQL implementation will implement the same
// interface and must pass storetest.TestContract.
//
// The gate's one invariant is kept here as well as in policy code: a
// revision cannot become approved without having been scanned (see
// CanTransition), and re-recording a revision never resets its status.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/aigis-sec/aigis/finding"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such repository, revision, ref, findings, token or job.
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
	ID     string // "org/name"
	Type   RepoType
	Source Source
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
	RepoID        string
	Commit        string // 40-hex git commit
	Ref           string // branch or tag it was fetched as, or ""
	Status        Status
	Reason        string // why quarantined (or approved by waiver)
	PolicyVersion string // policy the status was decided under
	UpdatedAt     time.Time
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
	Owner      string
	Scopes     []string
	Namespaces []string
	Expires    time.Time // zero: never
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
	State      JobState
	Attempts   int // times claimed, including reclaims after an expired lease
	Worker     string
	LeaseUntil time.Time
	Error      string // set when State is JobFailed
	CreatedAt  time.Time
}

// Store is the registry's metadata store.
type Store interface {
	// PutRepo creates or updates a repository.
	PutRepo(ctx context.Context, r Repo) error
	GetRepo(ctx context.Context, id string) (Repo, error)

	// PutRevision records a revision. A new revision takes r.Status
	// (Pending when empty). For a revision already recorded, only the ref
	// is updated: status changes go through SetStatus, so re-ingesting a
	// commit never resets its approval or quarantine. A non-empty Ref also
	// points that ref at the commit (ResolveRef).
	PutRevision(ctx context.Context, r Revision) error
	GetRevision(ctx context.Context, repoID, commit string) (Revision, error)
	// ResolveRef returns the commit a branch or tag last pointed at.
	ResolveRef(ctx context.Context, repoID, ref string) (commit string, err error)
	// SetStatus moves a revision to a new status; ErrInvalidTransition if
	// CanTransition forbids it.
	SetStatus(ctx context.Context, repoID, commit string, status Status, reason, policyVersion string) error

	// PutFile creates or replaces one path of a revision.
	PutFile(ctx context.Context, f File) error
	// ListFiles returns up to limit files of a revision whose paths start
	// with prefix, in byte order of path, starting after cursor ("" for the
	// first page). next is "" on the last page, else the cursor for the
	// next page. limit <= 0 means DefaultListLimit; it is capped at
	// MaxListLimit.
	ListFiles(ctx context.Context, repoID, commit, prefix, cursor string, limit int) (files []File, next string, err error)

	// PutFindings replaces the findings of a revision's scan. Findings
	// returns ErrNotFound for a revision never scanned and an empty slice
	// for a clean one.
	PutFindings(ctx context.Context, repoID, commit string, fs []finding.Finding) error
	Findings(ctx context.Context, repoID, commit string) ([]finding.Finding, error)

	// PutToken creates or replaces a token. TokenByHash returns ErrNotFound
	// for an unknown or expired token.
	PutToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	DeleteToken(ctx context.Context, id string) error

	// EnqueueJob adds a queued job and returns its id. If a job of the same
	// kind for the same revision is already queued or running, its id is
	// returned instead.
	EnqueueJob(ctx context.Context, j Job) (int64, error)
	// ClaimJob hands the oldest claimable job to worker for lease: a
	// queued job, or a running one whose lease has expired (its worker is
	// presumed dead). It returns (nil, nil) when there is nothing to do.
	// Each job is handed to one worker at a time.
	ClaimJob(ctx context.Context, worker string, lease time.Duration) (*Job, error)
	// FinishJob marks a running job done, or failed with jobErr's text.
	// ErrNotFound if no such job is running.
	FinishJob(ctx context.Context, id int64, jobErr error) error
	GetJob(ctx context.Context, id int64) (Job, error)

	Close() error
}

// List limits for ListFiles.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

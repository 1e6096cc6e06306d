package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/store"
)

// pushedFile is one file of a new internal revision: its content is in
// the blob store already, named by SHA256.
type pushedFile struct {
	Path   string
	SHA256 string
}

// requestError is a refusal to show the client with its HTTP status.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// commitError answers a createCommit error.
func (s *Server) commitError(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		apiError(w, re.status, re.msg)
		return
	}
	s.internalError(w, r, "create the revision", err)
}

// createCommit records a new internal revision of repo on branch with
// exactly files (each already uploaded), queues its scan, and returns its
// commit id; created is false when the same revision existed already.
// parent, when set, must be the branch's current head (optimistic
// concurrency, as the Hub's parentCommit).
func (s *Server) createCommit(ctx context.Context, actor, typ, repo, branch, message, parent string, pushed []pushedFile) (commit string, status store.Status, created bool, err error) {
	if branch == "" {
		branch = defaultRevision
	}
	if !validRev(branch) || hub.IsCommit(branch) {
		return "", "", false, badRequest("invalid branch name %q", branch)
	}
	if len(pushed) == 0 || len(pushed) > maxListFiles {
		return "", "", false, badRequest("a commit lists 1 to %d files", maxListFiles)
	}
	key := repoKey(typ, repo)
	if rp, err := s.cfg.Store.GetRepo(ctx, key); err == nil && rp.Source != store.Internal {
		return "", "", false, &requestError{http.StatusConflict, repo + " is pulled through from upstream; push to another name"}
	}
	if ok, why := s.Policy().AllowSource(repo, string(store.Internal)); !ok {
		return "", "", false, &requestError{http.StatusForbidden, fmt.Sprintf("policy %s does not allow pushing %s: %s", s.Policy().Version(), repo, why)}
	}
	head, _ := s.cfg.Store.ResolveRef(ctx, key, upstreamRefPrefix+branch)
	if parent != "" && parent != head {
		return "", "", false, &requestError{http.StatusPreconditionFailed, fmt.Sprintf("parent commit %s is not the head of %s (%s): pull and commit again", parent, branch, head)}
	}
	seen := map[string]bool{}
	files := make([]store.File, 0, len(pushed))
	for _, f := range pushed {
		if _, ok := filePath(strings.Split(f.Path, "/")); !ok || f.Path == "" || seen[f.Path] {
			return "", "", false, badRequest("file path %q is empty, repeated, or not a clean relative path", f.Path)
		}
		seen[f.Path] = true
		size, err := s.cfg.Blobs.Stat(ctx, f.SHA256)
		if err != nil {
			return "", "", false, badRequest("%s: no uploaded content with sha256 %q; upload it first", f.Path, f.SHA256)
		}
		blobID, lfs, err := s.gitIdentity(ctx, f.SHA256, size)
		if err != nil {
			return "", "", false, err
		}
		files = append(files, store.File{RepoID: key, Path: f.Path, Size: size, SHA256: f.SHA256, BlobSHA1: blobID, LFS: lfs})
	}
	commit = commitID(head, files)
	for i := range files {
		files[i].Commit = commit
	}
	if err := s.cfg.Store.PutRepo(ctx, store.Repo{ID: key, Type: store.RepoType(typ), Source: store.Internal}); err != nil {
		return "", "", false, err
	}
	if existing, err := s.cfg.Store.GetRevision(ctx, key, commit); err == nil {
		return commit, existing.Status, false, nil
	}
	details := map[string]string{"files": fmt.Sprint(len(files)), "branch": branch, "message": message}
	if _, err := s.cfg.Audit.Append(s.entry(actor, "artifact.push", subjectRevision(typ, repo, commit), details)); err != nil {
		return "", "", false, fmt.Errorf("audit: %w", err)
	}
	if err := s.cfg.Store.PutRevision(ctx, store.Revision{RepoID: key, Commit: commit, Ref: upstreamRefPrefix + branch, Status: store.Pending, CreatedBy: actor}); err != nil {
		return "", "", false, err
	}
	if err := s.cfg.Store.PutFiles(ctx, files); err != nil {
		return "", "", false, err
	}
	if err := s.enqueue(ctx, jobScan, typ, repo, commit, branch); err != nil {
		return "", "", false, err
	}
	return commit, store.Pending, true, nil
}

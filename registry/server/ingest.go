package server

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/store"
)

// Job kinds.
const (
	jobIngest  = "ingest"  // fetch an upstream revision, then judge it
	jobScan    = "scan"    // judge a revision whose files are stored (a push)
	jobRejudge = "rejudge" // judge a decided revision again (new rules or policy)
)

// jobPayload is the JSON payload of a job.
type jobPayload struct {
	Type string `json:"type"`
	Repo string `json:"repo"`
	Rev  string `json:"rev,omitempty"` // the branch or tag the revision was requested as
}

// upstreamError is an upstream answer to pass on to the client.
type upstreamError struct {
	status int
	code   string
	msg    string
}

func (e *upstreamError) Error() string { return e.msg }

// upstreamClient is a hub client for one repository type.
func (s *Server) upstreamClient(typ string) *hub.Client {
	c := &hub.Client{Endpoint: s.cfg.Upstream, Token: s.cfg.UpstreamToken, HTTP: s.cfg.UpstreamHTTP}
	if typ == "dataset" {
		c.RepoType = "dataset"
	}
	return c
}

// upstreamCommit resolves rev of an upstream repository to a commit, with
// one request (the worker lists the files).
func (s *Server) upstreamCommit(ctx context.Context, typ, repo, rev string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	commit, err := s.upstreamClient(typ).Commit(ctx, repo, rev)
	switch {
	case err == nil:
		return commit, nil
	case errors.Is(err, hub.ErrNotFound):
		code := "RepoNotFound"
		if strings.Contains(err.Error(), "revision") {
			code = "RevisionNotFound"
		}
		return "", &upstreamError{http.StatusNotFound, code, fmt.Sprintf("%s@%s was not found upstream (%s): %v", repo, rev, s.cfg.Upstream, err)}
	case errors.Is(err, hub.ErrUnauthorized):
		return "", &upstreamError{http.StatusNotFound, "RepoNotFound", fmt.Sprintf("%s is private or gated upstream and the registry's upstream token cannot read it", repo)}
	default:
		return "", &upstreamError{http.StatusBadGateway, "", fmt.Sprintf("upstream %s: %v; retry later", s.cfg.Upstream, err)}
	}
}

// startIngest pins rev of an upstream repository to a commit, records the
// revision as pending and queues its ingest. It returns the commit.
func (s *Server) startIngest(ctx context.Context, actor, typ, repo, rev string) (string, error) {
	if ok, why := s.Policy().AllowSource(repo, string(store.Upstream)); !ok {
		return "", &upstreamError{http.StatusForbidden, "GatedRepo", fmt.Sprintf("aigis policy %s does not allow %s from upstream: %s", s.Policy().Version(), repo, why)}
	}
	commit, err := s.upstreamCommit(ctx, typ, repo, rev)
	if err != nil {
		return "", err
	}
	key := repoKey(typ, repo)
	if err := s.cfg.Store.PutRepo(ctx, store.Repo{ID: key, Type: store.RepoType(typ), Source: store.Upstream}); err != nil {
		return "", err
	}
	ref := ""
	if !hub.IsCommit(rev) {
		ref = upstreamRefPrefix + rev
	}
	if err := s.cfg.Store.PutRevision(ctx, store.Revision{RepoID: key, Commit: commit, Ref: ref, Status: store.Pending, CreatedBy: actor}); err != nil {
		return "", err
	}
	if err := s.enqueue(ctx, jobIngest, typ, repo, commit, rev); err != nil {
		return "", err
	}
	details := map[string]string{"revision": rev, "upstream": s.cfg.Upstream}
	if _, err := s.cfg.Audit.Append(s.entry(actor, "artifact.request", subjectRevision(typ, repo, commit), details)); err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	return commit, nil
}

func (s *Server) enqueue(ctx context.Context, kind, typ, repo, commit, rev string) error {
	payload, _ := json.Marshal(jobPayload{Type: typ, Repo: repo, Rev: rev})
	if _, err := s.cfg.Store.EnqueueJob(ctx, store.Job{Kind: kind, RepoID: repoKey(typ, repo), Commit: commit, Payload: string(payload)}); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Server) entry(actor, action, subject string, details map[string]string) audit.Entry {
	if actor == "" {
		actor = "anonymous"
	}
	return audit.Entry{Time: s.cfg.Now().UTC(), Actor: actor, Action: action, Subject: subject, Details: details}
}

// leaseTime is how long a worker holds a job between renewals.
const leaseTime = 2 * time.Minute

// RunWorkers runs n scan workers until ctx is cancelled. Workers in several
// processes may share one store: each job goes to one worker at a time, and
// a job whose worker died is taken over when its lease expires.
func (s *Server) RunWorkers(ctx context.Context, n int, name string) {
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		go func(i int) {
			defer func() { done <- struct{}{} }()
			s.workerLoop(ctx, fmt.Sprintf("%s-%d", name, i))
		}(i)
	}
	for i := 0; i < n; i++ {
		<-done
	}
}

func (s *Server) workerLoop(ctx context.Context, worker string) {
	for ctx.Err() == nil {
		j, err := s.cfg.Store.ClaimJob(ctx, worker, leaseTime)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("claim job", "err", err, "worker", worker)
			}
			sleep(ctx, time.Second)
			continue
		}
		if j == nil {
			select {
			case <-ctx.Done():
			case <-s.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		s.runJob(ctx, worker, j)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// RunOnce runs queued jobs in this goroutine until none is left (tests and
// `aigis serve --once`).
func (s *Server) RunOnce(ctx context.Context, worker string) error {
	for {
		j, err := s.cfg.Store.ClaimJob(ctx, worker, leaseTime)
		if err != nil {
			return err
		}
		if j == nil {
			return nil
		}
		s.runJob(ctx, worker, j)
	}
}

func (s *Server) runJob(ctx context.Context, worker string, j *store.Job) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Renew the lease while the job runs; losing it stops the job.
	go func() {
		t := time.NewTicker(leaseTime / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				if err := s.cfg.Store.RenewLease(jctx, j.ID, worker, leaseTime); err != nil {
					s.log.Warn("lost job lease", "job", j.ID, "err", err)
					cancel()
					return
				}
			}
		}
	}()
	var p jobPayload
	err := json.Unmarshal([]byte(j.Payload), &p)
	if err == nil {
		switch j.Kind {
		case jobIngest:
			err = s.ingest(jctx, p, j.Commit)
		case jobScan, jobRejudge:
			err = s.judge(jctx, p, j.Commit, j.Kind == jobRejudge)
		default:
			err = fmt.Errorf("unknown job kind %q", j.Kind)
		}
	}
	if err != nil {
		s.log.Error("job failed", "job", j.ID, "kind", j.Kind, "repo", j.RepoID, "commit", j.Commit, "err", err)
	}
	if ctx.Err() != nil {
		return // shutting down: the lease expires and another worker resumes
	}
	if ferr := s.cfg.Store.FinishJob(ctx, j.ID, worker, err); ferr != nil {
		s.log.Error("finish job", "job", j.ID, "err", ferr)
	}
}

// ingest fetches every file of an upstream revision into the blob store,
// checked against upstream's hashes, then judges it.
func (s *Server) ingest(ctx context.Context, p jobPayload, commit string) error {
	key := repoKey(p.Type, p.Repo)
	rev, err := s.cfg.Store.GetRevision(ctx, key, commit)
	if err != nil {
		return err
	}
	if rev.Status != store.Pending && rev.Status != store.Scanning {
		return nil // decided already (a duplicate job, or an operator acted)
	}
	if err := s.setStatus(ctx, key, commit, store.Scanning, "fetching from upstream", "system:ingest"); err != nil {
		return err
	}
	snap, err := s.upstreamClient(p.Type).Files(ctx, p.Repo, commit)
	if err != nil {
		return s.fail(ctx, p, commit, fmt.Errorf("list files upstream: %w", err))
	}
	if snap.Commit != commit {
		return s.quarantine(ctx, p, commit, fmt.Sprintf("upstream answered commit %s for %s", snap.Commit, commit), "system:ingest")
	}
	// Refuse oversized revisions before downloading them.
	pre := s.Policy().Evaluate(s.policyInput(p, commit, snap.Files, nil))
	if reasons := earlyReasons(pre); len(reasons) > 0 {
		return s.quarantine(ctx, p, commit, strings.Join(reasons, "; "), "system:policy")
	}
	files := make([]store.File, 0, len(snap.Files))
	up := s.upstreamClient(p.Type)
	for _, hf := range snap.Files {
		f, err := s.fetchFile(ctx, up, p.Repo, commit, hf)
		if err != nil {
			var ie *integrityError
			if errors.As(err, &ie) {
				return s.quarantine(ctx, p, commit, ie.Error(), "system:ingest")
			}
			return s.fail(ctx, p, commit, err)
		}
		f.RepoID = key
		files = append(files, f)
	}
	if err := s.cfg.Store.PutFiles(ctx, files); err != nil {
		return err
	}
	details := map[string]string{"files": fmt.Sprint(len(files)), "upstream": s.cfg.Upstream}
	if _, err := s.cfg.Audit.Append(s.entry("system:ingest", "artifact.ingest", subjectRevision(p.Type, p.Repo, commit), details)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return s.judge(ctx, p, commit, false)
}

// fail returns a revision to pending after a transient failure so that the
// job's retry (or the next request) tries again.
func (s *Server) fail(ctx context.Context, p jobPayload, commit string, err error) error {
	if serr := s.setStatus(ctx, repoKey(p.Type, p.Repo), commit, store.Pending, "retrying after: "+err.Error(), "system:ingest"); serr != nil {
		s.log.Error("reset status", "err", serr)
	}
	return err
}

// integrityError: upstream served bytes that do not match its own record.
type integrityError struct{ msg string }

func (e *integrityError) Error() string { return e.msg }

// maxFetchAttempts bounds how often one file's download is resumed.
const maxFetchAttempts = 5

// fetchFile streams one upstream file into the blob store, resuming after
// broken connections with Range requests, and checks it against the
// upstream sha256 (LFS) or git blob id (regular files).
func (s *Server) fetchFile(ctx context.Context, up *hub.Client, repo, commit string, hf hub.File) (store.File, error) {
	f := store.File{Commit: commit, Path: hf.Path, Size: hf.Size, SHA256: hf.SHA256, BlobSHA1: hf.BlobSHA1, LFS: hf.SHA256 != ""}
	if hf.Size < 0 {
		return f, &integrityError{fmt.Sprintf("upstream does not say how large %s is", hf.Path)}
	}
	if f.LFS {
		if n, err := s.cfg.Blobs.Stat(ctx, hf.SHA256); err == nil && n == hf.Size {
			return f, nil // already stored, from this or another revision
		}
	}
	rr := &resumingReader{ctx: ctx, open: func(off int64) (io.ReadCloser, error) {
		return up.Download(ctx, repo, commit, hf.Path, off)
	}, size: hf.Size}
	defer rr.Close()
	git := sha1.New()
	fmt.Fprintf(git, "blob %d\x00", hf.Size)
	ref, err := s.cfg.Blobs.Put(ctx, io.TeeReader(io.LimitReader(rr, hf.Size+1), git))
	if err != nil {
		return f, fmt.Errorf("fetch %s: %w", hf.Path, err)
	}
	gitID := hex.EncodeToString(git.Sum(nil))
	switch {
	case ref.Size != hf.Size:
		err = &integrityError{fmt.Sprintf("upstream served %d bytes for %s, its listing says %d", ref.Size, hf.Path, hf.Size)}
	case f.LFS && ref.SHA256 != hf.SHA256:
		err = &integrityError{fmt.Sprintf("upstream served %s with sha256 %s, its listing says %s", hf.Path, ref.SHA256, hf.SHA256)}
	case !f.LFS && hf.BlobSHA1 != "" && gitID != hf.BlobSHA1:
		err = &integrityError{fmt.Sprintf("upstream served %s with git blob id %s, its listing says %s", hf.Path, gitID, hf.BlobSHA1)}
	}
	if err != nil {
		if used, uerr := s.cfg.Store.BlobReferenced(ctx, ref.SHA256); uerr == nil && !used {
			s.cfg.Blobs.Delete(ctx, ref.SHA256)
		}
		return f, err
	}
	f.SHA256 = ref.SHA256
	if f.BlobSHA1 == "" {
		f.BlobSHA1 = gitID
	}
	return f, nil
}

// resumingReader reads a download to its declared size, reopening it at
// the current offset when the connection breaks.
type resumingReader struct {
	ctx      context.Context
	open     func(off int64) (io.ReadCloser, error)
	size     int64
	off      int64
	body     io.ReadCloser
	attempts int
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if r.attempts >= maxFetchAttempts {
				return 0, fmt.Errorf("download broke %d times; giving up at byte %d of %d", r.attempts, r.off, r.size)
			}
			if r.attempts > 0 {
				sleep(r.ctx, time.Duration(r.attempts)*time.Second)
			}
			r.attempts++
			b, err := r.open(r.off)
			if err != nil {
				if r.ctx.Err() != nil {
					return 0, r.ctx.Err()
				}
				var he *hub.Error
				if errors.As(err, &he) && errors.Is(err, hub.ErrNotFound) {
					return 0, err
				}
				continue
			}
			r.body = b
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if err == io.EOF {
			if r.off >= r.size {
				return n, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			r.body.Close()
			r.body = nil
			if r.ctx.Err() != nil {
				return n, r.ctx.Err()
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, nil
	}
}

func (r *resumingReader) Close() error {
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

// linkOut hard-links a blob kept in a local file (the filesystem store) to
// dst instead of copying it; false when the store has no local files or the
// link cannot be made (another filesystem), and the caller copies.
func (s *Server) linkOut(f store.File, dst string) (bool, error) {
	lp, ok := s.cfg.Blobs.(interface{ LocalPath(string) (string, error) })
	if !ok {
		return false, nil
	}
	src, err := lp.LocalPath(f.SHA256)
	if err != nil {
		return false, fmt.Errorf("stored %s: %w", f.Path, err)
	}
	return os.Link(src, dst) == nil, nil
}

// materialize lays a stored revision out in a fresh scratch folder (hard
// links to the blobs where the store keeps local files, else copies) for the
// scanner and the signature check, and returns it with a cleanup function.
func (s *Server) materialize(ctx context.Context, key, commit string) (string, []store.File, func(), error) {
	files, err := s.listAll(ctx, key, commit, "")
	if err != nil {
		return "", nil, nil, err
	}
	if err := os.MkdirAll(s.cfg.WorkDir, 0o700); err != nil {
		return "", nil, nil, err
	}
	dir, err := os.MkdirTemp(s.cfg.WorkDir, "scan-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	for _, f := range files {
		if err := s.copyOut(ctx, f, dir); err != nil {
			cleanup()
			return "", nil, nil, err
		}
	}
	return dir, files, cleanup, nil
}

func (s *Server) copyOut(ctx context.Context, f store.File, dir string) error {
	// Paths were validated on the way in; check again before writing.
	if _, ok := filePath(strings.Split(f.Path, "/")); !ok {
		return fmt.Errorf("stored path %q is not a safe relative path", f.Path)
	}
	dst := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	h := sha256.New()
	if linked, err := s.linkOut(f, dst); err != nil {
		return err
	} else if linked {
		// The blob is the file: hash it in place (reading, not writing, a
		// multi-gigabyte model) to check the store.
		in, err := os.Open(dst)
		if err != nil {
			return err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Path, err)
		}
	} else {
		rc, _, err := s.cfg.Blobs.Open(ctx, f.SHA256)
		if err != nil {
			return fmt.Errorf("open stored %s: %w", f.Path, err)
		}
		defer rc.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.MultiWriter(out, h), rc)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", f.Path, err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("stored blob of %s has sha256 %s, want %s: the blob store is damaged", f.Path, got, f.SHA256)
	}
	return nil
}

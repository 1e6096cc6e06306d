package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/store"
)

// The aigis API lives under /api/aigis/. Repository paths there are
// /api/aigis/repos/{type}/{org}/{name}/… with type "models" or "datasets".

func (s *Server) registerAPI(mux *http.ServeMux) {
	const repo = "/api/aigis/repos/{type}/{org}/{name}"
	mux.HandleFunc("POST /api/aigis/pull", s.apiPull)
	mux.HandleFunc("GET /api/aigis/repos", s.apiListRepos)
	mux.HandleFunc("GET "+repo, s.apiRepo)
	mux.HandleFunc("GET "+repo+"/revisions/{commit}", s.apiRevision)
	mux.HandleFunc("POST "+repo+"/revisions/{commit}/approve", s.apiApprove)
	mux.HandleFunc("POST "+repo+"/revisions/{commit}/reject", s.apiReject)
	mux.HandleFunc("POST "+repo+"/revisions/{commit}/rescan", s.apiRescan)
	mux.HandleFunc("GET "+repo+"/revisions/{commit}/signature", s.apiSignature)
	mux.HandleFunc("PUT "+repo+"/blobs/{sha256}", s.apiPutBlob)
	mux.HandleFunc("HEAD "+repo+"/blobs/{sha256}", s.apiHasBlob)
	mux.HandleFunc("POST "+repo+"/commits", s.apiCommit)
	mux.HandleFunc("PUT /api/aigis/lfs/{type}/{org}/{name}/{oid}", s.lfsUpload)
	mux.HandleFunc("POST "+repo+"/aliases/{alias}", s.apiPromote)
	mux.HandleFunc("GET "+repo+"/aliases/{alias}", s.apiAliasHistory)
	mux.HandleFunc("GET /api/aigis/queue", s.apiQueue)
	mux.HandleFunc("POST /api/aigis/tokens", s.apiCreateToken)
	mux.HandleFunc("GET /api/aigis/tokens", s.apiListTokens)
	mux.HandleFunc("DELETE /api/aigis/tokens/{id}", s.apiRevokeToken)
	mux.HandleFunc("GET /api/aigis/bindings", s.apiListBindings)
	mux.HandleFunc("POST /api/aigis/bindings", s.apiPutBinding)
	mux.HandleFunc("DELETE /api/aigis/bindings", s.apiDeleteBinding)
	mux.HandleFunc("GET /api/aigis/policy", s.apiPolicy)
	mux.HandleFunc("GET /api/aigis/audit/checkpoint", s.apiAuditCheckpoint)
	mux.HandleFunc("GET /api/aigis/audit/entries", s.apiAuditEntries)
	mux.HandleFunc("GET /api/aigis/audit/proof", s.apiAuditProof)
	mux.HandleFunc("/api/aigis/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no such aigis API endpoint: "+r.Method+" "+r.URL.Path)
	})
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("X-Error-Message", sanitizeHeader(msg))
	writeJSON(w, status, map[string]string{"error": msg})
}

// Problems with the {type}/{org}/{name} of a repository URL.
var (
	errRepoType = errors.New("repository type must be models or datasets")
	errRepoID   = errors.New("malformed repository id: use org/name with letters, digits, '-', '_' and '.'")
)

// repoPath reads {type}/{org}/{name} of an API or UI URL.
func repoPath(r *http.Request) (typ, repo string, err error) {
	switch r.PathValue("type") {
	case "models":
		typ = "model"
	case "datasets":
		typ = "dataset"
	default:
		return "", "", errRepoType
	}
	org, name := r.PathValue("org"), r.PathValue("name")
	if !validRepoID([]string{org, name}) {
		return "", "", errRepoID
	}
	return typ, org + "/" + name, nil
}

// repoFromPath reads {type}/{org}/{name} and checks the principal may act.
func (s *Server) repoFromPath(w http.ResponseWriter, r *http.Request, act auth.Action) (typ, repo string, ok bool) {
	typ, repo, err := repoPath(r)
	switch {
	case errors.Is(err, errRepoType):
		apiError(w, http.StatusNotFound, err.Error())
		return "", "", false
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	if !s.permit(w, r, act, repo) {
		return "", "", false
	}
	return typ, repo, true
}

// permit answers 401/403 unless the principal may act on repo.
func (s *Server) permit(w http.ResponseWriter, r *http.Request, act auth.Action, repo string) bool {
	p := principalOf(r.Context())
	if allowed(p, act, repo) {
		return true
	}
	if isAnonymous(p) {
		apiError(w, http.StatusUnauthorized, "this needs a token: send Authorization: Bearer <aigis token>")
		return false
	}
	where := repo
	if where == "*" {
		where = "this registry"
	}
	apiError(w, http.StatusForbidden, fmt.Sprintf("%s may not %s on %s: ask an admin for a role that allows it", p.ID, act, where))
	return false
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		apiError(w, http.StatusBadRequest, "request body: "+err.Error())
		return false
	}
	return true
}

// apiPull starts (or reports) the pull-through of an upstream revision.
func (s *Server) apiPull(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type     string `json:"type"`
		Repo     string `json:"repo"`
		Revision string `json:"revision"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Type == "" {
		body.Type = "model"
	}
	if body.Revision == "" {
		body.Revision = defaultRevision
	}
	if (body.Type != "model" && body.Type != "dataset") || !validRepoID(strings.Split(body.Repo, "/")) || !validRev(body.Revision) {
		apiError(w, http.StatusBadRequest, `send {"type": "model"|"dataset", "repo": "org/name", "revision": "main"}`)
		return
	}
	if !s.permit(w, r, auth.ActRequestIngest, body.Repo) {
		return
	}
	ctx := r.Context()
	key := repoKey(body.Type, body.Repo)
	rev, err := s.lookupRevision(ctx, key, body.Revision)
	if err != nil {
		s.internalError(w, r, "look up revision", err)
		return
	}
	if rev == nil {
		if s.cfg.Upstream == "" {
			apiError(w, http.StatusNotFound, "pull-through is off (start aigis serve with --upstream)")
			return
		}
		commit, err := s.startIngest(ctx, principalOf(ctx).ID, body.Type, body.Repo, body.Revision)
		var ue *upstreamError
		if errors.As(err, &ue) {
			apiError(w, ue.status, ue.msg)
			return
		}
		if err != nil {
			s.internalError(w, r, "start ingest", err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"repo": body.Repo, "commit": commit, "status": string(store.Pending)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"repo": body.Repo, "commit": rev.Commit, "status": string(rev.Status), "reason": rev.Reason})
}

func (s *Server) apiListRepos(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(ctx)
	repos, next, err := s.cfg.Store.ListRepos(ctx, r.URL.Query().Get("cursor"), 500)
	if err != nil {
		s.internalError(w, r, "list repositories", err)
		return
	}
	type item struct {
		Type   string `json:"type"`
		ID     string `json:"id"`
		Source string `json:"source"`
	}
	out := []item{}
	for _, rp := range repos {
		typ, id := splitKey(rp.ID)
		if allowed(p, auth.ActRead, id) {
			out = append(out, item{typ, id, string(rp.Source)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repos": out, "next": next})
}

// revisionView is a revision as the API and UI show it.
type revisionView struct {
	Repo           string               `json:"repo"`
	Type           string               `json:"type"`
	Commit         string               `json:"commit"`
	Status         store.Status         `json:"status"`
	Reason         string               `json:"reason,omitempty"`
	PolicyVersion  string               `json:"policy_version,omitempty"`
	RulesetVersion string               `json:"ruleset_version,omitempty"`
	CreatedBy      string               `json:"created_by,omitempty"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      time.Time            `json:"updated_at"`
	Files          []store.File         `json:"files,omitempty"`
	Findings       []finding.Finding    `json:"findings"`
	History        []store.StatusChange `json:"history,omitempty"`
	Approvals      []store.Approval     `json:"approvals"`
	Signed         bool                 `json:"signed"`
}

func (s *Server) apiRepo(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	d, err := s.repoDetail(r.Context(), typ, repo)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, repo+" is not in this registry")
		return
	} else if err != nil {
		s.internalError(w, r, "load repository", err)
		return
	}
	aliases := make([]store.AliasChange, 0, len(d.Aliases))
	for _, a := range d.Aliases {
		aliases = append(aliases, a.Current)
	}
	writeJSON(w, http.StatusOK, map[string]any{"repo": repo, "type": typ, "source": d.Repo.Source, "created_at": d.Repo.CreatedAt,
		"revisions": d.Revisions, "refs": d.Refs, "aliases": aliases})
}

// aliasView is an alias with its promotion history, newest first.
type aliasView struct {
	Name    string
	Current store.AliasChange
	History []store.AliasChange
}

// repoView is a repository as the API and UI show it.
type repoView struct {
	Repo      store.Repo
	Revisions []revisionView
	Refs      []store.Ref
	Aliases   []aliasView
}

// repoDetail loads a repository with its revisions, refs and aliases.
func (s *Server) repoDetail(ctx context.Context, typ, repo string) (*repoView, error) {
	key := repoKey(typ, repo)
	rp, err := s.cfg.Store.GetRepo(ctx, key)
	if err != nil {
		return nil, err
	}
	d := &repoView{Repo: rp, Revisions: []revisionView{}}
	revs, err := s.cfg.Store.ListRevisions(ctx, key)
	if err != nil {
		return nil, err
	}
	for _, rv := range revs {
		d.Revisions = append(d.Revisions, toView(typ, repo, rv))
	}
	if d.Refs, err = s.cfg.Store.ListRefs(ctx, key); err != nil {
		return nil, err
	}
	aliases, err := s.cfg.Store.Aliases(ctx, key)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		h, err := s.cfg.Store.AliasHistory(ctx, key, a.Alias)
		if err != nil {
			return nil, err
		}
		d.Aliases = append(d.Aliases, aliasView{Name: a.Alias, Current: a, History: h})
	}
	return d, nil
}

func toView(typ, repo string, rv store.Revision) revisionView {
	return revisionView{Repo: repo, Type: typ, Commit: rv.Commit, Status: rv.Status, Reason: rv.Reason, PolicyVersion: rv.PolicyVersion,
		RulesetVersion: rv.RulesetVersion, CreatedBy: rv.CreatedBy, CreatedAt: rv.CreatedAt, UpdatedAt: rv.UpdatedAt, Findings: []finding.Finding{}, Approvals: []store.Approval{}}
}

// revisionDetail loads everything shown about one revision.
func (s *Server) revisionDetail(ctx context.Context, typ, repo, commit string) (*revisionView, error) {
	key := repoKey(typ, repo)
	rv, err := s.cfg.Store.GetRevision(ctx, key, commit)
	if err != nil {
		return nil, err
	}
	v := toView(typ, repo, rv)
	if v.Files, err = s.listAll(ctx, key, commit, ""); err != nil {
		return nil, err
	}
	if fs, err := s.cfg.Store.Findings(ctx, key, commit); err == nil {
		v.Findings = fs
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if v.History, err = s.cfg.Store.StatusHistory(ctx, key, commit); err != nil {
		return nil, err
	}
	if as, err := s.cfg.Store.Approvals(ctx, key, commit); err == nil && as != nil {
		v.Approvals = as
	}
	v.Signed = s.signatureOf(ctx, key, commit) != ""
	return &v, nil
}

func (s *Server) apiRevision(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	commit := strings.ToLower(r.PathValue("commit"))
	ctx := r.Context()
	if !hub.IsCommit(commit) {
		// A branch, tag or alias: show what it resolves to.
		rv, err := s.lookupRevision(ctx, repoKey(typ, repo), r.PathValue("commit"))
		if err != nil || rv == nil {
			apiError(w, http.StatusNotFound, fmt.Sprintf("%s has no revision %q here", repo, r.PathValue("commit")))
			return
		}
		commit = rv.Commit
	}
	v, err := s.revisionDetail(ctx, typ, repo, commit)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, fmt.Sprintf("%s has no revision %s here", repo, commit))
		return
	} else if err != nil {
		s.internalError(w, r, "load revision", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type commentBody struct {
	Comment string `json:"comment"`
	Reason  string `json:"reason"`
}

// apiApprove records a reviewer's approval. An internal revision that
// passed the gate is approved once it has the configured number of
// approvals (none by its creator); a quarantined revision is approved by a
// waiver, which needs a reason.
func (s *Server) apiApprove(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActApprove)
	if !ok {
		return
	}
	var body commentBody
	if !decodeBody(w, r, &body) {
		return
	}
	ctx := r.Context()
	p := principalOf(ctx)
	key := repoKey(typ, repo)
	commit := strings.ToLower(r.PathValue("commit"))
	rv, err := s.cfg.Store.GetRevision(ctx, key, commit)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such revision")
		return
	} else if err != nil {
		s.internalError(w, r, "load revision", err)
		return
	}
	if !auth.CanApprove(p, repo, rv.CreatedBy) {
		apiError(w, http.StatusForbidden, fmt.Sprintf("%s pushed or requested this revision and may not approve it (separation of duties)", p.ID))
		return
	}
	switch rv.Status {
	case store.Approved:
		writeJSON(w, http.StatusOK, map[string]string{"status": string(rv.Status)})
		return
	case store.Pending, store.Scanning:
		apiError(w, http.StatusConflict, "the revision is still being scanned; approve it after the scan")
		return
	}
	waiver := !strings.HasPrefix(rv.Reason, awaitingApproval)
	comment := body.Comment
	if comment == "" {
		comment = body.Reason
	}
	if waiver && comment == "" {
		apiError(w, http.StatusBadRequest, "this revision was quarantined ("+rv.Reason+"); approving it is a waiver and needs a reason: send {\"reason\": \"...\"}")
		return
	}
	if waiver && !allowed(p, auth.ActWaive, repo) {
		apiError(w, http.StatusForbidden, p.ID+" may not waive findings on "+repo)
		return
	}
	subject := subjectRevision(typ, repo, commit)
	details := map[string]string{"comment": comment, "waiver": strconv.FormatBool(waiver)}
	if _, err := s.cfg.Audit.Append(s.entry(p.ID, "artifact.approve", subject, details)); err != nil {
		s.internalError(w, r, "write the audit log", err)
		return
	}
	if err := s.cfg.Store.AddApproval(ctx, store.Approval{RepoID: key, Commit: commit, Approver: p.ID, Comment: comment}); err != nil {
		s.internalError(w, r, "record approval", err)
		return
	}
	n, err := s.approvalCount(ctx, key, commit, rv.CreatedBy)
	if err != nil {
		s.internalError(w, r, "count approvals", err)
		return
	}
	if n < s.cfg.Approvals {
		reason := fmt.Sprintf("%s: %d of %d reviewer approvals", awaitingApproval, n, s.cfg.Approvals)
		if waiver {
			reason = rv.Reason
		}
		if err := s.setStatus(ctx, key, commit, store.Quarantined, reason, p.ID); err != nil {
			s.internalError(w, r, "update status", err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"status": store.Quarantined, "approvals": n, "needed": s.cfg.Approvals})
		return
	}
	reason := fmt.Sprintf("approved by %d reviewers", n)
	if waiver {
		reason = "waived by " + p.ID + ": " + comment
	}
	if err := s.setStatus(ctx, key, commit, store.Approved, reason, p.ID); err != nil {
		s.internalError(w, r, "update status", err)
		return
	}
	if err := s.signApproved(ctx, typ, repo, commit); err != nil {
		s.log.Error("sign approved revision", "err", err, "subject", subject)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": store.Approved, "approvals": n})
}

func (s *Server) apiReject(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActReject)
	if !ok {
		return
	}
	var body commentBody
	if !decodeBody(w, r, &body) {
		return
	}
	reason := body.Reason
	if reason == "" {
		reason = body.Comment
	}
	if reason == "" {
		apiError(w, http.StatusBadRequest, `a rejection needs a reason: send {"reason": "..."}`)
		return
	}
	ctx := r.Context()
	p := principalOf(ctx)
	key := repoKey(typ, repo)
	commit := strings.ToLower(r.PathValue("commit"))
	subject := subjectRevision(typ, repo, commit)
	if _, err := s.cfg.Store.GetRevision(ctx, key, commit); err != nil {
		apiError(w, http.StatusNotFound, "no such revision")
		return
	}
	if _, err := s.cfg.Audit.Append(s.entry(p.ID, "artifact.reject", subject, map[string]string{"reason": reason})); err != nil {
		s.internalError(w, r, "write the audit log", err)
		return
	}
	if err := s.setStatus(ctx, key, commit, store.Quarantined, "rejected by "+p.ID+": "+reason, p.ID); err != nil {
		apiError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": string(store.Quarantined)})
}

func (s *Server) apiRescan(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActApprove)
	if !ok {
		return
	}
	ctx := r.Context()
	commit := strings.ToLower(r.PathValue("commit"))
	if _, err := s.cfg.Store.GetRevision(ctx, repoKey(typ, repo), commit); err != nil {
		apiError(w, http.StatusNotFound, "no such revision")
		return
	}
	if err := s.enqueue(ctx, jobRejudge, typ, repo, commit, ""); err != nil {
		s.internalError(w, r, "queue rescan", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"queued": jobRejudge})
}

// apiHasBlob answers 200 when the blob is stored (so `aigis push` skips
// uploading it), 404 otherwise.
func (s *Server) apiHasBlob(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.repoFromPath(w, r, auth.ActPush); !ok {
		return
	}
	if n, err := s.cfg.Blobs.Stat(r.Context(), r.PathValue("sha256")); err == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

// maxPushFile caps one pushed file.
const maxPushFile = 1 << 40

// apiPutBlob stores one file's content; the URL names its sha256, which is
// checked.
func (s *Server) apiPutBlob(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.repoFromPath(w, r, auth.ActPush); !ok {
		return
	}
	want := r.PathValue("sha256")
	if !blob.ValidDigest(want) {
		apiError(w, http.StatusBadRequest, "the URL must end with the file's sha256 (64 lowercase hex digits)")
		return
	}
	ctx := r.Context()
	ref, err := s.cfg.Blobs.Put(ctx, http.MaxBytesReader(w, r.Body, maxPushFile))
	if err != nil {
		apiError(w, http.StatusBadRequest, "upload failed: "+err.Error())
		return
	}
	if ref.SHA256 != want {
		if used, err := s.cfg.Store.BlobReferenced(ctx, ref.SHA256); err == nil && !used {
			s.cfg.Blobs.Delete(ctx, ref.SHA256)
		}
		apiError(w, http.StatusBadRequest, fmt.Sprintf("the uploaded bytes have sha256 %s, the URL says %s: the upload was damaged or the wrong file was sent", ref.SHA256, want))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"sha256": ref.SHA256, "size": ref.Size})
}

// apiCommit creates an internal revision from uploaded blobs and queues its
// scan.
func (s *Server) apiCommit(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActPush)
	if !ok {
		return
	}
	var body struct {
		Branch  string `json:"branch"`
		Message string `json:"message"`
		Files   []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	files := make([]pushedFile, 0, len(body.Files))
	for _, f := range body.Files {
		files = append(files, pushedFile{Path: f.Path, SHA256: f.SHA256})
	}
	commit, st, created, err := s.createCommit(r.Context(), principalOf(r.Context()).ID, typ, repo, body.Branch, body.Message, "", files)
	if err != nil {
		s.commitError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]string{"commit": commit, "status": string(st)})
}

// gitIdentity computes the git blob id of stored content and whether the
// Hub would keep it in LFS (binary, or over 10 MiB).
func (s *Server) gitIdentity(ctx context.Context, sha string, size int64) (string, bool, error) {
	rc, _, err := s.cfg.Blobs.Open(ctx, sha)
	if err != nil {
		return "", false, err
	}
	defer rc.Close()
	if size > 10<<20 {
		// LFS: the tree's oid is the pointer's blob id.
		return gitBlobID(lfsPointer(store.File{SHA256: sha, Size: size})), true, nil
	}
	b, err := io.ReadAll(io.LimitReader(rc, size))
	if err != nil {
		return "", false, err
	}
	if isBinary(b) {
		return gitBlobID(lfsPointer(store.File{SHA256: sha, Size: size})), true, nil
	}
	return gitBlobID(b), false, nil
}

func isBinary(b []byte) bool {
	n := min(len(b), 8000)
	for _, c := range b[:n] {
		if c == 0 {
			return true
		}
	}
	return false
}

// apiPromote points an alias (staging, production, …) at an approved
// revision.
func (s *Server) apiPromote(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActPromote)
	if !ok {
		return
	}
	var body struct {
		Commit string `json:"commit"`
		Reason string `json:"reason"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	alias := r.PathValue("alias")
	if !validRev(alias) || hub.IsCommit(alias) || strings.Contains(alias, "/") {
		apiError(w, http.StatusBadRequest, "alias names are single words such as staging or production")
		return
	}
	ctx := r.Context()
	p := principalOf(ctx)
	key := repoKey(typ, repo)
	rv, err := s.lookupRevision(ctx, key, body.Commit)
	if err != nil || rv == nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("%s has no revision %q", repo, body.Commit))
		return
	}
	if rv.Status != store.Approved {
		apiError(w, http.StatusConflict, fmt.Sprintf("%s@%s is %s (%s); only approved revisions can be promoted", repo, short(rv.Commit), rv.Status, rv.Reason))
		return
	}
	subject := subjectRevision(typ, repo, rv.Commit)
	if _, err := s.cfg.Audit.Append(s.entry(p.ID, "alias.promote", subject, map[string]string{"alias": alias, "reason": body.Reason})); err != nil {
		s.internalError(w, r, "write the audit log", err)
		return
	}
	if err := s.cfg.Store.SetAlias(ctx, store.AliasChange{RepoID: key, Alias: alias, Commit: rv.Commit, Actor: p.ID, Reason: body.Reason}); err != nil {
		s.internalError(w, r, "set alias", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"alias": alias, "commit": rv.Commit})
}

// apiAliasHistory lists an alias's history, or with ?at=RFC3339 what it
// pointed at then.
func (s *Server) apiAliasHistory(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.repoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	ctx := r.Context()
	key := repoKey(typ, repo)
	alias := r.PathValue("alias")
	if at := r.URL.Query().Get("at"); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			apiError(w, http.StatusBadRequest, "at: use RFC 3339, e.g. 2026-11-01T12:00:00Z")
			return
		}
		c, err := s.cfg.Store.AliasAt(ctx, key, alias, t)
		if errors.Is(err, store.ErrNotFound) {
			apiError(w, http.StatusNotFound, fmt.Sprintf("%s did not exist at %s", alias, at))
			return
		} else if err != nil {
			s.internalError(w, r, "look up alias", err)
			return
		}
		writeJSON(w, http.StatusOK, c)
		return
	}
	h, err := s.cfg.Store.AliasHistory(ctx, key, alias)
	if err != nil {
		s.internalError(w, r, "alias history", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alias": alias, "history": h})
}

// apiQueue lists revisions waiting for a decision or a reviewer.
func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request) {
	views, err := s.queue(r.Context(), principalOf(r.Context()))
	if err != nil {
		s.internalError(w, r, "list queue", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revisions": views})
}

func (s *Server) queue(ctx context.Context, p auth.Principal) ([]revisionView, error) {
	var out []revisionView
	for _, st := range []store.Status{store.Quarantined, store.Pending, store.Scanning} {
		revs, err := s.cfg.Store.ListRevisionsByStatus(ctx, st, 500)
		if err != nil {
			return nil, err
		}
		for _, rv := range revs {
			typ, repo := splitKey(rv.RepoID)
			if allowed(p, auth.ActRead, repo) {
				out = append(out, toView(typ, repo, rv))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	if out == nil {
		out = []revisionView{}
	}
	return out, nil
}

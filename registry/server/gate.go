package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/store"
)

// upstreamRefPrefix names, in the refs table, what a branch or tag pointed at
// upstream when last seen. Plain ref names are what this registry serves:
// the last approved commit. ':' cannot appear in a revision a client sends
// (validRev refuses it), so the two never clash.
const upstreamRefPrefix = "upstream:"

// defaultRevision is what "HEAD" and an empty revision mean.
const defaultRevision = "main"

// gate answers which approved revision a request may be served from. When
// it returns ok=false it has already answered: 401/404 RepoNotFound (unknown
// or not allowed: the two look the same), 404 RevisionNotFound, 503 with
// Retry-After while the revision is fetched and scanned, or 403 GatedRepo
// when it is quarantined.
func (s *Server) gate(w http.ResponseWriter, r *http.Request, rt *hfRoute) (*store.Revision, bool) {
	ctx := r.Context()
	p := principalOf(ctx)
	if !allowed(p, auth.ActRead, rt.repo) {
		s.notFound(w, p, rt)
		return nil, false
	}
	key := repoKey(rt.typ, rt.repo)
	rev := rt.rev
	if rev == "" || rev == "HEAD" {
		rev = defaultRevision
	}
	deadline := time.Now().Add(s.cfg.Wait)
	for {
		changed := s.changedChan()
		res, err := s.lookupRevision(ctx, key, rev)
		if err != nil {
			s.internalError(w, r, "look up revision", err)
			return nil, false
		}
		if res == nil {
			// Nothing known locally: pull through, if allowed.
			if !s.requestIngest(w, r, p, rt, key, rev) {
				return nil, false
			}
			continue // the revision is now pending: wait or answer 503
		}
		switch res.Status {
		case store.Approved:
			return res, true
		case store.Quarantined:
			s.denied(w, r, rt, res)
			return nil, false
		}
		// pending or scanning
		if time.Now().Before(deadline) {
			t := time.NewTimer(min(time.Until(deadline), time.Second))
			select {
			case <-changed:
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, false
			}
			t.Stop()
			continue
		}
		w.Header().Set("Retry-After", retryAfterSeconds(s.cfg.RetryAfter))
		w.Header().Set("X-Repo-Commit", res.Commit)
		hfError(w, http.StatusServiceUnavailable, "",
			fmt.Sprintf("aigis is fetching and scanning %s@%s (%s); retry in %s — huggingface_hub retries by itself",
				rt.repo, short(res.Commit), res.Status, retryAfterSeconds(s.cfg.RetryAfter)+" s"))
		return nil, false
	}
}

// lookupRevision finds what rev of the repository means here: a commit, a
// promotion alias, a branch or tag pinned to an approved commit, or a
// candidate seen upstream. nil when nothing is known.
func (s *Server) lookupRevision(ctx context.Context, key, rev string) (*store.Revision, error) {
	get := func(commit string) (*store.Revision, error) {
		r, err := s.cfg.Store.GetRevision(ctx, key, commit)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
	if hub.IsCommit(rev) {
		return get(strings.ToLower(rev))
	}
	aliases, err := s.cfg.Store.Aliases(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	for _, a := range aliases {
		if a.Alias == rev {
			return get(a.Commit)
		}
	}
	// A served ref names an approved commit, or one quarantined later (a
	// re-judgement): the ref still names it, and gate refuses it.
	commit, err := s.cfg.Store.ResolveRef(ctx, key, rev)
	if err == nil {
		return get(commit)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	commit, err = s.cfg.Store.ResolveRef(ctx, key, upstreamRefPrefix+rev)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return get(commit)
}

// requestIngest starts the pull-through of an unknown repository or
// revision. It returns false after answering when it cannot.
func (s *Server) requestIngest(w http.ResponseWriter, r *http.Request, p auth.Principal, rt *hfRoute, key, rev string) bool {
	ctx := r.Context()
	repo, err := s.cfg.Store.GetRepo(ctx, key)
	switch {
	case err == nil && repo.Source == store.Internal:
		hfError(w, http.StatusNotFound, "RevisionNotFound", fmt.Sprintf("%s has no revision %q in this registry", rt.repo, rev))
		return false
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.internalError(w, r, "look up repository", err)
		return false
	}
	if s.cfg.Upstream == "" {
		hfError(w, http.StatusNotFound, "RepoNotFound",
			fmt.Sprintf("%s@%s is not in this registry and pull-through is off; ask an admin to push it or to start aigis serve with --upstream", rt.repo, rev))
		return false
	}
	if !allowed(p, auth.ActRequestIngest, rt.repo) {
		msg := fmt.Sprintf("%s@%s is not approved in this registry yet; someone with the requester role for %s must pull it through first", rt.repo, rev, rt.repo)
		status := http.StatusNotFound
		if isAnonymous(p) {
			status = http.StatusUnauthorized
			msg += " (or set HF_TOKEN to an aigis token that may)"
		}
		hfError(w, status, "RepoNotFound", msg)
		return false
	}
	_, err = s.startIngest(ctx, p.ID, rt.typ, rt.repo, rev)
	var ue *upstreamError
	switch {
	case errors.As(err, &ue):
		hfError(w, ue.status, ue.code, ue.msg)
		return false
	case err != nil:
		s.internalError(w, r, "start ingest", err)
		return false
	}
	return true
}

// notFound answers for a repository the principal may not read, exactly as
// for one that does not exist.
func (s *Server) notFound(w http.ResponseWriter, p auth.Principal, rt *hfRoute) {
	if isAnonymous(p) {
		hfError(w, http.StatusUnauthorized, "RepoNotFound",
			"Repository not found, or it needs credentials: set HF_TOKEN to an aigis token with read access to "+rt.repo)
		return
	}
	hfError(w, http.StatusNotFound, "RepoNotFound", "Repository not found: "+rt.repo)
}

// denied answers 403 GatedRepo for a quarantined revision, with the reason
// and where to read the findings, and records the refusal.
func (s *Server) denied(w http.ResponseWriter, r *http.Request, rt *hfRoute, rev *store.Revision) {
	reason := rev.Reason
	if reason == "" {
		reason = "quarantined"
	}
	url := s.baseURL(r) + "/ui/repos/" + repoKey(rt.typ, rt.repo) + "/revisions/" + rev.Commit
	msg := fmt.Sprintf("aigis quarantined %s@%s: %s. Findings: %s", rt.repo, short(rev.Commit), reason, url)
	if rt.kind == kindResolve || rt.kind == kindRaw {
		subject := subjectFile(rt.typ, rt.repo, rev.Commit, rt.path)
		details := map[string]string{"decision": "deny", "status": string(rev.Status), "reason": reason, "request": requestID(r.Context())}
		if _, err := s.cfg.Audit.Append(s.entry(principalOf(r.Context()).ID, "artifact.download", subject, details)); err != nil {
			s.log.Error("audit append failed", "err", err)
		}
		s.hooks.send("download.denied", subject, details)
	}
	w.Header().Set("X-Repo-Commit", rev.Commit)
	hfError(w, http.StatusForbidden, "GatedRepo", msg)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	id := requestID(r.Context())
	s.log.Error(what, "err", err, "request", id, "path", r.URL.Path)
	w.Header().Set("Retry-After", "5")
	hfError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("aigis could not %s (request %s); retry later, and tell the operator if it persists", what, id))
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

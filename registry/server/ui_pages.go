package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
)

// uiRepoRow is one repository on the artifacts page.
type uiRepoRow struct {
	Type, ID, Source string
	Revisions        []revisionView
	MoreRevisions    int
	Refs             []store.Ref
	Aliases          []store.AliasChange
}

type uiArtifactsData struct {
	Repos []uiRepoRow
	Next  string // cursor of the next page, "" on the last
}

// uiArtifacts lists every repository the viewer may read with its
// revisions, refs and aliases.
func (s *Server) uiArtifacts(w http.ResponseWriter, r *http.Request) {
	p, ok := s.uiViewer(w, r)
	if !ok {
		return
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > maxUICursor {
		s.uiError(w, r, http.StatusBadRequest, "The page cursor is too long: start from the first page.")
		return
	}
	ctx := r.Context()
	repos, next, err := s.cfg.Store.ListRepos(ctx, cursor, uiReposPerPage)
	if err != nil {
		s.uiInternal(w, r, "list repositories", err)
		return
	}
	data := uiArtifactsData{Next: next}
	for _, rp := range repos {
		typ, id := splitKey(rp.ID)
		if !allowed(p, auth.ActRead, id) {
			continue
		}
		revs, err := s.cfg.Store.ListRevisions(ctx, rp.ID)
		if err != nil {
			s.uiInternal(w, r, "list revisions", err)
			return
		}
		row := uiRepoRow{Type: typ, ID: id, Source: string(rp.Source)}
		for i, rv := range revs {
			if i == uiRevisionsShown {
				row.MoreRevisions = len(revs) - i
				break
			}
			row.Revisions = append(row.Revisions, toView(typ, id, rv))
		}
		if row.Refs, err = s.cfg.Store.ListRefs(ctx, rp.ID); err != nil {
			s.uiInternal(w, r, "list refs", err)
			return
		}
		if row.Aliases, err = s.cfg.Store.Aliases(ctx, rp.ID); err != nil {
			s.uiInternal(w, r, "list aliases", err)
			return
		}
		data.Repos = append(data.Repos, row)
	}
	pg := s.newPage(r, "Artifacts", "artifacts")
	pg.Data = data
	s.render(w, r, http.StatusOK, "artifacts", pg)
}

type uiRepoData struct {
	Type, ID, Source string
	CreatedAt        time.Time
	Revisions        []revisionView
	Refs             []store.Ref
	Aliases          []aliasView
}

// uiRepo shows one repository: revisions, refs, aliases with history.
func (s *Server) uiRepo(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.uiRepoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	d, err := s.repoDetail(r.Context(), typ, repo)
	if errors.Is(err, store.ErrNotFound) {
		s.uiError(w, r, http.StatusNotFound, repo+" is not in this registry.")
		return
	} else if err != nil {
		s.uiInternal(w, r, "load the repository", err)
		return
	}
	pg := s.newPage(r, repo, "artifacts")
	pg.Data = uiRepoData{Type: typ, ID: repo, Source: string(d.Repo.Source), CreatedAt: d.Repo.CreatedAt,
		Revisions: d.Revisions, Refs: d.Refs, Aliases: d.Aliases}
	s.render(w, r, http.StatusOK, "repo", pg)
}

type uiRevisionData struct {
	Rev          *revisionView
	Findings     []finding.Finding
	MoreFindings int
	Files        []store.File
	MoreFiles    int
	TotalSize    int64
	SignatureURL string
	APIURL       string
	CanApprove   bool
	SelfApproval bool // the viewer pushed it: separation of duties forbids approving
	Waiver       bool // approving would waive findings (a reason is required)
	CanReject    bool
	Approvals    int // approvals needed
}

// uiRevision is the artifact page.
func (s *Server) uiRevision(w http.ResponseWriter, r *http.Request) {
	typ, repo, ok := s.uiRepoFromPath(w, r, auth.ActRead)
	if !ok {
		return
	}
	commit := strings.ToLower(r.PathValue("commit"))
	if !hub.IsCommit(commit) {
		// A branch, tag or alias: go to the commit it resolves to.
		rv, err := s.lookupRevision(r.Context(), repoKey(typ, repo), r.PathValue("commit"))
		if err != nil {
			s.uiInternal(w, r, "look up the revision", err)
			return
		}
		if rv == nil {
			s.uiError(w, r, http.StatusNotFound, fmt.Sprintf("%s has no revision %q here.", repo, r.PathValue("commit")))
			return
		}
		http.Redirect(w, r, uiRevisionURL(typ, repo, rv.Commit), http.StatusSeeOther)
		return
	}
	s.renderRevision(w, r, typ, repo, commit, http.StatusOK, "", "")
}

// renderRevision renders the artifact page, with the outcome of an action.
func (s *Server) renderRevision(w http.ResponseWriter, r *http.Request, typ, repo, commit string, status int, notice, errMsg string) {
	ctx := r.Context()
	v, err := s.revisionDetail(ctx, typ, repo, commit)
	if errors.Is(err, store.ErrNotFound) {
		s.uiError(w, r, http.StatusNotFound, fmt.Sprintf("%s has no revision %s here.", repo, commit))
		return
	} else if err != nil {
		s.uiInternal(w, r, "load the revision", err)
		return
	}
	p := principalOf(ctx)
	apiURL := "/api/aigis/repos/" + uiTypeSegment(typ) + "/" + repo + "/revisions/" + commit
	d := uiRevisionData{Rev: v, APIURL: apiURL, Approvals: s.cfg.Approvals}
	for _, f := range v.Files {
		d.TotalSize += f.Size
	}
	d.Files = v.Files
	if len(d.Files) > uiFilesShown {
		d.Files, d.MoreFiles = d.Files[:uiFilesShown], len(d.Files)-uiFilesShown
	}
	d.Findings = v.Findings
	if len(d.Findings) > uiFindingsShown {
		d.Findings, d.MoreFindings = d.Findings[:uiFindingsShown], len(d.Findings)-uiFindingsShown
	}
	if v.Signed {
		d.SignatureURL = apiURL + "/signature"
	}
	if v.Status == store.Quarantined && allowed(p, auth.ActApprove, repo) {
		if auth.CanApprove(p, repo, v.CreatedBy) {
			d.CanApprove = true
			d.Waiver = !strings.HasPrefix(v.Reason, awaitingApproval)
		} else {
			d.SelfApproval = true
		}
	}
	d.CanReject = v.Status != store.Scanning && allowed(p, auth.ActReject, repo)
	pg := s.newPage(r, repo+"@"+short(commit), "artifacts")
	pg.Notice, pg.Error = notice, errMsg
	pg.Data = d
	s.render(w, r, status, "revision", pg)
}

func (s *Server) uiApprove(w http.ResponseWriter, r *http.Request) { s.uiDecide(w, r, true) }
func (s *Server) uiReject(w http.ResponseWriter, r *http.Request)  { s.uiDecide(w, r, false) }

// uiDecide approves or rejects through the API's own handlers and shows the
// artifact page with the outcome.
func (s *Server) uiDecide(w http.ResponseWriter, r *http.Request, approve bool) {
	act, verb, h := auth.ActReject, "reject", s.apiReject
	if approve {
		act, verb, h = auth.ActApprove, "approve", s.apiApprove
	}
	typ, repo, ok := s.uiRepoFromPath(w, r, act)
	if !ok || !s.parseUIForm(w, r) {
		return
	}
	commit := strings.ToLower(r.PathValue("commit"))
	if !hub.IsCommit(commit) {
		s.uiError(w, r, http.StatusNotFound, "Approvals and rejections name a full 40-digit commit.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	apiPath := "/api/aigis/repos/" + uiTypeSegment(typ) + "/" + repo + "/revisions/" + commit + "/" + verb
	org, name, _ := strings.Cut(repo, "/")
	res, err := s.callAPI(r, h, http.MethodPost, apiPath,
		map[string]string{"type": uiTypeSegment(typ), "org": org, "name": name, "commit": commit},
		commentBody{Reason: reason})
	if err != nil {
		s.uiInternal(w, r, verb+" the revision", err)
		return
	}
	if msg := res.errorText(); msg != "" {
		s.renderRevision(w, r, typ, repo, commit, res.status, "", msg)
		return
	}
	st, _ := res.body["status"].(string)
	notice := "Rejected: the revision is quarantined."
	if approve {
		notice = "Approved: the revision is " + st + "."
		if st == string(store.Quarantined) {
			notice = fmt.Sprintf("Approval recorded: %v of %v reviewer approvals; the revision stays quarantined until then.", res.body["approvals"], res.body["needed"])
		}
	}
	s.renderRevision(w, r, typ, repo, commit, http.StatusOK, notice, "")
}

// uiQueue is the approval queue.
func (s *Server) uiQueue(w http.ResponseWriter, r *http.Request) {
	p, ok := s.uiViewer(w, r)
	if !ok {
		return
	}
	views, err := s.queue(r.Context(), p)
	if err != nil {
		s.uiInternal(w, r, "list the queue", err)
		return
	}
	pg := s.newPage(r, "Approval queue", "queue")
	pg.Data = views
	s.render(w, r, http.StatusOK, "queue", pg)
}

type uiPolicyData struct {
	Name, Version, Digest, Ruleset string
	FailOn                         string
	Lookalikes                     policy.LookalikeMode
	Limits                         policy.Limits
	Exceptions                     []policy.Exception
}

// uiPolicy shows the policy in force. The policy package keeps no source
// text, so the page shows its version, digest and the settings it exposes.
func (s *Server) uiPolicy(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.uiViewer(w, r); !ok {
		return
	}
	pol := s.Policy()
	pg := s.newPage(r, "Policy", "policy")
	pg.Data = uiPolicyData{Name: pol.Name(), Version: pol.Version(), Digest: pol.Digest(), Ruleset: s.ruleset,
		FailOn: pol.FailOn().String(), Lookalikes: pol.Lookalikes(), Limits: pol.Limits(), Exceptions: pol.Exceptions()}
	s.render(w, r, http.StatusOK, "policy", pg)
}

type uiTokensData struct {
	Tokens   []tokenView
	Secret   string // a token just created: shown this once
	SecretID string
	Scopes   []auth.Scope
}

// uiTokens lists the viewer's tokens (everyone's for token managers).
func (s *Server) uiTokens(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, "", "", "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, secret, notice, errMsg string) {
	p := principalOf(r.Context())
	if isAnonymous(p) {
		s.uiDeny(w, r, "manage tokens")
		return
	}
	ts, err := s.tokensFor(r.Context(), p)
	if err != nil {
		s.uiInternal(w, r, "list tokens", err)
		return
	}
	pg := s.newPage(r, "Tokens", "tokens")
	pg.Notice, pg.Error = notice, errMsg
	pg.Data = uiTokensData{Tokens: ts, Secret: secret, Scopes: auth.Scopes()}
	s.render(w, r, status, "tokens", pg)
}

// uiCreateToken creates a token through the API handler (which caps its
// scopes by the caller's) and shows the secret once.
func (s *Server) uiCreateToken(w http.ResponseWriter, r *http.Request) {
	if isAnonymous(principalOf(r.Context())) {
		s.uiDeny(w, r, "create tokens")
		return
	}
	if !s.parseUIForm(w, r) {
		return
	}
	req := TokenRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Scopes: r.PostForm["scope"], ExpiresIn: r.PostFormValue("expires_in")}
	for _, ns := range strings.Split(r.PostFormValue("namespaces"), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			req.Namespaces = append(req.Namespaces, ns)
		}
	}
	res, err := s.callAPI(r, s.apiCreateToken, http.MethodPost, "/api/aigis/tokens", nil, req)
	if err != nil {
		s.uiInternal(w, r, "create the token", err)
		return
	}
	if msg := res.errorText(); msg != "" {
		s.renderTokens(w, r, res.status, "", "", msg)
		return
	}
	secret, _ := res.body["token"].(string)
	s.renderTokens(w, r, http.StatusOK, secret, "Token created. Copy it now: it is not shown again.", "")
}

// uiRevokeToken revokes one of the viewer's tokens.
func (s *Server) uiRevokeToken(w http.ResponseWriter, r *http.Request) {
	if isAnonymous(principalOf(r.Context())) {
		s.uiDeny(w, r, "revoke tokens")
		return
	}
	if !s.parseUIForm(w, r) {
		return
	}
	id := r.PathValue("id")
	res, err := s.callAPI(r, s.apiRevokeToken, http.MethodDelete, "/api/aigis/tokens/"+id, map[string]string{"id": id}, nil)
	if err != nil {
		s.uiInternal(w, r, "revoke the token", err)
		return
	}
	if msg := res.errorText(); msg != "" {
		s.renderTokens(w, r, res.status, "", "", msg)
		return
	}
	s.renderTokens(w, r, http.StatusOK, "", "Token "+id+" revoked.", "")
}

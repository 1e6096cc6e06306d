package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/store"
)

// LogReader is what the audit endpoints need beyond Append; *audit.Log and
// *audit.Shared implement it.
type LogReader interface {
	audit.Reader
	Checkpoint() ([]byte, error)
}

// TokenRequest asks for a new token.
type TokenRequest struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`       // "pat" (default) or "sat"
	Owner      string   `json:"owner"`      // default: the caller; others' tokens need manage-tokens
	Scopes     []string `json:"scopes"`     // read, write, approve, admin; default read
	Namespaces []string `json:"namespaces"` // patterns the token is limited to; default all
	ExpiresIn  string   `json:"expires_in"` // Go duration, e.g. "720h"; default 90 days, at most 1 year
}

// maxTokenLifetime caps token expiry: every token expires.
const maxTokenLifetime = 366 * 24 * time.Hour

// CreateToken makes a token, stores its hash and returns the secret, which
// is never shown again. actor is who asks (for the audit log).
func (s *Server) CreateToken(ctx context.Context, actor string, req TokenRequest) (string, store.Token, error) {
	if req.Kind == "" {
		req.Kind = auth.KindPersonal
	}
	if req.Kind != auth.KindPersonal && req.Kind != auth.KindService {
		return "", store.Token{}, fmt.Errorf("token kind %q: use pat or sat", req.Kind)
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{string(auth.ScopeRead)}
	}
	for _, sc := range req.Scopes {
		if !auth.ValidScope(auth.Scope(sc)) {
			return "", store.Token{}, fmt.Errorf("token scope %q: use read, write, approve or admin", sc)
		}
	}
	for _, ns := range req.Namespaces {
		if !auth.ValidPattern(ns) {
			return "", store.Token{}, fmt.Errorf("namespace %q: use *, org/* or org/name", ns)
		}
	}
	life := 90 * 24 * time.Hour
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return "", store.Token{}, fmt.Errorf("expires_in %q: use a duration such as 720h", req.ExpiresIn)
		}
		life = d
	}
	if life > maxTokenLifetime {
		return "", store.Token{}, fmt.Errorf("expires_in %s is over the one-year limit", life)
	}
	if req.Owner == "" {
		return "", store.Token{}, errors.New("token owner is empty")
	}
	secret, err := auth.NewToken(req.Kind)
	if err != nil {
		return "", store.Token{}, err
	}
	now := s.cfg.Now()
	t := store.Token{ID: newRequestID(), Hash: auth.HashToken(secret), Owner: req.Owner, Scopes: req.Scopes, Namespaces: req.Namespaces,
		Expires: now.Add(life), Name: req.Name, Kind: req.Kind, Prefix: auth.DisplayPrefix(secret), CreatedAt: now}
	details := map[string]string{"token": t.ID, "owner": t.Owner, "scopes": strings.Join(t.Scopes, ","), "namespaces": strings.Join(t.Namespaces, ","), "expires": t.Expires.UTC().Format(time.RFC3339)}
	if _, err := s.cfg.Audit.Append(s.entry(actor, "token.create", "token:"+t.ID, details)); err != nil {
		return "", store.Token{}, fmt.Errorf("audit: %w", err)
	}
	if err := s.cfg.Store.PutToken(ctx, t); err != nil {
		return "", store.Token{}, err
	}
	return secret, t, nil
}

// AddBinding grants a role, recording who did it.
func (s *Server) AddBinding(ctx context.Context, actor string, b store.RoleBinding) error {
	if !auth.ValidRole(b.Role) || !auth.ValidPattern(b.Namespace) || b.Principal == "" {
		return fmt.Errorf("binding %s %s %s: roles are %s; namespaces *, org/* or org/name", b.Principal, b.Role, b.Namespace, strings.Join(auth.Roles(), ", "))
	}
	if _, err := s.cfg.Audit.Append(s.entry(actor, "binding.add", "principal:"+b.Principal, map[string]string{"role": b.Role, "namespace": b.Namespace})); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return s.cfg.Store.PutRoleBinding(ctx, b)
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	ctx := r.Context()
	p := principalOf(ctx)
	if isAnonymous(p) {
		apiError(w, http.StatusUnauthorized, "sign in or send a token to create tokens")
		return
	}
	if req.Owner == "" {
		req.Owner = p.ID
	}
	if req.Owner != p.ID && !allowed(p, auth.ActManageTokens, "*") {
		apiError(w, http.StatusForbidden, p.ID+" may not create tokens for "+req.Owner)
		return
	}
	if req.Owner == p.ID && !auth.CanManageOwnTokens(p) {
		apiError(w, http.StatusForbidden, p.ID+" may not create tokens")
		return
	}
	// A token never carries more than its creator's token: scopes are
	// capped by the caller's own scopes.
	if p.Scopes != nil {
		for _, sc := range req.Scopes {
			if !slices.Contains(p.Scopes, auth.Scope(sc)) && !slices.Contains(p.Scopes, auth.ScopeAdmin) {
				apiError(w, http.StatusForbidden, fmt.Sprintf("your token lacks the %s scope, so it cannot create a token with it", sc))
				return
			}
		}
	}
	secret, t, err := s.CreateToken(ctx, p.ID, req)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "id": t.ID, "expires": t.Expires, "note": "store the token now: it is not shown again"})
}

type tokenView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Owner      string    `json:"owner"`
	Prefix     string    `json:"prefix"`
	Scopes     []string  `json:"scopes"`
	Namespaces []string  `json:"namespaces"`
	CreatedAt  time.Time `json:"created_at"`
	Expires    time.Time `json:"expires"`
	LastUsed   time.Time `json:"last_used"`
	Revoked    bool      `json:"revoked"`
}

func (s *Server) tokensFor(ctx context.Context, p auth.Principal) ([]tokenView, error) {
	owner := p.ID
	if allowed(p, auth.ActManageTokens, "*") {
		owner = ""
	}
	ts, err := s.cfg.Store.ListTokens(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]tokenView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView{t.ID, t.Name, t.Kind, t.Owner, t.Prefix, t.Scopes, t.Namespaces, t.CreatedAt, t.Expires, t.LastUsed, t.Revoked})
	}
	return out, nil
}

func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if isAnonymous(p) {
		apiError(w, http.StatusUnauthorized, "sign in or send a token")
		return
	}
	out, err := s.tokensFor(r.Context(), p)
	if err != nil {
		s.internalError(w, r, "list tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// RevokeToken revokes a token the actor owns or may manage.
func (s *Server) RevokeToken(ctx context.Context, p auth.Principal, id string) error {
	ts, err := s.tokensFor(ctx, p)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ts, func(t tokenView) bool { return t.ID == id }) {
		return store.ErrNotFound
	}
	if _, err := s.cfg.Audit.Append(s.entry(p.ID, "token.revoke", "token:"+id, nil)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return s.cfg.Store.RevokeToken(ctx, id)
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if isAnonymous(p) {
		apiError(w, http.StatusUnauthorized, "sign in or send a token")
		return
	}
	err := s.RevokeToken(r.Context(), p, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, "no such token among those you may manage")
		return
	} else if err != nil {
		s.internalError(w, r, "revoke token", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("id")})
}

func (s *Server) apiListBindings(w http.ResponseWriter, r *http.Request) {
	if !s.permit(w, r, auth.ActManageMembers, "*") {
		return
	}
	bs, err := s.cfg.Store.ListRoleBindings(r.Context())
	if err != nil {
		s.internalError(w, r, "list bindings", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bindings": bs})
}

func (s *Server) bindingBody(w http.ResponseWriter, r *http.Request) (store.RoleBinding, bool) {
	var b store.RoleBinding
	var body struct{ Principal, Namespace, Role string }
	if !decodeBody(w, r, &body) {
		return b, false
	}
	b = store.RoleBinding{Principal: body.Principal, Namespace: body.Namespace, Role: body.Role}
	// Admins of a namespace manage its members; "*" needs a global admin.
	target := b.Namespace
	if strings.HasSuffix(target, "/*") {
		target = strings.TrimSuffix(target, "*") + "x"
	}
	if !s.permit(w, r, auth.ActManageMembers, target) {
		return b, false
	}
	return b, true
}

func (s *Server) apiPutBinding(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bindingBody(w, r)
	if !ok {
		return
	}
	if err := s.AddBinding(r.Context(), principalOf(r.Context()).ID, b); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) apiDeleteBinding(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bindingBody(w, r)
	if !ok {
		return
	}
	if _, err := s.cfg.Audit.Append(s.entry(principalOf(r.Context()).ID, "binding.remove", "principal:"+b.Principal, map[string]string{"role": b.Role, "namespace": b.Namespace})); err != nil {
		s.internalError(w, r, "write the audit log", err)
		return
	}
	if err := s.cfg.Store.DeleteRoleBinding(r.Context(), b); err != nil {
		apiError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) apiPolicy(w http.ResponseWriter, r *http.Request) {
	if !s.permit(w, r, auth.ActRead, "*") && !isAnonymous(principalOf(r.Context())) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"policy_version": s.Policy().Version(), "ruleset_version": s.ruleset})
}

func (s *Server) logReader(w http.ResponseWriter, r *http.Request) (LogReader, bool) {
	if !s.permit(w, r, auth.ActReadAudit, "*") {
		return nil, false
	}
	lr, ok := s.cfg.Audit.(LogReader)
	if !ok {
		apiError(w, http.StatusNotImplemented, "this server's audit log cannot be read over the API")
		return nil, false
	}
	return lr, true
}

func (s *Server) apiAuditCheckpoint(w http.ResponseWriter, r *http.Request) {
	lr, ok := s.logReader(w, r)
	if !ok {
		return
	}
	cp, err := lr.Checkpoint()
	if err != nil {
		s.internalError(w, r, "sign a checkpoint", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(cp)
}

func (s *Server) apiAuditEntries(w http.ResponseWriter, r *http.Request) {
	lr, ok := s.logReader(w, r)
	if !ok {
		return
	}
	size := lr.Size()
	q := r.URL.Query()
	count := int64(100)
	if c, err := strconv.ParseInt(q.Get("count"), 10, 64); err == nil && c > 0 && c <= 1000 {
		count = c
	}
	start := max(size-count, 0)
	if st, err := strconv.ParseInt(q.Get("start"), 10, 64); err == nil && st >= 0 {
		start = st
	}
	type item struct {
		Index int64 `json:"index"`
		audit.Entry
	}
	out := []item{}
	for i := start; i < size && i < start+count; i++ {
		e, err := lr.Entry(i)
		if err != nil {
			s.internalError(w, r, fmt.Sprintf("read audit entry %d", i), err)
			return
		}
		out = append(out, item{i, e})
	}
	writeJSON(w, http.StatusOK, map[string]any{"size": size, "start": start, "entries": out})
}

// apiAuditProof exports an inclusion proof: entry index in the tree of
// size (default: current), with the tree root, checkable with
// tlog.CheckRecord against a signed checkpoint.
func (s *Server) apiAuditProof(w http.ResponseWriter, r *http.Request) {
	lr, ok := s.logReader(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	idx, err := strconv.ParseInt(q.Get("index"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "index: the entry number")
		return
	}
	size, _ := strconv.ParseInt(q.Get("size"), 10, 64)
	p, err := audit.ExportProof(lr, idx, size)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

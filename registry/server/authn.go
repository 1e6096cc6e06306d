package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/store"
)

// badCredentials is the exact message huggingface_hub turns into "invalid
// credentials" rather than "repository not found".
const badCredentials = "Invalid credentials in Authorization header"

// tokenTouchEvery is how stale a token's LastUsed may get.
const tokenTouchEvery = time.Minute

type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

// authenticate turns a request's credentials into a principal: a bearer
// token (HF clients send HF_TOKEN this way), a UI session cookie, or the
// anonymous principal. Bad credentials are an error, never a silent
// downgrade to anonymous.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return auth.Principal{}, &authError{badCredentials}
		}
		secret = strings.TrimSpace(secret)
		// @huggingface/hub refuses tokens that do not start with "hf_":
		// "hf_" + an aigis token is accepted as that token.
		if rest, ok := strings.CutPrefix(secret, "hf_"); ok && strings.HasPrefix(rest, auth.TokenPrefix) {
			secret = rest
		}
		if _, ok := auth.ParseToken(secret); !ok {
			return auth.Principal{}, &authError{badCredentials}
		}
		t, err := s.cfg.Store.TokenByHash(ctx, auth.HashToken(secret))
		if errors.Is(err, store.ErrNotFound) {
			return auth.Principal{}, &authError{badCredentials}
		}
		if err != nil {
			return auth.Principal{}, err
		}
		// Last-used is advisory (a failure to record it does not deny) and
		// kept to the minute, so a busy client does not turn every request
		// into a database write.
		if now := s.cfg.Now(); now.Sub(t.LastUsed) >= tokenTouchEvery {
			_ = s.cfg.Store.TouchToken(ctx, t.ID, now)
		}
		scopes := make([]auth.Scope, 0, len(t.Scopes))
		for _, sc := range t.Scopes {
			scopes = append(scopes, auth.Scope(sc))
		}
		return s.principal(ctx, t.Owner, nil, scopes, t.Namespaces, t.ID)
	}
	if s.cfg.Sessions != nil {
		if sess, ok := s.cfg.Sessions.Get(r); ok {
			return s.principal(ctx, sess.Principal, sess.Groups, nil, nil, "")
		}
	}
	return s.principal(ctx, auth.PrincipalAnonymous, nil, nil, nil, "")
}

// principal loads the bindings of id, its groups and "anonymous".
func (s *Server) principal(ctx context.Context, id string, groups []string, scopes []auth.Scope, namespaces []string, tokenID string) (auth.Principal, error) {
	names := append([]string{id, auth.PrincipalAnonymous}, groups...)
	bs, err := s.cfg.Store.RoleBindings(ctx, names)
	if err != nil {
		return auth.Principal{}, err
	}
	p := auth.Principal{ID: id, Groups: groups, Scopes: scopes}
	for _, b := range bs {
		p.Bindings = append(p.Bindings, auth.Binding{Principal: b.Principal, Namespace: b.Namespace, Role: b.Role})
	}
	switch s.cfg.Anonymous {
	case AnonymousRead:
		p.Bindings = append(p.Bindings, auth.Binding{Principal: auth.PrincipalAnonymous, Namespace: "*", Role: auth.RoleReader})
	case AnonymousRequest:
		p.Bindings = append(p.Bindings, auth.Binding{Principal: auth.PrincipalAnonymous, Namespace: "*", Role: auth.RoleRequester})
	}
	if len(namespaces) > 0 {
		// A token limited to namespaces keeps only the bindings inside
		// them: intersecting here keeps auth.Allowed the one judge.
		p.Bindings = restrictBindings(p.Bindings, namespaces)
	}
	return p, nil
}

// restrictBindings narrows bindings to the token's namespaces: a binding on
// "*" with a token for "acme/*" becomes a binding on "acme/*".
func restrictBindings(bs []auth.Binding, namespaces []string) []auth.Binding {
	var out []auth.Binding
	for _, b := range bs {
		for _, ns := range namespaces {
			switch {
			case covers(b.Namespace, ns):
				out = append(out, auth.Binding{Principal: b.Principal, Namespace: ns, Role: b.Role})
			case covers(ns, b.Namespace):
				out = append(out, b)
			}
		}
	}
	return out
}

// covers reports whether every repository matched by pattern b is matched
// by pattern a. Patterns are "*", "org/*" or "org/name".
func covers(a, b string) bool {
	if a == "*" || a == b {
		return true
	}
	org, ok := strings.CutSuffix(a, "/*")
	if !ok {
		return false
	}
	borg, _, _ := strings.Cut(b, "/")
	return b != "*" && borg == org
}

// allowed is auth.Allowed on the repository part of a route. Datasets and
// models share namespaces (an org owns both).
func allowed(p auth.Principal, act auth.Action, repo string) bool {
	return auth.Allowed(p, act, repo)
}

func isAnonymous(p auth.Principal) bool { return p.ID == auth.PrincipalAnonymous || p.ID == "" }

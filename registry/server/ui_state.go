package server

import (
	"errors"
	"sync"

	"github.com/aigis-sec/aigis/registry/auth"
)

// uiState is what the web UI keeps in a Server beyond its Config: the
// OIDC login, which is set after New (the provider's discovery needs the
// server's public URL, which callers often learn only once it listens).
type uiState struct {
	mu   sync.RWMutex
	oidc *auth.OIDC
}

// EnableOIDC turns on web sign-in through o: /ui/login starts the
// authorization-code flow, /ui/callback finishes it and opens a session in
// Config.Sessions, /ui/logout ends it. The OIDC redirect URL must be the
// server's public URL followed by /ui/callback. A signed-in user is the
// principal "user:<email>" (or "user:<subject>" when the provider sends no
// email), member of "group:<g>" for each group of the ID token; role
// bindings on those names decide what they may do.
//
// It fails when the server has no Config.Sessions, since a login would
// have nowhere to live. A nil o turns sign-in off again.
func (s *Server) EnableOIDC(o *auth.OIDC) error {
	if o != nil && s.cfg.Sessions == nil {
		return errors.New("server: OIDC sign-in needs Config.Sessions (a session store) to keep users signed in")
	}
	s.ui.mu.Lock()
	defer s.ui.mu.Unlock()
	s.ui.oidc = o
	return nil
}

// loginFlow returns the OIDC login, or nil when sign-in is off.
func (s *Server) loginFlow() *auth.OIDC {
	s.ui.mu.RLock()
	defer s.ui.mu.RUnlock()
	return s.ui.oidc
}

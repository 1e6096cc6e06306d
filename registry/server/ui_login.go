package server

import (
	"net/http"
	"strings"

	"github.com/aigis-sec/aigis/registry/auth"
)

// uiLogin starts an OIDC login (see EnableOIDC).
func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	o := s.loginFlow()
	if o == nil {
		s.uiError(w, r, http.StatusNotFound, "Web sign-in is not configured on this server. Use a token (Authorization: Bearer <aigis token>), or ask the operator to configure OIDC.")
		return
	}
	o.LoginHandler().ServeHTTP(w, r)
}

// uiCallback finishes an OIDC login: it records the login in the audit log,
// then opens a session and goes to the artifact list.
func (s *Server) uiCallback(w http.ResponseWriter, r *http.Request) {
	o := s.loginFlow()
	if o == nil {
		s.uiError(w, r, http.StatusNotFound, "Web sign-in is not configured on this server.")
		return
	}
	o.CallbackHandler(func(w http.ResponseWriter, r *http.Request, id auth.Identity) {
		principal, ok := loginPrincipal(id)
		if !ok {
			s.uiError(w, r, http.StatusUnauthorized, "The identity provider sent an email or subject with control characters; ask your administrator to fix the claim mapping.")
			return
		}
		groups := id.PrincipalGroups()
		details := map[string]string{"method": "oidc", "subject": id.Subject, "groups": strings.Join(groups, ",")}
		if _, err := s.cfg.Audit.Append(s.entry(principal, "login", "principal:"+principal, details)); err != nil {
			s.uiInternal(w, r, "write the audit log", err)
			return
		}
		if err := s.cfg.Sessions.Create(r.Context(), w, principal, groups); err != nil {
			s.uiInternal(w, r, "start a session", err)
			return
		}
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
	}).ServeHTTP(w, r)
}

// loginPrincipal names a signed-in user: "user:<email>", or
// "user:<subject>" when the provider sends no email.
func loginPrincipal(id auth.Identity) (string, bool) {
	name := id.Email
	if name == "" {
		name = id.Subject
	}
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false
	}
	return "user:" + name, true
}

// uiLogoutPage offers the sign-out button (signing out is a POST, so that
// another site cannot sign a user out with a link).
func (s *Server) uiLogoutPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "logout", s.newPage(r, "Sign out", ""))
}

// uiLogout ends the session.
func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if s.cfg.Sessions != nil {
		if _, signedIn := s.cfg.Sessions.Get(r); signedIn {
			if _, err := s.cfg.Audit.Append(s.entry(p.ID, "logout", "principal:"+p.ID, nil)); err != nil {
				s.uiInternal(w, r, "write the audit log", err)
				return
			}
		}
		if err := s.cfg.Sessions.Destroy(w, r); err != nil {
			s.uiInternal(w, r, "end the session", err)
			return
		}
	}
	// The page after sign-out is anonymous, whatever the request carried.
	pg := s.newPage(r, "Signed out", "")
	pg.Viewer, pg.Session, pg.CanAudit = "", false, false
	pg.Notice = "You are signed out."
	s.render(w, r, http.StatusOK, "message", pg)
}

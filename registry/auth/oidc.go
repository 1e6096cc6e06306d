package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures web login through an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string   // the provider's issuer URL; discovery is fetched from it
	ClientID     string   // this server's client at the provider
	ClientSecret string   // its secret
	RedirectURL  string   // absolute URL of the [OIDC.CallbackHandler]
	Scopes       []string // default openid, email, profile; openid is always requested
	GroupsClaim  string   // ID token claim with the user's groups; default "groups"
	CookieSecure bool     // mark the login cookie Secure (set it whenever the server is reached over HTTPS)
	// HTTPClient talks to the provider; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Identity is who the provider says logged in.
type Identity struct {
	Subject, Email, Name string
	Groups               []string // as the provider names them, without the "group:" prefix
}

// PrincipalGroups returns the groups as principal names ("group:<name>")
// for [Principal].Groups and [Binding].Principal.
func (id Identity) PrincipalGroups() []string {
	out := make([]string, len(id.Groups))
	for i, g := range id.Groups {
		out[i] = "group:" + g
	}
	return out
}

// OIDC runs the authorization-code flow with PKCE against one provider.
type OIDC struct {
	cfg        OIDCConfig
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	client     *http.Client
	cookiePath string
}

// Limits on what the login accepts from the browser and the provider.
const (
	// LoginTimeout is how long a started login may take before the callback
	// refuses it.
	LoginTimeout = 10 * time.Minute
	// MaxGroups bounds the groups taken from an ID token.
	MaxGroups = 256
	// MaxClaimLen bounds each string claim (subject, email, name, group).
	MaxClaimLen = 512
	// loginCookie holds state, nonce and PKCE verifier of one login.
	loginCookie    = "aigis_oidc"
	maxLoginCookie = 512
)

// NewOIDC fetches the provider's discovery document and returns a login
// flow for cfg.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("auth: OIDC needs an issuer URL, a client id and a redirect URL: set all three")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || !redirect.IsAbs() {
		return nil, fmt.Errorf("auth: OIDC redirect URL %q: use the absolute URL of the callback, such as https://aigis.example.com/auth/callback", cfg.RedirectURL)
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery at %s: %w (check the issuer URL and that the provider is reachable)", cfg.Issuer, err)
	}
	// Pick the client authentication once: with auto-detection, x/oauth2
	// posts the code a second time when the first style fails, and the
	// provider then reports the code as used instead of the real error.
	endpoint := provider.Endpoint()
	var disc struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = provider.Claims(&disc)                    // absent or unreadable: the default below
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic, the OIDC default
	if len(disc.AuthMethods) > 0 && !slices.Contains(disc.AuthMethods, "client_secret_basic") && slices.Contains(disc.AuthMethods, "client_secret_post") {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	path := redirect.Path
	if path == "" {
		path = "/"
	}
	return &OIDC{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: endpoint, Scopes: scopes,
		},
		verifier:   provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:     client,
		cookiePath: path,
	}, nil
}

// LoginHandler starts a login: it keeps a fresh state, nonce and PKCE
// verifier in a short-lived HttpOnly cookie scoped to the callback path and
// redirects the browser to the provider with the S256 code challenge.
func (o *OIDC) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state, nonce, verifier := randomID(), randomID(), oauth2.GenerateVerifier()
		http.SetCookie(w, &http.Cookie{
			Name:     loginCookie,
			Value:    state + "." + nonce + "." + verifier,
			Path:     o.cookiePath,
			MaxAge:   int(LoginTimeout.Seconds()),
			HttpOnly: true,
			Secure:   o.cfg.CookieSecure,
			SameSite: http.SameSiteLaxMode, // sent on the provider's top-level redirect back
		})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
	})
}

// CallbackHandler finishes a login. It checks the state against the login
// cookie, exchanges the code with the PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry) and its nonce, and calls done with
// the identity; done then creates the session. Every failure answers 400
// (the browser's request is wrong or stale) or 401 (the provider refused or
// its answer does not verify) with a message saying what to do. The login
// cookie is cleared in every case, so one login attempt is one callback.
func (o *OIDC) CallbackHandler(done func(w http.ResponseWriter, r *http.Request, id Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		q := r.URL.Query()
		c, cerr := r.Cookie(loginCookie)
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: o.cookiePath, MaxAge: -1, HttpOnly: true, Secure: o.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
		if e := q.Get("error"); e != "" {
			loginError(w, http.StatusUnauthorized, fmt.Sprintf("the identity provider refused the login (%s: %s); ask your administrator for access or try again",
				clip(e, 64), clip(q.Get("error_description"), 200)))
			return
		}
		if cerr != nil || len(c.Value) > maxLoginCookie {
			loginError(w, http.StatusBadRequest, "no login in progress (cookies blocked, or the login took longer than 10 minutes): start the login again")
			return
		}
		state, rest, ok1 := strings.Cut(c.Value, ".")
		nonce, verifier, ok2 := strings.Cut(rest, ".")
		if !ok1 || !ok2 || state == "" || nonce == "" || verifier == "" {
			loginError(w, http.StatusBadRequest, "login cookie is malformed: start the login again")
			return
		}
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			loginError(w, http.StatusBadRequest, "login state does not match this browser's login (a stale tab, or a forged callback): start the login again")
			return
		}
		code := q.Get("code")
		if code == "" {
			loginError(w, http.StatusBadRequest, "the provider sent no authorization code: start the login again")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
		tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			loginError(w, http.StatusUnauthorized, "the provider refused the authorization code ("+clip(err.Error(), 300)+"): start the login again")
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			loginError(w, http.StatusUnauthorized, "the provider returned no ID token: check that the openid scope is allowed for this client")
			return
		}
		idt, err := o.verifier.Verify(oidc.ClientContext(ctx, o.client), raw)
		if err != nil {
			loginError(w, http.StatusUnauthorized, "the ID token did not verify ("+clip(err.Error(), 300)+"): check the issuer, client id and server clock")
			return
		}
		if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
			loginError(w, http.StatusUnauthorized, "the ID token's nonce does not match this login (a replayed token): start the login again")
			return
		}
		id, err := o.identity(idt)
		if err != nil {
			loginError(w, http.StatusUnauthorized, err.Error())
			return
		}
		done(w, r, id)
	})
}

func (o *OIDC) identity(idt *oidc.IDToken) (Identity, error) {
	var raw json.RawMessage
	if err := idt.Claims(&raw); err != nil {
		return Identity{}, fmt.Errorf("the ID token's claims are unreadable: %v", err)
	}
	return identityFromClaims(raw, o.cfg.GroupsClaim)
}

// MaxClaimsSize bounds the JSON claims of an ID token.
const MaxClaimsSize = 1 << 20

// identityFromClaims reads the identity from the JSON claims of a verified
// ID token. It is pure, so it can be fuzzed.
func identityFromClaims(raw []byte, groupsClaim string) (Identity, error) {
	if len(raw) > MaxClaimsSize {
		return Identity{}, fmt.Errorf("the ID token's claims take %d bytes, more than %d: narrow the claims at the provider", len(raw), MaxClaimsSize)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return Identity{}, fmt.Errorf("the ID token's claims are unreadable: %v", err)
	}
	var id Identity
	id.Subject, _ = claims["sub"].(string)
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["name"].(string)
	if id.Subject == "" || len(id.Subject) > MaxClaimLen || len(id.Email) > MaxClaimLen || len(id.Name) > MaxClaimLen {
		return Identity{}, fmt.Errorf("the ID token has no subject or an overlong claim (over %d bytes): check the provider's claim mapping", MaxClaimLen)
	}
	switch g := claims[groupsClaim].(type) {
	case nil:
	case string: // some providers send a single group as a string
		id.Groups = []string{g}
	case []any:
		if len(g) > MaxGroups {
			return Identity{}, fmt.Errorf("the ID token lists %d groups, more than %d: narrow the groups claim at the provider", len(g), MaxGroups)
		}
		for _, v := range g {
			s, ok := v.(string)
			if !ok {
				return Identity{}, fmt.Errorf("the %q claim holds a %T, want strings: check the provider's claim mapping", groupsClaim, v)
			}
			id.Groups = append(id.Groups, s)
		}
	default:
		return Identity{}, fmt.Errorf("the %q claim is a %T, want a list of strings: check the provider's claim mapping", groupsClaim, g)
	}
	for _, g := range id.Groups {
		if g == "" || len(g) > MaxClaimLen {
			return Identity{}, fmt.Errorf("the %q claim holds an empty or overlong group name", groupsClaim)
		}
	}
	return id, nil
}

func loginError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, "login failed: "+msg)
}

// clip bounds text from the network before it is echoed in a message.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Package oidctest is a fake OpenID Connect provider for tests: discovery,
// JWKS, an /authorize endpoint that approves a configured user at once, and
// a /token endpoint that enforces PKCE (S256), one-time codes, the client
// secret and the redirect URI, and returns an RS256-signed ID token.
//
//	idp := oidctest.New("aigis", "secret", oidctest.User{Subject: "alice", Groups: []string{"ml"}})
//	defer idp.Close()
//	// point the code under test at idp.Issuer()
//
// Tests that need a bad token (another audience, a past expiry, a foreign
// nonce) change the claims with [Provider.EditClaims] before signing.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is the identity the provider logs in.
type User struct {
	Subject, Email, Name string
	Groups               []string
}

// Authorization is one request the provider saw at /authorize, for tests to
// inspect (for example that PKCE used S256).
type Authorization struct {
	ClientID, RedirectURI, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod         string
}

// Provider is a running fake identity provider. Its methods are safe for
// concurrent use.
type Provider struct {
	clientID, clientSecret string
	srv                    *httptest.Server
	signer                 jose.Signer
	jwks                   jose.JSONWebKeySet

	mu          sync.Mutex
	authMethods []string
	user        User
	edit        func(claims map[string]any)
	grants      map[string]*grant
	auths       []Authorization
}

type grant struct {
	Authorization
	user    User
	expires time.Time
	used    bool
}

// CodeLifetime is how long an authorization code may be exchanged.
const CodeLifetime = time.Minute

// TokenLifetime is the validity of the ID tokens the provider signs.
const TokenLifetime = 5 * time.Minute

// New starts a provider on a local httptest server for one client. It
// panics if no RSA key can be generated, like httptest.NewServer does on
// failure.
func New(clientID, clientSecret string, user User) *Provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("oidctest: generate RSA key: %v", err))
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "oidctest-1", Algorithm: string(jose.RS256), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(fmt.Sprintf("oidctest: signer: %v", err))
	}
	p := &Provider{
		clientID:     clientID,
		clientSecret: clientSecret,
		signer:       signer,
		jwks:         jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}},
		user:         user,
		grants:       map[string]*grant{},
		authMethods:  []string{"client_secret_basic", "client_secret_post"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	return p
}

// Issuer is the provider's issuer URL (also its base URL).
func (p *Provider) Issuer() string { return p.srv.URL }

// Close stops the server.
func (p *Provider) Close() { p.srv.Close() }

// SetUser changes who the next login authenticates.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetAuthMethods sets the client authentication methods the provider
// advertises and accepts at /token: "client_secret_basic",
// "client_secret_post" or both (the default).
func (p *Provider) SetAuthMethods(methods ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authMethods = slices.Clone(methods)
}

// EditClaims installs f to change the claims of every ID token before it is
// signed (nil removes it).
func (p *Provider) EditClaims(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.edit = f
}

// Authorizations returns the /authorize requests seen so far.
func (p *Provider) Authorizations() []Authorization {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.auths)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	methods := slices.Clone(p.authMethods)
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": methods,
		"scopes_supported":                      []string{"openid", "email", "profile", "groups"},
	})
}

func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, p.jwks)
}

// authorize approves at once and redirects back with a code, or answers 400
// for a request a real provider would refuse without redirecting.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a := Authorization{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		State: q.Get("state"), Nonce: q.Get("nonce"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
	}
	p.mu.Lock()
	p.auths = append(p.auths, a)
	user := p.user
	p.mu.Unlock()

	redirect, err := url.Parse(a.RedirectURI)
	switch {
	case a.ClientID != p.clientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case err != nil || !redirect.IsAbs():
		http.Error(w, "redirect_uri must be an absolute URL", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", a.State)
	fail := func(code, desc string) {
		back.Set("error", code)
		back.Set("error_description", desc)
		redirect.RawQuery = back.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code")
		return
	case !slices.Contains(strings.Fields(a.Scope), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case a.CodeChallengeMethod != "S256" || len(a.CodeChallenge) != 43:
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}
	code := randomString()
	p.mu.Lock()
	p.grants[code] = &grant{Authorization: a, user: user, expires: time.Now().Add(CodeLifetime)}
	p.mu.Unlock()
	back.Set("code", code)
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token exchanges a code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	p.mu.Lock()
	methods := slices.Clone(p.authMethods)
	p.mu.Unlock()
	id, secret, basic := r.BasicAuth()
	method := "client_secret_post"
	if basic {
		method = "client_secret_basic"
	}
	if !slices.Contains(methods, method) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", method+" is not accepted here")
		return
	}
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.clientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, ok := p.grants[code]
	wasUsed := ok && g.used
	if ok {
		g.used = true // one attempt per code, successful or not
	}
	edit := p.edit
	p.mu.Unlock()
	switch {
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown authorization code")
		return
	case wasUsed:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "authorization code already used")
		return
	case time.Now().After(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "authorization code expired")
		return
	case g.ClientID != id:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code was issued to another client")
		return
	case r.PostForm.Get("redirect_uri") != g.RedirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	if verifier == "" {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier required (PKCE)")
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.CodeChallenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		return
	}

	now := time.Now()
	claims := map[string]any{
		"iss":    p.srv.URL,
		"aud":    p.clientID,
		"sub":    g.user.Subject,
		"email":  g.user.Email,
		"name":   g.user.Name,
		"groups": g.user.Groups,
		"nonce":  g.Nonce,
		"iat":    now.Unix(),
		"exp":    now.Add(TokenLifetime).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	idToken, err := p.Sign(claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomString(),
		"token_type":   "Bearer",
		"expires_in":   int(TokenLifetime.Seconds()),
		"id_token":     idToken,
	})
}

// Sign returns claims as a compact RS256 JWT signed with the provider's key.
func (p *Provider) Sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidctest: encode claims: %w", err)
	}
	jws, err := p.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidctest: sign: %w", err)
	}
	return jws.CompactSerialize()
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

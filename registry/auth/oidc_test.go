package auth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/registry/auth/oidctest"
	"github.com/google/go-cmp/cmp"
)

var alice = oidctest.User{Subject: "alice-sub", Email: "alice@example.com", Name: "Alice", Groups: []string{"ml", "reviewers"}}

// loginApp is a web app using OIDC, on an httptest server: /login,
// /auth/callback, and done answers the identity as JSON.
type loginApp struct {
	idp  *oidctest.Provider
	srv  *httptest.Server
	oidc *OIDC
}

func newLoginApp(t *testing.T, cfg OIDCConfig, authMethods ...string) *loginApp {
	t.Helper()
	a := &loginApp{idp: oidctest.New("aigis-ui", "s3cret", alice)}
	t.Cleanup(a.idp.Close)
	if len(authMethods) > 0 {
		a.idp.SetAuthMethods(authMethods...)
	}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	cfg.Issuer = a.idp.Issuer()
	cfg.ClientID = "aigis-ui"
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = "s3cret"
	}
	cfg.RedirectURL = a.srv.URL + "/auth/callback"
	o, err := NewOIDC(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.oidc = o
	mux.Handle("/login", o.LoginHandler())
	mux.Handle("/auth/callback", o.CallbackHandler(func(w http.ResponseWriter, r *http.Request, id Identity) {
		_ = json.NewEncoder(w).Encode(id)
	}))
	return a
}

func browser(t *testing.T, follow bool) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestOIDCLogin(t *testing.T) {
	a := newLoginApp(t, OIDCConfig{Scopes: []string{"email", "groups"}})
	c := browser(t, true)
	resp, body := get(t, c, a.srv.URL+"/login")
	if resp.StatusCode != 200 {
		t.Fatalf("login flow ended with %d: %s", resp.StatusCode, body)
	}
	var id Identity
	if err := json.Unmarshal([]byte(body), &id); err != nil {
		t.Fatalf("callback answered %q: %v", body, err)
	}
	want := Identity{Subject: "alice-sub", Email: "alice@example.com", Name: "Alice", Groups: []string{"ml", "reviewers"}}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"group:ml", "group:reviewers"}, id.PrincipalGroups()); diff != "" {
		t.Errorf("principal groups (-want +got):\n%s", diff)
	}
	auths := a.idp.Authorizations()
	if len(auths) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(auths))
	}
	az := auths[0]
	if az.CodeChallengeMethod != "S256" || az.CodeChallenge == "" || az.Nonce == "" || len(az.State) < 32 {
		t.Errorf("authorization request without PKCE S256, nonce or a strong state: %+v", az)
	}
	if az.Scope != "openid email groups" {
		t.Errorf("scope %q, want openid added in front of the configured scopes", az.Scope)
	}
	u, _ := url.Parse(a.srv.URL + "/auth/callback")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == loginCookie {
			t.Errorf("login cookie still set after the callback: %v", ck)
		}
	}
}

func TestOIDCLoginCookie(t *testing.T) {
	a := newLoginApp(t, OIDCConfig{CookieSecure: true})
	resp, _ := get(t, browser(t, false), a.srv.URL+"/login")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), a.idp.Issuer()+"/authorize?") {
		t.Fatalf("login: %d to %q, want a redirect to the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == loginCookie {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no login cookie set")
	}
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/auth/callback" || ck.MaxAge <= 0 || ck.MaxAge > 600 {
		t.Errorf("login cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/auth/callback, short Max-Age", ck)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if strings.Contains(ck.Value, loc.Query().Get("code_challenge")) {
		t.Error("the code challenge is in the cookie; the verifier must be, the challenge derived from it")
	}
}

// startLogin runs /login and /authorize without following the redirect to
// the callback, and returns the callback URL and the browser.
func startLogin(t *testing.T, a *loginApp) (*http.Client, *url.URL) {
	t.Helper()
	c := browser(t, false)
	resp, _ := get(t, c, a.srv.URL+"/login")
	resp, body := get(t, c, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("authorize redirected to %q, want the callback with a code", resp.Header.Get("Location"))
	}
	return c, cb
}

func withQuery(u *url.URL, key, value string) string {
	v := u.Query()
	v.Set(key, value)
	w := *u
	w.RawQuery = v.Encode()
	return w.String()
}

func TestOIDCRefusals(t *testing.T) {
	type result struct {
		status int
		says   string
	}
	check := func(t *testing.T, resp *http.Response, body string, want result) {
		t.Helper()
		if resp.StatusCode != want.status || !strings.Contains(body, want.says) {
			t.Errorf("callback: %d %q, want %d mentioning %q", resp.StatusCode, body, want.status, want.says)
		}
		if strings.Contains(body, "alice") {
			t.Errorf("refused callback leaked the identity: %s", body)
		}
	}

	t.Run("wrong state", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		c, cb := startLogin(t, a)
		resp, body := get(t, c, withQuery(cb, "state", "forged"))
		check(t, resp, body, result{400, "state does not match"})
	})
	t.Run("no login cookie", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		_, cb := startLogin(t, a)
		resp, body := get(t, browser(t, false), cb.String()) // another browser
		check(t, resp, body, result{400, "no login in progress"})
	})
	t.Run("replayed code", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		c, cb := startLogin(t, a)
		cookies := c.Jar.Cookies(cb)
		if resp, body := get(t, c, cb.String()); resp.StatusCode != 200 {
			t.Fatalf("first callback: %d %s", resp.StatusCode, body)
		}
		// An attacker who captured both the callback URL and the cookie.
		c.Jar.SetCookies(cb, cookies)
		resp, body := get(t, c, cb.String())
		check(t, resp, body, result{401, "already used"})
	})
	t.Run("second callback without cookie", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		c, cb := startLogin(t, a)
		get(t, c, cb.String())
		resp, body := get(t, c, cb.String())
		check(t, resp, body, result{400, "no login in progress"})
	})
	t.Run("wrong verifier", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		c, cb := startLogin(t, a)
		var jarCookie *http.Cookie
		for _, ck := range c.Jar.Cookies(cb) {
			if ck.Name == loginCookie {
				jarCookie = ck
			}
		}
		parts := strings.Split(jarCookie.Value, ".")
		parts[2] = strings.Repeat("A", 43)
		c.Jar.SetCookies(cb, []*http.Cookie{{Name: loginCookie, Value: strings.Join(parts, "."), Path: "/auth/callback"}})
		resp, body := get(t, c, cb.String())
		check(t, resp, body, result{401, "code_verifier does not match"})
	})
	t.Run("wrong client secret", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{ClientSecret: "guess"})
		c, cb := startLogin(t, a)
		resp, body := get(t, c, cb.String())
		check(t, resp, body, result{401, "invalid_client"})
	})
	t.Run("provider error", func(t *testing.T) {
		a := newLoginApp(t, OIDCConfig{})
		c, cb := startLogin(t, a)
		resp, body := get(t, c, withQuery(cb, "error", "access_denied"))
		check(t, resp, body, result{401, "access_denied"})
	})
	for name, tc := range map[string]struct {
		edit func(map[string]any)
		want result
	}{
		"wrong nonce":     {func(c map[string]any) { c["nonce"] = "someone-elses" }, result{401, "nonce"}},
		"expired token":   {func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, result{401, "expired"}},
		"wrong audience":  {func(c map[string]any) { c["aud"] = "another-client" }, result{401, "audience"}},
		"wrong issuer":    {func(c map[string]any) { c["iss"] = "https://evil.example" }, result{401, "issuer"}},
		"groups not list": {func(c map[string]any) { c["groups"] = map[string]any{"a": 1} }, result{401, "groups"}},
		"no subject":      {func(c map[string]any) { delete(c, "sub") }, result{401, "subject"}},
		"too many groups": {func(c map[string]any) { c["groups"] = make([]string, MaxGroups+1) }, result{401, "groups"}},
	} {
		t.Run(name, func(t *testing.T) {
			a := newLoginApp(t, OIDCConfig{})
			a.idp.EditClaims(tc.edit)
			c, cb := startLogin(t, a)
			resp, body := get(t, c, cb.String())
			check(t, resp, body, tc.want)
		})
	}
}

// TestOIDCClientAuthMethods logs in against providers that accept only
// one way of sending the client secret: the one they advertise is used.
func TestOIDCClientAuthMethods(t *testing.T) {
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		a := newLoginApp(t, OIDCConfig{}, m)
		if resp, body := get(t, browser(t, true), a.srv.URL+"/login"); resp.StatusCode != 200 {
			t.Errorf("provider accepting only %s: login ended with %d %s", m, resp.StatusCode, body)
		}
	}
}

func TestOIDCSingleGroupString(t *testing.T) {
	a := newLoginApp(t, OIDCConfig{GroupsClaim: "roles"})
	a.idp.EditClaims(func(c map[string]any) { c["roles"] = "admins" })
	resp, body := get(t, browser(t, true), a.srv.URL+"/login")
	var id Identity
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &id) != nil || len(id.Groups) != 1 || id.Groups[0] != "admins" {
		t.Fatalf("login with groups claim \"roles\" = \"admins\": %d %s", resp.StatusCode, body)
	}
}

// TestFakeProviderRequiresVerifier speaks to the token endpoint directly,
// as a client that skips PKCE would.
func TestFakeProviderRequiresVerifier(t *testing.T) {
	a := newLoginApp(t, OIDCConfig{})
	_, cb := startLogin(t, a)
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {a.srv.URL + "/auth/callback"}, "client_id": {"aigis-ui"}, "client_secret": {"s3cret"},
	}
	resp, err := http.PostForm(a.idp.Issuer()+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "code_verifier required") {
		t.Fatalf("token request without code_verifier: %d %s", resp.StatusCode, body)
	}
}

func TestNewOIDCErrors(t *testing.T) {
	idp := oidctest.New("c", "s", alice)
	defer idp.Close()
	for name, cfg := range map[string]OIDCConfig{
		"no issuer":         {ClientID: "c", RedirectURL: "https://x/cb"},
		"relative redirect": {Issuer: idp.Issuer(), ClientID: "c", RedirectURL: "/cb"},
		"wrong issuer":      {Issuer: idp.Issuer() + "/other", ClientID: "c", RedirectURL: "https://x/cb"},
	} {
		if _, err := NewOIDC(context.Background(), cfg); err == nil {
			t.Errorf("%s: NewOIDC accepted %+v", name, cfg)
		}
	}
}

// FuzzIdentityFromClaims feeds arbitrary JSON as the claims of a verified ID
// token. Invariants: no panic; an accepted identity has a subject and stays
// within the documented bounds.
func FuzzIdentityFromClaims(f *testing.F) {
	f.Add([]byte(`{"sub":"a","email":"a@x","name":"A","groups":["ml","ops"]}`))
	f.Add([]byte(`{"sub":"a","groups":"admins"}`))
	f.Add([]byte(`{"sub":"a","groups":[1,2]}`))
	f.Add([]byte(`{"sub":"a","groups":{"x":1}}`))
	f.Add([]byte(`{"sub":""}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"sub":"a","groups":[""]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, err := identityFromClaims(raw, "groups")
		if err != nil {
			if id.Subject != "" || id.Groups != nil {
				t.Fatalf("error %v with a non-empty identity %+v", err, id)
			}
			return
		}
		if id.Subject == "" || len(id.Subject) > MaxClaimLen || len(id.Email) > MaxClaimLen || len(id.Name) > MaxClaimLen || len(id.Groups) > MaxGroups {
			t.Fatalf("accepted identity out of bounds: %+v", id)
		}
		for _, g := range id.Groups {
			if g == "" || len(g) > MaxClaimLen {
				t.Fatalf("accepted group %q", g)
			}
		}
	})
}

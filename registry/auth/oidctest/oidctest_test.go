package oidctest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	verifier    = "dBjftJeZ4CVP-mJ92K9Q8v4ZqjCrBC6nDRm5G1E6Gk7xO2tXl0" // any 43-128 chars
	redirectURI = "http://app.test/callback"
)

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize returns the query of the redirect back to the client.
func authorize(t *testing.T, p *Provider, q url.Values) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(p.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want a redirect", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), redirectURI) {
		t.Fatalf("authorize redirected to %q", resp.Header.Get("Location"))
	}
	return u.Query()
}

func goodAuthorize() url.Values {
	return url.Values{
		"client_id": {"app"}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"nn"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
}

func exchange(t *testing.T, p *Provider, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(p.Issuer()+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token endpoint answered %q", body)
	}
	return resp.StatusCode, m
}

func TestTokenEndpoint(t *testing.T) {
	p := New("app", "secret", User{Subject: "u1", Email: "u1@example.com", Groups: []string{"g"}})
	defer p.Close()

	back := authorize(t, p, goodAuthorize())
	if back.Get("state") != "st" || back.Get("code") == "" {
		t.Fatalf("redirect back %v, want state st and a code", back)
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {redirectURI},
		"client_id": {"app"}, "client_secret": {"secret"}, "code_verifier": {verifier},
	}
	status, m := exchange(t, p, form)
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, m)
	}
	jws, err := jose.ParseSigned(m["id_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var ks jose.JSONWebKeySet
	resp, err := http.Get(p.Issuer() + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&ks); err != nil || len(ks.Keys) != 1 {
		t.Fatalf("JWKS: %v, %d keys", err, len(ks.Keys))
	}
	payload, err := jws.Verify(ks.Keys[0])
	if err != nil {
		t.Fatalf("ID token does not verify with the published key: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["iss"] != p.Issuer() || claims["aud"] != "app" || claims["sub"] != "u1" || claims["nonce"] != "nn" {
		t.Errorf("claims %v", claims)
	}

	// Each refusal on a fresh code, except the replay.
	fresh := func() url.Values {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("code", authorize(t, p, goodAuthorize()).Get("code"))
		return f
	}
	for name, tc := range map[string]struct {
		mutate func(url.Values)
		status int
		want   string
	}{
		"replay":                {func(f url.Values) { f.Set("code", back.Get("code")) }, 400, "already used"},
		"unknown code":          {func(f url.Values) { f.Set("code", "nope") }, 400, "unknown"},
		"wrong secret":          {func(f url.Values) { f.Set("client_secret", "x") }, 401, "wrong secret"},
		"other redirect":        {func(f url.Values) { f.Set("redirect_uri", "http://evil.test/cb") }, 400, "redirect_uri"},
		"missing verifier":      {func(f url.Values) { f.Del("code_verifier") }, 400, "code_verifier required"},
		"wrong verifier":        {func(f url.Values) { f.Set("code_verifier", verifier+"x") }, 400, "does not match"},
		"challenge as verifier": {func(f url.Values) { f.Set("code_verifier", challenge(verifier)) }, 400, "does not match"},
		"wrong grant":           {func(f url.Values) { f.Set("grant_type", "password") }, 400, "authorization_code"},
	} {
		f := fresh()
		tc.mutate(f)
		status, m := exchange(t, p, f)
		desc, _ := m["error_description"].(string)
		if status != tc.status || !strings.Contains(desc, tc.want) {
			t.Errorf("%s: %d %v, want %d mentioning %q", name, status, m, tc.status, tc.want)
		}
	}
}

func TestAuthorizeRequiresS256(t *testing.T) {
	p := New("app", "secret", User{Subject: "u1"})
	defer p.Close()
	for name, mutate := range map[string]func(url.Values){
		"plain PKCE":    func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", verifier) },
		"no PKCE":       func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"no openid":     func(q url.Values) { q.Set("scope", "email") },
		"implicit flow": func(q url.Values) { q.Set("response_type", "token") },
	} {
		q := goodAuthorize()
		mutate(q)
		back := authorize(t, p, q)
		if back.Get("code") != "" || back.Get("error") == "" {
			t.Errorf("%s: redirected back with %v, want an error and no code", name, back)
		}
	}
	resp, err := noRedirect.Get(p.Issuer() + "/authorize?client_id=other&redirect_uri=" + url.QueryEscape(redirectURI))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown client: %d, want 400 without redirect", resp.StatusCode)
	}
	if got := p.Authorizations(); len(got) != 5 {
		t.Errorf("recorded %d authorizations: %+v", len(got), got)
	}
}

func TestAuthMethods(t *testing.T) {
	p := New("app", "secret", User{Subject: "u1"})
	defer p.Close()
	p.SetAuthMethods("client_secret_basic")
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {authorize(t, p, goodAuthorize()).Get("code")},
		"redirect_uri": {redirectURI}, "client_id": {"app"}, "client_secret": {"secret"}, "code_verifier": {verifier},
	}
	if status, m := exchange(t, p, form); status != 401 {
		t.Errorf("client_secret_post to a basic-only provider: %d %v, want 401", status, m)
	}
}

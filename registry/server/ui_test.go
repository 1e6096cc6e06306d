package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/auth/oidctest"
	"github.com/aigis-sec/aigis/registry/store"
)

// uiEnv is an env with a benign repository approved (acme/bert) and a
// malicious one quarantined (evil/bert), both requested by user:dev.
func uiEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := newEnv(t, map[string]hubtest.Repo{"acme/bert": benignRepo(t), "evil/bert": maliciousRepo(t)}, opts...)
	e.bind("user:dev", "*", auth.RoleRequester)
	dev := e.token("user:dev", "write")
	for _, repo := range []string{"acme/bert", "evil/bert"} {
		if r := e.do("POST", "/api/aigis/pull", dev, strings.NewReader(`{"repo": "`+repo+`"}`)); r.status != http.StatusAccepted {
			t.Fatalf("pull %s: %d %s", repo, r.status, r.body)
		}
	}
	e.work()
	for repo, want := range map[string]store.Status{"acme/bert": store.Approved, "evil/bert": store.Quarantined} {
		rv, err := e.store.GetRevision(context.Background(), "models/"+repo, hubtest.CommitID(repo))
		if err != nil || rv.Status != want {
			t.Fatalf("%s after the scan: %+v %v, want %s", repo, rv, err, want)
		}
	}
	return e
}

// form posts a form as a browser on the same site would (Sec-Fetch-Site:
// same-origin), with extra headers.
func (e *env) form(path, token string, values url.Values, hdr ...string) resp {
	e.t.Helper()
	return e.do("POST", path, token, strings.NewReader(values.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}, hdr...)...)
}

func checkUIHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": uiCSP,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", path, k, got, want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("%s: CSP %q lacks default-src 'self'", path, h.Get("Content-Security-Policy"))
	}
}

// externalURL finds src/href attributes that leave the server.
var externalURL = regexp.MustCompile(`(?i)(src|href|action)="(https?:)?//`)

func TestUIPagesRender(t *testing.T) {
	e := uiEnv(t)
	good, bad := hubtest.CommitID("acme/bert"), hubtest.CommitID("evil/bert")
	pages := []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"acme/bert", "evil/bert", `class="badge st-approved"`, `class="badge st-quarantined"`, short(good), short(bad), "main →"}},
		{"/ui/repos/models/acme/bert", []string{"acme/bert", good[:12], "approved", "main"}},
		{"/ui/repos/models/evil/bert/revisions/" + bad, []string{"quarantined", "pytorch_model.bin", "config.json", "critical", "Approve", "Reject",
			e.srv.Policy().Version(), e.srv.RulesetVersion(), "system:policy", hubtest.SHA256(maliciousRepo(t).Files[1].Content)}},
		{"/ui/repos/models/acme/bert/revisions/" + good, []string{"approved", "model.safetensors", "sub/dir/notes.txt"}},
		{"/ui/queue", []string{"evil/bert", short(bad), "quarantined"}},
		{"/ui/policy", []string{e.srv.Policy().Version(), e.srv.RulesetVersion(), "high severity and above"}},
		{"/ui/tokens", []string{"user:admin", "user:dev", "Create token"}},
		{"/ui/audit", []string{"verified: ", " entries, checkpoint signed by test/audit", "artifact.decision", "token.create"}},
	}
	for _, pg := range pages {
		r := e.do("GET", pg.path, e.admin, nil)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", pg.path, r.status, r.body)
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", pg.path, ct)
		}
		checkUIHeaders(t, pg.path, r.header)
		body := string(r.body)
		text := html.UnescapeString(body)
		for _, w := range pg.want {
			if !strings.Contains(text, w) {
				t.Errorf("GET %s: page lacks %q", pg.path, w)
			}
		}
		if m := externalURL.FindString(body); m != "" {
			t.Errorf("GET %s: page refers to an external URL: %s", pg.path, m)
		}
		if strings.Contains(body, " style=") || strings.Contains(body, "<style") || regexp.MustCompile(`<script>`).MatchString(body) {
			t.Errorf("GET %s: inline style or script, which the CSP blocks", pg.path)
		}
	}

	// A branch name goes to the commit it resolves to.
	r := e.do("GET", "/ui/repos/models/acme/bert/revisions/main", e.admin, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), good) {
		t.Errorf("revision page by branch name: %d", r.status)
	}
	for path, want := range map[string]int{
		"/ui/repos/models/acme/nope":                        http.StatusNotFound,
		"/ui/repos/spaces/acme/bert":                        http.StatusNotFound,
		"/ui/repos/models/acme/bert/revisions/v9":           http.StatusNotFound,
		"/ui/repos/models/acme/bert/revisions/" + good[:39]: http.StatusNotFound,
		"/ui/nope": http.StatusNotFound,
		"/ui/repos/models/acme/bert/revisions/" + bad + "/x": http.StatusNotFound,
	} {
		r := e.do("GET", path, e.admin, nil)
		if r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
		checkUIHeaders(t, path, r.header)
	}
}

func TestUIStaticAssets(t *testing.T) {
	e := newEnv(t, nil)
	// Assets need no credentials, even with anonymous access off: the
	// sign-in pages use them.
	r := e.do("GET", uiStaticURL("htmx.min.js"), "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "BSD-0-Clause") || !strings.Contains(string(r.body), "var htmx=") {
		t.Fatalf("htmx: %d, %d bytes", r.status, len(r.body))
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("htmx Cache-Control %q, want a year", cc)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("htmx Content-Type %q", ct)
	}
	r = e.do("GET", uiStaticURL("aigis.css"), "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), ".st-quarantined") || r.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("css: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if r := e.do("GET", "/ui/static/server.go", "", nil); r.status != http.StatusNotFound {
		t.Errorf("a file outside the assets: %d", r.status)
	}
}

func TestUIAnonymousWithoutSignIn(t *testing.T) {
	e := uiEnv(t)
	for _, path := range []string{"/ui/", "/ui/queue", "/ui/policy", "/ui/tokens", "/ui/audit", "/ui/repos/models/acme/bert",
		"/ui/repos/models/evil/bert/revisions/" + hubtest.CommitID("evil/bert")} {
		r := e.do("GET", path, "", nil)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "Authorization: Bearer") {
			t.Errorf("anonymous GET %s: %d, want 401 saying how to authenticate", path, r.status)
		}
		if strings.Contains(string(r.body), "evil/bert") {
			t.Errorf("anonymous GET %s shows a repository", path)
		}
		checkUIHeaders(t, path, r.header)
	}
	// A reader of acme/* sees acme/bert only, and no audit log.
	e.bind("user:reader", "acme/*", auth.RoleReader)
	tok := e.token("user:reader", "read")
	r := e.do("GET", "/ui/", tok, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "acme/bert") || strings.Contains(string(r.body), "evil/bert") {
		t.Errorf("reader's artifact list: %d, shows acme/bert %v, evil/bert %v", r.status, strings.Contains(string(r.body), "acme/bert"), strings.Contains(string(r.body), "evil/bert"))
	}
	if r := e.do("GET", "/ui/repos/models/evil/bert", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("reader opens evil/bert: %d, want 403", r.status)
	}
	if r := e.do("GET", "/ui/audit", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("reader opens the audit log: %d, want 403", r.status)
	}
	if r := e.do("GET", "/ui/queue", tok, nil); r.status != http.StatusOK || strings.Contains(string(r.body), "evil/bert") {
		t.Errorf("reader's queue: %d, shows evil/bert %v", r.status, strings.Contains(string(r.body), "evil/bert"))
	}
}

func TestUIAnonymousRead(t *testing.T) {
	e := uiEnv(t, func(c *Config) { c.Anonymous = AnonymousRead })
	r := e.do("GET", "/ui/", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "acme/bert") {
		t.Errorf("anonymous artifact list with anonymous read: %d", r.status)
	}
	if r := e.do("GET", "/ui/tokens", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous tokens page: %d, want 401", r.status)
	}
}

func TestUIApprove(t *testing.T) {
	e := uiEnv(t)
	e.bind("user:rev", "*", auth.RoleReviewer)
	rev := e.token("user:rev", "approve")
	dev := e.token("user:dev", "write", "approve")
	bad := hubtest.CommitID("evil/bert")
	page := "/ui/repos/models/evil/bert/revisions/" + bad
	status := func() store.Status {
		rv, err := e.store.GetRevision(context.Background(), "models/evil/bert", bad)
		if err != nil {
			t.Fatal(err)
		}
		return rv.Status
	}

	// The requester sees no approve form and cannot approve through it.
	if r := e.do("GET", page, dev, nil); strings.Contains(string(r.body), `action="`+page+`/approve"`) {
		t.Errorf("the requester is offered the approve form")
	}
	// A reader sees no form; posting anyway is refused.
	e.bind("user:reader", "*", auth.RoleReader)
	reader := e.token("user:reader", "read")
	if r := e.do("GET", page, reader, nil); r.status != http.StatusOK || strings.Contains(string(r.body), "/approve") {
		t.Errorf("reader's artifact page: %d, offers approval %v", r.status, strings.Contains(string(r.body), "/approve"))
	}
	if r := e.form(page+"/approve", reader, url.Values{"reason": {"fine"}}); r.status != http.StatusForbidden {
		t.Errorf("reader approves: %d, want 403", r.status)
	}

	// A waiver without a reason is refused with the API's message.
	r := e.form(page+"/approve", rev, url.Values{"reason": {" "}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "waiver and needs a reason") {
		t.Errorf("waiver without a reason: %d\n%s", r.status, r.body)
	}
	checkUIHeaders(t, page+"/approve", r.header)
	if st := status(); st != store.Quarantined {
		t.Fatalf("after a refused approval: %s", st)
	}

	// The reviewer approves with a reason, as htmx would post it.
	r = e.form(page+"/approve", rev, url.Values{"reason": {"false positive, checked by hand"}}, "HX-Request", "true")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Approved: the revision is approved.") {
		t.Fatalf("approve: %d\n%s", r.status, r.body)
	}
	if st := status(); st != store.Approved {
		t.Fatalf("after approval: %s, want approved", st)
	}
	body := string(r.body)
	if !strings.Contains(body, `id="main"`) || !strings.Contains(body, "waived by user:rev: false positive, checked by hand") {
		t.Errorf("the answer does not show the new state")
	}
	if acts := strings.Join(e.auditActions(), "\n"); !strings.Contains(acts, "artifact.approve") {
		t.Errorf("no audit entry for the approval:\n%s", acts)
	}

	// Rejecting needs a reason too, then quarantines again.
	if r := e.form(page+"/reject", rev, url.Values{}); r.status != http.StatusBadRequest {
		t.Errorf("reject without a reason: %d", r.status)
	}
	if r := e.form(page+"/reject", rev, url.Values{"reason": {"licence problem"}}); r.status != http.StatusOK || status() != store.Quarantined {
		t.Errorf("reject: %d, status %s", r.status, status())
	}
}

func TestUICSRF(t *testing.T) {
	e := uiEnv(t)
	e.bind("user:rev", "*", auth.RoleReviewer)
	rev := e.token("user:rev", "approve")
	bad := hubtest.CommitID("evil/bert")
	path := "/ui/repos/models/evil/bert/revisions/" + bad + "/approve"
	values := url.Values{"reason": {"looks fine"}}
	for name, hdr := range map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site", "same-site"},
		"foreign Origin":            {"Origin", "https://evil.example"},
	} {
		h := append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)
		r := e.do("POST", path, rev, strings.NewReader(values.Encode()), h...)
		if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "cross-origin request refused") {
			t.Errorf("%s: %d %s, want 403", name, r.status, r.body)
		}
		checkUIHeaders(t, name, r.header)
		for _, p := range []string{"/ui/tokens", "/ui/logout"} {
			if r := e.do("POST", p, rev, strings.NewReader("name=x"), h...); r.status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", name, p, r.status)
			}
		}
	}
	rv, err := e.store.GetRevision(context.Background(), "models/evil/bert", bad)
	if err != nil || rv.Status != store.Quarantined {
		t.Fatalf("cross-origin posts changed the revision: %s %v", rv.Status, err)
	}
	// The same post from the UI's own origin goes through.
	r := e.do("POST", path, rev, strings.NewReader(values.Encode()), "Content-Type", "application/x-www-form-urlencoded", "Origin", e.http.URL)
	if r.status != http.StatusOK {
		t.Errorf("same-origin post: %d %s", r.status, r.body)
	}
	// Forms are POST only.
	if r := e.do("GET", path, rev, nil); r.status == http.StatusOK {
		t.Errorf("GET of the approve action: %d", r.status)
	}
}

func TestUIEscapesFindings(t *testing.T) {
	e := uiEnv(t)
	bad := hubtest.CommitID("evil/bert")
	hostile := []finding.Finding{{
		RuleID:   "pickle-unsafe-global",
		Severity: finding.Critical,
		Title:    "<b>title</b>",
		Path:     `pytorch_model.bin"><script>alert("path")</script>`,
		Message:  `<script>alert("message")</script>`,
		Evidence: map[string]string{`<img src=x onerror=alert(1)>`: `</code></td><script>alert("evidence")</script>`},
	}}
	if err := e.store.PutFindings(context.Background(), "models/evil/bert", bad, hostile); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/ui/repos/models/evil/bert/revisions/"+bad, e.admin, nil)
	if r.status != http.StatusOK {
		t.Fatalf("artifact page: %d", r.status)
	}
	body := string(r.body)
	for _, raw := range []string{"<script>alert", "<img src=x", "<b>title</b>", `"><script>`} {
		if strings.Contains(body, raw) {
			t.Errorf("hostile text %q reached the page unescaped", raw)
		}
	}
	for _, esc := range []string{`&lt;script&gt;alert(&#34;message&#34;)&lt;/script&gt;`, `&lt;img src=x onerror=alert(1)&gt;`, `&lt;/code&gt;&lt;/td&gt;&lt;script&gt;alert(&#34;evidence&#34;)`, `&lt;b&gt;title&lt;/b&gt;`} {
		if !strings.Contains(body, esc) {
			t.Errorf("page lacks the escaped text %q", esc)
		}
	}
}

func TestUITokens(t *testing.T) {
	e := newEnv(t, nil)
	r := e.form("/ui/tokens", e.admin, url.Values{"name": {"laptop"}, "scope": {"read"}, "expires_in": {"720h"}, "namespaces": {"acme/*, "}})
	if r.status != http.StatusOK {
		t.Fatalf("create token: %d\n%s", r.status, r.body)
	}
	m := regexp.MustCompile(`aigis_pat_[A-Za-z0-9]{43}_[A-Za-z0-9]{6}`).FindString(string(r.body))
	if m == "" || !strings.Contains(string(r.body), "not shown again") {
		t.Fatalf("the new secret is not shown:\n%s", r.body)
	}
	if got := e.do("GET", "/api/aigis/tokens", m, nil); got.status != http.StatusOK {
		t.Fatalf("the new token does not authenticate: %d", got.status)
	}
	// The list shows it (by name, never the secret) with its namespace.
	r = e.do("GET", "/ui/tokens", e.admin, nil)
	if !strings.Contains(string(r.body), "laptop") || !strings.Contains(string(r.body), "acme/*") || strings.Contains(string(r.body), m) {
		t.Errorf("token list: shows name %v, namespace %v, secret %v", strings.Contains(string(r.body), "laptop"), strings.Contains(string(r.body), "acme/*"), strings.Contains(string(r.body), m))
	}
	// Bad input is refused with the API's message.
	if r := e.form("/ui/tokens", e.admin, url.Values{"name": {"x"}, "scope": {"root"}}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "use read, write, approve or admin") {
		t.Errorf("unknown scope: %d", r.status)
	}
	// A read token cannot mint tokens.
	if r := e.form("/ui/tokens", m, url.Values{"name": {"y"}, "scope": {"read"}}); r.status != http.StatusForbidden {
		t.Errorf("a read token creates a token: %d", r.status)
	}
	ts, err := e.store.ListTokens(context.Background(), "user:admin")
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tk := range ts {
		if tk.Name == "laptop" {
			id = tk.ID
		}
	}
	r = e.form("/ui/tokens/"+id+"/revoke", e.admin, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "revoked") {
		t.Fatalf("revoke: %d\n%s", r.status, r.body)
	}
	if got := e.do("GET", "/api/aigis/tokens", m, nil); got.status != http.StatusUnauthorized {
		t.Errorf("a revoked token still authenticates: %d", got.status)
	}
	if r := e.form("/ui/tokens/nope/revoke", e.admin, nil); r.status != http.StatusNotFound {
		t.Errorf("revoke an unknown token: %d", r.status)
	}
}

func TestUIAuditShowsDamage(t *testing.T) {
	e := uiEnv(t)
	r := e.do("GET", "/ui/audit", e.admin, nil)
	if want := "verified: "; !strings.Contains(string(r.body), want) {
		t.Fatalf("intact log: page lacks %q", want)
	}
	// Change one byte of a recent record on disk, as someone editing the
	// log behind the server's back would.
	path := filepath.Join(e.logDir, audit.RecordsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(string(b), "user:admin")
	if i < 0 {
		t.Fatal("no user:admin record to damage")
	}
	b[i+5] = 'X'
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/ui/audit", e.admin, nil)
	body := string(r.body)
	if r.status != http.StatusOK || !strings.Contains(body, "not verified: ") || strings.Contains(body, "verified: "+"0") {
		t.Errorf("damaged log: %d, page says:\n%s", r.status, regexp.MustCompile(`(?s)<p class="[a-z]+" id="audit-status">.*?</p>`).FindString(body))
	}
}

func TestParseSignedCheckpoint(t *testing.T) {
	e := newEnv(t, nil)
	signed, err := e.log.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := parseSignedCheckpoint(signed)
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.log.TreeHash(e.log.Size())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != audit.Origin || cp.Size != e.log.Size() || cp.Root != root || len(cp.Signers) != 1 || cp.Signers[0] != "test/audit" {
		t.Errorf("parsed %+v, want size %d, root %x, signer test/audit", cp, e.log.Size(), root)
	}
	body, _, _ := strings.Cut(string(signed), "\n\n")
	for name, in := range map[string]string{
		"unsigned":       body + "\n",
		"size not canon": strings.Replace(string(signed), "\n"+itoa(e.log.Size())+"\n", "\n0"+itoa(e.log.Size())+"\n", 1),
		"two lines":      "aigis-audit\n1\n\n— x abc=\n",
		"huge":           strings.Repeat("a", maxCheckpointBytes+1),
	} {
		if _, err := parseSignedCheckpoint([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzParseSignedCheckpoint(f *testing.F) {
	skey, _, err := note.GenerateKey(rand.Reader, "fuzz/audit")
	if err != nil {
		f.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		f.Fatal(err)
	}
	for _, text := range []string{
		"aigis-audit\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"aigis-audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension line\n",
		"other-log\n12\nAAAA\n",
	} {
		signed, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
	}
	f.Add([]byte(""))
	f.Add([]byte("\n\n— \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := parseSignedCheckpoint(b)
		if err != nil {
			if cp != nil {
				t.Fatal("result with an error")
			}
			return
		}
		if cp.Size < 0 || cp.Origin == "" || len(cp.Signers) == 0 || len(cp.Signers) > maxCheckpointSigners {
			t.Fatalf("accepted %+v", cp)
		}
		if !strings.HasPrefix(string(b), cp.Origin+"\n"+itoa(cp.Size)+"\n") {
			t.Fatalf("size %d origin %q are not what the note says: %q", cp.Size, cp.Origin, b)
		}
	})
}

// oidcEnv is a uiEnv with sessions and sign-in through a fake provider
// that logs in alice@example.com, member of ml-reviewers.
func oidcEnv(t *testing.T) (*env, *oidctest.Provider) {
	t.Helper()
	idp := oidctest.New("aigis-ui", "s3cret", oidctest.User{Subject: "alice-sub", Email: "alice@example.com", Name: "Alice", Groups: []string{"ml-reviewers"}})
	t.Cleanup(idp.Close)
	e := uiEnv(t, func(c *Config) { c.Sessions = &auth.Sessions{Store: auth.NewMemorySessionStore()} })
	o, err := auth.NewOIDC(context.Background(), auth.OIDCConfig{Issuer: idp.Issuer(), ClientID: "aigis-ui", ClientSecret: "s3cret", RedirectURL: e.http.URL + "/ui/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.EnableOIDC(o); err != nil {
		t.Fatal(err)
	}
	e.bind("group:ml-reviewers", "*", auth.RoleReviewer)
	return e, idp
}

func TestUILoginLogout(t *testing.T) {
	e, idp := oidcEnv(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A client that stops at the first redirect, to see where it goes.
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, path string) (*http.Response, string) {
		t.Helper()
		res, err := c.Get(e.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}

	// Anonymous visitors are sent to sign in.
	res, _ := get(noFollow, "/ui/queue")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/login" {
		t.Fatalf("anonymous queue: %d to %q, want 303 to /ui/login", res.StatusCode, res.Header.Get("Location"))
	}

	// Signing in goes through the provider and lands on the artifacts.
	follow := &http.Client{Jar: jar}
	res, body := get(follow, "/ui/login")
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/ui/" {
		t.Fatalf("login ends at %s with %d", res.Request.URL, res.StatusCode)
	}
	if !strings.Contains(body, "user:alice@example.com") || !strings.Contains(body, "evil/bert") || !strings.Contains(body, "Sign out") {
		t.Errorf("signed-in artifact page lacks the user, the repositories or Sign out")
	}
	if a := idp.Authorizations(); len(a) != 1 || a[0].CodeChallengeMethod != "S256" {
		t.Errorf("provider saw %+v, want one S256 login", a)
	}
	// The session carries the group's role: alice may approve.
	res, body = get(follow, "/ui/repos/models/evil/bert/revisions/"+hubtest.CommitID("evil/bert"))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "/approve") {
		t.Errorf("alice's artifact page: %d, approve form %v", res.StatusCode, strings.Contains(body, "/approve"))
	}
	if acts := strings.Join(e.auditActions(), "\n"); !strings.Contains(acts, "login") {
		t.Errorf("no login in the audit log:\n%s", acts)
	}
	en, err := e.log.Entry(e.log.Size() - 1)
	if err != nil {
		t.Fatal(err)
	}
	var login *audit.Entry
	for i := e.log.Size() - 1; i >= 0; i-- {
		if en, err = e.log.Entry(i); err == nil && en.Action == "login" {
			login = &en
			break
		}
	}
	if login == nil || login.Actor != "user:alice@example.com" || login.Details["groups"] != "group:ml-reviewers" {
		t.Errorf("login entry %+v", login)
	}

	// Sign out (a same-origin form post), after which the cookie is no
	// good and the visitor is anonymous again.
	u, _ := url.Parse(e.http.URL)
	cookies := jar.Cookies(u)
	req, _ := http.NewRequest("POST", e.http.URL+"/ui/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = get(noFollow, "/ui/")
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign in", res.StatusCode)
	}
	// The old cookie, replayed, opens nothing either.
	stale := &http.Client{CheckRedirect: noFollow.CheckRedirect}
	req, _ = http.NewRequest("GET", e.http.URL+"/ui/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err = stale.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("replayed session cookie after sign-out: %d", res.StatusCode)
	}
}

func TestUILoginRefusals(t *testing.T) {
	e, _ := oidcEnv(t)
	// A callback without a login in progress (a forged link) opens no session.
	res, err := http.Get(e.http.URL + "/ui/callback?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || len(res.Cookies()) == 0 || res.Cookies()[0].MaxAge >= 0 {
		t.Errorf("forged callback: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	// Without OIDC, the login page says so.
	plain := newEnv(t, nil)
	if r := plain.do("GET", "/ui/login", "", nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "not configured") {
		t.Errorf("login without OIDC: %d", r.status)
	}
	if err := plain.srv.EnableOIDC(&auth.OIDC{}); err == nil || !strings.Contains(err.Error(), "Sessions") {
		t.Errorf("EnableOIDC without sessions: %v", err)
	}
	if _, ok := loginPrincipal(auth.Identity{Subject: "a\nb"}); ok {
		t.Errorf("a subject with a newline became a principal")
	}
	if p, ok := loginPrincipal(auth.Identity{Subject: "s"}); !ok || p != "user:s" {
		t.Errorf("subject without email: %q", p)
	}
}

// BenchmarkUIRevisionPage renders the largest artifact page the UI shows:
// 500 findings with evidence and 1000 files.
func BenchmarkUIRevisionPage(b *testing.B) {
	v := &revisionView{Repo: "acme/bert", Type: "model", Commit: strings.Repeat("ab", 20), Status: store.Quarantined, Reason: "1 critical finding"}
	for i := range uiFindingsShown {
		v.Findings = append(v.Findings, finding.Finding{RuleID: "pickle-code-execution", Severity: finding.Critical, Path: "pytorch_model.bin",
			Message: `os.system("<script>") is called when the file is loaded`, Evidence: map[string]string{"callable": "os.system", "args": strconv.Itoa(i)}})
	}
	for i := range uiFilesShown {
		v.Files = append(v.Files, store.File{Path: "shard-" + strconv.Itoa(i) + ".safetensors", Size: int64(i) << 20, SHA256: strings.Repeat("0f", 32)})
	}
	pg := &uiPage{Title: "acme/bert", CSS: uiStaticURL("aigis.css"), JS: uiStaticURL("htmx.min.js"),
		Data: uiRevisionData{Rev: v, Findings: v.Findings, Files: v.Files, CanApprove: true, CanReject: true}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := uiTemplates()["revision"].ExecuteTemplate(&buf, "layout", pg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "page-bytes")
}

// TestUIFourEyesAndSignature: a pushed revision needs two reviewers; the
// publisher (a reviewer too) is not offered the form, the first approval
// through the UI is counted, the second approves, and the page then links
// the server's signature.
func TestUIFourEyesAndSignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, func(c *Config) { c.Signer = &Signer{Key: key}; c.Approvals = 2 })
	e.bind("user:pub", "acme/*", auth.RolePublisher)
	e.bind("user:pub", "acme/*", auth.RoleReviewer)
	e.bind("user:r1", "acme/*", auth.RoleReviewer)
	e.bind("user:r2", "acme/*", auth.RoleReviewer)
	pub, r1, r2 := e.token("user:pub", "write", "approve"), e.token("user:r1", "approve"), e.token("user:r2", "approve")
	content := []byte(`{"model_type":"bert"}`)
	sum := hubtest.SHA256(content)
	if r := e.do("PUT", "/api/aigis/repos/models/acme/m/blobs/"+sum, pub, bytes.NewReader(content)); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/aigis/repos/models/acme/m/commits", pub, strings.NewReader(`{"files":[{"path":"config.json","sha256":"`+sum+`"}]}`))
	var c struct{ Commit string }
	r.json(t, &c)
	e.work()
	page := "/ui/repos/models/acme/m/revisions/" + c.Commit

	r = e.do("GET", page, pub, nil)
	if body := string(r.body); r.status != http.StatusOK || strings.Contains(body, "/approve") || !strings.Contains(body, "separation of duties") {
		t.Errorf("publisher's page: %d, approve form %v, separation note %v", r.status, strings.Contains(body, "/approve"), strings.Contains(body, "separation of duties"))
	}
	if r := e.form(page+"/approve", pub, nil); r.status != http.StatusForbidden {
		t.Errorf("publisher approves own push: %d, want 403", r.status)
	}
	r = e.do("GET", page, r1, nil)
	if body := string(r.body); !strings.Contains(body, "2 reviewer approval(s) are needed") || strings.Contains(body, "waiver") {
		t.Errorf("reviewer's page does not offer a plain (non-waiver) approval")
	}
	r = e.form(page+"/approve", r1, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Approval recorded: 1 of 2 reviewer approvals") {
		t.Fatalf("first approval: %d\n%s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "/signature") {
		t.Errorf("signature link before approval")
	}
	r = e.form(page+"/approve", r2, url.Values{"reason": {"second pair of eyes"}})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Approved: the revision is approved.") {
		t.Fatalf("second approval: %d\n%s", r.status, r.body)
	}
	body := html.UnescapeString(string(r.body))
	for _, want := range []string{"user:r1", "user:r2", "second pair of eyes", "approved by 2 reviewers", "Approvals (2)"} {
		if !strings.Contains(body, want) {
			t.Errorf("page after approval lacks %q", want)
		}
	}
	link := "/api/aigis/repos/models/acme/m/revisions/" + c.Commit + "/signature"
	if !strings.Contains(body, `href="`+link+`"`) {
		t.Fatalf("no signature link on the approved artifact")
	}
	if sig := e.do("GET", link, r2, nil); sig.status != http.StatusOK || !strings.Contains(string(sig.body), "dsseEnvelope") {
		t.Errorf("signature link: %d %.100s", sig.status, sig.body)
	}
}

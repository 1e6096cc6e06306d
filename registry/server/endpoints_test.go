package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
)

// approvedEnv is a registry holding an approved acme/bert with many files.
func approvedEnv(t *testing.T, extra int, opts ...envOpt) (*env, string, hubtest.Repo) {
	repo := benignRepo(t)
	for i := 0; i < extra; i++ {
		repo.Files = append(repo.Files, hubtest.File{Path: fmt.Sprintf("shards/part-%03d.txt", i), Content: []byte(fmt.Sprintf("part %d\n", i))})
	}
	e := newEnv(t, map[string]hubtest.Repo{"acme/bert": repo}, opts...)
	e.bind("user:dev", "acme/*", auth.RoleRequester)
	tok := e.token("user:dev", "write")
	e.do("GET", "/api/models/acme/bert", tok, nil)
	e.work()
	if r := e.do("GET", "/api/models/acme/bert", tok, nil); r.status != http.StatusOK {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	return e, tok, repo
}

func TestTreePaginationFollowsLinks(t *testing.T) {
	e, tok, repo := approvedEnv(t, 25)
	next := "/api/models/acme/bert/tree/main?recursive=true&limit=10"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		r := e.do("GET", next, tok, nil)
		if r.status != http.StatusOK {
			t.Fatalf("tree page: %d %s", r.status, r.body)
		}
		var items []treeItem
		r.json(t, &items)
		for _, it := range items {
			if seen[it.Path] {
				t.Errorf("%s listed twice", it.Path)
			}
			seen[it.Path] = true
		}
		pages++
		next = ""
		if link := r.header.Get("Link"); link != "" {
			u := strings.TrimSuffix(strings.TrimPrefix(strings.Split(link, ";")[0], "<"), ">")
			if !strings.HasPrefix(u, e.http.URL+"/") || !strings.HasSuffix(link, `rel="next"`) {
				t.Fatalf("Link %q does not point at the gate", link)
			}
			next = strings.TrimPrefix(u, e.http.URL)
		}
	}
	if len(seen) != len(repo.Files) || pages < 3 {
		t.Errorf("listed %d files in %d pages, want %d files over several pages", len(seen), pages, len(repo.Files))
	}
	// Non-recursive at a folder: direct children and sub-folders.
	r := e.do("GET", "/api/models/acme/bert/tree/main/sub", tok, nil)
	var items []treeItem
	r.json(t, &items)
	if len(items) != 1 || items[0].Type != "directory" || items[0].Path != "sub/dir" {
		t.Errorf("tree of sub = %+v, want the folder sub/dir", items)
	}
	// LFS items carry the sha256.
	r = e.do("GET", "/api/models/acme/bert/tree/main", tok, nil)
	r.json(t, &items)
	found := false
	for _, it := range items {
		if it.Path == "model.safetensors" {
			found = it.LFS != nil && it.LFS.OID == hubtest.SHA256(repo.Files[2].Content) && it.Size == int64(len(repo.Files[2].Content))
		}
	}
	if !found {
		t.Errorf("root tree lacks model.safetensors with its lfs sha256: %+v", items)
	}
}

func TestPathsInfoFormAndJSON(t *testing.T) {
	e, tok, _ := approvedEnv(t, 0)
	form := url.Values{"paths": {"config.json", "sub", "missing.bin"}, "expand": {"true"}}
	for _, c := range []struct {
		ct, body string
	}{
		{"application/x-www-form-urlencoded", form.Encode()},
		{"application/json", `{"paths": ["config.json", "sub", "missing.bin"], "expand": true}`},
	} {
		r := e.do("POST", "/api/models/acme/bert/paths-info/main", tok, strings.NewReader(c.body), "Content-Type", c.ct)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.ct, r.status, r.body)
		}
		var items []treeItem
		r.json(t, &items)
		if len(items) != 2 || items[0].Path != "config.json" || items[0].Type != "file" || items[1].Type != "directory" {
			t.Errorf("%s: %+v, want config.json (file) and sub (directory), missing.bin left out", c.ct, items)
		}
	}
}

func TestRefsWhoamiAndAliases(t *testing.T) {
	e, tok, _ := approvedEnv(t, 0)
	commit := hubtest.CommitID("acme/bert")
	r := e.do("GET", "/api/models/acme/bert/refs", tok, nil)
	var refs struct {
		Branches []struct{ Name, Ref, TargetCommit string }
	}
	r.json(t, &refs)
	if len(refs.Branches) != 1 || refs.Branches[0].Name != "main" || refs.Branches[0].TargetCommit != commit {
		t.Errorf("refs = %+v, want main at %s (and no upstream: refs)", refs, commit)
	}
	// Promote to production: served as a revision, history kept.
	e.bind("user:rel", "acme/*", auth.RoleAdmin)
	rel := e.token("user:rel", "admin")
	if r := e.do("POST", "/api/aigis/repos/models/acme/bert/aliases/production", rel, strings.NewReader(`{"commit":"main","reason":"release 1"}`)); r.status != http.StatusOK {
		t.Fatalf("promote: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/aigis/repos/models/acme/bert/aliases/production", tok, strings.NewReader(`{"commit":"main"}`)); r.status != http.StatusForbidden {
		t.Errorf("a requester promoted: %d", r.status)
	}
	if r := e.do("GET", "/acme/bert/resolve/production/config.json", tok, nil); r.status != http.StatusOK || r.header.Get("X-Repo-Commit") != commit {
		t.Errorf("download at revision production: %d %q", r.status, r.header.Get("X-Repo-Commit"))
	}
	r = e.do("GET", "/api/aigis/repos/models/acme/bert/aliases/production?at="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), tok, nil)
	var at store.AliasChange
	r.json(t, &at)
	if at.Commit != commit || at.Actor != "user:rel" {
		t.Errorf("alias at a later time = %+v", at)
	}
	if r := e.do("GET", "/api/aigis/repos/models/acme/bert/aliases/production?at=2000-01-01T00:00:00Z", tok, nil); r.status != http.StatusNotFound {
		t.Errorf("alias before it existed: %d", r.status)
	}
	r = e.do("GET", "/api/whoami-v2", tok, nil)
	var who struct{ Name string }
	r.json(t, &who)
	if r.status != http.StatusOK || who.Name != "dev" {
		t.Errorf("whoami: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/whoami-v2", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous whoami: %d", r.status)
	}
}

func TestAccessAnswers(t *testing.T) {
	e, _, _ := approvedEnv(t, 0)
	e.bind("user:other", "other/*", auth.RoleReader)
	other := e.token("user:other", "read")
	cases := []struct {
		name, path, token string
		status            int
		code, msg         string
	}{
		{"anonymous (none allowed)", "/api/models/acme/bert", "", 401, "RepoNotFound", ""},
		{"bad token", "/api/models/acme/bert", "aigis_pat_nope", 401, "", badCredentials},
		{"not a token at all", "/api/models/acme/bert", "hf_abc", 401, "", badCredentials},
		{"reader elsewhere sees not found", "/api/models/acme/bert", other, 404, "RepoNotFound", ""},
		{"reader elsewhere cannot pull", "/api/models/other/new", other, 404, "RepoNotFound", "requester"},
		{"traversal in file path", "/acme/bert/resolve/main/..%2F..%2Fetc%2Fpasswd", e.admin, 400, "", "malformed"},
		{"dot segment", "/acme/bert/resolve/main/a/%2E%2E/b", e.admin, 400, "", "malformed"},
		{"bad repo id", "/api/models/ac%00me/bert", e.admin, 400, "", "malformed"},
	}
	for _, c := range cases {
		r := e.do("GET", c.path, c.token, nil)
		if r.status != c.status || r.header.Get("X-Error-Code") != c.code || !strings.Contains(r.header.Get("X-Error-Message"), c.msg) {
			t.Errorf("%s: %d %q %q, want %d %q containing %q", c.name, r.status, r.header.Get("X-Error-Code"), r.header.Get("X-Error-Message"), c.status, c.code, c.msg)
		}
	}
	// A token limited to another namespace cannot use its owner's roles here.
	secret, _, err := e.srv.CreateToken(context.Background(), "system:test", TokenRequest{Owner: "user:admin", Scopes: []string{"admin"}, Namespaces: []string{"other/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/models/acme/bert", secret, nil); r.status != http.StatusNotFound {
		t.Errorf("namespace-limited admin token read acme/bert: %d", r.status)
	}
	// Oversized headers are refused with a clear status.
	if r := e.do("GET", "/api/models/acme/bert", e.admin, nil, "X-Big", strings.Repeat("a", 70<<10)); r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge header: %d", r.status)
	}
}

// failingAudit refuses every append after fail is set.
type failingAudit struct {
	*audit.Log
	mu   sync.Mutex
	fail bool
}

func (f *failingAudit) Append(e audit.Entry) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return 0, errors.New("disk full")
	}
	return f.Log.Append(e)
}

func TestDownloadDeniedWhenAuditFails(t *testing.T) {
	var fa *failingAudit
	e, tok, _ := approvedEnv(t, 0, func(c *Config) {
		fa = &failingAudit{Log: c.Audit.(*audit.Log)}
		c.Audit = fa
	})
	if r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil); r.status != http.StatusOK {
		t.Fatalf("before: %d", r.status)
	}
	fa.mu.Lock()
	fa.fail = true
	fa.mu.Unlock()
	r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil)
	if r.status != http.StatusServiceUnavailable || len(r.body) == 0 || strings.Contains(string(r.body), "model_type") {
		t.Errorf("download without an audit record: %d %s", r.status, r.body)
	}
}

func TestUpstreamMoveIsJudgedNotFollowed(t *testing.T) {
	var mu sync.Mutex
	var events []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := VerifyWebhookSignature([]byte("s3cret"), r.Header.Get("X-Aigis-Signature"), b, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		mu.Lock()
		events = append(events, r.Header.Get("X-Aigis-Event"))
		mu.Unlock()
	}))
	defer hook.Close()
	e, tok, repo := approvedEnv(t, 0, func(c *Config) { c.Webhooks = []Webhook{{URL: hook.URL, Secret: []byte("s3cret")}} })
	old := hubtest.CommitID("acme/bert")
	// Upstream main moves to a commit with a malicious pickle.
	bad := hubtest.Repo{Commit: hubtest.CommitID("acme/bert v2"), Files: append(repo.Files, hubtest.File{Path: "extra.bin", Content: readFixture(t, "models/malicious/torch/pytorch_model.bin"), LFS: true})}
	e.hub.Set("acme/bert", bad)
	n, err := e.srv.CheckUpstream(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("CheckUpstream = %d, %v; want 1 move", n, err)
	}
	// Until judged, and after the candidate is quarantined, main stays on
	// the approved commit.
	if r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil); r.status != http.StatusOK || r.header.Get("X-Repo-Commit") != old {
		t.Errorf("during the candidate's scan: %d at %q", r.status, r.header.Get("X-Repo-Commit"))
	}
	e.work()
	if r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil); r.header.Get("X-Repo-Commit") != old {
		t.Errorf("main followed a quarantined upstream move to %q", r.header.Get("X-Repo-Commit"))
	}
	if r := e.do("GET", "/api/models/acme/bert/revision/"+bad.Commit, tok, nil); r.status != http.StatusForbidden {
		t.Errorf("the malicious candidate: %d", r.status)
	}
	// A clean move is followed once approved, and reported.
	good := hubtest.Repo{Commit: hubtest.CommitID("acme/bert v3"), Files: append(repo.Files, hubtest.File{Path: "more.txt", Content: []byte("more\n")})}
	e.hub.Set("acme/bert", good)
	if n, _ := e.srv.CheckUpstream(context.Background()); n != 1 {
		t.Fatalf("second move not seen")
	}
	e.work()
	if r := e.do("GET", "/acme/bert/resolve/main/more.txt", tok, nil); r.status != http.StatusOK || r.header.Get("X-Repo-Commit") != good.Commit {
		t.Errorf("after an approved move: %d at %q", r.status, r.header.Get("X-Repo-Commit"))
	}
	e.srv.Close() // flushes webhook deliveries
	mu.Lock()
	got := strings.Join(events, ",")
	mu.Unlock()
	for _, want := range []string{"upstream.moved", "artifact.quarantined", "ref.moved"} {
		if !strings.Contains(got, want) {
			t.Errorf("webhooks %q lack %s", got, want)
		}
	}
}

func TestNewPolicyQuarantinesStoredRevision(t *testing.T) {
	e, tok, _ := approvedEnv(t, 0)
	strict, err := policy.Parse("strict.yaml", []byte("apiVersion: aigis/v1\nversion: \"2\"\nlicenses:\n  allow: [mit]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.srv.SetPolicy(context.Background(), strict, "user:admin")
	if err != nil || n != 1 {
		t.Fatalf("SetPolicy queued %d re-judgements (%v), want 1", n, err)
	}
	// Still served while being re-judged.
	if r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil); r.status != http.StatusOK {
		t.Errorf("during the re-judgement: %d", r.status)
	}
	e.work()
	r := e.do("GET", "/acme/bert/resolve/main/config.json", tok, nil)
	if r.status != http.StatusForbidden || !strings.Contains(strings.ToLower(r.header.Get("X-Error-Message")), "licen") {
		t.Errorf("after the new policy: %d %q, want a licence refusal", r.status, r.header.Get("X-Error-Message"))
	}
	var rv revisionView
	json.Unmarshal(e.do("GET", "/api/aigis/repos/models/acme/bert/revisions/main", e.admin, nil).body, &rv)
	if !strings.HasPrefix(rv.PolicyVersion, "2+") {
		t.Errorf("decision recorded under policy %q, want version 2", rv.PolicyVersion)
	}
}

func TestRawServesPointersOfLFSFiles(t *testing.T) {
	e, tok, repo := approvedEnv(t, 0)
	st := repo.Files[2] // model.safetensors, LFS
	r := e.do("GET", "/acme/bert/raw/main/"+st.Path, tok, nil)
	if r.status != http.StatusOK || string(r.body) != string(hubtest.LFSPointer(st.Content)) {
		t.Errorf("raw of an LFS file: %d %q, want its git-lfs pointer", r.status, r.body)
	}
	if want := `"` + hubtest.GitBlobSHA1(hubtest.LFSPointer(st.Content)) + `"`; r.header.Get("ETag") != want {
		t.Errorf("raw ETag %q, want the pointer's blob id %s", r.header.Get("ETag"), want)
	}
	cfg := repo.Files[0]
	if r := e.do("GET", "/acme/bert/raw/main/"+cfg.Path, tok, nil); r.status != http.StatusOK || string(r.body) != string(cfg.Content) {
		t.Errorf("raw of a regular file: %d %q", r.status, r.body)
	}
}

func TestRateLimitAnswers429(t *testing.T) {
	e, tok, _ := approvedEnv(t, 0, func(c *Config) { c.RateLimit, c.RateBurst = 1, 3 })
	var last resp
	for i := 0; i < 6; i++ {
		last = e.do("GET", "/api/models/acme/bert", tok, nil)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || last.header.Get("RateLimit-Policy") == "" {
		t.Errorf("over the limit: %d Retry-After %q RateLimit-Policy %q", last.status, last.header.Get("Retry-After"), last.header.Get("RateLimit-Policy"))
	}
	// Another principal has its own bucket.
	if r := e.do("GET", "/api/models/acme/bert", e.admin, nil); r.status != http.StatusOK {
		t.Errorf("another token was limited too: %d", r.status)
	}
}

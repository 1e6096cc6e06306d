package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/audit"
	"github.com/aigis-sec/aigis/registry/auth"
	"github.com/aigis-sec/aigis/registry/blob"
	"github.com/aigis-sec/aigis/registry/blob/blobtest"
	"github.com/aigis-sec/aigis/registry/policy"
	"github.com/aigis-sec/aigis/registry/store"
	"github.com/aigis-sec/aigis/registry/store/storetest"
)

// env is a registry in front of a fake upstream hub.
type env struct {
	t        *testing.T
	srv      *Server
	http     *httptest.Server
	hub      *hubtest.Hub
	store    store.Store
	blobs    blob.Store
	log      *audit.Log
	logDir   string
	verifier note.Verifier
	admin    string // token of user:admin (admin on *)
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// benignRepo is a small model repository: config, card, safetensors (LFS).
func benignRepo(t *testing.T) hubtest.Repo {
	return hubtest.Repo{Files: []hubtest.File{
		{Path: "config.json", Content: []byte(`{"model_type": "bert", "hidden_size": 8}`)},
		{Path: "README.md", Content: []byte("---\nlicense: apache-2.0\n---\n# A small model\n")},
		{Path: "model.safetensors", Content: readFixture(t, "models/benign/safetensors/model.safetensors"), LFS: true},
		{Path: "sub/dir/notes.txt", Content: []byte("nested file\n")},
	}}
}

// maliciousRepo carries a pickle that runs a command when loaded.
func maliciousRepo(t *testing.T) hubtest.Repo {
	return hubtest.Repo{Files: []hubtest.File{
		{Path: "config.json", Content: []byte(`{"model_type": "bert"}`)},
		{Path: "pytorch_model.bin", Content: readFixture(t, "models/malicious/torch/pytorch_model.bin"), LFS: true},
	}}
}

type envOpt func(*Config)

// openBackends opens the store and blob backends the suite runs on:
// SQLite and files by default, PostgreSQL and S3 with
// AIGIS_SERVER_BACKEND=postgres-s3 (CI runs the suite both ways).
func openBackends(t *testing.T, dir string) (store.Store, blob.Store) {
	t.Helper()
	switch b := os.Getenv("AIGIS_SERVER_BACKEND"); b {
	case "", "sqlite-fs":
		st, err := store.OpenSQLite(filepath.Join(dir, "aigis.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		bs, err := blob.NewFS(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return st, bs
	case "postgres-s3":
		// Asked for explicitly: a missing server is a failure, not a skip.
		for _, v := range []string{"AIGIS_TEST_POSTGRES_URL", "AIGIS_TEST_S3_ENDPOINT"} {
			if os.Getenv(v) == "" {
				t.Fatalf("AIGIS_SERVER_BACKEND=postgres-s3 needs %s (.ci/postgres.sh, .ci/versitygw.sh)", v)
			}
		}
		return storetest.PostgresFromEnv(t), blobtest.S3FromEnv(t)
	default:
		t.Fatalf("AIGIS_SERVER_BACKEND=%q: use sqlite-fs or postgres-s3", b)
		return nil, nil
	}
}

func newEnv(t *testing.T, repos map[string]hubtest.Repo, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	st, bs := openBackends(t, dir)
	skey, vkey, err := audit.GenerateKey("test/audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "audit")
	lg, err := audit.Open(logDir, signer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	h := hubtest.NewHub(t, repos)
	cfg := Config{Store: st, Blobs: bs, Audit: lg, Upstream: h.URL, WorkDir: filepath.Join(dir, "work"), Anonymous: AnonymousNone, Version: "test"}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	e := &env{t: t, srv: s, http: hs, hub: h, store: st, blobs: bs, log: lg, logDir: logDir, verifier: verifier}
	ctx := context.Background()
	if err := s.AddBinding(ctx, "system:test", store.RoleBinding{Principal: "user:admin", Namespace: "*", Role: auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.token("user:admin", "admin")
	return e
}

// token creates a token for owner with the given scopes.
func (e *env) token(owner string, scopes ...string) string {
	e.t.Helper()
	secret, _, err := e.srv.CreateToken(context.Background(), "system:test", TokenRequest{Owner: owner, Scopes: scopes, Name: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) bind(principal, ns, role string) {
	e.t.Helper()
	if err := e.srv.AddBinding(context.Background(), "system:test", store.RoleBinding{Principal: principal, Namespace: ns, Role: role}); err != nil {
		e.t.Fatal(err)
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (e *env) do(method, path, token string, body io.Reader, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (e *env) work() {
	e.t.Helper()
	if err := e.srv.RunOnce(context.Background(), "test-worker"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) verifyAudit() *audit.Report {
	e.t.Helper()
	cp, err := e.log.Checkpoint()
	if err != nil {
		e.t.Fatal(err)
	}
	rep, err := audit.Verify(e.logDir, e.verifier, [][]byte{cp})
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) auditActions() []string {
	var out []string
	for i := int64(0); i < e.log.Size(); i++ {
		en, err := e.log.Entry(i)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, en.Action+" "+en.Details["decision"])
	}
	return out
}

func TestPullThroughBenign(t *testing.T) {
	repo := benignRepo(t)
	e := newEnv(t, map[string]hubtest.Repo{"acme/bert": repo})
	e.bind("user:dev", "acme/*", auth.RoleRequester)
	tok := e.token("user:dev", "write")
	commit := hubtest.CommitID("acme/bert")

	r := e.do("GET", "/api/models/acme/bert/revision/main", tok, nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("first request: %d %s (Retry-After %q), want 503 with Retry-After", r.status, r.body, r.header.Get("Retry-After"))
	}
	if got := r.header.Get("X-Repo-Commit"); got != commit {
		t.Errorf("pending answer pins commit %q, want %q", got, commit)
	}
	e.work()

	r = e.do("GET", "/api/models/acme/bert/revision/main", tok, nil)
	if r.status != http.StatusOK {
		t.Fatalf("after the scan: %d %s", r.status, r.body)
	}
	var info struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	r.json(t, &info)
	if info.ID != "acme/bert" || info.SHA != commit || len(info.Siblings) != len(repo.Files) {
		t.Errorf("info = %+v, want id acme/bert, sha %s, %d siblings", info, commit, len(repo.Files))
	}

	// Every file: HEAD metadata as huggingface_hub reads it, then content.
	for _, f := range repo.Files {
		h := e.do("HEAD", "/acme/bert/resolve/main/"+f.Path, tok, nil, "Accept-Encoding", "identity")
		if h.status != http.StatusOK {
			t.Fatalf("HEAD %s: %d %s", f.Path, h.status, h.header.Get("X-Error-Message"))
		}
		if h.header.Get("X-Repo-Commit") != commit {
			t.Errorf("HEAD %s: X-Repo-Commit %q", f.Path, h.header.Get("X-Repo-Commit"))
		}
		if want := `"` + f.ETag() + `"`; h.header.Get("ETag") != want {
			t.Errorf("HEAD %s: ETag %q, want %q", f.Path, h.header.Get("ETag"), want)
		}
		if h.header.Get("Content-Length") != fmt.Sprint(len(f.Content)) {
			t.Errorf("HEAD %s: Content-Length %q, want %d", f.Path, h.header.Get("Content-Length"), len(f.Content))
		}
		if f.LFS {
			if h.header.Get("X-Linked-Etag") != `"`+hubtest.SHA256(f.Content)+`"` || h.header.Get("X-Linked-Size") != fmt.Sprint(len(f.Content)) {
				t.Errorf("HEAD %s: X-Linked-Etag %q X-Linked-Size %q", f.Path, h.header.Get("X-Linked-Etag"), h.header.Get("X-Linked-Size"))
			}
		}
		g := e.do("GET", "/acme/bert/resolve/"+commit+"/"+f.Path, tok, nil)
		if g.status != http.StatusOK || !bytes.Equal(g.body, f.Content) {
			t.Errorf("GET %s: %d, %d bytes, want the %d bytes upstream served", f.Path, g.status, len(g.body), len(f.Content))
		}
	}
	downloads := e.hub.Downloads()

	// Range requests, as resumed downloads and the JS client send them.
	st := repo.Files[2]
	g := e.do("GET", "/acme/bert/resolve/main/"+st.Path, tok, nil, "Range", "bytes=0-0")
	if g.status != http.StatusPartialContent || g.header.Get("Content-Range") != fmt.Sprintf("bytes 0-0/%d", len(st.Content)) || len(g.body) != 1 {
		t.Errorf("Range 0-0: %d, Content-Range %q, %d bytes", g.status, g.header.Get("Content-Range"), len(g.body))
	}
	g = e.do("GET", "/acme/bert/resolve/main/"+st.Path, tok, nil, "Range", "bytes=10-")
	if g.status != http.StatusPartialContent || !bytes.Equal(g.body, st.Content[10:]) {
		t.Errorf("Range 10-: %d, %d bytes", g.status, len(g.body))
	}

	// Missing file: EntryNotFound with the commit, so clients cache it.
	g = e.do("HEAD", "/acme/bert/resolve/main/nope.bin", tok, nil)
	if g.status != http.StatusNotFound || g.header.Get("X-Error-Code") != "EntryNotFound" || g.header.Get("X-Repo-Commit") != commit {
		t.Errorf("missing file: %d %q %q", g.status, g.header.Get("X-Error-Code"), g.header.Get("X-Repo-Commit"))
	}
	// Unknown revision of a known upstream repository.
	g = e.do("GET", "/api/models/acme/bert/revision/v9", tok, nil)
	if g.status != http.StatusNotFound || g.header.Get("X-Error-Code") != "RevisionNotFound" {
		t.Errorf("unknown revision: %d %q %s", g.status, g.header.Get("X-Error-Code"), g.body)
	}

	if e.hub.Downloads() != downloads {
		t.Errorf("approved files were fetched upstream again: %d downloads, want %d", e.hub.Downloads(), downloads)
	}
	if rep := e.verifyAudit(); !rep.OK() {
		t.Errorf("audit log does not verify: %v", rep.Problems)
	}
	acts := strings.Join(e.auditActions(), "\n")
	for _, want := range []string{"artifact.request", "artifact.ingest", "artifact.scan", "artifact.decision allow", "artifact.download allow"} {
		if !strings.Contains(acts, want) {
			t.Errorf("audit log lacks %q:\n%s", want, acts)
		}
	}
}

func TestPullThroughMaliciousQuarantined(t *testing.T) {
	e := newEnv(t, map[string]hubtest.Repo{"evil/bert": maliciousRepo(t)})
	e.bind("user:dev", "*", auth.RoleRequester)
	tok := e.token("user:dev", "write")
	if r := e.do("GET", "/evil/bert/resolve/main/config.json", tok, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("first request: %d %s", r.status, r.body)
	}
	e.work()
	r := e.do("GET", "/evil/bert/resolve/main/pytorch_model.bin", tok, nil)
	if r.status != http.StatusForbidden || r.header.Get("X-Error-Code") != "GatedRepo" {
		t.Fatalf("malicious file: %d %q, want 403 GatedRepo", r.status, r.header.Get("X-Error-Code"))
	}
	msg := r.header.Get("X-Error-Message")
	if !strings.Contains(msg, "quarantined") || !strings.Contains(msg, "pytorch_model.bin") {
		t.Errorf("refusal does not say why: %q", msg)
	}
	// The harmless config of the same revision is refused too: a
	// revision is approved or not as a whole.
	if r := e.do("GET", "/evil/bert/resolve/main/config.json", tok, nil); r.status != http.StatusForbidden {
		t.Errorf("config.json of a quarantined revision: %d", r.status)
	}
	acts := strings.Join(e.auditActions(), "\n")
	if !strings.Contains(acts, "artifact.decision deny") || !strings.Contains(acts, "artifact.download deny") {
		t.Errorf("audit log lacks the refusal:\n%s", acts)
	}
	if rep := e.verifyAudit(); !rep.OK() {
		t.Errorf("audit log does not verify: %v", rep.Problems)
	}
}

func TestPolicyBlocksSourceBeforeFetching(t *testing.T) {
	pol, err := policy.Parse("p.yaml", []byte("apiVersion: aigis/v1\nversion: \"1\"\nsources:\n  upstream:\n    allow: [\"acme/*\"]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, map[string]hubtest.Repo{"other/bert": benignRepo(t)}, func(c *Config) { c.Policy = pol })
	e.bind("user:dev", "*", auth.RoleRequester)
	tok := e.token("user:dev", "write")
	r := e.do("GET", "/api/models/other/bert", tok, nil)
	if r.status != http.StatusForbidden || r.header.Get("X-Error-Code") != "GatedRepo" || !strings.Contains(r.header.Get("X-Error-Message"), "policy") {
		t.Fatalf("blocked source: %d %q %q", r.status, r.header.Get("X-Error-Code"), r.header.Get("X-Error-Message"))
	}
	if e.hub.Downloads() != 0 {
		t.Errorf("a blocked repository was downloaded")
	}
}

package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aigis-sec/aigis/hub/hubtest"
	"github.com/aigis-sec/aigis/registry/auth"
)

// hfClientDir holds the npm project with the real @huggingface/hub client
// (installed by .ci/run with npm ci).
var hfClientDir = filepath.Join("..", "..", "test", "hfclient")

// TestHuggingFaceJSClient downloads snapshots through the gate with the real
// @huggingface/hub JavaScript client: a benign model arrives with every
// checksum equal to upstream's, a dataset too, and a malicious model is
// refused with the gate's reason.
func TestHuggingFaceJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(hfClientDir, "node_modules", "@huggingface", "hub")); err != nil || serr != nil {
		if os.Getenv("AIGIS_REQUIRE_HFJS") == "1" {
			t.Fatalf("node or @huggingface/hub missing (run npm ci in %s)", hfClientDir)
		}
		t.Skipf("node or @huggingface/hub missing: run npm ci in %s to test with the real client", hfClientDir)
	}
	benign := benignRepo(t)
	data := hubtest.Repo{Files: []hubtest.File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# data\n")},
		{Path: "data/train.csv", Content: []byte("text,label\nhello,1\nbye,0\n")},
	}}
	e := newEnv(t, map[string]hubtest.Repo{"acme/bert": benign, "evil/bert": maliciousRepo(t), "datasets/acme/reviews": data},
		func(c *Config) { c.Wait = 30 * time.Second })
	e.bind("sa:ci", "*", auth.RoleRequester)
	tok := e.token("sa:ci", "write")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.srv.RunWorkers(ctx, 2, "w")

	run := func(typ, name string) (out struct {
		OK    bool              `json:"ok"`
		SHA   string            `json:"sha"`
		Files map[string]string `json:"files"`
		Error string            `json:"error"`
	}) {
		t.Helper()
		cmd := exec.Command(node, "snapshot.mjs", e.http.URL, typ, name, "main", t.TempDir())
		cmd.Dir = hfClientDir
		cmd.Env = append(os.Environ(), "HF_TOKEN=hf_"+tok) // the JS client insists on the hf_ prefix
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, b)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
			t.Fatalf("node output %q: %v", b, err)
		}
		return out
	}

	got := run("model", "acme/bert")
	if !got.OK {
		t.Fatalf("snapshot of the benign model failed: %s", got.Error)
	}
	if got.SHA != hubtest.CommitID("acme/bert") {
		t.Errorf("modelInfo sha = %q, want the pinned commit", got.SHA)
	}
	for _, f := range benign.Files {
		if got.Files[f.Path] != hubtest.SHA256(f.Content) {
			t.Errorf("%s: sha256 %q after download, want %q", f.Path, got.Files[f.Path], hubtest.SHA256(f.Content))
		}
	}
	if len(got.Files) != len(benign.Files) {
		t.Errorf("downloaded %d files, want %d: %v", len(got.Files), len(benign.Files), got.Files)
	}

	ds := run("dataset", "acme/reviews")
	if !ds.OK || ds.Files["data/train.csv"] != hubtest.SHA256(data.Files[1].Content) {
		t.Errorf("dataset snapshot: %+v", ds)
	}

	bad := run("model", "evil/bert")
	if bad.OK || !strings.Contains(bad.Error, "quarantined") {
		t.Errorf("malicious model: ok=%v error=%q, want a refusal naming the quarantine", bad.OK, bad.Error)
	}
}

// TestHuggingFaceJSClientUpload pushes a model with the real client's
// upload path (createRepo, preupload, LFS batch and PUT, NDJSON commit): the
// revision waits for a reviewer, then serves exactly the uploaded bytes.
func TestHuggingFaceJSClientUpload(t *testing.T) {
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(hfClientDir, "node_modules", "@huggingface", "hub")); err != nil || serr != nil {
		if os.Getenv("AIGIS_REQUIRE_HFJS") == "1" {
			t.Fatalf("node or @huggingface/hub missing (run npm ci in %s)", hfClientDir)
		}
		t.Skipf("node or @huggingface/hub missing: run npm ci in %s", hfClientDir)
	}
	e := newEnv(t, nil)
	e.bind("user:pub", "acme/*", auth.RolePublisher)
	e.bind("user:rev", "acme/*", auth.RoleReviewer)
	pub, rev := e.token("user:pub", "write"), e.token("user:rev", "approve")
	dir := t.TempDir()
	files := map[string][]byte{
		"config.json":       []byte(`{"model_type": "bert"}`),
		"model.safetensors": readFixture(t, "models/benign/safetensors/model.safetensors"), // binary: LFS
	}
	var args []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		args = append(args, p)
	}
	cmd := exec.Command(node, append([]string{"upload.mjs", e.http.URL, "model", "acme/uploaded"}, args...)...)
	cmd.Dir = hfClientDir
	cmd.Env = append(os.Environ(), "HF_TOKEN=hf_"+pub)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	var out struct {
		OK            bool
		Commit, Error string
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil || !out.OK || out.Commit == "" {
		t.Fatalf("upload: %s (%v)", b, err)
	}
	e.work()
	if r := e.do("GET", "/acme/uploaded/resolve/main/config.json", pub, nil); r.status != http.StatusForbidden {
		t.Errorf("served before approval: %d", r.status)
	}
	if r := e.do("POST", "/api/aigis/repos/models/acme/uploaded/revisions/"+out.Commit+"/approve", rev, strings.NewReader(`{"comment":"ok"}`)); r.status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	for name, want := range files {
		r := e.do("GET", "/acme/uploaded/resolve/main/"+name, pub, nil)
		if r.status != http.StatusOK || string(r.body) != string(want) || r.header.Get("X-Repo-Commit") != out.Commit {
			t.Errorf("%s after approval: %d, %d bytes, commit %q", name, r.status, len(r.body), r.header.Get("X-Repo-Commit"))
		}
	}
	// The LFS file went through the signed upload URL, not inline.
	r := e.do("GET", "/api/models/acme/uploaded/tree/main", pub, nil)
	var items []treeItem
	r.json(t, &items)
	for _, it := range items {
		if it.Path == "model.safetensors" && it.LFS == nil {
			t.Errorf("model.safetensors is not an LFS file: %+v", it)
		}
	}
}

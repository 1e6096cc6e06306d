package server

import (
	"context"
	"encoding/json"
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

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/hub/hubtest"
)

// aigis verify --hf compares a download with the hub's record at a pinned
// commit, online (a local fake hub speaking the real API) and offline (a
// Hugging Face cache).
func TestVerifyHub(t *testing.T) {
	repo := hubtest.Repo{
		Commit: hubtest.CommitID("v1"),
		Branch: "main",
		Files: []hubtest.File{
			{Path: "config.json", Content: []byte(`{"architectures": ["Bert"]}`)},
			{Path: "model.safetensors", Content: bytes.Repeat([]byte{7}, 4096), LFS: true},
		},
	}
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{"org/model": repo})
	local := t.TempDir()
	for _, f := range repo.Files {
		if err := os.WriteFile(filepath.Join(local, f.Path), f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"verify"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	pinned := "org/model@" + repo.Commit

	if code, out, errs := run(local, "--hf", pinned, "--endpoint", srv.URL); code != ExitOK || !strings.Contains(out, "2 files match") {
		t.Fatalf("clean download: exit %d, %q %q", code, out, errs)
	}
	// A branch is a moving target: it verifies, with a warning.
	if code, _, errs := run(local, "--hf", "org/model@main", "--endpoint", srv.URL); code != ExitOK || !strings.Contains(errs, "warning") {
		t.Errorf("branch revision: exit %d, stderr %q", code, errs)
	}
	// The offline path reads the expected hashes from a cache.
	cache := t.TempDir()
	hubtest.WriteCache(t, cache, "org/model", repo)
	if code, out, errs := run(local, "--hf", pinned, "--cache-dir", cache); code != ExitOK {
		t.Errorf("offline: exit %d, %q %q", code, out, errs)
	}
	// A tampered LFS file and an added file fail, naming them.
	os.WriteFile(filepath.Join(local, "model.safetensors"), bytes.Repeat([]byte{8}, 4096), 0o644)
	os.WriteFile(filepath.Join(local, "extra.py"), []byte("import os\n"), 0o644)
	code, _, errs := run(local, "--hf", pinned, "--endpoint", srv.URL)
	if code != ExitFindings || !strings.Contains(errs, "model.safetensors") || !strings.Contains(errs, "extra.py") {
		t.Errorf("tampered: exit %d, stderr %q", code, errs)
	}
	// An unknown repository cannot be verified: exit 3, not 0 or 1.
	if code, _, _ := run(local, "--hf", "org/missing@"+repo.Commit, "--endpoint", srv.URL); code != ExitIncomplete {
		t.Errorf("missing repo: exit %d, want 3", code)
	}
	if code, _, _ := run(local, "--hf", "not a ref"); code != ExitUsage {
		t.Errorf("bad ref: exit %d, want 2", code)
	}
}

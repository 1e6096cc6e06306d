package hub_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/hub"
	"github.com/aigis-sec/aigis/hub/hubtest"
)

const repoID = "acme/tiny-model"

func tinyRepo() hubtest.Repo {
	return hubtest.Repo{Files: []hubtest.File{
		{Path: ".gitattributes", Content: []byte("*.safetensors filter=lfs diff=lfs merge=lfs -text\n")},
		{Path: "config.json", Content: []byte(`{"model_type":"bert"}` + "\n")},
		{Path: "model.safetensors", Content: []byte("pretend safetensors weights"), LFS: true},
		{Path: "tokenizer/vocab.txt", Content: []byte("[PAD]\n[UNK]\nhello\n")},
		{Path: "onnx/model.onnx", Content: []byte("pretend onnx graph bytes"), LFS: true},
	}}
}

func writeLocal(t *testing.T, repo hubtest.Repo) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range repo.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func wantFiles(repo hubtest.Repo) []hub.File {
	var out []hub.File
	for _, f := range repo.Files {
		hf := hub.File{Path: f.Path, Size: int64(len(f.Content)), BlobSHA1: hubtest.GitBlobSHA1(f.Content)}
		if f.LFS {
			hf.SHA256 = hubtest.SHA256(f.Content)
			hf.BlobSHA1 = hubtest.GitBlobSHA1(hubtest.LFSPointer(f.Content)) // git stores the pointer
		}
		out = append(out, hf)
	}
	return out
}

func TestGitBlobSHA1(t *testing.T) {
	// Values from `git hash-object`.
	for content, want := range map[string]string{
		"":        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
		"hello\n": "ce013625030ba8dba906f756967f9e9ca394464a",
	} {
		if got := hub.GitBlobSHA1([]byte(content)); got != want {
			t.Errorf("GitBlobSHA1(%q) = %s, want %s", content, got, want)
		}
	}
}

func TestParseRef(t *testing.T) {
	commit := hubtest.CommitID("x")
	tests := []struct {
		in           string
		repo, rev    string
		pinned, fail bool
	}{
		{in: "meta-llama/Llama-3.1-8B@" + commit, repo: "meta-llama/Llama-3.1-8B", rev: commit, pinned: true},
		{in: "org/name@main", repo: "org/name", rev: "main"},
		{in: "org/name", repo: "org/name", rev: "main"},
		{in: "gpt2@v1.0", repo: "gpt2", rev: "v1.0"},
		{in: "org/name@refs/pr/3", repo: "org/name", rev: "refs/pr/3"},
		{in: "org/name@" + commit[:12], repo: "org/name", rev: commit[:12]}, // short ids are not pins
		{in: "org/name@", fail: true},
		{in: "a/b/c@main", fail: true},
		{in: "../x@main", fail: true},
		{in: "org/na me", fail: true},
		{in: "org/name@../../etc", fail: true},
		{in: "", fail: true},
	}
	for _, tt := range tests {
		repo, rev, pinned, err := hub.ParseRef(tt.in)
		if tt.fail {
			if !errors.Is(err, hub.ErrBadRef) {
				t.Errorf("ParseRef(%q) error = %v, want ErrBadRef", tt.in, err)
			}
			continue
		}
		if err != nil || repo != tt.repo || rev != tt.rev || pinned != tt.pinned {
			t.Errorf("ParseRef(%q) = %q, %q, %v, %v; want %q, %q, %v", tt.in, repo, rev, pinned, err, tt.repo, tt.rev, tt.pinned)
		}
	}
}

func TestFilesPaginatedTree(t *testing.T) {
	repo := tinyRepo()
	repo.PageSize = 3 // 5 files + 2 folders = 7 entries: 3 pages
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{repoID: repo})
	rt := &countingTransport{}
	c := &hub.Client{Endpoint: srv.URL, HTTP: &http.Client{Transport: rt, Timeout: 10 * time.Second}}
	s, err := c.Files(t.Context(), repoID, "main")
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != hubtest.CommitID(repoID) || s.Partial {
		t.Errorf("commit %s partial %v, want %s false", s.Commit, s.Partial, hubtest.CommitID(repoID))
	}
	want := sortFiles(wantFiles(repo))
	if d := cmp.Diff(want, s.Files); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if n := rt.n.Load(); n != 4 { // revision + 3 tree pages
		t.Errorf("%d requests, want 4 (revision and 3 tree pages)", n)
	}
}

func sortFiles(fs []hub.File) []hub.File {
	out := append([]hub.File(nil), fs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Path < out[i].Path {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestFilesSiblingsFallback(t *testing.T) {
	repo := tinyRepo()
	repo.NoTree = true
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{repoID: repo})
	c := &hub.Client{Endpoint: srv.URL}
	s, err := c.Files(t.Context(), repoID, hubtest.CommitID(repoID))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sortFiles(wantFiles(repo)), s.Files); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
}

func TestFilesErrors(t *testing.T) {
	private := tinyRepo()
	private.Token = "hf_right"
	cutLen := tinyRepo()
	cutLen.Truncate = hubtest.TruncateLength
	cutJSON := tinyRepo()
	cutJSON.Truncate = hubtest.TruncateJSON
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{
		repoID: tinyRepo(), "acme/private": private, "acme/cut-len": cutLen, "acme/cut-json": cutJSON,
	})
	tests := []struct {
		name, repo, rev, token string
		want                   error
		msg                    []string
	}{
		{name: "private without token", repo: "acme/private", want: hub.ErrUnauthorized, msg: []string{"acme/private", "401", "set HF_TOKEN"}},
		{name: "private with a bad token", repo: "acme/private", token: "hf_bad", want: hub.ErrUnauthorized, msg: []string{"refused the token in HF_TOKEN"}},
		{name: "unknown repository", repo: "acme/no-such-model", want: hub.ErrNotFound, msg: []string{"404", "repository acme/no-such-model not found", "check the spelling"}},
		{name: "unknown revision", repo: repoID, rev: "v9", want: hub.ErrNotFound, msg: []string{"has no revision \"v9\""}},
		{name: "body shorter than Content-Length", repo: "acme/cut-len", want: hub.ErrTruncated, msg: []string{"cut off"}},
		{name: "JSON cut off", repo: "acme/cut-json", want: hub.ErrTruncated, msg: []string{"ends early"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &hub.Client{Endpoint: srv.URL, Token: tt.token}
			rev := tt.rev
			if rev == "" {
				rev = "main"
			}
			_, err := c.Files(t.Context(), tt.repo, rev)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
	t.Run("private with the right token", func(t *testing.T) {
		c := &hub.Client{Endpoint: srv.URL, Token: "hf_right"}
		if _, err := c.Files(t.Context(), "acme/private", "main"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFilesTimeoutIsBounded(t *testing.T) {
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stall)
	c := &hub.Client{Endpoint: srv.URL, HTTP: &http.Client{Timeout: 200 * time.Millisecond}}
	start := time.Now()
	_, err := c.Files(context.Background(), repoID, "main")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c.HTTP = nil
	if _, err := c.Files(ctx, repoID, "main"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with a context deadline: error = %v", err)
	}
}

func TestFilesRefusesHostileListings(t *testing.T) {
	commit := hubtest.CommitID("h")
	tests := map[string]struct{ tree, link, want string }{
		"path escapes the folder": {tree: `[{"type":"file","path":"../../.bashrc","oid":"` + hubtest.GitBlobSHA1(nil) + `","size":0}]`, want: "unsafe file path"},
		"malformed hash":          {tree: `[{"type":"file","path":"a","oid":"zz","size":0}]`, want: "malformed hash"},
		"next page on another host": {tree: `[]`, link: `<http://evil.example/api/models/a/b/tree/x?cursor=1>; rel="next"`,
			want: "another host"},
		"not JSON": {tree: `<html>hello</html>`, want: "not the hub's JSON"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/revision/") {
					w.Write([]byte(`{"sha":"` + commit + `","siblings":[]}`))
					return
				}
				if tt.link != "" {
					w.Header().Set("Link", tt.link)
				}
				w.Write([]byte(tt.tree))
			}))
			defer srv.Close()
			c := &hub.Client{Endpoint: srv.URL, Token: "hf_secret"}
			_, err := c.Files(t.Context(), "a/b", "main")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	repo := tinyRepo()
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{
		repoID:     repo,
		"old/name": {MovedTo: repoID},
	})
	c := &hub.Client{Endpoint: srv.URL}
	commit := hubtest.CommitID(repoID)

	lfs := repo.Files[2]
	m, err := c.Resolve(t.Context(), repoID, "main", lfs.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := &hub.FileMeta{Commit: commit, ETag: hubtest.SHA256(lfs.Content), SHA256: hubtest.SHA256(lfs.Content),
		Size: int64(len(lfs.Content)), Location: srv.URL + "/cdn/" + hubtest.SHA256(lfs.Content)}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("LFS file: the redirect must not be followed (-want +got):\n%s", d)
	}

	plain := repo.Files[3]
	m, err = c.Resolve(t.Context(), "old/name", commit, plain.Path)
	if err != nil {
		t.Fatal(err)
	}
	want = &hub.FileMeta{Commit: commit, ETag: hubtest.GitBlobSHA1(plain.Content), Size: int64(len(plain.Content))}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("renamed repo, regular file (-want +got):\n%s", d)
	}

	if _, err := c.Resolve(t.Context(), repoID, "main", "nope.bin"); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCompare(t *testing.T) {
	repo := tinyRepo()
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{repoID: repo})
	s, err := (&hub.Client{Endpoint: srv.URL}).Files(t.Context(), repoID, "main")
	if err != nil {
		t.Fatal(err)
	}

	dir := writeLocal(t, repo)
	got, err := hub.Compare(t.Context(), dir, s)
	if err != nil || len(got) != 0 {
		t.Fatalf("clean copy: %v, %v", got, err)
	}

	// Same length, different bytes: only the hash can tell.
	lfs, plain := repo.Files[2], repo.Files[1]
	badLFS := []byte(strings.Replace(string(lfs.Content), "weights", "WEIGHTS", 1))
	badPlain := []byte(strings.Replace(string(plain.Content), "bert", "BERT", 1))
	write := func(p string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lfs.Path, badLFS)
	write(plain.Path, badPlain)
	write("tokenizer/vocab.txt", []byte("shorter"))
	write("extra.py", []byte("import os"))
	if err := os.Remove(filepath.Join(dir, "onnx", "model.onnx")); err != nil {
		t.Fatal(err)
	}
	// Tools' own folders are not part of the repository.
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	write(".git/HEAD", []byte("ref: refs/heads/main\n"))
	os.MkdirAll(filepath.Join(dir, ".cache", "huggingface"), 0o755)
	write(".cache/huggingface/.gitignore", []byte("*"))

	got, err = hub.Compare(t.Context(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.Mismatch{
		{Path: "config.json", Kind: hub.Modified, Algorithm: hub.AlgGitSHA1, Want: hubtest.GitBlobSHA1(plain.Content), Got: hubtest.GitBlobSHA1(badPlain)},
		{Path: "extra.py", Kind: hub.Extra},
		{Path: "model.safetensors", Kind: hub.Modified, Algorithm: hub.AlgSHA256, Want: hubtest.SHA256(lfs.Content), Got: hubtest.SHA256(badLFS)},
		{Path: "onnx/model.onnx", Kind: hub.Missing, Algorithm: hub.AlgSHA256, Want: hubtest.SHA256(repo.Files[4].Content)},
		{Path: "tokenizer/vocab.txt", Kind: hub.Modified, Algorithm: hub.AlgSize, Want: "18", Got: "7"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("mismatches (-want +got):\n%s", d)
	}
	for _, m := range got {
		if s := m.String(); !strings.HasPrefix(s, m.Path+": "+m.Kind) {
			t.Errorf("message %q does not start with the file and the kind", s)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := hub.Compare(ctx, dir, s); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := hub.Compare(t.Context(), dir, &hub.Snapshot{Files: []hub.File{{Path: "../x", SHA256: strings.Repeat("0", 64)}}}); err == nil {
		t.Error("a snapshot path outside the folder was accepted")
	}
}

func TestFromCache(t *testing.T) {
	repo := tinyRepo()
	cache := t.TempDir()
	snap := hubtest.WriteCache(t, cache, repoID, repo)
	commit := hubtest.CommitID(repoID)

	for _, rev := range []string{"main", commit, ""} {
		s, err := hub.FromCache(cache, repoID, rev)
		if err != nil {
			t.Fatalf("revision %q: %v", rev, err)
		}
		if s.Commit != commit || !s.Partial {
			t.Errorf("revision %q: commit %s partial %v", rev, s.Commit, s.Partial)
		}
		// The cache names blobs by the hashes the hub lists.
		var want []hub.File
		for _, f := range sortFiles(wantFiles(repo)) {
			f.Size = -1
			if f.SHA256 != "" {
				f.BlobSHA1 = ""
			}
			want = append(want, f)
		}
		if d := cmp.Diff(want, s.Files); d != "" {
			t.Errorf("revision %q (-want +got):\n%s", rev, d)
		}
	}

	// The snapshot folder verifies against itself; a tampered blob does not.
	s, _ := hub.FromCache(cache, repoID, "main")
	if got, err := hub.Compare(t.Context(), snap, s); err != nil || len(got) != 0 {
		t.Errorf("clean cache: %v %v", got, err)
	}
	blob := filepath.Join(hub.CacheRepoDir(cache, repoID), "blobs", hubtest.SHA256(repo.Files[2].Content))
	os.WriteFile(blob, []byte("pretend safetensors WEIGHTS"), 0o644)
	got, err := hub.Compare(t.Context(), snap, s)
	if err != nil || len(got) != 1 || got[0].Path != "model.safetensors" || got[0].Kind != hub.Modified {
		t.Errorf("tampered blob: %v %v", got, err)
	}
	// A partial snapshot reports no missing files.
	os.Remove(filepath.Join(snap, "config.json"))
	os.Remove(filepath.Join(snap, "config.json"))
	got, _ = hub.Compare(t.Context(), snap, s)
	for _, m := range got {
		if m.Kind == hub.Missing {
			t.Errorf("partial snapshot reported %v", m)
		}
	}
}

func TestFromCacheErrors(t *testing.T) {
	repo := tinyRepo()
	cache := t.TempDir()
	snap := hubtest.WriteCache(t, cache, repoID, repo)
	if _, err := hub.FromCache(cache, "acme/other", "main"); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("unknown repo: %v", err)
	}
	if _, err := hub.FromCache(cache, repoID, "dev"); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("unknown ref: %v", err)
	}
	if _, err := hub.FromCache(cache, repoID, hubtest.CommitID("other")); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("unknown commit: %v", err)
	}
	if _, err := hub.FromCache(cache, repoID, "../../x"); !errors.Is(err, hub.ErrBadRef) {
		t.Errorf("dot revision: %v", err)
	}

	// A copy instead of a link carries no hash.
	os.WriteFile(filepath.Join(snap, "copied.bin"), []byte("x"), 0o644)
	if _, err := hub.FromCache(cache, repoID, "main"); err == nil || !strings.Contains(err.Error(), "copied.bin is a copy") {
		t.Errorf("copy: %v", err)
	}
	os.Remove(filepath.Join(snap, "copied.bin"))

	// A link out of the blobs folder is an altered cache.
	outside := filepath.Join(t.TempDir(), hubtest.SHA256([]byte("x")))
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(snap, "evil.bin"))
	if _, err := hub.FromCache(cache, repoID, "main"); err == nil || !strings.Contains(err.Error(), "outside the repository's blobs folder") {
		t.Errorf("link outside blobs: %v", err)
	}
}

func TestFilesPullRequestRevisionAndWarning(t *testing.T) {
	repo := tinyRepo()
	repo.Branch = "refs/pr/1" // sent as refs%2Fpr%2F1
	srv := hubtest.NewServer(t, map[string]hubtest.Repo{repoID: repo})
	s, err := (&hub.Client{Endpoint: srv.URL + "/"}).Files(t.Context(), repoID, "refs/pr/1")
	if err != nil {
		t.Fatal(err)
	}
	w := hub.UnpinnedWarning(repoID, "refs/pr/1", s.Commit)
	if !strings.Contains(w, "can move") || !strings.Contains(w, repoID+"@"+s.Commit) {
		t.Errorf("warning %q does not say how to pin", w)
	}
	if w := hub.UnpinnedWarning(repoID, s.Commit, s.Commit); w != "" {
		t.Errorf("pinned revision warned: %q", w)
	}
}

func TestCommit(t *testing.T) {
	h := hubtest.NewHub(t, map[string]hubtest.Repo{"acme/m": {Files: []hubtest.File{{Path: "a", Content: []byte("a")}}}, "datasets/acme/d": {}})
	c := &hub.Client{Endpoint: h.URL}
	if got, err := c.Commit(t.Context(), "acme/m", "main"); err != nil || got != hubtest.CommitID("acme/m") {
		t.Errorf("Commit(main) = %q, %v", got, err)
	}
	if _, err := c.Commit(t.Context(), "acme/m", "v9"); !errors.Is(err, hub.ErrNotFound) {
		t.Errorf("unknown revision: %v", err)
	}
	ds := &hub.Client{Endpoint: h.URL, RepoType: "dataset"}
	if got, err := ds.Commit(t.Context(), "acme/d", "main"); err != nil || got != hubtest.CommitID("datasets/acme/d") {
		t.Errorf("dataset Commit = %q, %v", got, err)
	}
	if n := h.Downloads(); n != 0 {
		t.Errorf("Commit downloaded %d files", n)
	}
}

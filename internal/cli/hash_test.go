package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runHash executes the hash verb as Main would and returns stdout, stderr
// and the exit code Main would give.
func runHash(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := newHashCmd(&stdout, &stderr)
	c.SetArgs(args)
	c.SetOut(&stdout)
	c.SetErr(&stderr)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := c.Execute()
	code := ExitOK
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue) || isCobraUsage(err):
		code = ExitUsage
	default:
		code = ExitIncomplete
	}
	if err != nil {
		stderr.WriteString("aigis: " + err.Error() + "\n")
	}
	return stdout.String(), stderr.String(), code
}

func hashModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	for name, content := range map[string]string{
		"signme-1": "Hello,\n\n", "signme-2": "World!\n\n", ".gitignore": "x", "sub/weights.bin": "w",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHashJSON(t *testing.T) {
	dir := hashModel(t)
	out, stderr, code := runHash(t, dir, "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr not empty off a terminal: %q", stderr)
	}
	var got struct {
		SchemaVersion string         `json:"schema_version"`
		Name          string         `json:"name"`
		Algorithm     string         `json:"algorithm"`
		Serialization map[string]any `json:"serialization"`
		RootDigest    string         `json:"root_digest"`
		Resources     []struct{ Name, Digest string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.SchemaVersion != "1" || got.Name != "model" || got.Algorithm != "sha256" || len(got.RootDigest) != 64 {
		t.Errorf("header: %+v", got)
	}
	var names []string
	for _, r := range got.Resources {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "signme-1,signme-2,sub/weights.bin" {
		t.Errorf("resources %v (.gitignore must be left out)", names)
	}
	if got.Serialization["method"] != "files" || got.Serialization["allow_symlinks"] != false {
		t.Errorf("serialization %v", got.Serialization)
	}
}

// The reference vector's root digest, from the table output.
func TestHashReferenceVector(t *testing.T) {
	dir := "../../../shared/vectors/model-signing/model-transparency/v1.1.0-certificate"
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	out, stderr, code := runHash(t, dir, "--ignore", filepath.Join(dir, "ignore-me"), "--ignore", filepath.Join(dir, "model.sig"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"root digest  sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226",
		"ignored      .git, .gitattributes, .github, .gitignore, ignore-me, model.sig",
		"f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1  signme-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestHashOptions(t *testing.T) {
	dir := hashModel(t)
	out, _, code := runHash(t, dir, "--serialization", "shards", "--shard-size", "4", "-a", "blake2b", "-f", "json")
	if code != ExitOK || !strings.Contains(out, `"name": "signme-1:4:8"`) || !strings.Contains(out, `"shard_size": 4`) || !strings.Contains(out, `"hash_type": "blake2b"`) {
		t.Errorf("shards: exit %d\n%s", code, out)
	}
	_, stderr, code := runHash(t, dir, "--serialization", "shards", "-a", "blake3")
	if code != ExitOK || !strings.Contains(stderr, "BLAKE3 is hashed by files") {
		t.Errorf("blake3 shards: exit %d, stderr %q", code, stderr)
	}
	_, stderr, _ = runHash(t, dir, "--serialization", "shards", "-a", "blake3", "--quiet")
	if stderr != "" {
		t.Errorf("--quiet: stderr %q", stderr)
	}
	outFile := filepath.Join(t.TempDir(), "m.json")
	out, _, code = runHash(t, dir, "-f", "json", "-o", outFile)
	b, err := os.ReadFile(outFile)
	if code != ExitOK || out != "" || err != nil || !json.Valid(b) {
		t.Errorf("--output: exit %d, stdout %q, file %v %s", code, out, err, b)
	}
	out, _, _ = runHash(t, dir, "--ignore", filepath.Join(dir, "sub"), "--no-ignore-git-paths")
	if !strings.Contains(out, "  .gitignore\n") || strings.Contains(out, "weights.bin") {
		t.Errorf("--ignore sub --no-ignore-git-paths:\n%s", out)
	}
}

func TestHashErrors(t *testing.T) {
	dir := hashModel(t)
	link := filepath.Join(dir, "link")
	symlinks := os.Symlink(filepath.Join(dir, "signme-1"), link) == nil
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{dir, "--algorithm", "md5"}, ExitUsage, "use sha256, blake2b or blake3"},
		{[]string{dir, "--format", "xml"}, ExitUsage, "use table or json"},
		{[]string{dir, "--shard-size", "10"}, ExitUsage, "--serialization shards only"},
		{[]string{dir, "--serialization", "shards", "--shard-size", "0"}, ExitUsage, "positive number"},
		{[]string{filepath.Join(dir, "nope")}, ExitUsage, "give the path of a model file or folder"},
		{[]string{dir, "--ignore", "signme-1"}, ExitUsage, "paths are from the current directory"},
		{[]string{filepath.Join(dir, "signme-1"), "--ignore", "x"}, ExitUsage, "single file"},
		{[]string{}, ExitUsage, "accepts 1 arg"},
		{[]string{dir, "--allow-symlinks", "-o", filepath.Join(dir, "no", "such", "dir", "x")}, ExitUsage, "--output"},
	}
	if symlinks {
		cases = append(cases, struct {
			args []string
			code int
			msg  string
		}{[]string{dir}, ExitUsage, "--allow-symlinks"})
	}
	for _, c := range cases {
		_, stderr, code := runHash(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, want %d with %q; stderr %q", c.args, code, c.code, c.msg, stderr)
		}
	}
	if symlinks {
		if out, stderr, code := runHash(t, dir, "--allow-symlinks"); code != ExitOK || !strings.Contains(out, "  link\n") {
			t.Errorf("--allow-symlinks: exit %d %s\n%s", code, stderr, out)
		}
	}
	// An unreadable file is an I/O error: exit 3.
	if os.Getuid() != 0 {
		p := filepath.Join(dir, "signme-2")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(p, 0o644)
		if _, stderr, code := runHash(t, dir, "--allow-symlinks"); code != ExitIncomplete || !strings.Contains(stderr, "permission denied") {
			t.Errorf("unreadable file: exit %d, stderr %q", code, stderr)
		}
	}
}

func TestHashProgressLine(t *testing.T) {
	got := hashProgressLine(1<<30, 4<<30, 2*time.Second)
	want := "hashing [======>                 ] 1.0 GiB / 4.0 GiB   25%  537 MB/s  ETA 0:06"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	var buf bytes.Buffer
	p := &hashProgressBar{w: &buf, start: time.Now().Add(-2 * time.Second)}
	p.update(1, 2)
	p.clear()
	if !strings.HasPrefix(buf.String(), "\r\033[Khashing [") || !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("bar output %q", buf.String())
	}
	var nothing bytes.Buffer
	(&hashProgressBar{w: &nothing, start: time.Now()}).update(1, 2) // under a second: not drawn
	if nothing.Len() != 0 {
		t.Errorf("drawn too early: %q", nothing.String())
	}
}

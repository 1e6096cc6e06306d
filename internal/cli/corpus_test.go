package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestPicklescanCorpus runs aigis over picklescan's regression corpus (the
// files of every bypass the Hub's own scanner was fixed for): every
// malicious file must exit 1 and no benign file may. It skips when the
// corpus is not beside the repository.
func TestPicklescanCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpora", "picklescan")
	raw, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Skipf("corpus not found: %v", err)
	}
	var labels map[string]struct {
		Label string `json:"label"`
	}
	if err := json.Unmarshal(raw, &labels); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var malicious, benign, caught, quiet int
	for _, name := range names {
		label := labels[name].Label
		var out, errb bytes.Buffer
		code := Main([]string{"scan", "--format", "json", filepath.Join(dir, name)}, &out, &errb)
		switch label {
		case "malicious":
			malicious++
			if code == ExitFindings {
				caught++
			} else {
				t.Errorf("%s (malicious): exit %d, want 1; stderr %s", name, code, errb.String())
			}
		case "benign":
			benign++
			if code != ExitFindings {
				quiet++
			} else {
				t.Errorf("%s (benign): exit 1; report %s", name, out.String())
			}
		default:
			t.Errorf("%s: unknown label %q", name, label)
		}
	}
	t.Logf("caught %d/%d malicious, %d/%d benign not flagged", caught, malicious, quiet, benign)
}

// TestCorpusInOneInvocation scans the whole corpus folder at once: the exit
// code is 1 and every malicious file appears in the report.
func TestCorpusInOneInvocation(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpora", "picklescan")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("corpus not found")
	}
	var out, errb bytes.Buffer
	code := Main([]string{"scan", "--format", "json", dir}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep struct {
		Targets  []struct{ Path string }           `json:"targets"`
		Findings []struct{ Path, Severity string } `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Severity == "high" || f.Severity == "critical" {
			flagged[filepath.Base(f.Path)] = true
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "labels.json"))
	var labels map[string]struct{ Label string }
	json.Unmarshal(raw, &labels)
	for name, l := range labels {
		if (l.Label == "malicious") != flagged[name] {
			t.Errorf("%s (%s): flagged=%v", name, l.Label, flagged[name])
		}
	}
}

// TestExitCodes pins the numeric contract that testscript's `! exec`
// cannot tell apart.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.pkl")
	evil := filepath.Join(dir, "evil.pkl")
	os.WriteFile(clean, []byte("(dp0\nS'a'\np1\nI1\ns."), 0o644)
	os.WriteFile(evil, []byte("cposix\nsystem\n(S'id'\ntR."), 0o644)
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"scan", clean}, ExitOK},
		{[]string{"scan", evil}, ExitFindings},
		{[]string{"scan", "--fail-on", "bogus", evil}, ExitUsage},
		{[]string{"scan", "--format", "xml", evil}, ExitUsage},
		{[]string{"scan"}, ExitUsage},
		{[]string{"frobnicate"}, ExitUsage},
		{[]string{"scan", filepath.Join(dir, "missing.pkl")}, ExitIncomplete},
		{[]string{"scan", "--timeout", "1ns", clean}, ExitIncomplete},
		{[]string{"scan", evil, filepath.Join(dir, "missing.pkl")}, ExitFindings},
		{[]string{"rules", "--format", "json"}, ExitOK},
		{[]string{"version"}, ExitOK},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if got := Main(tt.args, &out, &errb); got != tt.want {
			t.Errorf("aigis %v: exit %d, want %d (stderr %q)", tt.args, got, tt.want, errb.String())
		}
	}
}

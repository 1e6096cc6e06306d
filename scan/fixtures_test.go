package scan

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

type label struct {
	Label     string `json:"label"`
	Technique string `json:"technique"`
	Expect    string `json:"expect"`
}

func loadLabels(t *testing.T) map[string]label {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "models", "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]label
	if err := json.Unmarshal(raw, &labels); err != nil {
		t.Fatal(err)
	}
	return labels
}

// dotted matches the first qualified name in an expectation such as
// "functools.partial + posix.system".
var dotted = regexp.MustCompile(`^[A-Za-z_][\w]*(\.[\w]+)+`)

// TestFixtures scans every fixture made by the generator script with real
// libraries: benign files (PyTorch, scikit-learn, joblib, numpy, pandas,
// stdlib containers at every protocol, and traps whose raw bytes look like
// payloads) must have nothing at or above the default gate; every attack
// must be caught at or above it, naming the callable it uses.
func TestFixtures(t *testing.T) {
	labels := loadLabels(t)
	root := filepath.Join("..", "testdata", "models")
	rep, err := Scan(context.Background(), []string{root}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]finding.Finding{}
	for _, f := range rep.Findings {
		byFile[f.Path] = append(byFile[f.Path], f)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		l := labels[name]
		path := filepath.Join(root, filepath.FromSlash(name))
		var gating []finding.Finding
		for _, f := range byFile[path] {
			if f.Severity >= finding.High {
				gating = append(gating, f)
			}
		}
		switch l.Label {
		case "benign":
			for _, f := range gating {
				t.Errorf("%s (benign: %s): %s %s %s: %s", name, l.Technique, f.Severity, f.RuleID, f.Member, f.Message)
			}
		case "malicious":
			if len(gating) == 0 {
				t.Errorf("%s (malicious: %s): not caught", name, l.Technique)
				continue
			}
			want := dotted.FindString(l.Expect)
			if want == "" {
				continue // an anomaly, not a callable
			}
			if !mentions(gating, want) {
				t.Errorf("%s: no finding names %s; got %v", name, want, summaries(gating))
			}
		}
	}
	for _, inc := range rep.Incomplete {
		t.Errorf("incomplete: %s %s: %s", inc.Path, inc.Member, inc.Reason)
	}
}

func mentions(fs []finding.Finding, name string) bool {
	for _, f := range fs {
		if strings.Contains(f.Message, name) || f.Evidence["callable"] == name || f.Evidence["resolves_to"] == name ||
			strings.HasPrefix(f.Evidence["callable"], name) {
			return true
		}
	}
	return false
}

func summaries(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.RuleID+": "+f.Message)
	}
	return out
}

// customOp rules report operators that need a native library the user
// installs: below the gate (medium), since they do not run code by
// themselves.
var customOp = map[string]bool{"onnx-custom-operator": true, "tflite-custom-op": true}

// TestFormatFixtures scans the ONNX models made by python3-onnx and the
// chat templates of real model families: everything under a benign folder
// is clean at the default gate, everything under malicious is caught.
func TestFormatFixtures(t *testing.T) {
	for _, dir := range []string{
		filepath.Join("..", "testdata", "onnx"),
		filepath.Join("..", "testdata", "templates"),
		filepath.Join("..", "testdata", "tensorflow"),
		filepath.Join("..", "testdata", "keras"),
	} {
		rep, err := Scan(context.Background(), []string{dir}, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		// Every attack but a custom operator fails the gate.
		gated := map[string]bool{}
		for _, f := range rep.Findings {
			if f.Severity >= finding.High || (f.Severity == finding.Medium && customOp[f.RuleID]) {
				gated[f.Path] = true
			}
		}
		n := 0
		for _, tg := range rep.Targets {
			malicious := strings.Contains(filepath.ToSlash(tg.Path), "/malicious/") ||
				strings.HasPrefix(filepath.Base(tg.Path), "malicious")
			if tg.Kind == "unknown" {
				continue // generator scripts, external weight files
			}
			n++
			if malicious != gated[tg.Path] {
				t.Errorf("%s (%s): malicious=%v but flagged=%v", tg.Path, tg.Kind, malicious, gated[tg.Path])
			}
		}
		if n == 0 {
			t.Errorf("%s: nothing recognised", dir)
		}
	}
}

// TestModelRepos scans model repositories as a user downloads them: a
// benign repo with custom model code is below the gate (the code is
// reported, medium: it runs with trust_remote_code=True), while remote
// code that runs commands, downloads or decodes payloads, and leaked
// credentials, fail it.
func TestModelRepos(t *testing.T) {
	root := filepath.Join("..", "testdata", "repos")
	rep, err := Scan(context.Background(), []string{root}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	worst := map[string]finding.Severity{}
	remote := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Severity > worst[f.Path] {
			worst[f.Path] = f.Severity
		}
		if f.RuleID == "python-remote-code" {
			remote[filepath.Base(f.Path)] = true
		}
	}
	for _, tg := range rep.Targets {
		base := filepath.Base(tg.Path)
		inMalicious := strings.Contains(filepath.ToSlash(tg.Path), "/malicious-remote-code/")
		wantFlag := inMalicious && (strings.HasSuffix(base, ".py") || base == ".env")
		if got := worst[tg.Path] >= finding.High; got != wantFlag {
			t.Errorf("%s: flagged=%v, want %v", tg.Path, got, wantFlag)
		}
	}
	// auto_map in config.json names the files transformers imports.
	for _, f := range []string{"modeling_custom.py", "configuration_custom.py", "modeling_evil.py"} {
		if !remote[f] {
			t.Errorf("%s is not reported as remote code", f)
		}
	}
}

package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

// FuzzParse feeds arbitrary bytes to the strict parser. Invariants: no
// panic; a policy or a *ParseError, never both or neither; oversized files
// are refused; problems are bounded and point at lines of the file; a
// parsed policy has a well-formed, stable Version and evaluates.
func FuzzParse(f *testing.F) {
	for _, p := range []string{examplePath, "default.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"apiVersion: aigis/v1\nversion: x\n",
		"apiVersion: aigis/v1\nversion: x\ngate: {fail_on: hgh}\n",
		"apiVersion: aigis/v1\nversion: x\nsources: {upstream: {allow: [\"a/[\"], deny: [\"*\"]}}\n",
		"apiVersion: aigis/v1\nversion: x\nexceptions: [{repo: a/b, reason: r, expires: 2027-01-31, approved_by: me, rules: [pickle-format]}]\n",
		"apiVersion: aigis/v1\nversion: x\nsignatures: [{repos: [\"a/*\"], keys: [\"keys/acme-release.pub\"]}]\n",
		"apiVersion: aigis/v1\nversion: x\nlimits: {max_file_size: 1TiB, max_files: 3}\n",
		"a: &x [*x]\n",
		"---\n---\n",
		"[[[[[[[[[[[[[[[[[[[[[[",
	} {
		f.Add([]byte(s))
	}
	base := f.TempDir()
	if err := os.MkdirAll(filepath.Join(base, "keys"), 0o755); err != nil {
		f.Fatal(err)
	}
	pub, err := os.ReadFile("../../testdata/policy/keys/acme-release.pub")
	if err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "keys", "acme-release.pub"), pub, 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data, base)
		if (p == nil) == (err == nil) {
			t.Fatalf("Parse returned policy %v and error %v", p != nil, err)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || len(pe.Problems) > maxProblems {
				t.Fatalf("error %T with %d problems: %v", err, len(pe.Problems), err)
			}
			// YAML breaks lines at \n, \r and \r\n.
			lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 2
			for _, pr := range pe.Problems {
				if pr.Line < 0 || pr.Line > lines || pr.Message == "" {
					t.Fatalf("problem %+v out of %d lines", pr, lines)
				}
			}
			return
		}
		if len(data) > MaxFileSize {
			t.Fatalf("accepted %d bytes", len(data))
		}
		v := p.Version()
		i := strings.Index(v, "+sha256:")
		if i < 1 || len(v) != i+len("+sha256:")+12 {
			t.Fatalf("Version() = %q", v)
		}
		if q, err := Parse("fuzz.yaml", data, base); err != nil || q.Version() != v {
			t.Fatalf("parsing twice differs: %v", err)
		}
		d := p.Evaluate(Input{RepoID: "acme/bert", Source: SourceUpstream, Commit: "0123456789abcdef0123456789abcdef01234567",
			Files:    []File{{"model.bin", 1 << 40}},
			Findings: []finding.Finding{{RuleID: "pickle-code-execution", Severity: finding.Critical, Path: "model.bin"}}})
		if d.PolicyVersion != v || d.Allow != (len(d.Reasons) == 0) {
			t.Fatalf("decision %+v", d)
		}
		// A critical finding always gates unless the file ignores its rule:
		// with a zero Now, no exception applies.
		if d.Allow && !p.ignoreRules["pickle-code-execution"] {
			t.Fatalf("a critical finding was allowed: %+v", d)
		}
	})
}

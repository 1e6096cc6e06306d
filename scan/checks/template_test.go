package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
)

func readTemplate(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func describeFindings(fs []finding.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n  " + f.Severity.String() + " " + f.RuleID + ": " + f.Message)
	}
	return b.String()
}

// Published chat templates of real model families must pass the gate clean.
func TestCheckTemplateBenign(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "benign", "*.jinja"))
	if len(files) < 10 {
		t.Fatalf("found %d benign templates", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fs := CheckTemplate(finding.Location{Path: f}, "chat_template", readTemplate(t, f))
			for _, x := range fs {
				if x.Severity >= finding.Medium {
					t.Errorf("unexpected finding:%s", describeFindings(fs))
					break
				}
			}
		})
	}
}

func TestCheckTemplateMalicious(t *testing.T) {
	want := map[string]struct {
		rule, mention string
	}{
		"cve-2024-34359-subclasses-popen.jinja": {"template-sandbox-escape", "__subclasses__"},
		"cycler-globals-os-popen.jinja":         {"template-sandbox-escape", "cycler"},
		"joiner-globals-os-popen.jinja":         {"template-sandbox-escape", "joiner"},
		"lipsum-globals-os-popen.jinja":         {"template-sandbox-escape", "lipsum"},
		"attr-filter-class.jinja":               {"template-sandbox-escape", "|attr(\"__class__\")"},
		"concat-dunder.jinja":                   {"template-python-internals", "__class__"},
		"join-dunder.jinja":                     {"template-python-internals", "__class__"},
		"format-built-name.jinja":               {"template-sandbox-escape", "__globals__"},
		"request-attr-chain.jinja":              {"template-sandbox-escape", "request"},
		"include-file.jinja":                    {"template-loads-file", "/etc/passwd"},
		"import-macros.jinja":                   {"template-loads-file", "macros.jinja"},
		"range-dos.jinja":                       {"template-denial-of-service", "range"},
		"self-template-context.jinja":           {"template-sandbox-escape", "_TemplateReference__context"},
		"reverse-percent-built.jinja":           {"template-sandbox-escape", "__subclasses__"},
		"split-over-statements.jinja":           {"template-sandbox-escape", "popen"},
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "malicious", "*.jinja"))
	if len(files) != len(want) {
		t.Errorf("found %d malicious templates, the test knows %d", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			fs := CheckTemplate(finding.Location{Path: f}, "tokenizer.chat_template", readTemplate(t, f))
			found := false
			for _, x := range fs {
				if x.RuleID == w.rule && x.Severity >= finding.High &&
					(strings.Contains(x.Message, w.mention) || strings.Contains(x.Evidence["expression"], w.mention)) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s at high or above mentioning %q, got:%s", w.rule, w.mention, describeFindings(fs))
			}
		})
	}
}

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

// FuzzCheckTemplate runs the whole template check (parse, constant folding,
// chain and loop analysis) on hostile input: it must not panic, and it must
// stay within its cap on findings.
func FuzzCheckTemplate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "templates", "*", "*.jinja"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("{{ ('%c'*2)|format(95,95) ~ 'class' ~ '_'*2 }}{{ x[('a'*99999)[::-1]] }}{{ 9**9**9 }}{{ range(0, 10**12, -1) }}")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 1<<16 {
			return
		}
		fs := CheckTemplate(finding.Location{Path: "t"}, "chat_template", src)
		if len(fs) > maxTmplF+1 {
			t.Fatalf("%d findings", len(fs))
		}
		for _, x := range fs {
			if x.RuleID == "" || x.Message == "" {
				t.Fatalf("empty finding %+v", x)
			}
		}
	})
}

func TestCheckTemplateCases(t *testing.T) {
	tests := []struct {
		name, src string
		rule      string // "" for no finding at medium or above
		sev       finding.Severity
	}{
		{"plain message access", "{{ messages[i]['content'] }}{{ message[key] }}", "", 0},
		{"format string attribute", "{{ '{0.__class__.__mro__}'.format(x) }}", "template-python-internals", finding.High},
		{"dict keys joined", "{{ x|attr(dict(__cla=1, ss__=2)|join) }}", "template-python-internals", finding.High},
		{"map attr", "{{ xs|map(attribute='__class__')|list }}", "template-python-internals", finding.High},
		{"dynamic attr filter", "{{ x|attr(name) }}", "template-dynamic-attribute", finding.Medium},
		{"built subscript key", "{{ x[a ~ b] }}", "template-dynamic-attribute", finding.Medium},
		{"chars from repr", "{{ x[(lipsum|string)[0]] }}", "template-dynamic-attribute", finding.Medium},
		{"percent operator", "{{ x|attr('%s%s' % ('__cla', 'ss__')) }}", "template-python-internals", finding.High},
		{"upper lower", "{{ x|attr('__CLASS__'|lower) }}", "template-python-internals", finding.High},
		{"replace", "{{ x|attr('_x_class_x_'|replace('x', '_')) }}", "template-python-internals", finding.High},
		{"slice reverse", "{{ x[']__ssalc__['[1:-1][::-1]] }}", "template-python-internals", finding.High},
		{"string repeat", "{{ 'a' * 100000000 }}", "template-denial-of-service", finding.High},
		{"huge power", "{{ 9 ** (9 ** 9) }}", "template-denial-of-service", finding.High},
		{"nested range loops", "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", "template-denial-of-service", finding.High},
		{"underscore variable and namespace", "{% set last = namespace(name=none) %}{% set _args = tc.arguments %}{% for k, v in _args|items %}{{ k }}{% endfor %}{% set last.name = tc.name %}{{ (x.split('</think>')|last).strip('\\n') }}", "", 0},
		{"small range", "{% for a in range(3) %}{{ a }}{% endfor %}", "", 0},
		{"unparsable", "{% for x in %}", "template-unparsable", finding.Medium},
		{"too deep", "{{ " + strings.Repeat("(", 1000) + "a" + strings.Repeat(")", 1000) + " }}", "scan-limit", finding.Medium},
		{"extends", "{% extends 'base.html' %}", "template-loads-file", finding.High},
		{"popen call", "{{ x.popen('id') }}", "template-python-internals", finding.High},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CheckTemplate(finding.Location{Path: "t"}, "chat_template", tt.src)
			var top *finding.Finding
			for i := range fs {
				if fs[i].Severity >= finding.Medium && (top == nil || fs[i].Severity > top.Severity || (tt.rule != "" && fs[i].RuleID == tt.rule && top.RuleID != tt.rule && fs[i].Severity == top.Severity)) {
					top = &fs[i]
				}
			}
			if tt.rule == "" {
				if top != nil {
					t.Errorf("want no finding, got:%s", describeFindings(fs))
				}
				return
			}
			ok := false
			for _, x := range fs {
				if x.RuleID == tt.rule && x.Severity >= tt.sev {
					ok = true
				}
			}
			if !ok {
				t.Errorf("want %s at %s or above, got:%s", tt.rule, tt.sev, describeFindings(fs))
			}
			for _, x := range fs {
				if x.Evidence["expression"] == "" && x.RuleID != "template-unparsable" && x.RuleID != "scan-limit" {
					t.Errorf("finding without expression evidence: %+v", x)
				}
			}
		})
	}
}

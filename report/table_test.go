package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/finding"
)

func TestTableGolden(t *testing.T) {
	tests := []struct {
		file string
		r    *finding.Report
		opt  Options
	}{
		{"sample.table", sampleReport(), Options{FailOn: finding.High}},
		{"sample-color.table", sampleReport(), Options{FailOn: finding.High, Color: true}},
		{"empty.table", emptyReport(), Options{FailOn: finding.High}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			golden(t, tt.file, write(t, "table", tt.r, tt.opt))
		})
	}
}

// summaryLines returns the closing summary: everything from "Scanned".
func summaryLines(t *testing.T, out string) []string {
	t.Helper()
	i := strings.LastIndex(out, "Scanned ")
	if i < 0 {
		t.Fatalf("no summary in:\n%s", out)
	}
	return strings.Split(strings.TrimSuffix(out[i:], "\n"), "\n")
}

func TestTableSummary(t *testing.T) {
	one := func(sev finding.Severity) finding.Finding {
		return newFinding(ruleExec, sev, "x.pkl", "", 3, "something", nil)
	}
	lowOnly := &finding.Report{
		Targets:  []finding.Target{{Path: "x.pkl"}},
		Findings: []finding.Finding{one(finding.Low), one(finding.Info), one(finding.Low)},
	}
	lowIncomplete := &finding.Report{
		Targets:    []finding.Target{{Path: "x.pkl"}, {Path: "y.zip"}},
		Findings:   []finding.Finding{one(finding.Low)},
		Incomplete: []finding.Incomplete{{Path: "y.zip", Reason: "read y.zip: unexpected EOF"}},
	}
	single := &finding.Report{
		Targets:  []finding.Target{{Path: "x.pkl"}},
		Findings: []finding.Finding{one(finding.Critical)},
	}
	tests := []struct {
		name string
		r    *finding.Report
		gate finding.Severity
		want []string
	}{{
		name: "sample at the default gate",
		r:    sampleReport(),
		gate: finding.High,
		want: []string{
			"Scanned 3 files: 7 findings (critical 3, high 1, medium 1, low 1, info 1).",
			"Incomplete: 1 item could not be scanned completely:",
			"  bundle.tar!a.zip!secret.zip: encrypted member: cannot be read without its password",
			"FAIL: 4 findings at or above the gate (high).",
		},
	}, {
		name: "sample gated at critical",
		r:    sampleReport(),
		gate: finding.Critical,
		want: []string{
			"Scanned 3 files: 7 findings (critical 3, high 1, medium 1, low 1, info 1).",
			"Incomplete: 1 item could not be scanned completely:",
			"  bundle.tar!a.zip!secret.zip: encrypted member: cannot be read without its password",
			"FAIL: 3 findings at or above the gate (critical).",
		},
	}, {
		name: "findings below the gate pass",
		r:    lowOnly,
		gate: finding.High,
		want: []string{
			"Scanned 1 file: 3 findings (low 2, info 1).",
			"PASS: nothing at or above the gate (high); 3 findings below it.",
		},
	}, {
		name: "the gate counts findings at its own level",
		r:    lowOnly,
		gate: finding.Low,
		want: []string{
			"Scanned 1 file: 3 findings (low 2, info 1).",
			"FAIL: 2 findings at or above the gate (low).",
		},
	}, {
		name: "incomplete without gating findings",
		r:    lowIncomplete,
		gate: finding.High,
		want: []string{
			"Scanned 2 files: 1 finding (low 1).",
			"Incomplete: 1 item could not be scanned completely:",
			"  y.zip: read y.zip: unexpected EOF",
			"INCOMPLETE: nothing at or above the gate (high) was found, but the scan did not finish.",
		},
	}, {
		name: "singular",
		r:    single,
		gate: finding.High,
		want: []string{
			"Scanned 1 file: 1 finding (critical 1).",
			"FAIL: 1 finding at or above the gate (high).",
		},
	}, {
		name: "empty",
		r:    emptyReport(),
		gate: finding.High,
		want: []string{
			"Scanned 0 files: no findings.",
			"PASS: nothing at or above the gate (high).",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(write(t, "table", tt.r, Options{FailOn: tt.gate}))
			if diff := cmp.Diff(tt.want, summaryLines(t, out)); diff != "" {
				t.Errorf("summary (-want +got):\n%s\nfull output:\n%s", diff, out)
			}
		})
	}
}

// TestTableEmptySaysSo: a clean scan prints the summary and nothing else.
func TestTableEmptySaysSo(t *testing.T) {
	r := emptyReport()
	r.Targets = []finding.Target{{Path: "ok.safetensors", Kind: "safetensors"}}
	got := string(write(t, "table", r, Options{FailOn: finding.High}))
	want := "Scanned 1 file: no findings.\nPASS: nothing at or above the gate (high).\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestTableGroups checks the grouping a reader relies on: one header per
// file in path order, members under their file, every finding of a member
// under its member header, and a rule's remediation once per file.
func TestTableGroups(t *testing.T) {
	out := string(write(t, "table", sampleReport(), Options{FailOn: finding.High}))
	var headers, members []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Scanned ") {
			break
		}
		if m, ok := strings.CutPrefix(l, "  in "); ok {
			members = append(members, m)
		} else if l != "" && !strings.HasPrefix(l, " ") {
			headers = append(headers, l)
		}
	}
	wantHeaders := []string{"bundle.tar (tar)", "clean/model.safetensors (safetensors)", "m/model.pt (pytorch-zip)"}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("file headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a.zip!b.npz!c.npy", "archive/data.pkl"}, members); diff != "" {
		t.Errorf("member headers (-want +got):\n%s", diff)
	}
	// pickle-code-exec fires in two files: its fix is shown once in each,
	// not once per finding (m/model.pt has two).
	if n := strings.Count(out, "fix: Do not load this file. Ask the publisher"); n != 2 {
		t.Errorf("pickle-code-exec remediation shown %d times, want 2 (once per file)", n)
	}
	// Within m/model.pt, the finding about the file itself comes before the
	// member, and the member's findings are in offset order.
	order := []string{"PyTorch checkpoint", "in archive/data.pkl", "@57", "@210", "@388", "@512"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < last {
			t.Errorf("%q is out of order in:\n%s", s, out)
		}
		last = i
	}
	// A finding line carries severity, rule id, offset and message.
	if !strings.Contains(out, "\n    critical  pickle-code-exec         @57   posix.system('echo pwned') is called when the file is\n"+
		"                                             loaded\n") {
		t.Errorf("finding line not as expected:\n%s", out)
	}
}

// TestTableFitsTerminal: with hostile-length messages and rule ids, no
// line exceeds 100 columns and a message is cut rather than flooding the
// screen.
func TestTableFitsTerminal(t *testing.T) {
	long := strings.Repeat("A", 5000)
	words := strings.Repeat("word ", 1000)
	r := &finding.Report{
		Targets: []finding.Target{{Path: "x.pkl"}},
		Findings: []finding.Finding{
			newFinding(ruleExec, finding.Critical, "x.pkl", "", 123456789, "posix.system('"+long+"') is called", nil),
			newFinding(finding.Rule{ID: strings.Repeat("very-long-rule-id-", 5), Remediation: words}, finding.High, "x.pkl", "", 1, words, nil),
		},
		Incomplete: []finding.Incomplete{{Path: "x.pkl", Member: strings.Repeat("deep/", 100), Reason: words}},
	}
	out := string(write(t, "table", r, Options{FailOn: finding.High}))
	lines := strings.Split(out, "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > tableWidth {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if len(lines) > 40 {
		t.Errorf("table of %d lines for 2 findings: long text is not cut:\n%s", len(lines), out)
	}
	if !strings.Contains(out, "…") {
		t.Errorf("cut text is not marked with …:\n%s", out)
	}
}

// TestTableEscapesHostileText: text from a scanned file cannot drive the
// terminal, and with colour off the table contains no ESC at all.
func TestTableEscapesHostileText(t *testing.T) {
	r := &finding.Report{
		Targets: []finding.Target{{Path: "evil\x1b[2J.pkl"}},
		Findings: []finding.Finding{newFinding(ruleExec, finding.Critical, "evil\x1b[2J.pkl", "m\u202egnp.pkl", 5,
			"posix.system('\x1b]0;owned\x07') is called\r\nfake: PASS \xff", nil)},
		Incomplete: []finding.Incomplete{{Path: "evil\x1b[2J.pkl", Reason: "bad \x1b[31m"}},
	}
	out := string(write(t, "table", r, Options{FailOn: finding.High}))
	if strings.ContainsAny(out, "\x1b\x07\r\u202e") || !utf8.ValidString(out) {
		t.Fatalf("hostile characters reached the terminal:\n%q", out)
	}
	for _, want := range []string{`evil\x1b[2J.pkl`, `m\u202egnp.pkl`, `posix.system('\x1b]0;owned\x07') is called\r\nfake: PASS \xff`, `bad \x1b[31m`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped form %s:\n%s", want, out)
		}
	}
}

func TestTableColor(t *testing.T) {
	plain := string(write(t, "table", sampleReport(), Options{FailOn: finding.High}))
	if strings.Contains(plain, "\x1b") {
		t.Errorf("colour off, but output has escape sequences")
	}
	color := string(write(t, "table", sampleReport(), Options{FailOn: finding.High, Color: true}))
	for _, want := range []string{"\x1b[1;31mcritical\x1b[0m", "\x1b[31mhigh\x1b[0m", "\x1b[33mmedium\x1b[0m", "\x1b[1;31mFAIL\x1b[0m"} {
		if !strings.Contains(color, want) {
			t.Errorf("colour on, output lacks %q", want)
		}
	}
	// Colour must not shift the columns: strip it and compare.
	stripped := strings.NewReplacer("\x1b[0m", "", "\x1b[1;31m", "", "\x1b[31m", "", "\x1b[33m", "",
		"\x1b[36m", "", "\x1b[34m", "", "\x1b[1m", "", "\x1b[1;32m", "", "\x1b[1;33m", "").Replace(color)
	if diff := cmp.Diff(plain, stripped); diff != "" {
		t.Errorf("coloured table differs from plain beyond colour (-plain +stripped):\n%s", diff)
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s        string
		width    int
		maxLines int
		want     []string
	}{
		{"", 20, 0, []string{""}},
		{"short", 20, 0, []string{"short"}},
		{"one two three four", 10, 0, []string{"one two", "three four"}},
		{"abcdefghijklmnopqrstuvwxy", 10, 0, []string{"abcdefghij", "klmnopqrst", "uvwxy"}},
		{"a b c d e f g h i j k l m n o", 10, 2, []string{"a b c d e", "f g h i j…"}},
		{"  spaced   out  ", 20, 0, []string{"spaced out"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, wrap(tt.s, tt.width, tt.maxLines)); diff != "" {
			t.Errorf("wrap(%q, %d, %d) (-want +got):\n%s", tt.s, tt.width, tt.maxLines, diff)
		}
	}
}

func TestRulesTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRules(&buf, "table", sampleReport().Rules); err != nil {
		t.Fatal(err)
	}
	golden(t, "rules.table", buf.Bytes())
	out := buf.String()
	if !strings.HasSuffix(out, "\n6 rules.\n") {
		t.Errorf("rules table does not end with the count:\n%s", out)
	}
	for _, want := range []string{
		"critical  pickle-code-exec         Loading the file runs arbitrary code\n",
		"          atlas: AML.T0011.000, AML.T0010.003\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules table lacks %q:\n%s", want, out)
		}
	}
}

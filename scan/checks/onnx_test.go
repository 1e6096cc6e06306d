package checks

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/onnx"
	"github.com/google/go-cmp/cmp"
)

const onnxFixtures = "../../testdata/onnx"

func parseONNX(t *testing.T, path string) *onnx.Model {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Parse(f, fi.Size(), onnx.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// summary is what a user reads in the table: rule, severity and message,
// without the info finding that every model gets.
func summary(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.RuleID == RuleONNXModel.ID {
			continue
		}
		out = append(out, f.Severity.String()+" "+f.RuleID+": "+f.Message)
	}
	sort.Strings(out)
	return out
}

func TestCheckONNXFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"benign/add_matmul.onnx", nil},
		{"benign/if_branches.onnx", nil},
		{"benign/function.onnx", nil}, // custom.fn.AddTwice is a model-local function
		{"external_ok/model.onnx", nil},
		{"malicious/external_parent.onnx", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "../../etc/passwd": the location climbs out of the model folder with '..'`}},
		{"malicious/external_absolute.onnx", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "/etc/passwd": the location is an absolute path`}},
		{"malicious/external_nested.onnx", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "subdir/../../x": the location climbs out of the model folder with '..'`}},
		{"malicious/custom_domain.onnx", []string{`medium onnx-custom-operator: operator com.evil.Backdoor (1 nodes, first in graph) needs a custom-op library for domain "com.evil"`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(onnxFixtures, tt.file)
			m := parseONNX(t, path)
			loc := finding.Location{Path: path}
			got := CheckONNX(loc, m, ONNXDirResolver(filepath.Dir(path)))
			if d := cmp.Diff(tt.want, summary(got)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			// Inside an archive (no resolver) the verdict is the same.
			if d := cmp.Diff(tt.want, summary(CheckONNX(loc, m, nil))); d != "" {
				t.Errorf("findings without resolver (-want +got):\n%s", d)
			}
			info := got[len(got)-1]
			if info.RuleID != RuleONNXModel.ID || !strings.Contains(info.Message, "ai.onnx 13") || !strings.Contains(info.Message, "aigis-gen") {
				t.Errorf("info finding: %+v", info)
			}
			for _, f := range got {
				if f.Severity >= finding.High && f.Offset == 0 {
					t.Errorf("finding without offset: %+v", f)
				}
			}
		})
	}
}

// modelWith copies the add_matmul model with its W tensor's external data
// at location into dir.
func modelWith(t *testing.T, location string) *onnx.Model {
	t.Helper()
	m := parseONNX(t, filepath.Join(onnxFixtures, "external_ok/model.onnx"))
	for i := range m.ExternalData {
		m.ExternalData[i].Location = location
	}
	return m
}

func TestCheckONNXLinks(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 64), 0o600))
	must(os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 10), 0o600))
	must(os.Symlink(secret, filepath.Join(dir, "link.bin")))
	must(os.Symlink(outside, filepath.Join(dir, "sub")))
	must(os.Symlink(filepath.Join(outside, "not-yet"), filepath.Join(dir, "dangling.bin")))
	must(os.Mkdir(filepath.Join(dir, "real"), 0o700))
	must(os.Symlink("../weights.bin", filepath.Join(dir, "real", "up.bin")))

	tests := []struct {
		location string
		want     []string
	}{
		{"weights.bin", nil},
		{"real/up.bin", nil}, // a link that stays inside
		{"./real/../weights.bin", []string{`low onnx-external-data-path: tensor "W" reads its bytes from "./real/../weights.bin": the location has a '..' component, though it resolves inside the folder`}},
		{"link.bin", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "link.bin", which resolves through a symbolic link to a file outside the model folder`}},
		{"sub/secret", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "sub/secret", which resolves through a symbolic link to a file outside the model folder`}},
		{"dangling.bin", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "dangling.bin", which resolves through a symbolic link to a file outside the model folder`}},
		{"sub/not-yet/x.bin", []string{`high onnx-external-data-path: tensor "W" reads its bytes from "sub/not-yet/x.bin", which resolves through a symbolic link to a file outside the model folder`}},
		{"real/new/x.bin", []string{`low onnx-external-data-missing: external data file "real/new/x.bin" of tensor "W" is missing`}},
		{"gone.bin", []string{`low onnx-external-data-missing: external data file "gone.bin" of tensor "W" is missing`}},
		{"short.bin", []string{`low onnx-external-data-missing: external data file "short.bin" has 10 bytes, but its tensors need 64`}},
		{`..\..\windows\win.ini`, []string{`high onnx-external-data-path: tensor "W" reads its bytes from "..\\..\\windows\\win.ini": the location climbs out of the model folder with '..'`}},
		{`C:\secret`, []string{`high onnx-external-data-path: tensor "W" reads its bytes from "C:\\secret": the location starts with a Windows drive letter`}},
	}
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			got := CheckONNX(finding.Location{Path: "m/model.onnx"}, modelWith(t, tt.location), ONNXDirResolver(dir))
			if d := cmp.Diff(tt.want, summary(got)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}

func TestONNXRules(t *testing.T) {
	for _, r := range ONNXRules() {
		if r.ID == "" || r.Title == "" || r.Description == "" || r.Remediation == "" || len(r.ATLAS) == 0 {
			t.Errorf("incomplete rule %+v", r)
		}
	}
}

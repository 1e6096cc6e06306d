package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aigis-sec/aigis/finding"
)

// sarifSchemaPath is the official schema in ../shared, next to the repo.
const sarifSchemaPath = "../../shared/schemas/sarif-schema-2.1.0.json"

// sarifValidator compiles the official SARIF 2.1.0 schema, skipping the
// test where ../shared is not checked out. Formats are asserted, so a
// badly escaped URI fails too.
func sarifValidator(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaPath)
	if os.IsNotExist(err) {
		t.Skipf("SARIF schema not found at %s", sarifSchemaPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// hostilePaths exercises URI escaping: spaces, '#', '%', a colon in the
// first segment, non-ASCII, "./" and an absolute path.
func hostilePaths() *finding.Report {
	r := emptyReport()
	for _, p := range []string{"models/a b#1%.pt", "a:b.pkl", "./dir//ü.npy", "/abs/x.pkl"} {
		r.Targets = append(r.Targets, finding.Target{Path: p, Kind: "pickle"})
		r.Findings = append(r.Findings, newFinding(ruleExec, finding.Critical, p, "x y#z", 1, "m", nil))
		r.Incomplete = append(r.Incomplete, finding.Incomplete{Path: p, Reason: "r"})
	}
	return r
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := sarifValidator(t)
	undeclared := sampleReport()
	undeclared.Rules = nil // findings whose rules the report does not declare
	tests := []struct {
		name string
		r    *finding.Report
	}{
		{"sample", sampleReport()},
		{"empty", emptyReport()},
		{"nil", nil},
		{"hostile paths", hostilePaths()},
		{"undeclared rules", undeclared},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := write(t, "sarif", tt.r, Options{})
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(doc); err != nil {
				t.Errorf("invalid SARIF: %v\n%s", err, out)
			}
		})
	}
}

func TestSARIFGolden(t *testing.T) {
	golden(t, "sample.sarif", write(t, "sarif", sampleReport(), Options{}))
	golden(t, "empty.sarif", write(t, "sarif", emptyReport(), Options{}))
}

// The parts of SARIF the tests read, decoded independently of the writer's
// types so that a renamed field is caught.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				Version        string `json:"version"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string `json:"id"`
					Name             string `json:"name"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					FullDescription struct {
						Text string `json:"text"`
					} `json:"fullDescription"`
					Help struct {
						Text     string `json:"text"`
						Markdown string `json:"markdown"`
					} `json:"help"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
					Properties struct {
						Tags             []string `json:"tags"`
						SecuritySeverity *string  `json:"security-severity"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful        bool `json:"executionSuccessful"`
			ToolExecutionNotifications []struct {
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []sarifDocLocation `json:"locations"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Artifacts []struct {
			Location struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId"`
			} `json:"location"`
			Length int64             `json:"length"`
			Hashes map[string]string `json:"hashes"`
		} `json:"artifacts"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations           []sarifDocLocation `json:"locations"`
			PartialFingerprints map[string]string  `json:"partialFingerprints"`
			Properties          struct {
				Severity         string            `json:"severity"`
				SecuritySeverity string            `json:"security-severity"`
				ATLAS            []string          `json:"atlas"`
				Member           string            `json:"member"`
				Offset           int64             `json:"offset"`
				Evidence         map[string]string `json:"evidence"`
			} `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

type sarifDocLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI       string `json:"uri"`
			URIBaseID string `json:"uriBaseId"`
			Index     *int   `json:"index"`
		} `json:"artifactLocation"`
		Region *struct {
			StartLine   int    `json:"startLine"`
			StartColumn int    `json:"startColumn"`
			EndLine     int    `json:"endLine"`
			EndColumn   int    `json:"endColumn"`
			ByteOffset  *int64 `json:"byteOffset"`
		} `json:"region"`
	} `json:"physicalLocation"`
}

func decodeSARIF(t *testing.T, r *finding.Report) sarifDoc {
	t.Helper()
	var doc sarifDoc
	if err := json.Unmarshal(write(t, "sarif", r, Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	return doc
}

// TestSARIFGitHubRequirements checks what GitHub code scanning requires or
// uses (docs.github.com, "SARIF support for code scanning"): every
// required property present and non-empty.
func TestSARIFGitHubRequirements(t *testing.T) {
	doc := decodeSARIF(t, sampleReport())
	if doc.Schema == "" || doc.Version != "2.1.0" {
		t.Errorf("$schema = %q, version = %q", doc.Schema, doc.Version)
	}
	run := doc.Runs[0]
	d := run.Tool.Driver
	if d.Name != "aigis" || d.Version != "0.1.0" || d.InformationURI != "https://github.com/aigis-sec/aigis" {
		t.Errorf("driver = %q %q %q", d.Name, d.Version, d.InformationURI)
	}
	var ids []string
	for _, r := range d.Rules {
		ids = append(ids, r.ID)
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" {
			t.Errorf("rule %s lacks a description or help text", r.ID)
		}
		if len(r.Properties.Tags) == 0 || r.Properties.Tags[0] != "security" {
			t.Errorf("rule %s tags = %q, want security first", r.ID, r.Properties.Tags)
		}
	}
	// Every declared rule is listed, fired or not, in the declared order.
	if diff := cmp.Diff([]string{"pickle-code-exec", "pickle-file-access", "pickle-unknown-callable", "format-pickle", "model-metadata", "gguf-chat-template"}, ids); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if len(run.Results) != 7 {
		t.Fatalf("%d results, want 7", len(run.Results))
	}
	for i, res := range run.Results {
		if res.Message.Text == "" || len(res.Locations) != 1 {
			t.Errorf("result %d: message %q, %d locations", i, res.Message.Text, len(res.Locations))
			continue
		}
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI == "" || pl.Region == nil || pl.Region.StartLine != 1 {
			t.Errorf("result %d: location %+v lacks a uri or startLine", i, pl)
		}
		// Text and binary region properties must describe the same bytes
		// (SARIF §3.30.4); a line-1 region with byteOffset would not.
		if pl.Region != nil && pl.Region.ByteOffset != nil {
			t.Errorf("result %d: region mixes startLine with byteOffset", i)
		}
		if res.PartialFingerprints["primaryLocationLineHash"] == "" || res.PartialFingerprints["aigis/v1"] == "" {
			t.Errorf("result %d: partialFingerprints = %v", i, res.PartialFingerprints)
		}
		if d.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d is %s, not %s", i, res.RuleIndex, d.Rules[res.RuleIndex].ID, res.RuleID)
		}
	}
}

// TestSARIFSeverity: the level and security-severity GitHub sorts and
// labels alerts by.
func TestSARIFSeverity(t *testing.T) {
	doc := decodeSARIF(t, sampleReport())
	run := doc.Runs[0]
	type ruleSev struct {
		Level, Score string
	}
	rules := map[string]ruleSev{}
	for _, r := range run.Tool.Driver.Rules {
		s := "none"
		if r.Properties.SecuritySeverity != nil {
			s = *r.Properties.SecuritySeverity
		}
		rules[r.ID] = ruleSev{r.DefaultConfiguration.Level, s}
	}
	wantRules := map[string]ruleSev{
		"pickle-code-exec":        {"error", "9.8"},
		"pickle-file-access":      {"error", "8.0"},
		"pickle-unknown-callable": {"warning", "5.5"},
		"format-pickle":           {"note", "3.0"},
		"model-metadata":          {"note", "none"}, // advice is not a security alert
		"gguf-chat-template":      {"error", "8.0"},
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("rule level and security-severity (-want +got):\n%s", diff)
	}

	type resultSev struct {
		Rule, Level, Severity, Score string
	}
	var got []resultSev
	for _, r := range run.Results {
		got = append(got, resultSev{r.RuleID, r.Level, r.Properties.Severity, r.Properties.SecuritySeverity})
	}
	want := []resultSev{ // sorted by path, member, offset
		{"pickle-code-exec", "error", "critical", "9.8"},
		{"model-metadata", "note", "info", ""},
		{"format-pickle", "note", "low", "3.0"},
		{"pickle-code-exec", "error", "critical", "9.8"},
		{"pickle-file-access", "error", "high", "8.0"},
		{"pickle-code-exec", "error", "critical", "9.8"},
		{"pickle-unknown-callable", "warning", "medium", "5.5"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestSARIFRuleScoreFollowsFindings: GitHub labels an alert by its rule's
// security-severity, so a finding raised above its rule's default must
// raise the rule's score, not be shown lower than it is.
func TestSARIFRuleScoreFollowsFindings(t *testing.T) {
	r := emptyReport()
	r.Rules = []finding.Rule{ruleCustom}
	r.Findings = []finding.Finding{newFinding(ruleCustom, finding.Critical, "x.pkl", "", 1, "m", nil)}
	rule := decodeSARIF(t, r).Runs[0].Tool.Driver.Rules[0]
	if rule.Properties.SecuritySeverity == nil || *rule.Properties.SecuritySeverity != "9.8" {
		t.Errorf("security-severity = %v, want 9.8", rule.Properties.SecuritySeverity)
	}
	if rule.DefaultConfiguration.Level != "warning" {
		t.Errorf("defaultConfiguration.level = %q, want the rule's own warning", rule.DefaultConfiguration.Level)
	}
}

func TestSARIFUndeclaredRule(t *testing.T) {
	r := emptyReport()
	r.Findings = []finding.Finding{newFinding(ruleFile, finding.High, "x.pkl", "", 1, "m", nil)}
	run := decodeSARIF(t, r).Runs[0]
	rules := run.Tool.Driver.Rules
	if len(rules) != 1 || rules[0].ID != "pickle-file-access" || rules[0].ShortDescription.Text != ruleFile.Title {
		t.Fatalf("rules = %+v, want one made from the finding", rules)
	}
	if run.Results[0].RuleIndex != 0 {
		t.Errorf("ruleIndex = %d", run.Results[0].RuleIndex)
	}
}

// TestSARIFMember: a finding in a nested member names the member and the
// offset in the message GitHub shows, and keeps them as properties.
func TestSARIFMember(t *testing.T) {
	run := decodeSARIF(t, sampleReport()).Runs[0]
	res := run.Results[0] // bundle.tar, a.zip!b.npz!c.npy
	if res.Properties.Member != "a.zip!b.npz!c.npy" || res.Properties.Offset != 80 {
		t.Errorf("properties member %q offset %d", res.Properties.Member, res.Properties.Offset)
	}
	if !strings.HasSuffix(res.Message.Text, " (in a.zip!b.npz!c.npy at byte 80)") {
		t.Errorf("message %q does not name the member and offset", res.Message.Text)
	}
	if got := res.Locations[0].PhysicalLocation.ArtifactLocation; got.URI != "bundle.tar" || got.URIBaseID != "%SRCROOT%" {
		t.Errorf("location %+v, want the outer file bundle.tar", got)
	}
	if diff := cmp.Diff(map[string]string{"callable": "builtins.exec", "args": "'import os; …'"}, res.Properties.Evidence); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AML.T0011.000", "AML.T0010.003"}, res.Properties.ATLAS); diff != "" {
		t.Errorf("atlas (-want +got):\n%s", diff)
	}
}

// TestSARIFArtifactsAndNotifications: targets are listed with their
// hashes, locations point into that list, and incomplete work becomes a
// warning notification in a run that still counts as executed.
func TestSARIFArtifactsAndNotifications(t *testing.T) {
	run := decodeSARIF(t, sampleReport()).Runs[0]
	type art struct {
		URI, Base, SHA string
		Length         int64
	}
	var arts []art
	for _, a := range run.Artifacts {
		arts = append(arts, art{a.Location.URI, a.Location.URIBaseID, a.Hashes["sha-256"], a.Length})
	}
	want := []art{
		{"bundle.tar", "%SRCROOT%", strings.Repeat("cd", 32), 40960},
		{"clean/model.safetensors", "%SRCROOT%", strings.Repeat("ef", 32), 2048},
		{"m/model.pt", "%SRCROOT%", strings.Repeat("ab", 32), 1234},
	}
	if diff := cmp.Diff(want, arts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	for i, res := range run.Results {
		al := res.Locations[0].PhysicalLocation.ArtifactLocation
		if al.Index == nil || run.Artifacts[*al.Index].Location.URI != al.URI {
			t.Errorf("result %d: index %v does not point at %s", i, al.Index, al.URI)
		}
	}
	if len(run.Invocations) != 1 || !run.Invocations[0].ExecutionSuccessful {
		t.Fatalf("invocations = %+v", run.Invocations)
	}
	ns := run.Invocations[0].ToolExecutionNotifications
	if len(ns) != 1 {
		t.Fatalf("%d notifications, want 1", len(ns))
	}
	n := ns[0]
	if n.Level != "warning" || n.Message.Text != "scan incomplete: bundle.tar!a.zip!secret.zip: encrypted member: cannot be read without its password" {
		t.Errorf("notification = %s %q", n.Level, n.Message.Text)
	}
	if len(n.Locations) != 1 || n.Locations[0].PhysicalLocation.ArtifactLocation.URI != "bundle.tar" {
		t.Errorf("notification locations = %+v", n.Locations)
	}
}

// TestSARIFFingerprints: an alert keeps its identity when only the offset
// moves (a model re-saved) and gets a new one when what is called changes.
func TestSARIFFingerprints(t *testing.T) {
	base := newFinding(ruleExec, finding.Critical, "m/model.pt", "archive/data.pkl", 57,
		"posix.system('echo 1') is called at offset 57", map[string]string{"callable": "posix.system", "args": "'echo 1'"})
	noCallable := newFinding(ruleFile, finding.High, "m/model.pt", "", 4096, "limit hit after 4096 bytes at 0x1000", nil)
	with := func(f finding.Finding, change func(*finding.Finding)) finding.Finding {
		f.Evidence = map[string]string{}
		for k, v := range base.Evidence {
			f.Evidence[k] = v
		}
		change(&f)
		return f
	}
	tests := []struct {
		name string
		a, b finding.Finding
		same bool
	}{
		{"offset moves", base, with(base, func(f *finding.Finding) {
			f.Offset = 9999
			f.Message = "posix.system('echo 1') is called at offset 9999"
		}), true},
		{"arguments change", base, with(base, func(f *finding.Finding) { f.Evidence["args"] = "'echo 2'" }), true},
		{"severity changes", base, with(base, func(f *finding.Finding) { f.Severity = finding.High }), true},
		{"path spelled with ./", base, with(base, func(f *finding.Finding) { f.Path = "./m//model.pt" }), true},
		{"callable differs", base, with(base, func(f *finding.Finding) { f.Evidence["callable"] = "os.execv" }), false},
		{"member differs", base, with(base, func(f *finding.Finding) { f.Member = "archive/other.pkl" }), false},
		{"file differs", base, with(base, func(f *finding.Finding) { f.Path = "n/model.pt" }), false},
		{"rule differs", base, with(base, func(f *finding.Finding) { f.RuleID = "other" }), false},
		{"numbers in a message without callable", noCallable, func() finding.Finding {
			f := noCallable
			f.Offset, f.Message = 8192, "limit hit after 8192 bytes at 0x2000"
			return f
		}(), true},
		{"words in a message without callable", noCallable, func() finding.Finding {
			f := noCallable
			f.Message = "limit hit after 4096 entries at 0x1000"
			return f
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fpA := resultFingerprints(t, tt.a)
			fpB := resultFingerprints(t, tt.b)
			if same := cmp.Equal(fpA, fpB); same != tt.same {
				t.Errorf("fingerprints equal = %v, want %v\n a: %v\n b: %v", same, tt.same, fpA, fpB)
			}
		})
	}
}

func resultFingerprints(t *testing.T, f finding.Finding) map[string]string {
	t.Helper()
	r := emptyReport()
	r.Findings = []finding.Finding{f}
	return decodeSARIF(t, r).Runs[0].Results[0].PartialFingerprints
}

// TestSARIFFingerprintOccurrences: two calls of the same callable in one
// member are two alerts, numbered in offset order as CodeQL numbers
// repeated line hashes.
func TestSARIFFingerprintOccurrences(t *testing.T) {
	r := emptyReport()
	ev := map[string]string{"callable": "posix.system"}
	r.Findings = []finding.Finding{
		newFinding(ruleExec, finding.Critical, "x.pkl", "", 900, "second", ev),
		newFinding(ruleExec, finding.Critical, "x.pkl", "", 10, "first", ev),
	}
	res := decodeSARIF(t, r).Runs[0].Results
	a, b := res[0].PartialFingerprints, res[1].PartialFingerprints
	if a["aigis/v1"] != b["aigis/v1"] {
		t.Errorf("aigis/v1 differs for the same callable: %v %v", a, b)
	}
	if !strings.HasSuffix(a["primaryLocationLineHash"], ":1") || !strings.HasSuffix(b["primaryLocationLineHash"], ":2") ||
		a["primaryLocationLineHash"][:16] != b["primaryLocationLineHash"][:16] {
		t.Errorf("primaryLocationLineHash = %q, %q; want the same hash numbered :1 and :2", a["primaryLocationLineHash"], b["primaryLocationLineHash"])
	}
}

func TestArtifactLocation(t *testing.T) {
	tests := []struct {
		path, uri, base string
	}{
		{"m/model.pt", "m/model.pt", "%SRCROOT%"},
		{"./m//model.pt", "m/model.pt", "%SRCROOT%"},
		{"../up/model.pt", "../up/model.pt", "%SRCROOT%"},
		{"models/a b#1%.pt", "models/a%20b%231%25.pt", "%SRCROOT%"},
		{"dir/ü?.npy", "dir/%C3%BC%3F.npy", "%SRCROOT%"},
		{"a:b.pkl", "./a:b.pkl", "%SRCROOT%"},
		{"d/a:b.pkl", "d/a:b.pkl", "%SRCROOT%"},
		{"/abs/dir/x.pkl", "file:///abs/dir/x.pkl", ""},
		{"hf://org/model", "hf://org/model", ""},
	}
	if runtime.GOOS == "windows" {
		tests = append(tests, struct{ path, uri, base string }{`C:\models\x.pt`, "file:///C:/models/x.pt", ""},
			struct{ path, uri, base string }{`models\x.pt`, "models/x.pt", "%SRCROOT%"})
	}
	for _, tt := range tests {
		got := artifactLocation(filepath.FromSlash(tt.path))
		if tt.path == "hf://org/model" {
			got = artifactLocation(tt.path)
		}
		if got.URI != tt.uri || got.URIBaseID != tt.base {
			t.Errorf("artifactLocation(%q) = %q base %q, want %q base %q", tt.path, got.URI, got.URIBaseID, tt.uri, tt.base)
		}
	}
}

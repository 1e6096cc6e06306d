package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/finding"
)

// TestJSONRoundTrip: what scripts read back is what the scan found, sorted.
func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    *finding.Report
	}{
		{"sample", sampleReport()},
		{"empty", emptyReport()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := write(t, "json", tt.r, Options{})
			var got finding.Report
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decode: %v\n%s", err, out)
			}
			want := *tt.r
			want.Rules = nil // not part of the JSON report
			want.Sort()
			if want.Targets == nil {
				want.Targets = []finding.Target{}
			}
			if want.Findings == nil {
				want.Findings = []finding.Finding{}
			}
			for i := range want.Findings { // written as [], never null
				if want.Findings[i].ATLAS == nil {
					want.Findings[i].ATLAS = []string{}
				}
			}
			if want.Incomplete == nil {
				want.Incomplete = []finding.Incomplete{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONEmptyLists: consumers index these lists without a null check.
func TestJSONEmptyLists(t *testing.T) {
	r := &finding.Report{ // no schema version, no tool: filled in
		Findings: []finding.Finding{{RuleID: "x", Path: "p", Message: "m"}}, // ATLAS nil
	}
	var doc map[string]any
	if err := json.Unmarshal(write(t, "json", r, Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"targets", "incomplete"} {
		if v, ok := doc[key].([]any); !ok || len(v) != 0 {
			t.Errorf("%s = %#v, want []", key, doc[key])
		}
	}
	f := doc["findings"].([]any)[0].(map[string]any)
	if v, ok := f["atlas"].([]any); !ok || len(v) != 0 {
		t.Errorf("findings[0].atlas = %#v, want []", f["atlas"])
	}
	if doc["schema_version"] != finding.SchemaVersion {
		t.Errorf("schema_version = %v, want %q", doc["schema_version"], finding.SchemaVersion)
	}
	if name := doc["tool"].(map[string]any)["name"]; name != "aigis" {
		t.Errorf("tool.name = %v, want aigis", name)
	}

	empty := string(write(t, "json", emptyReport(), Options{}))
	for _, want := range []string{`"targets": []`, `"findings": []`, `"incomplete": []`} {
		if !strings.Contains(empty, want) {
			t.Errorf("empty report lacks %s:\n%s", want, empty)
		}
	}
}

// TestJSONLayout: the DESIGN.md shape, two-space indent, trailing newline,
// and Python quoted as written rather than as \u003c escapes.
func TestJSONLayout(t *testing.T) {
	r := emptyReport()
	r.Findings = []finding.Finding{newFinding(ruleExec, finding.Critical, "m.pkl", "", 9, "<lambda> & co", map[string]string{"callable": "builtins.eval"})}
	got := string(write(t, "json", r, Options{}))
	want := `{
  "schema_version": "1",
  "tool": {
    "name": "aigis",
    "version": "0.1.0"
  },
  "targets": [],
  "findings": [
    {
      "rule_id": "pickle-code-exec",
      "severity": "critical",
      "title": "Loading the file runs arbitrary code",
      "path": "m.pkl",
      "offset": 9,
      "message": "<lambda> & co",
      "evidence": {
        "callable": "builtins.eval"
      },
      "atlas": [
        "AML.T0011.000",
        "AML.T0010.003"
      ],
      "remediation": "Do not load this file. Ask the publisher for a safetensors copy, or load only the weights with torch.load(weights_only=True)."
    }
  ],
  "incomplete": []
}
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestRulesJSON(t *testing.T) {
	tests := []struct {
		name  string
		rules []finding.Rule
		want  []finding.Rule
	}{
		{"sample", sampleReport().Rules, sampleReport().Rules},
		{"empty", nil, []finding.Rule{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteRules(&buf, "json", tt.rules); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Rules []finding.Rule `json:"rules"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			// A rule without ATLAS ids is written with [], read back as [].
			for i := range tt.want {
				if tt.want[i].ATLAS == nil {
					tt.want[i].ATLAS = []string{}
				}
			}
			if diff := cmp.Diff(tt.want, got.Rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if strings.Contains(buf.String(), "null") || !strings.HasSuffix(buf.String(), "}\n") {
				t.Errorf("rules JSON has null or no trailing newline:\n%s", buf.String())
			}
		})
	}
}

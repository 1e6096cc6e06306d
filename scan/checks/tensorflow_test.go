package checks

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/tfgraph"
	"github.com/aigis-sec/aigis/format/tfgraph/tfgraphtest"
	"github.com/aigis-sec/aigis/format/tflite"
	"github.com/aigis-sec/aigis/format/tflite/tflitetest"
	"github.com/google/go-cmp/cmp"
)

func tfGraph(t *testing.T, data []byte) *tfgraph.Graph {
	t.Helper()
	g, err := tfgraph.Parse(bytes.NewReader(data), int64(len(data)), tfgraph.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// tfSummary is rule:severity:op for each finding, sorted.
func tfSummary(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		s := f.RuleID + ":" + f.Severity.String()
		if op := f.Evidence["op"]; op != "" {
			s += ":" + op
		} else if c := f.Evidence["custom_code"]; c != "" {
			s += ":" + c
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestCheckTFGraph(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"benign saved model", tfgraphtest.BenignSavedModel(), []string{"tf-model:info"}},
		{"frozen graph", tfgraphtest.FrozenGraph(), []string{"tf-model:info"}},
		{"malicious saved model", tfgraphtest.MaliciousSavedModel(), []string{
			"tf-debug-dump:high:DebugIdentity", "tf-file-access:high:PrintV2", "tf-file-access:high:ReadFile",
			"tf-file-access:high:WriteFile", "tf-model:info", "tf-python-op:critical:PyFunc",
		}},
		{"custom op and function call by name", tfgraphtest.SavedModel(tfgraphtest.MetaGraph("2.15.0", nil, tfgraphtest.GraphDef(
			[][]byte{tfgraphtest.Node("a", "ZeroOut"), tfgraphtest.Node("b", "my_fn"), tfgraphtest.Node("c", "ZeroOut")},
			tfgraphtest.Function("my_fn", tfgraphtest.Node("x", "Identity"))))),
			[]string{"tf-custom-op:medium:ZeroOut", "tf-model:info"}},
		{"checkpoint ops outside the saver", tfgraphtest.GraphDef([][]byte{
			tfgraphtest.Node("save/SaveV2", "SaveV2"), tfgraphtest.Node("evil", "RestoreV2"),
		}), []string{"tf-file-access:medium:RestoreV2", "tf-model:info"}},
		{"debug op without URL, URL elsewhere", tfgraphtest.GraphDef([][]byte{
			tfgraphtest.Node("d", "DebugIdentityV2"),
			tfgraphtest.Node("s", "StringJoin", tfgraphtest.AttrS("separator", "grpc://evil.example:80")),
		}), []string{"tf-debug-dump:medium:DebugIdentityV2", "tf-model:info", "tf-network:medium:StringJoin"}},
		{"PrintV2 to stderr is fine", tfgraphtest.GraphDef([][]byte{
			tfgraphtest.Node("p", "PrintV2", tfgraphtest.AttrS("output_stream", "stderr")),
		}), []string{"tf-model:info"}},
		{"internal and fused ops", tfgraphtest.GraphDef([][]byte{
			tfgraphtest.Node("a", "_FusedConv2D"), tfgraphtest.Node("b", "_MklMatMul"), tfgraphtest.Node("c", "_Arg"),
		}), []string{"tf-model:info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CheckTFGraph(finding.Location{Path: "m/saved_model.pb"}, tfGraph(t, tt.data))
			if d := cmp.Diff(tt.want, tfSummary(fs)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			for _, f := range fs {
				if f.Path != "m/saved_model.pb" || len(f.ATLAS) == 0 || f.Remediation == "" || f.Message == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

func TestCheckTFGraphEvidence(t *testing.T) {
	fs := CheckTFGraph(finding.Location{Path: "saved_model.pb"}, tfGraph(t, tfgraphtest.MaliciousSavedModel()))
	for _, f := range fs {
		switch f.Evidence["op"] {
		case "PyFunc":
			if f.Evidence["token"] != "pyfunc_0" || f.Evidence["function"] != "__inference_payload_7" ||
				!strings.Contains(f.Message, "Loading alone does not run it") || f.Offset == 0 {
				t.Errorf("PyFunc finding %+v", f)
			}
		case "DebugIdentity":
			if !strings.Contains(f.Evidence["urls"], "file:///tmp/tfdbg_dump") {
				t.Errorf("DebugIdentity finding %+v", f)
			}
		case "PrintV2":
			if !strings.Contains(f.Message, "file:///root/.bashrc") {
				t.Errorf("PrintV2 finding %+v", f)
			}
		}
	}
}

func TestCheckTFLite(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"builtin only", tflitetest.BenignModel(), []string{"tflite-model:info"}},
		{"custom op", tflitetest.CustomModel(), []string{"tflite-custom-op:medium:Evil", "tflite-model:info"}},
		{"flex ops", tflitetest.FlexModel(), []string{"tf-file-access:high:ReadFile", "tflite-model:info"}},
		{"unknown flex op", tflitetest.Model([]*tflitetest.Table{tflitetest.OpCode(tflitetest.Custom, "FlexZeroOut", 1)}, 0),
			[]string{"tflite-custom-op:medium:FlexZeroOut", "tflite-model:info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tflite.Parse(bytes.NewReader(tt.data), int64(len(tt.data)), tflite.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			fs := CheckTFLite(finding.Location{Path: "model.tflite"}, m)
			if d := cmp.Diff(tt.want, tfSummary(fs)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckKerasMetadata(t *testing.T) {
	data := tfgraphtest.KerasMetadataFile(`{"class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": null, "closure": null}}}}`)
	km, err := tfgraph.ParseKerasMetadata(bytes.NewReader(data), int64(len(data)), tfgraph.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	fs := CheckKerasMetadata(finding.Location{Path: "m/keras_metadata.pb"}, km)
	if len(fs) == 0 {
		t.Fatal("no finding for a Lambda layer in keras_metadata.pb")
	}
	for _, f := range fs {
		if f.Severity < finding.High {
			continue
		}
		return
	}
	t.Errorf("no high finding: %v", tfSummary(fs))
}

// The committed fixtures: benign ones are clean at the default gate,
// malicious ones are not.
func TestTensorFlowFixtures(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "tensorflow")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	if len(files) == 0 {
		t.Skip("no fixtures")
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var fs []finding.Finding
		loc := finding.Location{Path: name}
		switch {
		case tflite.Sniff(data):
			m, err := tflite.Parse(bytes.NewReader(data), int64(len(data)), tflite.DefaultLimits())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fs = CheckTFLite(loc, m)
		case filepath.Base(name) == "keras_metadata.pb":
			km, err := tfgraph.ParseKerasMetadata(bytes.NewReader(data), int64(len(data)), tfgraph.DefaultLimits())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fs = CheckKerasMetadata(loc, km)
		case strings.HasSuffix(name, ".pb"):
			g, err := tfgraph.Parse(bytes.NewReader(data), int64(len(data)), tfgraph.DefaultLimits())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fs = CheckTFGraph(loc, g)
		default:
			continue
		}
		worst := finding.Info
		for _, f := range fs {
			worst = max(worst, f.Severity)
		}
		malicious := filepath.Base(filepath.Dir(name)) == "malicious"
		if malicious != (worst >= finding.Medium) {
			t.Errorf("%s: worst severity %v: %v", name, worst, tfSummary(fs))
		}
	}
}

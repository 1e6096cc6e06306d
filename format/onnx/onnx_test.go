package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const fixtures = "../../testdata/onnx"

func parseFile(t *testing.T, name string) *Model {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(f, st.Size(), DefaultLimits())
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	data, _ := os.ReadFile(filepath.Join(fixtures, name))
	if !Sniff(data) {
		t.Errorf("Sniff(%s) = false", name)
	}
	// The stream parser sees the same model.
	m2, err := ParseReader(bytes.NewReader(data), DefaultLimits())
	if err != nil {
		t.Fatalf("ParseReader(%s): %v", name, err)
	}
	if d := cmp.Diff(m, m2); d != "" {
		t.Errorf("ParseReader(%s) differs from Parse (-at +stream):\n%s", name, d)
	}
	return m
}

// opsOf lists the operators as "domain:type@graph".
func opsOf(m *Model) []string {
	var out []string
	for _, op := range m.Ops {
		out = append(out, op.Domain+":"+op.Type+"@"+op.Graph)
	}
	return out
}

func TestFixtures(t *testing.T) {
	ignore := cmpopts.IgnoreFields(External{}, "At")
	tests := []struct {
		file     string
		ops      []string
		nodes    int
		inits    int
		graphs   int
		domains  []string
		external []External
		funcs    []string
	}{
		{file: "benign/add_matmul.onnx", ops: []string{":MatMul@graph", ":Add@graph"}, nodes: 2, inits: 2, graphs: 1, domains: []string{""}},
		{
			file: "benign/if_branches.onnx",
			// make_node writes attributes sorted by name: else before then.
			ops: []string{":Constant@graph/cond.else_branch", ":Sigmoid@graph/cond.else_branch",
				":Relu@graph/cond.then_branch", ":If@graph"},
			nodes: 5, graphs: 3, domains: []string{""},
		},
		{
			file: "benign/function.onnx", ops: []string{"custom.fn:AddTwice@graph", ":Add@function custom.fn.AddTwice"},
			nodes: 3, graphs: 2, domains: []string{"", "custom.fn"}, funcs: []string{"custom.fn.AddTwice"},
		},
		{
			file: "external_ok/model.onnx", ops: []string{":MatMul@graph", ":Add@graph"}, nodes: 2, inits: 2, graphs: 1, domains: []string{""},
			external: []External{
				{Tensor: "W", Location: "weights.bin", Offset: 32, Length: 24, Declared: true, Graph: "graph"},
				{Tensor: "B", Location: "weights.bin", Offset: 56, Length: 8, Declared: true, Graph: "graph"},
			},
		},
		{
			file: "malicious/external_parent.onnx", ops: []string{":MatMul@graph", ":Add@graph"}, nodes: 2, inits: 2, graphs: 1, domains: []string{""},
			external: []External{{Tensor: "W", Location: "../../etc/passwd", Offset: 0, Length: 24, Declared: true, Graph: "graph"}},
		},
		{
			file: "malicious/external_absolute.onnx", ops: []string{":MatMul@graph", ":Add@graph"}, nodes: 2, inits: 2, graphs: 1, domains: []string{""},
			external: []External{{Tensor: "W", Location: "/etc/passwd", Offset: 0, Length: 24, Declared: true, Graph: "graph"}},
		},
		{
			file: "malicious/external_nested.onnx", ops: []string{":MatMul@graph", ":Add@graph"}, nodes: 2, inits: 2, graphs: 1, domains: []string{""},
			external: []External{{Tensor: "W", Location: "subdir/../../x", Offset: 0, Length: 24, Declared: true, Graph: "graph"}},
		},
		{file: "malicious/custom_domain.onnx", ops: []string{"com.evil:Backdoor@graph"}, nodes: 1, graphs: 1, domains: []string{"com.evil"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := parseFile(t, tt.file)
			if m.IRVersion < 3 || m.Producer != "aigis-gen" || len(m.Opsets) == 0 {
				t.Errorf("header: ir %d producer %q opsets %v", m.IRVersion, m.Producer, m.Opsets)
			}
			if d := cmp.Diff(tt.ops, opsOf(m)); d != "" {
				t.Errorf("ops (-want +got):\n%s", d)
			}
			if m.Nodes != tt.nodes || m.Initializers != tt.inits || m.Graphs != tt.graphs {
				t.Errorf("nodes %d inits %d graphs %d, want %d %d %d", m.Nodes, m.Initializers, m.Graphs, tt.nodes, tt.inits, tt.graphs)
			}
			if d := cmp.Diff(tt.domains, m.Domains); d != "" {
				t.Errorf("domains (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.external, m.ExternalData, ignore, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("external data (-want +got):\n%s", d)
			}
			var funcs []string
			for _, f := range m.Functions {
				funcs = append(funcs, f.Domain+"."+f.Name)
			}
			if d := cmp.Diff(tt.funcs, funcs); d != "" {
				t.Errorf("functions (-want +got):\n%s", d)
			}
		})
	}
}

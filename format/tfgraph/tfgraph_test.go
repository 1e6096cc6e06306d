package tfgraph

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	tb "github.com/aigis-sec/aigis/format/tfgraph/tfgraphtest"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
)

func parse(data []byte, lim Limits) (*Graph, error) {
	return Parse(bytes.NewReader(data), int64(len(data)), lim)
}

// opSummary is Name[@Function][×Count] for each op, for compact comparisons.
func opSummary(g *Graph) []string {
	var out []string
	for _, o := range g.Ops {
		s := o.Name
		if o.Function != "" {
			s += "@" + o.Function
		}
		if o.Count != 1 {
			s += fmt.Sprintf("×%d", o.Count)
		}
		out = append(out, s)
	}
	return out
}

func TestBenignSavedModel(t *testing.T) {
	data := tb.BenignSavedModel()
	if !SniffSavedModel(data) {
		t.Fatal("SniffSavedModel = false")
	}
	g, err := parse(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != KindSavedModel || g.SchemaVersion != 1 || g.MetaGraphs != 1 || g.TFVersion != "2.15.0" {
		t.Errorf("header = %v %d %d %q", g.Kind, g.SchemaVersion, g.MetaGraphs, g.TFVersion)
	}
	if d := cmp.Diff([]string{"serve"}, g.Tags); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}
	want := []string{
		"VarHandleOp×2", "Placeholder×2", "Const", "StatefulPartitionedCall×3",
		"ReadVariableOp@__inference_call_142×2", "MatMul@__inference_call_142", "Add@__inference_call_142",
		"Relu@__inference_call_142", "Identity@__inference_call_142",
		"StringJoin@__inference__traced_save_201", "ShardedFilename@__inference__traced_save_201",
		"SaveV2@__inference__traced_save_201", "MergeV2Checkpoints@__inference__traced_save_201",
		"Identity@__inference__traced_save_201",
		"RestoreV2@__inference__traced_restore_230", "AssignVariableOp@__inference__traced_restore_230",
		"NoOp@__inference__traced_restore_230",
	}
	if d := cmp.Diff(want, opSummary(g)); d != "" {
		t.Errorf("ops (-want +got):\n%s", d)
	}
	if g.Nodes != 22 || g.Functions != 3 || len(g.URLs) != 0 {
		t.Errorf("nodes %d functions %d urls %v", g.Nodes, g.Functions, g.URLs)
	}
	if d := cmp.Diff([]string{"__inference_call_142", "__inference__traced_save_201", "__inference__traced_restore_230"}, g.FunctionNames); d != "" {
		t.Errorf("function names (-want +got):\n%s", d)
	}
	// The first StatefulPartitionedCall keeps its function reference.
	for _, o := range g.Ops {
		if o.Name == "StatefulPartitionedCall" && o.Attrs["f"] != "__inference_call_142" {
			t.Errorf("StatefulPartitionedCall attrs = %q", o.Attrs)
		}
	}
}

func TestMaliciousSavedModel(t *testing.T) {
	g, err := parse(tb.MaliciousSavedModel(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Const", "ReadFile", "WriteFile", "DebugIdentity", "PrintV2", "StatefulPartitionedCall",
		"PyFunc@__inference_payload_7", "Identity@__inference_payload_7"}
	if d := cmp.Diff(want, opSummary(g)); d != "" {
		t.Errorf("ops (-want +got):\n%s", d)
	}
	for _, o := range g.Ops {
		if o.Name == "PyFunc" && (o.Attrs["token"] != "pyfunc_0" || o.Node != "PyFunc") {
			t.Errorf("PyFunc = %+v", o)
		}
	}
	wantURLs := []URL{
		{Op: "DebugIdentity", Node: "dump", Attr: "debug_urls", Value: "file:///tmp/tfdbg_dump"},
		{Op: "PrintV2", Node: "print", Attr: "output_stream", Value: "file:///root/.bashrc"},
	}
	if d := cmp.Diff(wantURLs, g.URLs, cmpIgnoreOffset); d != "" {
		t.Errorf("urls (-want +got):\n%s", d)
	}
}

var cmpIgnoreOffset = cmp.Comparer(func(a, b URL) bool { a.Offset, b.Offset = 0, 0; return a == b })

func TestFrozenGraph(t *testing.T) {
	data := tb.FrozenGraph()
	if SniffSavedModel(data) || !SniffGraphDef(data) {
		t.Fatal("sniffers disagree on a frozen graph")
	}
	g, err := parse(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != KindGraphDef || g.Nodes != 4 {
		t.Errorf("kind %v nodes %d", g.Kind, g.Nodes)
	}
	if d := cmp.Diff([]string{"Placeholder", "Const", "MatMul", "Softmax"}, opSummary(g)); d != "" {
		t.Errorf("ops (-want +got):\n%s", d)
	}
}

func TestKerasMetadata(t *testing.T) {
	lambda := `{"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__"}}}`
	data := tb.KerasMetadataFile(lambda)
	km, err := ParseKerasMetadata(bytes.NewReader(data), int64(len(data)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(km.Objects) != 2 || km.Objects[1].Metadata != lambda || km.Objects[1].Path != "root.layer-0" ||
		km.Objects[1].Identifier != "_tf_keras_layer" || km.Objects[1].NodeID != 1 {
		t.Errorf("objects = %+v", km.Objects)
	}
	lim := DefaultLimits()
	lim.MaxMetadataBytes = 10
	if _, err := ParseKerasMetadata(bytes.NewReader(data), int64(len(data)), lim); !isLimit(err) {
		t.Errorf("metadata over the limit: err = %v", err)
	}
}

func isLimit(err error) bool { _, ok := safeio.IsLimit(err); return ok }

func TestHostile(t *testing.T) {
	node := func(op string) []byte { return tb.Bytes(1, tb.Node("n", op)) }
	deepGroup := func(n int) []byte {
		var b []byte
		for range n {
			b = append(b, tb.Tag(9, 3)...)
		}
		for range n {
			b = append(b, tb.Tag(9, 4)...)
		}
		return append(b, node("Add")...)
	}
	tests := []struct {
		name      string
		data      []byte
		malformed bool
		limit     bool
	}{
		{"empty", nil, true, false},
		{"truncated varint", []byte{0x08, 0x80}, true, false},
		{"varint too long", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 11)...), true, false},
		{"length past EOF", []byte{0x08, 0x01, 0x12, 0x7f, 0x0a}, true, false},
		{"nested length past parent", tb.SavedModel(append(tb.Tag(2, 2), 0x7f)), true, false},
		{"node without op", tb.Bytes(1, tb.Str(1, "n")), true, false},
		{"op not an identifier", node("ev il\x00"), true, false},
		{"field number zero", []byte{0x02, 0x00}, true, false},
		{"bad wire type", []byte{0x0e}, true, false},
		{"groups 100 deep", deepGroup(100), false, false},
		{"groups 101 deep", deepGroup(101), true, false},
		{"unbalanced group", append(tb.Tag(9, 3), tb.Tag(8, 4)...), true, false},
		{"huge op name", node(strings.Repeat("A", 70<<10)), false, true},
		{"too many nodes", bytes.Repeat(node("Add"), 101), false, true},
		{"too many distinct", func() []byte {
			var b []byte
			for i := range 51 {
				b = append(b, node(fmt.Sprintf("Op%d", i))...)
			}
			return b
		}(), false, true},
	}
	lim := DefaultLimits()
	lim.MaxNodes, lim.MaxDistinct = 100, 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := parse(tt.data, lim)
			if g == nil {
				t.Fatal("nil graph")
			}
			if got := errors.Is(err, ErrMalformed); got != tt.malformed {
				t.Errorf("malformed = %v, err %v", got, err)
			}
			if got := isLimit(err); got != tt.limit {
				t.Errorf("limit = %v, err %v", got, err)
			}
		})
	}
}

func TestConstSkipped(t *testing.T) {
	// A Const of 8 MiB is skipped by offset: parsing reads a few windows.
	data := tb.SavedModel(tb.MetaGraph("2.15.0", nil, tb.GraphDef([][]byte{tb.Node("w", "Const", tb.AttrTensor("value", 8<<20))})))
	r := &countingReader{r: bytes.NewReader(data)}
	g, err := Parse(r, int64(len(data)), DefaultLimits())
	if err != nil || g.Nodes != 1 {
		t.Fatalf("nodes %d err %v", g.Nodes, err)
	}
	if r.n > 1<<20 {
		t.Errorf("read %d bytes of an 8 MiB file", r.n)
	}
}

type countingReader struct {
	r interface {
		ReadAt([]byte, int64) (int, error)
	}
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name      string
		head      []byte
		saved, gd bool
	}{
		{"saved model", tb.BenignSavedModel(), true, false},
		{"frozen graph", tb.FrozenGraph(), false, true},
		{"onnx-like", []byte{0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h'}, false, false},
		{"zip", []byte("PK\x03\x04rest"), false, false},
		{"text", []byte("hello world"), false, false},
		{"binary node name", []byte{0x0a, 0x05, 0x0a, 0x03, 0x00, 0x01, 0x02}, false, false},
	}
	for _, tt := range tests {
		if got := SniffSavedModel(tt.head); got != tt.saved {
			t.Errorf("%s: SniffSavedModel = %v", tt.name, got)
		}
		if got := SniffGraphDef(tt.head); got != tt.gd {
			t.Errorf("%s: SniffGraphDef = %v", tt.name, got)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate([]byte("héllo"), 2); got != "h" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate([]byte{0xff, 'a'}, 10); got != "\uFFFDa" {
		t.Errorf("truncate = %q", got)
	}
}

package tfgraph

import (
	"bytes"
	"fmt"
	"testing"

	tb "github.com/aigis-sec/aigis/format/tfgraph/tfgraphtest"
)

// BenchmarkParse100kNodes parses a SavedModel of 100,000 nodes spread over
// a main graph and 100 functions, with a 1 KiB Const every 100 nodes.
func BenchmarkParse100kNodes(b *testing.B) {
	ops := []string{"MatMul", "Add", "Relu", "ReadVariableOp", "Identity", "BiasAdd", "Conv2D", "Reshape"}
	var main [][]byte
	var funcs [][]byte
	for f := range 100 {
		var nodes [][]byte
		for i := range 990 {
			nodes = append(nodes, tb.Node(fmt.Sprintf("layer_%d/op_%d", f, i), ops[i%len(ops)], tb.AttrType("T", 1)))
			if i%100 == 0 {
				nodes = append(nodes, tb.Node(fmt.Sprintf("layer_%d/w_%d", f, i), "Const", tb.AttrTensor("value", 1024)))
			}
		}
		funcs = append(funcs, tb.Function(fmt.Sprintf("__inference_fn_%d", f), nodes...))
		main = append(main, tb.Node(fmt.Sprintf("call_%d", f), "StatefulPartitionedCall", tb.AttrFunc("f", fmt.Sprintf("__inference_fn_%d", f))))
	}
	data := tb.SavedModel(tb.MetaGraph("2.15.0", []string{"serve"}, tb.GraphDef(main, funcs...)))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g, err := Parse(bytes.NewReader(data), int64(len(data)), DefaultLimits())
		if err != nil || g.Nodes != 100_100 {
			b.Fatalf("nodes %d err %v", g.Nodes, err)
		}
	}
}

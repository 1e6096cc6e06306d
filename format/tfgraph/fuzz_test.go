package tfgraph

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	tb "github.com/aigis-sec/aigis/format/tfgraph/tfgraphtest"
)

// FuzzParse checks Parse and ParseKerasMetadata on any input: no panic, a
// result with every error, errors that are malformed input or a limit,
// and counts within the limits.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tensorflow", "*", "*.pb"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(tb.BenignSavedModel())
	f.Add(tb.MaliciousSavedModel())
	f.Add(tb.FrozenGraph())
	f.Add(tb.KerasMetadataFile(`{"class_name": "Dense"}`))
	f.Add([]byte{0x08, 0x80})

	lim := DefaultLimits()
	lim.MaxNodes, lim.MaxFunctions, lim.MaxDistinct = 1000, 100, 100
	lim.MaxStringBytes, lim.MaxMetadataBytes, lim.MaxKerasObjects = 1024, 4096, 100
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := parse(data, lim)
		if g == nil {
			t.Fatalf("nil graph, err %v", err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !isLimit(err) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if g.Nodes > lim.MaxNodes || g.Functions > lim.MaxFunctions || len(g.Ops) > lim.MaxDistinct || len(g.URLs) > lim.MaxDistinct {
			t.Fatalf("limits exceeded: %d nodes, %d functions, %d ops, %d urls", g.Nodes, g.Functions, len(g.Ops), len(g.URLs))
		}
		sum := 0
		for _, o := range g.Ops {
			if o.Count < 1 || o.Offset < 0 || o.Offset >= int64(len(data)) || o.Name == "" ||
				int64(len(o.Name)) > lim.MaxStringBytes || len(o.Node) > displayMax+2 || len(o.Attrs) > maxAttrKept {
				t.Fatalf("bad op %+v", o)
			}
			sum += o.Count
		}
		if sum > g.Nodes {
			t.Fatalf("%d operator uses in %d nodes", sum, g.Nodes)
		}
		for _, u := range g.URLs {
			if !bytes.Contains([]byte(u.Value), []byte("://")) && len(u.Value) < urlMax-3 {
				t.Fatalf("URL without scheme: %+v", u)
			}
		}
		km, err := ParseKerasMetadata(bytes.NewReader(data), int64(len(data)), lim)
		if km == nil {
			t.Fatalf("nil metadata, err %v", err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !isLimit(err) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if len(km.Objects) > lim.MaxKerasObjects {
			t.Fatalf("%d objects", len(km.Objects))
		}
		for _, o := range km.Objects {
			if int64(len(o.Metadata)) > 3*lim.MaxMetadataBytes {
				t.Fatalf("metadata of %d bytes", len(o.Metadata))
			}
		}
	})
}

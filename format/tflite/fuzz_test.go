package tflite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	tt "github.com/aigis-sec/aigis/format/tflite/tflitetest"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// FuzzParse checks Parse on any input: no panic, a model with every
// result, errors that are malformed input or a limit, and counts that
// agree with each other and with the limits.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tensorflow", "*", "*.tflite"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(tt.BenignModel())
	f.Add(tt.CustomModel())
	f.Add(tt.FlexModel())
	lim := DefaultLimits()
	lim.MaxOperators, lim.MaxOperatorCodes, lim.MaxSubgraphs, lim.MaxStringBytes = 1000, 100, 100, 1024
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseBytes(data, lim)
		if m == nil {
			t.Fatalf("nil model, err %v", err)
		}
		if _, ok := safeio.IsLimit(err); err != nil && !ok && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if m.Operators > lim.MaxOperators || len(m.OperatorCodes) > lim.MaxOperatorCodes || m.Subgraphs > lim.MaxSubgraphs {
			t.Fatalf("limits exceeded: %+v", m)
		}
		uses := 0
		for _, c := range m.OperatorCodes {
			uses += c.Uses
			if int64(len(c.Custom)) > 3*lim.MaxStringBytes || c.Offset <= 0 || c.Offset >= int64(len(data)) {
				t.Fatalf("bad code %+v", c)
			}
		}
		if uses != m.Operators {
			t.Fatalf("%d uses for %d operators", uses, m.Operators)
		}
	})
}

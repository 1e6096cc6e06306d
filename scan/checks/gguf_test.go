package checks

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/gguf"
	"github.com/google/go-cmp/cmp"
)

// ggufFile writes a GGUF v3 file with one string pair, one uint32 pair
// (general.alignment) and one F32 tensor of n elements at offset off,
// followed by data bytes.
func ggufFile(alignment uint32, n, off uint64, data int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	u32 := func(v uint32) { binary.Write(&b, le, v) }
	u64 := func(v uint64) { binary.Write(&b, le, v) }
	str := func(s string) { u64(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	u32(3)
	u64(1) // tensors
	u64(3) // pairs
	str("general.architecture")
	u32(uint32(gguf.TypeString))
	str("llama")
	str("general.alignment")
	u32(uint32(gguf.TypeUint32))
	u32(alignment)
	str(gguf.ChatTemplateKey)
	u32(uint32(gguf.TypeString))
	str("{{ messages }}")
	str("w")
	u32(1)
	u64(n)
	u32(0) // F32
	u64(off)
	for b.Len()%32 != 0 {
		b.WriteByte(0)
	}
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestCheckGGUF(t *testing.T) {
	loc := finding.Location{Path: "m/model.gguf"}
	for _, tc := range []struct {
		name string
		data []byte
		want map[string]int
	}{
		{"clean", ggufFile(32, 8, 0, 32), map[string]int{"gguf-inventory": 1}},
		{"alignment 0", ggufFile(0, 8, 0, 32), map[string]int{"gguf-malformed": 1, "gguf-inventory": 1}},
		{"past EOF", ggufFile(32, 1<<20, 0, 32), map[string]int{"gguf-malformed": 1, "gguf-inventory": 1}},
		{"offset overflow", ggufFile(32, 8, 1<<64-32, 32), map[string]int{"gguf-malformed": 1, "gguf-inventory": 1}},
		{"trailing bytes", ggufFile(32, 8, 0, 4096), map[string]int{"gguf-anomaly": 1, "gguf-inventory": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := gguf.Parse(bytes.NewReader(tc.data), int64(len(tc.data)), gguf.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			got := CheckGGUF(loc, f)
			if diff := cmp.Diff(tc.want, ruleCounts(got)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\n%+v", diff, got)
			}
			inv := got[len(got)-1]
			if inv.Evidence["general.architecture"] != "llama" || inv.Evidence["chat_templates"] != "1" || inv.Evidence["parameters"] == "" {
				t.Errorf("inventory %+v", inv)
			}
		})
	}
}

func TestModelCheckersReadTheArtifact(t *testing.T) {
	data := ggufFile(0, 8, 0, 32)
	f, err := gguf.Parse(bytes.NewReader(data), int64(len(data)), gguf.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var c Checker = GGUFChecker{}
	if !c.Accepts(KindGGUF) || c.Accepts(KindSafetensors) {
		t.Error("GGUFChecker accepts the wrong kinds")
	}
	if got := ruleCounts(c.Check(&Artifact{Kind: KindGGUF, Model: f})); got["gguf-malformed"] != 1 {
		t.Errorf("GGUFChecker.Check: %v", got)
	}
	// A wrong model is ignored, not a panic.
	if got := (SafetensorsChecker{}).Check(&Artifact{Kind: KindSafetensors, Model: f}); got != nil {
		t.Errorf("SafetensorsChecker on a GGUF model: %v", got)
	}
}

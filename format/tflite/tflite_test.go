package tflite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	tt "github.com/aigis-sec/aigis/format/tflite/tflitetest"
	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func parseBytes(data []byte, lim Limits) (*Model, error) {
	return Parse(bytes.NewReader(data), int64(len(data)), lim)
}

var ignoreOffset = cmpopts.IgnoreFields(OpCode{}, "Offset")

func TestBenign(t *testing.T) {
	data := tt.BenignModel()
	if !Sniff(data) {
		t.Fatal("Sniff = false")
	}
	m, err := parseBytes(data, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := &Model{
		Version: 3, Description: "MLIR Converted.", Subgraphs: 1, Operators: 7,
		OperatorCodes: []OpCode{
			{Builtin: tt.Conv2D, Version: 1, Uses: 2}, {Builtin: tt.FullyConnected, Version: 9, Uses: 1},
			{Builtin: tt.Relu, Version: 1, Uses: 2}, {Builtin: tt.Softmax, Version: 1, Uses: 1},
			{Builtin: tt.BroadcastTo, Version: 2, Uses: 1},
		},
	}
	if d := cmp.Diff(want, m, ignoreOffset); d != "" {
		t.Errorf("model (-want +got):\n%s", d)
	}
}

func TestCustom(t *testing.T) {
	m, err := parseBytes(tt.CustomModel(), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"Evil"}, m.CustomOps); d != "" {
		t.Errorf("custom ops (-want +got):\n%s", d)
	}
	if m.OperatorCodes[1].Uses != 1 || m.OperatorCodes[1].Custom != "Evil" || m.OperatorCodes[1].Builtin != BuiltinCustom {
		t.Errorf("codes = %+v", m.OperatorCodes)
	}
	m, err = parseBytes(tt.FlexModel(), DefaultLimits())
	if err != nil || !cmp.Equal(m.CustomOps, []string{"FlexReadFile", "FlexMatMul"}) {
		t.Errorf("flex: %v %v", m.CustomOps, err)
	}
}

// A custom_code on a builtin code is not a custom operator: the
// interpreter ignores it.
func TestCustomCodeOnBuiltin(t *testing.T) {
	m, err := parseBytes(tt.Model([]*tt.Table{tt.OpCode(tt.Add, "Decoy", 1)}, 0), DefaultLimits())
	if err != nil || len(m.CustomOps) != 0 || m.OperatorCodes[0].Custom != "Decoy" {
		t.Errorf("model %+v err %v", m, err)
	}
}

func le32(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func TestHostile(t *testing.T) {
	good := tt.CustomModel()
	root := int(binary.LittleEndian.Uint32(good))
	// Find the vtable of the root table to corrupt it.
	vt := root - int(int32(binary.LittleEndian.Uint32(good[root:])))
	opcodesSlot := root + 8 // field 1 of the builder's layout
	opcodesVec := opcodesSlot + int(binary.LittleEndian.Uint32(good[opcodesSlot:]))
	subSlot := root + 12
	subVec := subSlot + int(binary.LittleEndian.Uint32(good[subSlot:]))

	tests := []struct {
		name      string
		data      []byte
		malformed bool
		limit     bool
	}{
		{"empty", nil, true, false},
		{"short", []byte("\x08\x00\x00\x00TFL3"), true, false},
		{"root past EOF", le32(good, 0, 1<<30), true, false},
		{"root at end", le32(good, 0, uint32(len(good)-2)), true, false},
		{"vtable negative", le32(good, root, uint32(root+100)), true, false},
		{"vtable past EOF", le32(good, root, 0x80000000), true, false},
		{"vtable length odd", func() []byte { c := bytes.Clone(good); c[vt] = 5; return c }(), true, false},
		{"vtable huge", func() []byte { c := bytes.Clone(good); c[vt], c[vt+1] = 0xff, 0xff; return c }(), true, false},
		{"field past table", func() []byte { c := bytes.Clone(good); c[vt+6] = 0xf0; return c }(), true, false},
		{"opcodes vector huge", le32(good, opcodesVec, 0xffffffff), true, false},
		{"subgraphs vector huge", le32(good, subVec, 1<<28), true, false},
		{"opcodes offset past EOF", le32(good, opcodesSlot, 0x7fffffff), true, false},
		{"opcode index out of range", tt.Model([]*tt.Table{tt.OpCode(tt.Add, "", 1)}, 0, 5), true, false},
		{"vtable is the table itself", le32(good, root, 0), true, false},
		{"too many operators", tt.Model([]*tt.Table{tt.OpCode(tt.Add, "", 1)}, make([]uint32, 101)...), false, true},
		{"custom name too long", tt.Model([]*tt.Table{tt.OpCode(tt.Custom, string(make([]byte, 2000)), 1)}), false, true},
	}
	lim := DefaultLimits()
	lim.MaxOperators, lim.MaxStringBytes = 100, 1024
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseBytes(tc.data, lim)
			if m == nil {
				t.Fatal("nil model")
			}
			if got := errors.Is(err, ErrMalformed); got != tc.malformed {
				t.Errorf("malformed = %v, err %v", got, err)
			}
			_, isLimit := safeio.IsLimit(err)
			if isLimit != tc.limit {
				t.Errorf("limit = %v, err %v", isLimit, err)
			}
		})
	}
}

// A table whose vtable is the table itself, and operators that all point
// at one table, are read once per reference: no loop, bounded work.
func TestSharedAndSelfReferences(t *testing.T) {
	data := tt.Model([]*tt.Table{tt.OpCode(tt.Add, "", 1)}, 0, 0, 0, 0)
	r := int(binary.LittleEndian.Uint32(data))
	s := r + 12
	sv := s + int(binary.LittleEndian.Uint32(data[s:]))
	sub := sv + 4 + int(binary.LittleEndian.Uint32(data[sv+4:]))
	svt := sub - int(int32(binary.LittleEndian.Uint32(data[sub:])))
	opsSlot := sub + int(binary.LittleEndian.Uint16(data[svt+4+2*3:]))
	ops := opsSlot + int(binary.LittleEndian.Uint32(data[opsSlot:]))
	// Point operators 1..3 at operator 0's table.
	first := ops + 4 + int(binary.LittleEndian.Uint32(data[ops+4:]))
	for i := 1; i < 4; i++ {
		slot := ops + 4 + 4*i
		binary.LittleEndian.PutUint32(data[slot:], uint32(first-slot))
	}
	m, err := parseBytes(data, DefaultLimits())
	if err != nil || m.Operators != 4 || m.OperatorCodes[0].Uses != 4 {
		t.Errorf("operators %d err %v", m.Operators, err)
	}
}

func TestSniff(t *testing.T) {
	if !Sniff(tt.BenignModel()) {
		t.Error("benign model not sniffed")
	}
	for _, head := range [][]byte{nil, []byte("PK\x03\x04\x14\x00\x00\x00"), []byte("\x00\x00\x00\x00TFL3"), []byte("\x1c\x00\x00\x00TFL2")} {
		if Sniff(head) {
			t.Errorf("Sniff(%q) = true", head)
		}
	}
}

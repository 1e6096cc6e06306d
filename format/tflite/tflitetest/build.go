// Package tflitetest builds TFLite flatbuffers for tests and for the
// fixture generator (testdata/tensorflow/gen). It lays objects out front to
// back: each table follows its vtable, and what a table refers to comes
// after it, so every uoffset points forward as the format requires.
package tflitetest

import "encoding/binary"

// Table is a flatbuffer table: Fields[i] is field i, nil when absent.
// Values are uint8 (a byte), int32, uint32, string, *Table or []*Table.
type Table struct{ Fields []any }

// T makes a table from its fields.
func T(fields ...any) *Table { return &Table{Fields: fields} }

// Build serialises root with the file identifier ident ("TFL3").
func Build(root *Table, ident string) []byte {
	b := &builder{buf: make([]byte, 8)}
	copy(b.buf[4:], ident)
	pos := b.table(root)
	binary.LittleEndian.PutUint32(b.buf[0:], uint32(pos))
	return b.buf
}

type builder struct{ buf []byte }

func (b *builder) pad() {
	for len(b.buf)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
}

func (b *builder) u32(v uint32) { b.buf = binary.LittleEndian.AppendUint32(b.buf, v) }

func (b *builder) patch(slot, target int) {
	binary.LittleEndian.PutUint32(b.buf[slot:], uint32(target-slot))
}

func (b *builder) table(t *Table) int {
	b.pad()
	n := len(t.Fields)
	vt := len(b.buf)
	vtLen := 4 + 2*n
	objLen := 4 + 4*n
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(vtLen))
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(objLen))
	for i, f := range t.Fields {
		off := 0
		if f != nil {
			off = 4 + 4*i
		}
		b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(off))
	}
	b.pad()
	pos := len(b.buf)
	b.u32(uint32(pos - vt)) // soffset: vtable = pos - soffset
	type ref struct {
		slot int
		v    any
	}
	var refs []ref
	for _, f := range t.Fields {
		slot := len(b.buf)
		switch v := f.(type) {
		case nil:
			b.u32(0)
		case uint8:
			b.buf = append(b.buf, v, 0, 0, 0)
		case int32:
			b.u32(uint32(v))
		case uint32:
			b.u32(v)
		default:
			b.u32(0)
			refs = append(refs, ref{slot, v})
		}
	}
	for _, r := range refs {
		b.patch(r.slot, b.object(r.v))
	}
	return pos
}

func (b *builder) object(v any) int {
	switch v := v.(type) {
	case string:
		b.pad()
		pos := len(b.buf)
		b.u32(uint32(len(v)))
		b.buf = append(append(b.buf, v...), 0)
		return pos
	case *Table:
		return b.table(v)
	case []*Table:
		b.pad()
		pos := len(b.buf)
		b.u32(uint32(len(v)))
		slots := len(b.buf)
		for range v {
			b.u32(0)
		}
		for i, t := range v {
			b.patch(slots+4*i, b.table(t))
		}
		return pos
	}
	panic("tflitetest: unsupported field type")
}

// OpCode is an OperatorCode table: builtin code, custom name ("" for
// none) and version.
func OpCode(builtin int32, custom string, version int32) *Table {
	dep := uint8(min(builtin, 127))
	var c any
	if custom != "" {
		c = custom
	}
	return T(dep, c, version, builtin)
}

// Model is a Model table with one subgraph whose operators use the given
// opcode indexes.
func Model(codes []*Table, uses ...uint32) []byte {
	ops := make([]*Table, len(uses))
	for i, u := range uses {
		ops[i] = T(u)
	}
	sub := T(nil, nil, nil, ops, "main")
	return Build(T(uint32(3), codes, []*Table{sub}, "MLIR Converted."), "TFL3")
}

// Builtin operator codes used by the fixtures (schema.fbs BuiltinOperator).
const (
	Add            = 0
	Conv2D         = 3
	FullyConnected = 9
	Relu           = 19
	Reshape        = 22
	Softmax        = 25
	Custom         = 32
	BroadcastTo    = 130
)

// BenignModel uses built-in operators only, one of them (BROADCAST_TO)
// above the byte range of the deprecated field.
func BenignModel() []byte {
	return Model([]*Table{
		OpCode(Conv2D, "", 1), OpCode(FullyConnected, "", 9), OpCode(Relu, "", 1),
		OpCode(Softmax, "", 1), OpCode(BroadcastTo, "", 2),
	}, 0, 2, 0, 2, 1, 4, 3)
}

// CustomModel uses a custom operator "Evil" next to built-in ones.
func CustomModel() []byte {
	return Model([]*Table{OpCode(Add, "", 1), OpCode(Custom, "Evil", 1)}, 0, 1, 0)
}

// FlexModel uses TensorFlow operators through the select-ops delegate.
func FlexModel() []byte {
	return Model([]*Table{OpCode(Add, "", 1), OpCode(Custom, "FlexReadFile", 1), OpCode(Custom, "FlexMatMul", 1)}, 0, 1, 2)
}

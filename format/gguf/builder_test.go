package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The test helpers write GGUF files byte by byte as the specification
// describes them.

type arr struct {
	elem  ValueType
	items []any
}

type kv struct {
	key string
	typ ValueType
	val any
}

type tensor struct {
	name   string
	dims   []uint64
	typ    GGMLType
	offset uint64
}

type writer struct {
	version uint32
	order   binary.AppendByteOrder
	b       bytes.Buffer
}

func (w *writer) u8(v uint8)   { w.b.WriteByte(v) }
func (w *writer) u16(v uint16) { w.b.Write(w.order.AppendUint16(nil, v)) }
func (w *writer) u32(v uint32) { w.b.Write(w.order.AppendUint32(nil, v)) }
func (w *writer) u64(v uint64) { w.b.Write(w.order.AppendUint64(nil, v)) }

// count writes a count or length: uint32 in version 1, uint64 after.
func (w *writer) count(n uint64) {
	if w.version == 1 {
		w.u32(uint32(n))
	} else {
		w.u64(n)
	}
}

func (w *writer) str(s string) { w.count(uint64(len(s))); w.b.WriteString(s) }

func (w *writer) value(t ValueType, v any) {
	switch t {
	case TypeUint8:
		w.u8(uint8(v.(int)))
	case TypeInt8:
		w.u8(uint8(int8(v.(int))))
	case TypeUint16:
		w.u16(uint16(v.(int)))
	case TypeInt16:
		w.u16(uint16(int16(v.(int))))
	case TypeUint32:
		w.u32(uint32(v.(int)))
	case TypeInt32:
		w.u32(uint32(int32(v.(int))))
	case TypeFloat32:
		w.u32(math.Float32bits(float32(v.(float64))))
	case TypeBool:
		if v.(bool) {
			w.u8(1)
		} else {
			w.u8(0)
		}
	case TypeString:
		w.str(v.(string))
	case TypeArray:
		a := v.(arr)
		w.u32(uint32(a.elem))
		w.count(uint64(len(a.items)))
		for _, it := range a.items {
			w.value(a.elem, it)
		}
	case TypeUint64:
		w.u64(uint64(v.(int)))
	case TypeInt64:
		w.u64(uint64(int64(v.(int))))
	case TypeFloat64:
		w.u64(math.Float64bits(v.(float64)))
	default:
		panic("bad type")
	}
}

// header writes the magic, version, counts, pairs and tensor infos.
func (w *writer) header(kvs []kv, ts []tensor) {
	w.b.WriteString(Magic)
	w.u32(w.version)
	w.count(uint64(len(ts)))
	w.count(uint64(len(kvs)))
	for _, p := range kvs {
		w.str(p.key)
		w.u32(uint32(p.typ))
		w.value(p.typ, p.val)
	}
	for _, t := range ts {
		w.str(t.name)
		w.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			w.count(d)
		}
		w.u32(uint32(t.typ))
		w.u64(t.offset)
	}
}

// build writes a whole file: the header, padding to align and data bytes
// of zeros.
func build(version uint32, kvs []kv, ts []tensor, align, data int) []byte {
	w := &writer{version: version, order: binary.LittleEndian}
	w.header(kvs, ts)
	for w.b.Len()%align != 0 {
		w.b.WriteByte(0)
	}
	w.b.Write(make([]byte, data))
	return w.b.Bytes()
}

// layout gives the tensors offsets one after another, padded to align, and
// returns the data size.
func layout(ts []tensor, align uint64) int {
	var off uint64
	for i := range ts {
		ts[i].offset = off
		info, _ := ts[i].typ.Info()
		n := uint64(1)
		for _, d := range ts[i].dims {
			n *= d
		}
		size := n / info.BlockSize * info.TypeSize
		off = (off + size + align - 1) / align * align
	}
	return int(off)
}

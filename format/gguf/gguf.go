// Package gguf reads the header of a GGUF file (llama.cpp's model format,
// versions 1 to 3) without loading its tensors.
//
// A GGUF file is the magic "GGUF", a version, a tensor count and a
// key-value count, the key-value pairs (typed metadata: numbers, strings,
// arrays, arrays of arrays), one info record per tensor (name, dimensions,
// ggml type, offset), padding to general.alignment (default 32) and the
// tensor data. Version 1 writes counts and string lengths as uint32, later
// versions as uint64. Files written on big-endian machines use big-endian
// numbers throughout; they are recognised by their byte-swapped version.
//
// Parse checks what the memory-corruption bugs of GGUF loaders were about
// (llama.cpp CVE-2024-21802, CVE-2024-21836, CVE-2025-53630…): counts and
// lengths larger than the file, sizes that overflow, alignment that is zero
// or not a power of two, tensors that are misaligned, overlap or reach past
// the end of the file, unknown ggml types. Each is an Anomaly of the
// returned File. Nothing is allocated from a declared count: arrays are
// skipped by arithmetic when their elements have a fixed size and read one
// by one, up to Limits, otherwise. Errors are kept for input that is not
// GGUF, I/O failures and limits (*safeio.LimitError).
//
// Strings are kept up to Limits.KeepString bytes, so the chat templates
// (tokenizer.chat_template and tokenizer.chat_template.*) can be analysed
// by another package; big arrays such as a 150,000-token vocabulary keep
// their length and only their first elements.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Magic starts every GGUF file.
const Magic = "GGUF"

// MaxDims is GGML_MAX_DIMS: loaders refuse tensors with more dimensions.
const MaxDims = 4

// MaxNameLen is GGML_MAX_NAME: ggml keeps tensor names in 64-byte buffers
// with a terminating NUL, so a longer name is refused by llama.cpp (and
// overflowed older versions).
const MaxNameLen = 63

// DefaultAlignment applies when general.alignment is absent.
const DefaultAlignment = 32

// MaxAnomalies bounds the anomalies kept for one file; the last one says
// more were dropped.
const MaxAnomalies = 256

// Limits bound the work done on one header.
type Limits struct {
	MaxKV       uint64 // key-value pairs
	MaxTensors  uint64 // tensor infos
	MaxArrayLen uint64 // elements of one array of strings or arrays
	MaxElems    uint64 // strings and arrays read one by one in the whole header
	MaxDepth    int    // arrays nested in arrays
	MaxKeyLen   uint64 // bytes of a key or tensor name
	// KeepString is how many bytes of a string value are kept (chat
	// templates are tens of KiB). Longer strings are skipped, not read.
	KeepString int
	// KeepArrayElems is how many elements of an array are kept; strings
	// inside arrays keep at most KeepArrayString bytes.
	KeepArrayElems  int
	KeepArrayString int
	// MaxKeptBytes bounds the bytes of all keys, names and strings kept
	// for one file, so a multi-GiB header cannot fill memory.
	MaxKeptBytes int64
}

// DefaultLimits fit real models: 250,000-entry vocabularies and merge
// lists, thousands of tensors, chat templates of a few hundred KiB.
func DefaultLimits() Limits {
	return Limits{
		MaxKV:           1 << 16,
		MaxTensors:      1 << 20,
		MaxArrayLen:     1 << 24,
		MaxElems:        1 << 26,
		MaxDepth:        8,
		MaxKeyLen:       1 << 16,
		KeepString:      1 << 20,
		KeepArrayElems:  64,
		KeepArrayString: 4096,
		MaxKeptBytes:    256 << 20,
	}
}

// Errors for input that cannot be read as GGUF at all.
var (
	ErrNotGGUF            = errors.New("gguf: not a GGUF file")
	ErrUnsupportedVersion = errors.New("gguf: unsupported version")
)

// Anomaly kinds.
const (
	KindCount           = "count-exceeds-file" // a declared count cannot fit in the file
	KindTruncated       = "truncated"          // the header ends (or a length points) past the end of the file
	KindValueType       = "value-type"         // unknown metadata value type
	KindDuplicateKey    = "duplicate-key"
	KindDuplicateTensor = "duplicate-tensor"
	KindAlignment       = "alignment"     // general.alignment is not a uint32 power of two
	KindNameTooLong     = "name-too-long" // tensor name of more than MaxNameLen bytes
	KindDims            = "dims"          // more than MaxDims dimensions, or a dimension ≥ 2^63
	KindUnknownType     = "unknown-type"  // ggml type not in the table
	KindBlockSize       = "block-size"    // first dimension not a multiple of the type's block
	KindOverflow        = "size-overflow" // element count or byte size overflows 63 bits
	KindMisaligned      = "misaligned"    // tensor offset not a multiple of the alignment
	KindOutOfBounds     = "out-of-bounds" // tensor data reaches past the end of the file
	KindOverlap         = "overlap"       // two tensors share bytes
	KindLayout          = "layout"        // tensors not stored in order, or gaps between them
	KindTrailingBytes   = "trailing-bytes"
	KindTooMany         = "too-many-anomalies"
)

// Anomaly is one departure from the format.
type Anomaly struct {
	Kind   string
	Detail string
	Offset int64
}

// Value is a metadata value.
type Value struct {
	Type  ValueType
	Uint  uint64  // uint8…uint64 and bool
	Int   int64   // int8…int64
	Float float64 // float32, float64
	Str   string  // string: the first Limits.KeepString bytes
	// Len is the declared byte length of a string, or the element count of
	// an array.
	Len       uint64
	Truncated bool // Str or Elems hold only a prefix
	Elem      ValueType
	Elems     []Value // array: the first Limits.KeepArrayElems elements
}

// KV is one metadata pair; Offset is where its key starts.
type KV struct {
	Key    string
	Value  Value
	Offset int64
}

// Tensor is one tensor info record.
type Tensor struct {
	Name   string
	Dims   []uint64 // ne[0] first, as stored
	Type   GGMLType
	Offset uint64 // relative to File.DataOffset
	// Size is the tensor's byte size, 0 when its type is unknown or the
	// size overflows.
	Size       uint64
	InfoOffset int64 // where the info record starts
}

// File is what a GGUF header says.
type File struct {
	Version     uint32
	BigEndian   bool
	TensorCount uint64 // as declared
	KVCount     uint64 // as declared
	Metadata    []KV   // in file order (the last of duplicate keys wins in Get)
	Tensors     []Tensor
	Alignment   uint64 // the alignment in force (DefaultAlignment when invalid)
	HeaderEnd   int64  // end of the tensor infos
	DataOffset  int64  // start of the data section
	Size        int64
	Anomalies   []Anomaly
	ParamCount  int64          // sum of the tensors' element counts, capped at math.MaxInt64
	Types       map[string]int // tensor count by ggml type name
	// Complete is false when an anomaly stopped the parse before the end
	// of the tensor infos.
	Complete bool
}

// Sniff reports whether head, the first bytes of a file, starts a GGUF file
// of a version this package reads.
func Sniff(head []byte) bool {
	if len(head) < 8 || string(head[:4]) != Magic {
		return false
	}
	_, _, ok := version(head[4:8])
	return ok
}

func version(b []byte) (uint32, binary.ByteOrder, bool) {
	if v := binary.LittleEndian.Uint32(b); v >= 1 && v <= 3 {
		return v, binary.LittleEndian, true
	}
	if v := binary.BigEndian.Uint32(b); v >= 1 && v <= 3 {
		return v, binary.BigEndian, true
	}
	return 0, nil, false
}

// Get returns the value of key (the last one when the key is duplicated).
func (f *File) Get(key string) (Value, bool) {
	for i := len(f.Metadata) - 1; i >= 0; i-- {
		if f.Metadata[i].Key == key {
			return f.Metadata[i].Value, true
		}
	}
	return Value{}, false
}

// String returns the string value of key, "" when absent or not a string.
func (f *File) String(key string) string {
	if v, ok := f.Get(key); ok && v.Type == TypeString {
		return v.Str
	}
	return ""
}

// ChatTemplateKey is the key of the default chat template; named templates
// are under ChatTemplateKey + "." + name.
const ChatTemplateKey = "tokenizer.chat_template"

// ChatTemplates returns the metadata pairs that hold chat templates (Jinja
// source rendered by the loader), in file order. A template longer than
// Limits.KeepString has Value.Truncated set.
func (f *File) ChatTemplates() []KV {
	var out []KV
	for _, kv := range f.Metadata {
		if kv.Key == ChatTemplateKey || strings.HasPrefix(kv.Key, ChatTemplateKey+".") {
			out = append(out, kv)
		}
	}
	return out
}

// HasAnomaly reports whether f has an anomaly of the given kind.
func (f *File) HasAnomaly(kind string) bool {
	for _, a := range f.Anomalies {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

func (f *File) add(kind string, off int64, format string, args ...any) {
	if len(f.Anomalies) == MaxAnomalies {
		f.Anomalies[MaxAnomalies-1] = Anomaly{Kind: KindTooMany, Detail: "more anomalies were not recorded", Offset: off}
		return
	}
	if len(f.Anomalies) > MaxAnomalies {
		return
	}
	f.Anomalies = append(f.Anomalies, Anomaly{Kind: kind, Detail: fmt.Sprintf(format, args...), Offset: off})
}

// errStop ends the parse after an anomaly that makes the rest unreadable.
var errStop = errors.New("gguf: stop")

type parser struct {
	c     cursor
	f     *File
	lim   Limits
	v1    bool
	elems uint64
	kept  int64
	where string // what is being read, for messages
	// alignOK is false when general.alignment is invalid: offsets are then
	// not checked against it.
	alignOK bool
}

// Parse reads the header of the GGUF file r of size bytes. Structural
// problems are Anomalies of the returned File; the error is non-nil (and
// the File nil) only for input that is not GGUF, I/O errors and limits.
func Parse(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	var head [8]byte
	if size < 8 {
		return nil, ErrNotGGUF
	}
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("gguf: read magic: %w", err)
	}
	if string(head[:4]) != Magic {
		return nil, ErrNotGGUF
	}
	v, order, ok := version(head[4:])
	if !ok {
		return nil, fmt.Errorf("%w %#x", ErrUnsupportedVersion, binary.LittleEndian.Uint32(head[4:]))
	}
	f := &File{Version: v, BigEndian: order == binary.BigEndian, Size: size, Alignment: DefaultAlignment, Types: map[string]int{}}
	p := &parser{c: cursor{r: r, size: size, off: 8, order: order}, f: f, lim: lim, v1: v == 1}
	err := p.parse()
	switch {
	case err == nil:
		f.Complete = true
		p.checkTensors()
	case errors.Is(err, errStop):
	case errors.Is(err, errTruncated):
		f.add(KindTruncated, p.c.off, "the header ends past the end of the file (at %s)", p.where)
	default:
		return nil, err
	}
	return f, nil
}

func (p *parser) parse() error {
	f := p.f
	var err error
	if f.TensorCount, err = p.count(); err != nil {
		return err
	}
	if f.KVCount, err = p.count(); err != nil {
		return err
	}
	lenSize := int64(8)
	if p.v1 {
		lenSize = 4
	}
	left := uint64(p.c.size - p.c.off)
	// The smallest pair is an empty key, a type and a one-byte value; the
	// smallest tensor info an empty name, n_dims, type and offset.
	if minKV := uint64(lenSize + 4 + 1); f.KVCount > left/minKV {
		f.add(KindCount, 16, "the header declares %d key-value pairs; the %d bytes left hold at most %d", f.KVCount, left, left/minKV)
		return errStop
	}
	if minTI := uint64(lenSize + 4 + 4 + 8); f.TensorCount > left/minTI {
		f.add(KindCount, 8, "the header declares %d tensors; the %d bytes left hold at most %d", f.TensorCount, left, left/minTI)
		return errStop
	}
	if f.KVCount > p.lim.MaxKV {
		return fmt.Errorf("gguf: %d key-value pairs: %w", f.KVCount, &safeio.LimitError{Limit: "MaxKV", Value: int64(p.lim.MaxKV)})
	}
	if f.TensorCount > p.lim.MaxTensors {
		return fmt.Errorf("gguf: %d tensors: %w", f.TensorCount, &safeio.LimitError{Limit: "MaxTensors", Value: int64(p.lim.MaxTensors)})
	}
	keys := map[string]bool{}
	for i := uint64(0); i < f.KVCount; i++ {
		off := p.c.off
		p.where = fmt.Sprintf("key-value pair %d", i)
		key, _, err := p.str(p.lim.MaxKeyLen, true)
		if err != nil {
			return err
		}
		if keys[key] {
			f.add(KindDuplicateKey, off, "key %q appears twice; llama.cpp refuses the file and other readers keep one or the other", key)
		}
		keys[key] = true
		p.where = fmt.Sprintf("the value of %q", key)
		t, err := p.u32()
		if err != nil {
			return err
		}
		val, err := p.value(ValueType(t), 0, p.lim.KeepString, p.lim.KeepArrayElems)
		if err != nil {
			return err
		}
		f.Metadata = append(f.Metadata, KV{Key: key, Value: val, Offset: off})
	}
	p.alignment()
	names := map[string]bool{}
	for i := uint64(0); i < f.TensorCount; i++ {
		off := p.c.off
		p.where = fmt.Sprintf("tensor info %d", i)
		name, n, err := p.str(p.lim.MaxKeyLen, true)
		if err != nil {
			return err
		}
		if n > MaxNameLen {
			f.add(KindNameTooLong, off, "tensor name of %d bytes is longer than ggml's %d (%.40q…)", n, MaxNameLen, name)
		}
		if names[name] {
			f.add(KindDuplicateTensor, off, "tensor %q appears twice", name)
		}
		names[name] = true
		nd, err := p.u32()
		if err != nil {
			return err
		}
		if nd > MaxDims {
			f.add(KindDims, off, "tensor %q has %d dimensions; ggml allows %d", name, nd, MaxDims)
			return errStop
		}
		t := Tensor{Name: name, Dims: make([]uint64, nd), InfoOffset: off}
		for j := range t.Dims {
			if p.v1 {
				d, err := p.u32()
				t.Dims[j] = uint64(d)
				if err != nil {
					return err
				}
			} else if t.Dims[j], err = p.u64(); err != nil {
				return err
			}
		}
		typ, err := p.u32()
		if err != nil {
			return err
		}
		t.Type = GGMLType(typ)
		if t.Offset, err = p.u64(); err != nil {
			return err
		}
		f.Tensors = append(f.Tensors, t)
	}
	f.HeaderEnd = p.c.off
	return nil
}

// count reads a tensor or key-value count.
func (p *parser) count() (uint64, error) {
	if p.v1 {
		v, err := p.u32()
		return uint64(v), err
	}
	return p.u64()
}

// alignment reads general.alignment.
func (p *parser) alignment() {
	p.alignOK = true
	for i := len(p.f.Metadata) - 1; i >= 0; i-- {
		kv := p.f.Metadata[i]
		if kv.Key != "general.alignment" {
			continue
		}
		v := kv.Value
		switch {
		case v.Type != TypeUint32:
			p.alignOK = false
			p.f.add(KindAlignment, kv.Offset, "general.alignment is a %s, not a uint32; llama.cpp aborts on it", v.Type)
		case v.Uint == 0 || v.Uint&(v.Uint-1) != 0:
			p.alignOK = false
			p.f.add(KindAlignment, kv.Offset, "general.alignment is %d, not a non-zero power of two", v.Uint)
		default:
			p.f.Alignment = v.Uint
		}
		return
	}
}

// str reads a string, keeping at most keep bytes; the rest is skipped
// without being read. With limit set, a string longer than keep is a
// *safeio.LimitError (keys and names are kept whole).
func (p *parser) str(keep uint64, limit bool) (string, uint64, error) {
	var n uint64
	var err error
	if p.v1 {
		var v uint32
		v, err = p.u32()
		n = uint64(v)
	} else {
		n, err = p.u64()
	}
	if err != nil {
		return "", 0, err
	}
	if n > uint64(p.c.size-p.c.off) {
		p.f.add(KindTruncated, p.c.off, "a string of %d bytes in %s reaches past the end of the file", n, p.where)
		return "", 0, errStop
	}
	if n > keep && limit {
		return "", 0, fmt.Errorf("gguf: %s: string of %d bytes: %w", p.where, n, &safeio.LimitError{Limit: "MaxKeyLen", Value: int64(keep)})
	}
	k := min(n, keep)
	p.kept += int64(k)
	if p.kept > p.lim.MaxKeptBytes {
		return "", 0, fmt.Errorf("gguf: %s: %w", p.where, &safeio.LimitError{Limit: "MaxKeptBytes", Value: p.lim.MaxKeptBytes})
	}
	b, err := p.c.read(int64(k))
	if err != nil {
		return "", 0, err
	}
	s := string(b)
	if err := p.c.skip(int64(n - k)); err != nil {
		return "", 0, err
	}
	return s, n, nil
}

func (p *parser) u32() (uint32, error) {
	b, err := p.c.read(4)
	if err != nil {
		return 0, err
	}
	return p.c.order.Uint32(b), nil
}

func (p *parser) u64() (uint64, error) {
	b, err := p.c.read(8)
	if err != nil {
		return 0, err
	}
	return p.c.order.Uint64(b), nil
}

// value reads a value of type t. keepStr and keepElems bound what is kept.
func (p *parser) value(t ValueType, depth int, keepStr, keepElems int) (Value, error) {
	v := Value{Type: t}
	switch sz := t.fixedSize(); sz {
	case -1:
		p.f.add(KindValueType, p.c.off-4, "%s has unknown type %d; the rest of the header cannot be read", p.where, uint32(t))
		return v, errStop
	case 0:
	default:
		b, err := p.c.read(sz)
		if err != nil {
			return v, err
		}
		p.scalar(&v, b)
		return v, nil
	}
	if t == TypeString {
		s, n, err := p.str(uint64(keepStr), false)
		v.Str, v.Len, v.Truncated = s, n, n > uint64(keepStr)
		return v, err
	}
	// An array: element type, count, elements.
	et, err := p.u32()
	if err != nil {
		return v, err
	}
	v.Elem = ValueType(et)
	if v.Len, err = p.count(); err != nil {
		return v, err
	}
	left := uint64(p.c.size - p.c.off)
	sz := v.Elem.fixedSize()
	if sz < 0 {
		p.f.add(KindValueType, p.c.off-8, "an array in %s has unknown element type %d; the rest of the header cannot be read", p.where, et)
		return v, errStop
	}
	minSize := uint64(sz)
	if sz == 0 { // string: a length; array: a type and a count
		minSize = 8
		if p.v1 {
			minSize = 4
		}
		if v.Elem == TypeArray {
			minSize += 4
		}
	}
	if v.Len > left/minSize {
		p.f.add(KindCount, p.c.off, "an array in %s declares %d elements of %s; the %d bytes left hold at most %d", p.where, v.Len, v.Elem, left, left/minSize)
		return v, errStop
	}
	keep := min(v.Len, uint64(max(keepElems, 0)))
	v.Truncated = keep < v.Len
	if sz > 0 {
		for i := uint64(0); i < keep; i++ {
			b, err := p.c.read(sz)
			if err != nil {
				return v, err
			}
			e := Value{Type: v.Elem}
			p.scalar(&e, b)
			v.Elems = append(v.Elems, e)
		}
		return v, p.c.skip(int64((v.Len - keep) * minSize))
	}
	if v.Elem == TypeArray && depth+1 > p.lim.MaxDepth {
		return v, fmt.Errorf("gguf: %s: %w", p.where, &safeio.LimitError{Limit: "MaxDepth", Value: int64(p.lim.MaxDepth), Detail: "arrays nested too deep"})
	}
	if v.Len > p.lim.MaxArrayLen {
		return v, fmt.Errorf("gguf: %s: array of %d elements: %w", p.where, v.Len, &safeio.LimitError{Limit: "MaxArrayLen", Value: int64(p.lim.MaxArrayLen)})
	}
	for i := uint64(0); i < v.Len; i++ {
		p.elems++
		if p.elems > p.lim.MaxElems {
			return v, fmt.Errorf("gguf: %s: %w", p.where, &safeio.LimitError{Limit: "MaxElems", Value: int64(p.lim.MaxElems)})
		}
		ks, ke := p.lim.KeepArrayString, keepElems
		if i >= keep {
			ks, ke = 0, 0
		}
		e, err := p.value(v.Elem, depth+1, ks, ke)
		if err != nil {
			return v, err
		}
		if i < keep {
			v.Elems = append(v.Elems, e)
		}
	}
	return v, nil
}

func (p *parser) scalar(v *Value, b []byte) {
	o := p.c.order
	switch v.Type {
	case TypeUint8, TypeBool:
		v.Uint = uint64(b[0])
	case TypeInt8:
		v.Int = int64(int8(b[0]))
	case TypeUint16:
		v.Uint = uint64(o.Uint16(b))
	case TypeInt16:
		v.Int = int64(int16(o.Uint16(b)))
	case TypeUint32:
		v.Uint = uint64(o.Uint32(b))
	case TypeInt32:
		v.Int = int64(int32(o.Uint32(b)))
	case TypeFloat32:
		v.Float = float64(math.Float32frombits(o.Uint32(b)))
	case TypeUint64:
		v.Uint = o.Uint64(b)
	case TypeInt64:
		v.Int = int64(o.Uint64(b))
	case TypeFloat64:
		v.Float = math.Float64frombits(o.Uint64(b))
	}
}

// checkTensors computes each tensor's size and checks that the tensors are
// aligned, inside the file and apart.
func (p *parser) checkTensors() {
	f := p.f
	align := f.Alignment
	data, ok := padUp(uint64(f.HeaderEnd), align)
	if !ok || data > math.MaxInt64 {
		f.add(KindOverflow, f.HeaderEnd, "the data section offset overflows")
		return
	}
	f.DataOffset = int64(data)
	dataLen := uint64(0)
	if f.Size > f.DataOffset {
		dataLen = uint64(f.Size - f.DataOffset)
	}
	type extent struct {
		begin, end uint64
		name       string
	}
	var exts []extent
	for i := range f.Tensors {
		t := &f.Tensors[i]
		off := t.InfoOffset
		numel, ok := uint64(1), true
		for _, d := range t.Dims {
			if d > math.MaxInt64 {
				f.add(KindDims, off, "tensor %q: dimension %d is negative as the int64 ggml uses", t.Name, d)
				ok = false
				break
			}
			hi, lo := bits.Mul64(numel, d)
			if hi != 0 || lo > math.MaxInt64 {
				f.add(KindOverflow, off, "tensor %q: dimensions %v overflow the element count", t.Name, t.Dims)
				ok = false
				break
			}
			numel = lo
		}
		if ok {
			f.ParamCount = satAdd(f.ParamCount, int64(numel))
		}
		info, known := t.Type.Info()
		f.Types[t.Type.String()]++
		if !known {
			f.add(KindUnknownType, off, "tensor %q has ggml type %d, which ggml does not define", t.Name, uint32(t.Type))
		}
		if p.alignOK && t.Offset%align != 0 {
			f.add(KindMisaligned, off, "tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, align)
		}
		if !ok || !known {
			continue
		}
		ne0 := uint64(1) // a tensor without dimensions is one element
		if len(t.Dims) > 0 {
			ne0 = t.Dims[0]
		}
		if ne0%info.BlockSize != 0 {
			f.add(KindBlockSize, off, "tensor %q: first dimension %d is not a multiple of the %s block size %d", t.Name, ne0, info.Name, info.BlockSize)
			continue
		}
		hi, size := bits.Mul64(numel/info.BlockSize, info.TypeSize)
		if hi != 0 || size > math.MaxInt64 {
			f.add(KindOverflow, off, "tensor %q: %d elements of %s overflow the byte size", t.Name, numel, info.Name)
			continue
		}
		t.Size = size
		end, carry := bits.Add64(t.Offset, size, 0)
		if carry != 0 || end > math.MaxInt64-data {
			f.add(KindOverflow, off, "tensor %q: offset %d + size %d overflows", t.Name, t.Offset, size)
			continue
		}
		if end > dataLen {
			f.add(KindOutOfBounds, off, "tensor %q: bytes [%d, %d) of the data section reach past the end of the file (%d bytes of data)", t.Name, t.Offset, end, dataLen)
		}
		exts = append(exts, extent{t.Offset, end, t.Name})
	}
	// llama.cpp expects the tensors in info order, each at the padded end
	// of the previous one.
	if p.alignOK && len(exts) == len(f.Tensors) {
		var expect uint64
		for _, e := range exts {
			if e.begin != expect {
				f.add(KindLayout, f.DataOffset, "tensor %q starts at %d where the previous tensor's padded end is %d; llama.cpp refuses such a layout", e.name, e.begin, expect)
				break
			}
			next, ok := padUp(e.end, align)
			if !ok {
				break
			}
			expect = next
		}
	}
	sort.SliceStable(exts, func(i, j int) bool { return exts[i].begin < exts[j].begin })
	var cover uint64
	last := ""
	for _, e := range exts {
		if e.begin < cover && e.end > e.begin {
			f.add(KindOverlap, f.DataOffset, "tensor %q [%d, %d) overlaps tensor %q (which ends at %d)", e.name, e.begin, e.end, last, cover)
		}
		if e.end > cover {
			cover, last = e.end, e.name
		}
	}
	if padded, ok := padUp(cover, align); ok && p.alignOK && padded < dataLen && len(exts) == len(f.Tensors) {
		f.add(KindTrailingBytes, f.DataOffset+int64(padded), "%d bytes after the last tensor belong to no tensor", dataLen-padded)
	}
}

// padUp rounds v up to a multiple of align, a power of two.
func padUp(v, align uint64) (uint64, bool) {
	r, carry := bits.Add64(v, align-1, 0)
	if carry != 0 {
		return 0, false
	}
	return r &^ (align - 1), true
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

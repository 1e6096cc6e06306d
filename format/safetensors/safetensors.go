// Package safetensors reads the header of a safetensors file without
// loading its tensors.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON, and the tensor data:
//
//	{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
//	 "__metadata__": {"format": "pt"}}
//
// Every tensor names its byte range inside the data area that follows the
// header. The format is safe to load only because its reader checks that
// those ranges are exactly what the shapes and dtypes say, that they do not
// overlap and that together they cover the data area without holes: a file
// that breaks one of these rules either crashes or misleads some loader, or
// carries bytes no tensor accounts for (a polyglot). Parse reports every
// such break as an Anomaly rather than an error, so a checker can say what
// is wrong; errors are kept for input that is not a safetensors file at
// all, I/O failures and limits (*safeio.LimitError).
//
// The JSON is parsed strictly: duplicate keys, which JSON libraries resolve
// differently (first or last wins), trailing garbage after the object and
// invalid UTF-8 are anomalies too. Only the header is read, so a header parse
// takes milliseconds on a multi-GiB file.
//
// A sharded checkpoint lists its shards in model.safetensors.index.json.
// ParseIndex reads that file and CheckIndex compares it with the shards
// present: shard names that leave the folder, missing shards, tensors the
// index and the shards' headers disagree on.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Limits bound the work done on one header.
type Limits struct {
	// MaxHeaderLen bounds the JSON header. The reference implementation
	// refuses headers over 100,000,000 bytes.
	MaxHeaderLen int64
	// MaxTensors bounds the number of tensors kept.
	MaxTensors int
}

// DefaultLimits are the limits of the reference implementation.
func DefaultLimits() Limits {
	return Limits{MaxHeaderLen: 100_000_000, MaxTensors: 1 << 20}
}

// MaxAnomalies bounds the anomalies kept for one file; the last one says
// how many more were dropped.
const MaxAnomalies = 256

// ErrNotSafetensors is returned for input too short to hold a header length.
var ErrNotSafetensors = errors.New("safetensors: not a safetensors file")

// Anomaly kinds. Each is a way the file departs from the format.
const (
	KindHeaderLength    = "header-length"    // N does not fit in the file
	KindHeaderStart     = "header-start"     // JSON does not start with '{'
	KindInvalidUTF8     = "invalid-utf8"     // header is not UTF-8
	KindInvalidJSON     = "invalid-json"     // syntax error or wrong JSON type
	KindDuplicateKey    = "duplicate-key"    // a key appears twice in one object
	KindTrailingGarbage = "trailing-garbage" // bytes other than spaces after the JSON object
	KindMissingField    = "missing-field"    // a tensor lacks dtype, shape or data_offsets
	KindUnknownField    = "unknown-field"    // a tensor has a key the format does not define
	KindUnknownDType    = "unknown-dtype"
	KindInvalidShape    = "invalid-shape"   // negative, fractional or overflowing dimension
	KindInvalidOffsets  = "invalid-offsets" // not [begin, end] with begin <= end
	KindSizeMismatch    = "size-mismatch"   // end-begin != numel × dtype size
	KindOutOfBounds     = "out-of-bounds"   // a range ends past the data area
	KindOverlap         = "overlap"         // two ranges share bytes
	KindHole            = "hole"            // bytes between ranges that no tensor covers
	KindTrailingBytes   = "trailing-bytes"  // bytes after the last tensor
	KindMetadataType    = "metadata-type"   // __metadata__ is not a map of string to string
	KindTooMany         = "too-many-anomalies"
)

// Anomaly is one departure from the format.
type Anomaly struct {
	Kind   string
	Detail string
	Offset int64 // byte offset in the file it concerns (8 for the header)
}

// Tensor is one entry of the header. Begin and End are relative to the start
// of the data area (File.DataOffset).
type Tensor struct {
	Name       string
	DType      string
	Shape      []int64
	Begin, End int64
}

// File is what a safetensors header says.
type File struct {
	HeaderLen  int64 // N, from the first 8 bytes
	DataOffset int64 // 8 + N: where the data area starts
	Size       int64 // size of the whole file
	// Tensors in header order; a tensor whose entry could not be read is
	// left out (and reported as an anomaly).
	Tensors   []Tensor
	Metadata  map[string]string // __metadata__ values that are strings
	Anomalies []Anomaly
	// ParamCount is the sum of the element counts of the tensors, capped at
	// math.MaxInt64.
	ParamCount int64
	DTypes     map[string]int // tensor count by dtype
}

// dtypeBits is the size of one element of each dtype in bits. The sub-byte
// float types (F4, F6_*) pack elements; a tensor of them must fill whole
// bytes.
var dtypeBits = map[string]int64{
	"BOOL": 8, "U8": 8, "I8": 8,
	"F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// DTypeBits returns the element size of a dtype in bits, and false for a
// dtype the format does not define.
func DTypeBits(dtype string) (int64, bool) {
	b, ok := dtypeBits[dtype]
	return b, ok
}

// Sniff reports whether head, the first bytes of a file of size bytes, looks
// like a safetensors file: a header length that fits in the file, then '{'
// (after optional spaces). size < 0 means unknown.
func Sniff(head []byte, size int64) bool {
	if len(head) < 9 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	if n < 2 || n > 1<<40 || (size >= 0 && n > uint64(size-8)) {
		return false
	}
	for i := 8; i < len(head) && uint64(i) < 8+n; i++ {
		switch head[i] {
		case ' ':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// Parse reads the header of the safetensors file r of size bytes and checks
// it against the data area. Structural problems are Anomalies of the
// returned File; the error is non-nil (and the File nil) only for input
// shorter than 8 bytes, I/O errors and limits.
func Parse(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	if size < 8 {
		return nil, ErrNotSafetensors
	}
	var pre [8]byte
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	f := &File{Size: size, DTypes: map[string]int{}}
	if n > uint64(size-8) {
		f.HeaderLen = int64(min(n, math.MaxInt64))
		f.add(KindHeaderLength, 0, "header length %d exceeds the %d bytes after the length field", n, size-8)
		return f, nil
	}
	if int64(n) > lim.MaxHeaderLen {
		return nil, fmt.Errorf("safetensors: header of %d bytes: %w", n,
			&safeio.LimitError{Limit: "MaxHeaderLen", Value: lim.MaxHeaderLen})
	}
	f.HeaderLen = int64(n)
	f.DataOffset = 8 + int64(n)
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil && !(err == io.EOF && n == 0) {
		return nil, fmt.Errorf("safetensors: read header: %w", err)
	}
	if err := f.parseHeader(hdr, lim); err != nil {
		return nil, err
	}
	f.checkLayout()
	return f, nil
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

// HasAnomaly reports whether f has an anomaly of the given kind.
func (f *File) HasAnomaly(kind string) bool {
	for _, a := range f.Anomalies {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// errStop ends the header parse after an anomaly that makes the rest
// unreadable.
var errStop = errors.New("stop")

type headerParser struct {
	f     *File
	dec   *json.Decoder
	lim   Limits
	depth int
}

func (f *File) parseHeader(hdr []byte, lim Limits) error {
	if !utf8.Valid(hdr) {
		f.add(KindInvalidUTF8, 8, "the header is not valid UTF-8")
	}
	lead := 0
	for lead < len(hdr) && isJSONSpace(hdr[lead]) {
		lead++
	}
	if lead == len(hdr) || hdr[lead] != '{' {
		f.add(KindInvalidJSON, 8, "the header is not a JSON object")
		return nil
	}
	if lead > 0 {
		f.add(KindHeaderStart, 8, "the header starts with %d whitespace bytes instead of '{'", lead)
	}
	p := &headerParser{f: f, dec: json.NewDecoder(bytes.NewReader(hdr)), lim: lim}
	p.dec.UseNumber()
	err := p.top()
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		if _, ok := safeio.IsLimit(err); ok {
			return err
		}
		f.add(KindInvalidJSON, 8+p.dec.InputOffset(), "%v", err)
		return nil
	}
	rest := hdr[p.dec.InputOffset():]
	for i, c := range rest {
		if c != ' ' {
			f.add(KindTrailingGarbage, 8+p.dec.InputOffset()+int64(i),
				"%d bytes after the JSON object are not space padding", len(rest)-i)
			break
		}
	}
	return nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *headerParser) off() int64 { return 8 + p.dec.InputOffset() }

// delim reads the next token and checks that it is d.
func (p *headerParser) delim(d json.Delim) error {
	t, err := p.dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("expected %q, found %v", d, t)
	}
	return nil
}

// key reads an object key, or returns ok=false at the end of the object.
func (p *headerParser) key() (string, bool, error) {
	t, err := p.dec.Token()
	if err != nil {
		return "", false, err
	}
	if t == json.Delim('}') {
		return "", false, nil
	}
	k, ok := t.(string)
	if !ok {
		return "", false, fmt.Errorf("expected an object key, found %v", t)
	}
	return k, true, nil
}

// dup records a duplicate key of an object.
func (p *headerParser) dup(seen map[string]bool, k, where string) {
	if seen[k] {
		p.f.add(KindDuplicateKey, p.off(), "key %q appears twice in %s; JSON readers disagree on which one counts", k, where)
	}
	seen[k] = true
}

// members reads the rest of an object whose '{' has been read: for each key
// it records a duplicate as an anomaly of where, then calls value, which
// reads the key's value.
func (p *headerParser) members(where string, value func(k string) error) error {
	seen := map[string]bool{}
	for {
		k, ok, err := p.key()
		if err != nil || !ok {
			return err
		}
		p.dup(seen, k, where)
		if err := value(k); err != nil {
			return err
		}
	}
}

func (p *headerParser) top() error {
	if err := p.delim('{'); err != nil {
		return err
	}
	return p.members("the header", func(k string) error {
		if k == "__metadata__" {
			return p.metadata()
		}
		if len(p.f.Tensors) >= p.lim.MaxTensors {
			return &safeio.LimitError{Limit: "MaxTensors", Value: int64(p.lim.MaxTensors)}
		}
		return p.tensor(k)
	})
}

func (p *headerParser) metadata() error {
	start := p.off()
	t, err := p.dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil // the reference reads null as no metadata
	}
	if t != json.Delim('{') {
		p.f.add(KindMetadataType, start, "__metadata__ is %s, not an object of strings", jsonKind(t))
		return p.skipRest(t)
	}
	if p.f.Metadata == nil {
		p.f.Metadata = map[string]string{}
	}
	return p.members("__metadata__", func(k string) error {
		off := p.off()
		t, err := p.dec.Token()
		if err != nil {
			return err
		}
		if s, ok := t.(string); ok {
			p.f.Metadata[k] = s
			return nil
		}
		p.f.add(KindMetadataType, off, "__metadata__[%q] is %s, not a string; the reference loader rejects the file", k, jsonKind(t))
		return p.skipRest(t)
	})
}

func jsonKind(t json.Token) string {
	switch t.(type) {
	case json.Delim:
		if t == json.Delim('[') {
			return "an array"
		}
		return "an object"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a string"
}

// MaxDepth bounds the nesting of arrays and objects in a header; real
// headers nest three levels.
const MaxDepth = 64

// skipRest skips the rest of a value whose first token was t, still
// checking nested objects for duplicate keys.
func (p *headerParser) skipRest(t json.Token) error {
	switch t {
	case json.Delim('{'), json.Delim('['):
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > MaxDepth {
			return fmt.Errorf("arrays and objects nested deeper than %d", MaxDepth)
		}
	}
	switch t {
	case json.Delim('{'):
		return p.members("an object", func(string) error { return p.skip() })
	case json.Delim('['):
		for p.dec.More() {
			if err := p.skip(); err != nil {
				return err
			}
		}
		return p.delim(']')
	}
	return nil
}

func (p *headerParser) skip() error {
	t, err := p.dec.Token()
	if err != nil {
		return err
	}
	return p.skipRest(t)
}

func (p *headerParser) tensor(name string) error {
	start := p.off()
	t, err := p.dec.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		p.f.add(KindInvalidJSON, start, "tensor %q is %s, not an object", name, jsonKind(t))
		return p.skipRest(t)
	}
	ten := Tensor{Name: name}
	var haveDType, haveShape, haveOffsets, bad bool
	seen := map[string]bool{}
	for {
		k, ok, err := p.key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if seen[k] {
			p.dup(seen, k, fmt.Sprintf("tensor %q", name))
		}
		seen[k] = true
		off := p.off()
		switch k {
		case "dtype":
			t, err := p.dec.Token()
			if err != nil {
				return err
			}
			s, ok := t.(string)
			if !ok {
				p.f.add(KindInvalidJSON, off, "tensor %q: dtype is %s, not a string", name, jsonKind(t))
				bad = true
				if err := p.skipRest(t); err != nil {
					return err
				}
				continue
			}
			ten.DType, haveDType = s, true
		case "shape":
			shape, ok, err := p.ints(name, k)
			if err != nil {
				return err
			}
			if !ok {
				bad = true
				continue
			}
			ten.Shape, haveShape = shape, true
		case "data_offsets":
			offs, ok, err := p.ints(name, k)
			if err != nil {
				return err
			}
			if !ok {
				bad = true
				continue
			}
			if len(offs) != 2 || offs[0] > offs[1] {
				p.f.add(KindInvalidOffsets, off, "tensor %q: data_offsets %v is not [begin, end] with begin <= end", name, offs)
				bad = true
				continue
			}
			ten.Begin, ten.End, haveOffsets = offs[0], offs[1], true
		default:
			p.f.add(KindUnknownField, off, "tensor %q has a key %q the format does not define", name, k)
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if bad {
		return nil
	}
	if !haveDType || !haveShape || !haveOffsets {
		p.f.add(KindMissingField, start, "tensor %q lacks dtype, shape or data_offsets", name)
		return nil
	}
	p.f.addTensor(ten, start)
	return nil
}

// ints reads an array of non-negative integers. ok is false (and an anomaly
// recorded) when the value is something else.
func (p *headerParser) ints(name, field string) ([]int64, bool, error) {
	off := p.off()
	t, err := p.dec.Token()
	if err != nil {
		return nil, false, err
	}
	if t != json.Delim('[') {
		p.f.add(KindInvalidJSON, off, "tensor %q: %s is %s, not an array", name, field, jsonKind(t))
		return nil, false, p.skipRest(t)
	}
	out := []int64{}
	ok := true
	for p.dec.More() {
		t, err := p.dec.Token()
		if err != nil {
			return nil, false, err
		}
		num, isNum := t.(json.Number)
		if !isNum {
			if ok {
				p.f.add(KindInvalidJSON, off, "tensor %q: %s holds %s, not an integer", name, field, jsonKind(t))
			}
			ok = false
			if err := p.skipRest(t); err != nil {
				return nil, false, err
			}
			continue
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || v < 0 {
			if ok {
				kind := KindInvalidShape
				if field == "data_offsets" {
					kind = KindInvalidOffsets
				}
				p.f.add(kind, off, "tensor %q: %s holds %s, not a non-negative 64-bit integer", name, field, num)
			}
			ok = false
			continue
		}
		if len(out) < 1<<16 {
			out = append(out, v)
		}
	}
	if err := p.delim(']'); err != nil {
		return nil, false, err
	}
	return out, ok, nil
}

// addTensor checks one tensor's dtype and size and keeps it.
func (f *File) addTensor(t Tensor, off int64) {
	f.DTypes[t.DType]++
	f.Tensors = append(f.Tensors, t)
	numel, ok := int64(1), true
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(uint64(numel), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			ok = false
			break
		}
		numel = int64(lo)
	}
	if !ok {
		f.add(KindInvalidShape, off, "tensor %q: shape %v has more elements than fit in 64 bits", t.Name, t.Shape)
		f.ParamCount = math.MaxInt64
		return
	}
	f.ParamCount = satAdd(f.ParamCount, numel)
	b, known := dtypeBits[t.DType]
	if !known {
		f.add(KindUnknownDType, off, "tensor %q has dtype %q, which the format does not define", t.Name, t.DType)
		return
	}
	var nbytes uint64
	if b%8 == 0 {
		hi, lo := bits.Mul64(uint64(numel), uint64(b/8))
		ok = hi == 0 && lo <= math.MaxInt64
		nbytes = lo
	} else {
		hi, nbits := bits.Mul64(uint64(numel), uint64(b))
		ok = hi == 0 && nbits%8 == 0
		nbytes = nbits / 8
	}
	if !ok {
		f.add(KindSizeMismatch, off, "tensor %q: %d elements of %s do not fill a whole number of bytes within 63 bits", t.Name, numel, t.DType)
		return
	}
	if want := int64(nbytes); t.End-t.Begin != want {
		f.add(KindSizeMismatch, off, "tensor %q: shape %v of %s is %d bytes but data_offsets [%d, %d] span %d",
			t.Name, t.Shape, t.DType, want, t.Begin, t.End, t.End-t.Begin)
	}
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// checkLayout checks that the tensors' ranges tile the data area exactly.
func (f *File) checkLayout() {
	dataLen := f.Size - f.DataOffset
	ts := make([]Tensor, len(f.Tensors))
	copy(ts, f.Tensors)
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Begin != ts[j].Begin {
			return ts[i].Begin < ts[j].Begin
		}
		return ts[i].End < ts[j].End
	})
	var cover int64 // end of the bytes covered so far
	var last string
	for _, t := range ts {
		if t.End > dataLen {
			f.add(KindOutOfBounds, f.DataOffset, "tensor %q: data_offsets [%d, %d] end past the %d-byte data area", t.Name, t.Begin, t.End, dataLen)
		}
		switch {
		case t.Begin < cover:
			f.add(KindOverlap, f.DataOffset+min(t.Begin, dataLen), "tensor %q [%d, %d] overlaps tensor %q (which ends at %d)", t.Name, t.Begin, t.End, last, cover)
		case t.Begin > cover:
			f.add(KindHole, f.DataOffset+min(cover, dataLen), "bytes [%d, %d) of the data area belong to no tensor", cover, t.Begin)
		}
		if t.End > cover {
			cover, last = t.End, t.Name
		}
	}
	if cover < dataLen {
		f.add(KindTrailingBytes, f.DataOffset+cover, "%d bytes after the last tensor belong to no tensor", dataLen-cover)
	}
}

// Package npy reads the header of a NumPy .npy file without loading it.
//
// An .npy file is the magic "\x93NUMPY", a format version, a header length
// and a header that is a Python dict literal such as
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//
// followed by the array data. ParseHeader reads that literal with a small
// bounded parser (never eval) and checks it the way numpy 1.24's reader
// does: the same keys, the same types, structured dtypes given as lists of
// (name, dtype[, shape]) tuples, and the odd forms numpy's descr_to_dtype
// tolerates (a field written as the string 'aO' is field a of dtype O). A
// literal form it does not read (floats, complex numbers, a sign before
// parentheses) is an error rather than a guess, so a header does not mean one
// thing to numpy and another here.
//
// What matters for safety is HasObject: np.save writes arrays of Python
// objects as a pickle after the header, and np.load(allow_pickle=True)
// unpickles it. The data of such a file must be handed to the pickle scanner
// from DataOffset on. For other dtypes DataBytes says how many bytes of data
// the header promises.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

const (
	// MaxHeaderLen bounds the header literal. numpy refuses headers longer
	// than 10000 characters by default, but not with allow_pickle=True, and
	// it writes format 2.0 exactly when a header (a structured dtype with
	// thousands of fields) needs more than 65535 bytes; such files must
	// still be read. A longer header is a *safeio.LimitError.
	MaxHeaderLen = 1 << 20
	// MaxDepth bounds the nesting of brackets in the header literal. Real
	// headers nest a few levels (a structured dtype inside another).
	MaxDepth = 64
)

// ErrNotNPY is returned when the input does not start with Magic.
var ErrNotNPY = errors.New("npy: not an .npy file")

// Header is what an .npy header says about the array that follows it.
type Header struct {
	Major, Minor int // format version: 1.0, 2.0 or 3.0

	// Descr is the dtype when it is a simple one, as written ('<f4', '|O',
	// '<U5'); it is "" when the dtype is structured.
	Descr string
	// Fields are the fields of a structured dtype, in order, including
	// padding fields (Name "").
	Fields []Field
	// SubShape is set when descr is a (dtype, shape) tuple: each item of the
	// array is itself an array of that shape. numpy never writes this form
	// but reads it.
	SubShape []int64

	FortranOrder bool
	Shape        []int64 // () for a 0-d array

	HeaderLen  int   // length of the header literal, from the preamble
	DataOffset int64 // where the array data (or its pickle) starts
}

// Field is one field of a structured dtype.
type Field struct {
	Name  string // "" for padding
	Title string // set when the name was written as (title, name)
	// Descr is the field's dtype when simple; "" when Fields is set.
	Descr  string
	Fields []Field // a nested structured dtype
	Shape  []int64 // subarray shape of the field; nil for a scalar field
}

// Sniff reports whether b starts with the .npy magic.
func Sniff(b []byte) bool {
	return bytes.HasPrefix(b, []byte(Magic))
}

// ParseHeader reads the preamble and header of an .npy file from r and
// leaves r at the start of the data (when r has no buffering of its own).
// It returns ErrNotNPY when the magic is missing, an error wrapping
// *safeio.LimitError when the header is longer than MaxHeaderLen or nests
// deeper than MaxDepth, and an error for any header numpy would refuse.
func ParseHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			got := pre[:n]
			if n > 0 && (bytes.HasPrefix([]byte(Magic), got) || bytes.HasPrefix(got, []byte(Magic))) {
				return nil, fmt.Errorf("npy: read preamble: %w", io.ErrUnexpectedEOF)
			}
			return nil, ErrNotNPY
		}
		return nil, fmt.Errorf("npy: read preamble: %w", err)
	}
	if string(pre[:6]) != Magic {
		return nil, ErrNotNPY
	}
	h := &Header{Major: int(pre[6]), Minor: int(pre[7])}

	var lenSize int
	switch {
	case h.Major == 1 && h.Minor == 0:
		lenSize = 2
	case (h.Major == 2 || h.Major == 3) && h.Minor == 0:
		lenSize = 4
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", h.Major, h.Minor)
	}
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:lenSize]); err != nil {
		return nil, fmt.Errorf("npy: read header length: %w", unexpectedEOF(err))
	}
	n := uint64(binary.LittleEndian.Uint16(lb[:2]))
	if lenSize == 4 {
		n = uint64(binary.LittleEndian.Uint32(lb[:]))
	}
	if n > MaxHeaderLen {
		return nil, fmt.Errorf("npy: header of %d bytes: %w", n, &safeio.LimitError{Limit: "npy.MaxHeaderLen", Value: MaxHeaderLen})
	}
	h.HeaderLen = int(n)
	h.DataOffset = int64(8+lenSize) + int64(n)

	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("npy: read header of %d bytes: %w", n, unexpectedEOF(err))
	}
	// Versions 1.0 and 2.0 are latin-1, 3.0 is UTF-8 (for field names).
	var src string
	if h.Major == 3 {
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("npy: header is not valid UTF-8")
		}
		src = string(raw)
	} else {
		src = latin1(raw)
	}
	lit, err := parseLiteral(src, h.Major <= 2)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	if err := h.fill(lit); err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	return h, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// fill checks the header dict the way numpy's _read_array_header does and
// copies its values into h.
func (h *Header) fill(d literal) error {
	if d.kind != litDict {
		return fmt.Errorf("header is a %s, not a dict", d.kind)
	}
	// numpy compares the key set with exactly these three keys.
	var seen [3]bool
	for i := 0; i < len(d.items); i += 2 {
		k := d.items[i]
		switch {
		case k.kind == litStr && k.str == "descr":
			seen[0] = true
		case k.kind == litStr && k.str == "fortran_order":
			seen[1] = true
		case k.kind == litStr && k.str == "shape":
			seen[2] = true
		default:
			return fmt.Errorf("header has an unexpected key %s", k.repr())
		}
	}
	if seen != [3]bool{true, true, true} {
		return fmt.Errorf("header lacks one of the keys descr, fortran_order, shape")
	}

	shape, _ := d.lookup("shape")
	if shape.kind != litTuple {
		return fmt.Errorf("shape is a %s, not a tuple", shape.kind)
	}
	dims, err := dimensions(shape.items)
	if err != nil {
		return fmt.Errorf("shape: %w", err)
	}
	h.Shape = dims

	fo, _ := d.lookup("fortran_order")
	if fo.kind != litBool {
		return fmt.Errorf("fortran_order is a %s, not a bool", fo.kind)
	}
	h.FortranOrder = fo.num == 1

	descr, _ := d.lookup("descr")
	dt, err := parseDescr(descr)
	if err != nil {
		return fmt.Errorf("descr: %w", err)
	}
	h.Descr, h.Fields, h.SubShape = dt.descr, dt.fields, dt.shape
	return nil
}

// dimensions converts a tuple of ints (bools count, as in Python) to a
// shape, refusing negative dimensions and element counts that overflow.
func dimensions(items []literal) ([]int64, error) {
	dims := make([]int64, 0, len(items))
	count := uint64(1)
	for _, it := range items {
		if !it.isInt() {
			return nil, fmt.Errorf("dimension %s is not an int", it.repr())
		}
		if it.num < 0 {
			return nil, fmt.Errorf("negative dimension %d", it.num)
		}
		dims = append(dims, it.num)
		if it.num == 0 {
			continue
		}
		hi, lo := bits.Mul64(count, uint64(it.num))
		if hi != 0 || lo > math.MaxInt64 {
			return nil, fmt.Errorf("%d dimensions overflow 64 bits", len(items))
		}
		count = lo
	}
	return dims, nil
}

// HasObject reports whether the dtype holds Python objects anywhere,
// including nested fields. np.save writes such arrays as a pickle, which
// np.load(allow_pickle=True) runs.
func (h *Header) HasObject() bool {
	return isObjectDescr(h.Descr) || fieldsHaveObject(h.Fields)
}

func fieldsHaveObject(fs []Field) bool {
	for _, f := range fs {
		if isObjectDescr(f.Descr) || fieldsHaveObject(f.Fields) {
			return true
		}
	}
	return false
}

// isObjectDescr is deliberately broad: numpy.dtype accepts 'O', '|O', 'O8',
// 'object', 'object_' and comma-separated lists such as 'i4,O' or
// 'i4,object', and no other dtype string contains an 'O' or "object".
func isObjectDescr(s string) bool {
	return strings.Contains(s, "O") || strings.Contains(s, "object")
}

// DataBytes returns the size of the array data the header promises:
// itemsize × number of items. ok is false for object dtypes (the data is a
// pickle), for dtype strings whose size it does not know, and on overflow.
func (h *Header) DataBytes() (n int64, ok bool) {
	if h.HasObject() {
		return 0, false
	}
	size, ok := itemSize(h.Descr, h.Fields, nil)
	if !ok {
		return 0, false
	}
	if size, ok = mulShape(size, h.SubShape); !ok {
		return 0, false
	}
	return mulShape(size, h.Shape)
}

// mulShape multiplies n by every dimension, reporting overflow.
func mulShape(n int64, shape []int64) (int64, bool) {
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

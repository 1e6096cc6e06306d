package npy

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// dtype is a parsed descr: a simple dtype string, or fields, with an
// optional subarray shape.
type dtype struct {
	descr  string
	fields []Field
	shape  []int64
}

// parseDescr follows numpy.lib.format.descr_to_dtype: a str is a dtype
// string, a tuple is (dtype, shape), and anything else is iterated as a list
// of fields — including a str field ('aO' is the field a of dtype O) or a
// dict (its keys), so odd headers that numpy loads are read the same way.
func parseDescr(v literal) (dtype, error) {
	switch v.kind {
	case litStr:
		if v.str == "" {
			return dtype{}, fmt.Errorf("empty dtype string")
		}
		return dtype{descr: v.str}, nil
	case litTuple:
		// numpy reads descr[0] and descr[1] and ignores the rest.
		if len(v.items) < 2 {
			return dtype{}, fmt.Errorf("subarray tuple %s needs a dtype and a shape", v.repr())
		}
		inner, err := parseDescr(v.items[0])
		if err != nil {
			return dtype{}, err
		}
		shape, err := subShape(v.items[1])
		if err != nil {
			return dtype{}, err
		}
		inner.shape = concatShapes(shape, inner.shape)
		return inner, nil
	}
	elems, ok := v.iterate()
	if !ok {
		return dtype{}, fmt.Errorf("a %s is not a dtype", v.kind)
	}
	fields := make([]Field, 0, len(elems))
	for _, e := range elems {
		if n := utf8.RuneCountInString(e.str); e.kind == litStr && n != 2 && n != 3 {
			// Checked before iterate, which would make a value per character.
			return dtype{}, fmt.Errorf("field %s is not (name, dtype) or (name, dtype, shape)", e.repr())
		}
		parts, ok := e.iterate()
		if !ok || (len(parts) != 2 && len(parts) != 3) {
			return dtype{}, fmt.Errorf("field %s is not (name, dtype) or (name, dtype, shape)", e.repr())
		}
		var f Field
		switch name := parts[0]; {
		case name.kind == litStr:
			f.Name = name.str
		case name.kind == litTuple && len(name.items) == 2 && name.items[1].kind == litStr:
			f.Title, f.Name = name.items[0].text(), name.items[1].str
		default:
			return dtype{}, fmt.Errorf("field name %s is not a string or a (title, name) pair", name.repr())
		}
		dt, err := parseDescr(parts[1])
		if err != nil {
			return dtype{}, fmt.Errorf("field %q: %w", f.Name, err)
		}
		if len(parts) == 3 {
			shape, err := subShape(parts[2])
			if err != nil {
				return dtype{}, fmt.Errorf("field %q: %w", f.Name, err)
			}
			dt.shape = concatShapes(shape, dt.shape)
		}
		f.Descr, f.Fields, f.Shape = dt.descr, dt.fields, dt.shape
		fields = append(fields, f)
	}
	return dtype{fields: fields}, nil
}

// subShape reads the shape of a subarray dtype: an int or a sequence of
// ints (not bools: numpy refuses them here).
func subShape(v literal) ([]int64, error) {
	items := []literal{v}
	if v.kind == litTuple || v.kind == litList {
		items = v.items
	}
	shape := make([]int64, 0, len(items))
	for _, it := range items {
		if it.kind != litInt || it.num < 0 {
			return nil, fmt.Errorf("invalid subarray shape %s", v.repr())
		}
		shape = append(shape, it.num)
	}
	if _, ok := mulShape(1, shape); !ok {
		return nil, fmt.Errorf("subarray shape %s overflows", v.repr())
	}
	return shape, nil
}

func concatShapes(outer, inner []int64) []int64 {
	if len(outer)+len(inner) == 0 {
		return nil
	}
	return append(append([]int64{}, outer...), inner...)
}

// iterate returns what Python's iteration over v yields: the items of a
// sequence or set, the keys of a dict, the characters of a str. ok is false
// for values that are not iterable into fields.
func (v literal) iterate() ([]literal, bool) {
	switch v.kind {
	case litTuple, litList, litSet:
		return v.items, true
	case litDict:
		keys := make([]literal, 0, len(v.items)/2)
		for i := 0; i < len(v.items); i += 2 {
			keys = append(keys, v.items[i])
		}
		return keys, true
	case litStr:
		chars := make([]literal, 0, len(v.str))
		for _, r := range v.str {
			chars = append(chars, literal{kind: litStr, str: string(r)})
		}
		return chars, true
	}
	return nil, false
}

// text is the value as a title: a str as is, anything else as its repr.
func (v literal) text() string {
	if v.kind == litStr {
		return v.str
	}
	return v.repr()
}

// repr renders v roughly as Python would, for error messages.
func (v literal) repr() string {
	switch v.kind {
	case litStr, litBytes:
		s, more := v.str, ""
		if len(s) > 100 {
			s, more = strings.ToValidUTF8(s[:100], ""), "…"
		}
		if v.kind == litBytes {
			return "b" + strconv.Quote(s) + more
		}
		return strconv.Quote(s) + more
	case litInt:
		return strconv.FormatInt(v.num, 10)
	case litBool:
		if v.num == 1 {
			return "True"
		}
		return "False"
	case litNone:
		return "None"
	}
	var b strings.Builder
	open, end := map[litKind]string{litTuple: "(", litList: "[", litSet: "{", litDict: "{"}[v.kind], map[litKind]string{litTuple: ")", litList: "]", litSet: "}", litDict: "}"}[v.kind]
	b.WriteString(open)
	for i, it := range v.items {
		if b.Len() > 200 {
			b.WriteString("…")
			break
		}
		if i > 0 {
			if v.kind == litDict && i%2 == 1 {
				b.WriteString(": ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString(it.repr())
	}
	if v.kind == litTuple && len(v.items) == 1 {
		b.WriteString(",")
	}
	b.WriteString(end)
	return b.String()
}

// itemSize returns the size in bytes of one item of a dtype, or false when
// it is not known. A structured dtype from an .npy header is packed: numpy
// places each field right after the previous one, padding fields included.
func itemSize(descr string, fields []Field, shape []int64) (int64, bool) {
	var size int64
	if descr != "" {
		s, ok := simpleItemSize(descr)
		if !ok {
			return 0, false
		}
		size = s
	} else {
		for _, f := range fields {
			s, ok := itemSize(f.Descr, f.Fields, f.Shape)
			if !ok {
				return 0, false
			}
			sum, carry := bits.Add64(uint64(size), uint64(s), 0)
			if carry != 0 || sum > math.MaxInt64 {
				return 0, false
			}
			size = int64(sum)
		}
	}
	return mulShape(size, shape)
}

// simpleItemSize knows the dtype strings numpy writes (dtype.str): a
// byte-order character, a kind and a size, such as '<f8', '|b1', '<U5',
// '|S3', '|V16' or '<M8[ns]'.
func simpleItemSize(s string) (int64, bool) {
	if s != "" && strings.IndexByte("<>|=", s[0]) >= 0 {
		s = s[1:]
	}
	if s == "?" {
		return 1, true
	}
	if len(s) < 2 {
		return 0, false
	}
	kind, rest := s[0], s[1:]
	if kind == 'M' || kind == 'm' {
		// Datetimes and timedeltas are 8 bytes, with an optional unit.
		if rest == "8" || (strings.HasPrefix(rest, "8[") && strings.HasSuffix(rest, "]")) {
			return 8, true
		}
		return 0, false
	}
	for _, c := range []byte(rest) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return 0, false
	}
	switch kind {
	case 'b':
		return n, n == 1
	case 'i', 'u':
		return n, n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		return n, n == 2 || n == 4 || n == 8 || n == 12 || n == 16
	case 'c':
		return n, n == 8 || n == 16 || n == 24 || n == 32
	case 'S', 'a', 'V':
		return n, true
	case 'U':
		if n > math.MaxInt64/4 {
			return 0, false
		}
		return 4 * n, true
	}
	return 0, false
}

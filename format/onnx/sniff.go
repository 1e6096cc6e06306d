package onnx

import (
	"unicode/utf8"

	"github.com/aigis-sec/aigis/format/internal/protowire"
)

// modelWire is the wire type of each ModelProto field Sniff accepts.
var modelWire = map[uint64]uint64{
	1:  protowire.Varint, // ir_version
	2:  protowire.Bytes,  // producer_name
	3:  protowire.Bytes,  // producer_version
	4:  protowire.Bytes,  // domain
	5:  protowire.Varint, // model_version
	6:  protowire.Bytes,  // doc_string
	7:  protowire.Bytes,  // graph
	8:  protowire.Bytes,  // opset_import
	14: protowire.Bytes,  // metadata_props
	20: protowire.Bytes,  // training_info
	25: protowire.Bytes,  // functions
	26: protowire.Bytes,  // configuration
}

// maxIRVersion is far above the IR versions in use (3 to 12), and far
// below what random bytes give.
const maxIRVersion = 100

// Sniff reports whether head, the first bytes of a file, looks like an
// ONNX model. Protobuf has no magic, so it is conservative: writers emit
// fields in number order, so a model starts with ir_version (tag 0x08)
// holding a small number, followed by at least one more ModelProto field
// of the right wire type; every field that ends inside head must be
// well formed, text fields must be UTF-8, and a graph field must start
// with a GraphProto field. A file cut by the end of head is accepted if
// what is there is valid.
func Sniff(head []byte) bool {
	if len(head) < 2 || head[0] != 0x08 {
		return false
	}
	v, n := protowire.Uvarint(head[1:])
	if n <= 0 || v == 0 || v > maxIRVersion {
		return false
	}
	i, fields := 1+n, 1
	for i < len(head) {
		tag, n := protowire.Uvarint(head[i:])
		if n == 0 {
			break // cut by the window
		}
		if n < 0 {
			return false
		}
		want, ok := modelWire[tag>>3]
		if !ok || tag&7 != want {
			return false
		}
		i += n
		fields++
		if tag&7 == protowire.Varint {
			if _, n := protowire.Uvarint(head[i:]); n < 0 {
				return false
			} else if n == 0 {
				break
			} else {
				i += n
			}
			continue
		}
		l, n := protowire.Uvarint(head[i:])
		if n < 0 {
			return false
		}
		if n == 0 {
			break
		}
		i += n
		body := head[i:]
		if l < uint64(len(body)) {
			body = body[:l]
		}
		switch tag >> 3 {
		case 2, 3, 4:
			if !utf8.Valid(trimRune(body, l)) {
				return false
			}
		case 7:
			if len(body) > 0 && !graphStart(body) {
				return false
			}
		}
		if l > uint64(len(head)-i) {
			break // the field goes on past head
		}
		i += int(l)
	}
	return fields >= 2
}

// graphStart reports whether b starts with a GraphProto field, all of
// which are length-delimited.
func graphStart(b []byte) bool {
	tag, n := protowire.Uvarint(b)
	if n == 0 {
		return true
	}
	if n < 0 || tag&7 != protowire.Bytes {
		return false
	}
	switch tag >> 3 {
	case 1, 2, 5, 10, 11, 12, 13, 14, 15, 16:
		return true
	}
	return false
}

// trimRune drops a UTF-8 sequence cut by the end of head when the field is
// longer than what is there.
func trimRune(b []byte, l uint64) []byte {
	if uint64(len(b)) == l {
		return b
	}
	for k := 0; k < 3 && len(b) > 0 && !utf8.Valid(b); k++ {
		b = b[:len(b)-1]
	}
	return b
}

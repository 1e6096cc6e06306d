package tfgraph

import (
	"unicode/utf8"

	"github.com/aigis-sec/aigis/format/internal/protowire"
)

// SniffSavedModel reports whether head, the first bytes of a file, looks
// like a SavedModel. Protobuf has no magic, so it is conservative: writers
// emit fields in number order, so a SavedModel starts with
// saved_model_schema_version (tag 0x08) holding a small number, followed by
// a meta graph (tag 0x12) whose length fits the varint rules and whose
// content starts with a MetaGraphDef field: meta_info_def (0x0a) or
// graph_def (0x12).
func SniffSavedModel(head []byte) bool {
	if len(head) < 4 || head[0] != 0x08 {
		return false
	}
	v, n := protowire.Uvarint(head[1:])
	if n <= 0 || v == 0 || v > 100 {
		return false
	}
	i := 1 + n
	if i >= len(head) || head[i] != 0x12 {
		return false
	}
	i++
	l, n := protowire.Uvarint(head[i:])
	if n <= 0 || l == 0 {
		return false
	}
	i += n
	if i >= len(head) {
		return true // cut by the window after a well-formed start
	}
	return head[i] == 0x0a || head[i] == 0x12
}

// SniffGraphDef reports whether head looks like a bare GraphDef: its first
// field is a node (tag 0x0a) whose content starts with a name (0x0a) or an
// operator type (0x12) of printable identifier bytes. It is weaker than
// SniffSavedModel, so callers use it only for files named *.pb.
func SniffGraphDef(head []byte) bool {
	if len(head) < 4 || head[0] != 0x0a {
		return false
	}
	_, n := protowire.Uvarint(head[1:])
	if n <= 0 {
		return false
	}
	i := 1 + n
	if i+1 >= len(head) || (head[i] != 0x0a && head[i] != 0x12) {
		return false
	}
	l, n := protowire.Uvarint(head[i+1:])
	if n <= 0 || l == 0 || l > 64<<10 {
		return false
	}
	s := head[i+1+n:]
	if uint64(len(s)) > l {
		s = s[:l]
	}
	if len(s) == 0 || !utf8.Valid(s) {
		return len(s) == 0
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

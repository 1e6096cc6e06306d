// Package tflite reads the operators of a TensorFlow Lite model (a
// flatbuffer, tensorflow/lite/schema/schema.fbs, file identifier "TFL3")
// without loading it.
//
// A TFLite model runs no Python, and its built-in operators are kernels of
// the interpreter. Operators with builtin code CUSTOM name a custom
// operator instead: the application must register a native kernel for it
// (or, for names starting with "Flex", link the TensorFlow select-ops
// delegate, which runs the TensorFlow operator of that name). Parse lists
// every operator code with how many operators use it, and the custom
// names.
//
// Flatbuffer offsets in a hostile file point anywhere: every offset,
// vtable and vector length is checked against the file's size before it
// is followed, and the parser follows only the fixed path Model →
// operator_codes / subgraphs → operators, so cycles cannot make it loop.
// Tensor buffers are never read. Limits bound the counts, and a limit
// that is hit is a *safeio.LimitError. The package knows nothing about
// severity; scan/checks decides.
package tflite

import (
	"fmt"
	"io"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// BuiltinCustom is the BuiltinOperator of a custom operator.
const BuiltinCustom = 32

// Limits bound the work done on one model.
type Limits struct {
	MaxOperatorCodes int   // entries of operator_codes
	MaxSubgraphs     int   // subgraphs
	MaxOperators     int   // operators in all subgraphs
	MaxStringBytes   int64 // one custom code or description (at most 64 KiB)
}

// DefaultLimits are far above real models (a few hundred operator codes,
// tens of thousands of operators).
func DefaultLimits() Limits {
	return Limits{
		MaxOperatorCodes: 100_000,
		MaxSubgraphs:     100_000,
		MaxOperators:     10_000_000,
		MaxStringBytes:   64 << 10,
	}
}

// Model is what a TFLite file says about its operators.
type Model struct {
	Version       uint32 // schema version (3)
	Description   string // e.g. "MLIR Converted." (truncated to 256 bytes)
	OperatorCodes []OpCode
	// CustomOps are the distinct names of the custom operator codes, in
	// order.
	CustomOps []string
	Subgraphs int
	Operators int // in all subgraphs
}

// OpCode is one entry of operator_codes.
type OpCode struct {
	// Builtin is the BuiltinOperator: the larger of the deprecated byte
	// code and builtin_code, as the interpreter reads it.
	Builtin int32
	Custom  string // custom_code, for Builtin == BuiltinCustom
	Version int32
	Uses    int   // operators using this code
	Offset  int64 // byte offset of the OperatorCode table
}

const displayMax = 256

func limitErr(name string, v int64, detail string) error {
	return &safeio.LimitError{Limit: "tflite." + name, Value: v, Detail: detail}
}

// Sniff reports whether head, the first bytes of a file, is a TFLite
// model: the file identifier "TFL3" at bytes 4 to 8, and a root offset
// that points inside what follows.
func Sniff(head []byte) bool {
	if len(head) < 8 || string(head[4:8]) != "TFL3" {
		return false
	}
	root := uint32(head[0]) | uint32(head[1])<<8 | uint32(head[2])<<16 | uint32(head[3])<<24
	return root >= 8 && root%4 == 0
}

// Parse reads the model of size bytes in r.
//
// On error it still returns the Model read so far (never nil): custom
// operators found before a break are evidence. Errors wrap ErrMalformed
// for bytes that are not a valid model, are a *safeio.LimitError for a
// limit, and otherwise come from r.
func Parse(r io.ReaderAt, size int64, lim Limits) (*Model, error) {
	m := &Model{}
	err := parse(newBuffer(r, size), m, lim)
	return m, err
}

func parse(b *buffer, m *Model, lim Limits) error {
	root, err := b.deref(0)
	if err != nil {
		return err
	}
	t, err := b.table(root)
	if err != nil {
		return err
	}
	// Model fields: version 0, operator_codes 1, subgraphs 2, description 3.
	if p, err := b.field(t, 0, 4); err != nil {
		return err
	} else if p != 0 {
		if m.Version, err = b.u32(p); err != nil {
			return err
		}
	}
	if p, err := b.field(t, 3, 4); err != nil {
		return err
	} else if p != 0 {
		s, err := b.str(p, lim, true)
		if err != nil {
			return err
		}
		m.Description = s
	}
	if p, err := b.field(t, 1, 4); err != nil {
		return err
	} else if p != 0 {
		if err := opcodes(b, p, m, lim); err != nil {
			return err
		}
	}
	p, err := b.field(t, 2, 4)
	if err != nil || p == 0 {
		return err
	}
	start, n, err := b.vector(p, 4)
	if err != nil {
		return err
	}
	if n > int64(lim.MaxSubgraphs) {
		return limitErr("MaxSubgraphs", int64(lim.MaxSubgraphs), fmt.Sprintf("%d subgraphs", n))
	}
	for i := range n {
		m.Subgraphs++
		if err := subgraph(b, start+4*i, m, lim); err != nil {
			return err
		}
	}
	return nil
}

// str reads the string whose uoffset is at p; long strings are a limit,
// or truncated when trunc is set.
func (b *buffer) str(p int64, lim Limits, trunc bool) (string, error) {
	start, n, err := b.vector(p, 1)
	if err != nil {
		return "", err
	}
	if n > lim.MaxStringBytes {
		if !trunc {
			return "", limitErr("MaxStringBytes", lim.MaxStringBytes, fmt.Sprintf("string of %d bytes at offset %d", n, start))
		}
		n = lim.MaxStringBytes
	}
	raw, err := b.at(start, n)
	if err != nil {
		return "", err
	}
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	if trunc && len(s) > displayMax {
		s = strings.ToValidUTF8(s[:displayMax], "")
	}
	return s, nil
}

// OperatorCode fields: deprecated_builtin_code 0 (byte), custom_code 1,
// version 2 (int, default 1), builtin_code 3 (int).
func opcodes(b *buffer, p int64, m *Model, lim Limits) error {
	start, n, err := b.vector(p, 4)
	if err != nil {
		return err
	}
	if n > int64(lim.MaxOperatorCodes) {
		return limitErr("MaxOperatorCodes", int64(lim.MaxOperatorCodes), fmt.Sprintf("%d operator codes", n))
	}
	seen := map[string]bool{}
	for i := range n {
		at, err := b.deref(start + 4*i)
		if err != nil {
			return err
		}
		t, err := b.table(at)
		if err != nil {
			return err
		}
		oc := OpCode{Version: 1, Offset: at}
		var deprecated, builtin int32
		if f, err := b.field(t, 0, 1); err != nil {
			return err
		} else if f != 0 {
			v, err := b.u8(f)
			if err != nil {
				return err
			}
			deprecated = int32(int8(v))
		}
		if f, err := b.field(t, 3, 4); err != nil {
			return err
		} else if f != 0 {
			v, err := b.u32(f)
			if err != nil {
				return err
			}
			builtin = int32(v)
		}
		if f, err := b.field(t, 2, 4); err != nil {
			return err
		} else if f != 0 {
			v, err := b.u32(f)
			if err != nil {
				return err
			}
			oc.Version = int32(v)
		}
		// tflite::GetBuiltinCode: the larger of the two fields.
		oc.Builtin = max(deprecated, builtin)
		if f, err := b.field(t, 1, 4); err != nil {
			return err
		} else if f != 0 {
			if oc.Custom, err = b.str(f, lim, false); err != nil {
				return err
			}
		}
		if oc.Builtin == BuiltinCustom && !seen[oc.Custom] {
			seen[oc.Custom] = true
			m.CustomOps = append(m.CustomOps, oc.Custom)
		}
		m.OperatorCodes = append(m.OperatorCodes, oc)
	}
	return nil
}

// SubGraph fields: tensors 0, inputs 1, outputs 2, operators 3, name 4.
// Operator fields: opcode_index 0 (uint, default 0).
func subgraph(b *buffer, p int64, m *Model, lim Limits) error {
	at, err := b.deref(p)
	if err != nil {
		return err
	}
	t, err := b.table(at)
	if err != nil {
		return err
	}
	f, err := b.field(t, 3, 4)
	if err != nil || f == 0 {
		return err
	}
	start, n, err := b.vector(f, 4)
	if err != nil {
		return err
	}
	if int64(m.Operators)+n > int64(lim.MaxOperators) {
		return limitErr("MaxOperators", int64(lim.MaxOperators), fmt.Sprintf("%d more operators", n))
	}
	for i := range n {
		op, err := b.deref(start + 4*i)
		if err != nil {
			return err
		}
		ot, err := b.table(op)
		if err != nil {
			return err
		}
		var idx uint32
		if f, err := b.field(ot, 0, 4); err != nil {
			return err
		} else if f != 0 {
			if idx, err = b.u32(f); err != nil {
				return err
			}
		}
		if int64(idx) >= int64(len(m.OperatorCodes)) {
			return malformed(op, "operator uses code %d of %d", idx, len(m.OperatorCodes))
		}
		m.OperatorCodes[idx].Uses++
		m.Operators++
	}
	return nil
}

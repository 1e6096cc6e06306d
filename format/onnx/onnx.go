// Package onnx reads what matters for safety from an ONNX model (a
// protobuf ModelProto, onnx/onnx.proto) without loading its weights.
//
// An ONNX file holds a graph of operator nodes and the tensors they use.
// Two things in it make a loader touch more than the file:
//
//   - Tensors may keep their bytes in another file: data_location EXTERNAL
//     and an external_data entry "location" that the loader joins to the
//     model's folder and opens. A location that is absolute or climbs out
//     with "..", or that reaches a symbolic link, reads (and on save,
//     writes) files elsewhere (CVE-2022-25882, CVE-2024-27318,
//     CVE-2025-51480, CVE-2026-34447).
//   - Nodes name their operator by domain and type. Operators outside the
//     standard domains come from custom-op libraries that the runtime
//     loads as native code.
//
// Parse walks the model, its main graph, every subgraph held in node
// attributes (the branches of If, the bodies of Loop and Scan), training
// graphs and model-local functions, and returns a Model: the opsets, the
// distinct operators with where they first occur, and every external-data
// reference. It reads only tags, names and small fields: tensor bytes
// (raw_data and the typed data fields) are skipped by offset, so a model of
// many GiB with inline weights is parsed in a few reads. Protobuf has no
// size prefix on repeated fields, so nothing is allocated from a declared
// count; Limits bound nesting, counts and string sizes, and a limit that is
// hit is a *safeio.LimitError.
//
// The parser follows protobuf's rules where a loader would: fields with an
// unexpected wire type and unknown fields (groups included) are skipped as
// unknown, the last value of a singular field wins, and repeated messages
// are all visited. It knows nothing about severity; scan/checks decides.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/format/internal/protowire"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// Limits bound the work done on one model.
type Limits struct {
	MaxGraphDepth  int   // graphs inside node attributes inside graphs
	MaxNodes       int   // nodes in all graphs and functions
	MaxTensors     int   // initializers and attribute tensors
	MaxExternal    int   // external-data references kept
	MaxDistinct    int   // distinct operators, opsets and functions
	MaxStringBytes int64 // one domain, operator type or external location (at most 64 KiB)
}

// DefaultLimits are generous for real models (large language models
// exported to ONNX have a few hundred thousand nodes and tensors, nested
// control flow a handful of levels) and small enough that a crafted file
// cannot exhaust memory or the stack.
func DefaultLimits() Limits {
	return Limits{
		MaxGraphDepth:  64,
		MaxNodes:       10_000_000,
		MaxTensors:     10_000_000,
		MaxExternal:    1_000_000,
		MaxDistinct:    100_000,
		MaxStringBytes: 64 << 10,
	}
}

// Model is what an ONNX file says about itself.
type Model struct {
	IRVersion       int64
	Producer        string // producer_name, e.g. "pytorch"
	ProducerVersion string
	Domain          string // the model's own domain (reverse DNS), if any
	ModelVersion    int64
	Opsets          []Opset // the model's opset_import, in file order

	Graphs       int // graphs walked: main, subgraphs, training, function bodies
	Nodes        int // nodes in all of them
	Initializers int // initializer and sparse_initializer entries of all graphs

	// Ops are the distinct operators, in order of first use.
	Ops []Op
	// Domains are the distinct operator domains, sorted; "" is the
	// default ONNX domain (the same as "ai.onnx").
	Domains []string
	// Functions are the model-local functions: a node whose domain and
	// type name one of them runs its body, not a native operator.
	Functions []Function
	// ExternalData lists every tensor whose bytes are in another file, one
	// entry per "location" entry (a tensor with two has two entries).
	ExternalData []External
}

// Opset is an operator set the model or a function imports.
type Opset struct {
	Domain  string
	Version int64
}

// Op is one distinct operator (domain and type).
type Op struct {
	Domain string
	Type   string
	Graph  string // where it is first used, e.g. "graph/cond.then_branch"
	Offset int64  // byte offset of that first node
	Count  int    // nodes using it
}

// Function is a model-local function (FunctionProto).
type Function struct {
	Domain   string
	Name     string
	Overload string
	Opsets   []Opset
}

// External is a reference from a tensor to bytes in another file.
type External struct {
	Tensor   string // tensor name (truncated to 256 bytes)
	Location string // path as written, relative to the model's folder
	Offset   int64  // "offset" entry, -1 when absent or not a number
	Length   int64  // "length" entry, -1 when absent or not a number
	// Declared is set when data_location is EXTERNAL. Loaders read the
	// location only then; an entry without it is still reported because
	// not every tool checks.
	Declared bool
	Graph    string // graph or function holding the tensor
	At       int64  // byte offset of the TensorProto
}

// ErrMalformed is wrapped by every error about bytes that are not a valid
// protobuf message.
var ErrMalformed = errors.New("onnx: malformed protobuf")

var wireOptions = protowire.Options{Name: "onnx", Malformed: ErrMalformed}

const displayMax = 256 // bytes kept of names shown in paths and findings

// Parse reads the model of size bytes in r.
//
// On error it still returns the Model read so far (never nil), because a
// reference found before a limit or a break is evidence: the caller reports
// it and marks the scan incomplete. Errors wrap ErrMalformed for bytes that
// are not a valid protobuf message, are a *safeio.LimitError for a limit,
// and otherwise come from r.
func Parse(r io.ReaderAt, size int64, lim Limits) (*Model, error) {
	p := newParser(protowire.NewReaderAt(r, size, wireOptions), lim)
	return p.run(size)
}

// ParseReader reads a model from a stream (a member of a compressed
// archive). Tensor bytes are read and discarded, never kept.
func ParseReader(r io.Reader, lim Limits) (*Model, error) {
	p := newParser(protowire.NewReader(r, wireOptions), lim)
	return p.run(protowire.Unbounded)
}

type parser struct {
	c   *protowire.Reader
	lim Limits
	m   *Model

	ops     map[string]int    // domain "\x00" type → index in m.Ops
	strs    map[string]string // interned domains and types
	key     []byte
	tensors int
	names   [][]byte // per graph depth: the current node's name
	attrs   [][]byte // per graph depth: the current attribute's name
}

func newParser(c *protowire.Reader, lim Limits) *parser {
	return &parser{c: c, lim: lim, m: &Model{}, ops: map[string]int{}, strs: map[string]string{}}
}

func limitErr(name string, v int64, detail string) error {
	return &safeio.LimitError{Limit: "onnx." + name, Value: v, Detail: detail}
}

func (p *parser) run(end int64) (*Model, error) {
	err := p.model(end)
	p.finish()
	if err == nil && p.m.IRVersion == 0 && p.m.Graphs == 0 && len(p.m.Functions) == 0 {
		err = p.c.Malformed(0, "no ir_version, graph or function: not an ONNX model")
	}
	return p.m, err
}

func (p *parser) finish() {
	seen := map[string]bool{}
	for _, op := range p.m.Ops {
		if !seen[op.Domain] {
			seen[op.Domain] = true
			p.m.Domains = append(p.m.Domains, op.Domain)
		}
	}
	sort.Strings(p.m.Domains)
}

// ModelProto fields.
func (p *parser) model(end int64) error {
	return p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Varint:
			p.m.IRVersion = int64(f.Val)
		case f.Num == 5 && f.Wire == protowire.Varint:
			p.m.ModelVersion = int64(f.Val)
		case f.Num == 2 && f.Wire == protowire.Bytes:
			return p.display(f, &p.m.Producer)
		case f.Num == 3 && f.Wire == protowire.Bytes:
			return p.display(f, &p.m.ProducerVersion)
		case f.Num == 4 && f.Wire == protowire.Bytes:
			return p.display(f, &p.m.Domain)
		case f.Num == 7 && f.Wire == protowire.Bytes:
			return p.graph(f.End, "graph", 0)
		case f.Num == 8 && f.Wire == protowire.Bytes:
			o, err := p.opset(f.End)
			if err != nil {
				return err
			}
			if len(p.m.Opsets) >= p.lim.MaxDistinct {
				return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "too many opset imports")
			}
			p.m.Opsets = append(p.m.Opsets, o)
		case f.Num == 20 && f.Wire == protowire.Bytes:
			return p.training(f.End)
		case f.Num == 25 && f.Wire == protowire.Bytes:
			return p.function(f.End)
		}
		return nil
	})
}

// display reads a string field shown to users, truncated.
func (p *parser) display(f protowire.Field, dst *string) error {
	n := min(f.End-f.Start, displayMax)
	b, err := p.c.Bytes(n)
	if err != nil {
		return err
	}
	*dst = string(b)
	return nil
}

// exact reads a string field that policy compares, which must not be
// truncated.
func (p *parser) exact(f protowire.Field, what string) ([]byte, error) {
	n := f.End - f.Start
	if n > p.lim.MaxStringBytes || n > protowire.WindowSize {
		return nil, limitErr("MaxStringBytes", p.lim.MaxStringBytes, fmt.Sprintf("%s of %d bytes at offset %d", what, n, f.At))
	}
	return p.c.Bytes(n)
}

// intern returns b as a string shared by equal values.
func (p *parser) intern(b []byte) (string, error) {
	if s, ok := p.strs[string(b)]; ok {
		return s, nil
	}
	if len(p.strs) >= p.lim.MaxDistinct {
		return "", limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "too many distinct operator names")
	}
	s := string(b)
	p.strs[s] = s
	return s, nil
}

// OperatorSetIdProto: domain 1, version 2.
func (p *parser) opset(end int64) (Opset, error) {
	var o Opset
	err := p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "opset domain")
			if err != nil {
				return err
			}
			o.Domain, err = p.intern(b)
			return err
		case f.Num == 2 && f.Wire == protowire.Varint:
			o.Version = int64(f.Val)
		}
		return nil
	})
	return o, err
}

// TrainingInfoProto: initialization 1, algorithm 2 (graphs).
func (p *parser) training(end int64) error {
	return p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			return p.graph(f.End, "training.initialization", 0)
		case f.Num == 2 && f.Wire == protowire.Bytes:
			return p.graph(f.End, "training.algorithm", 0)
		}
		return nil
	})
}

// FunctionProto: name 1, node 7, opset_import 9, domain 10, overload 13.
// Writers emit fields in number order, so the domain (10) comes after the
// body: the body is walked under a placeholder label that is replaced once
// the whole function has been read.
func (p *parser) function(end int64) error {
	if len(p.m.Functions) >= p.lim.MaxDistinct {
		return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "too many functions")
	}
	p.m.Functions = append(p.m.Functions, Function{})
	idx := len(p.m.Functions) - 1
	fn := &p.m.Functions[idx]
	firstOp, firstExt := len(p.m.Ops), len(p.m.ExternalData)
	const placeholder = "\x00function"
	p.m.Graphs++
	i := 0
	err := p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "function name")
			if err != nil {
				return err
			}
			fn.Name = string(b)
		case f.Num == 10 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "function domain")
			if err != nil {
				return err
			}
			fn.Domain, err = p.intern(b)
			return err
		case f.Num == 13 && f.Wire == protowire.Bytes:
			return p.display(f, &fn.Overload)
		case f.Num == 9 && f.Wire == protowire.Bytes:
			o, err := p.opset(f.End)
			if err != nil {
				return err
			}
			if len(fn.Opsets) >= p.lim.MaxDistinct {
				return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "too many opset imports")
			}
			fn.Opsets = append(fn.Opsets, o)
		case f.Num == 7 && f.Wire == protowire.Bytes:
			err := p.node(f.End, placeholder, i, 1)
			i++
			return err
		}
		return nil
	})
	label := "function " + trunc(fn.Domain+"."+fn.Name)
	if fn.Name == "" {
		label = fmt.Sprintf("function[%d]", idx)
	}
	for k := firstOp; k < len(p.m.Ops); k++ {
		p.m.Ops[k].Graph = relabel(p.m.Ops[k].Graph, placeholder, label)
	}
	for k := firstExt; k < len(p.m.ExternalData); k++ {
		p.m.ExternalData[k].Graph = relabel(p.m.ExternalData[k].Graph, placeholder, label)
	}
	return err
}

func relabel(path, placeholder, label string) string {
	if strings.HasPrefix(path, placeholder) {
		return label + path[len(placeholder):]
	}
	return path
}

func trunc(s string) string {
	if len(s) <= displayMax {
		return s
	}
	s = s[:displayMax]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// GraphProto: node 1, initializer 5, sparse_initializer 15. Inputs,
// outputs and value_info only hold types and are skipped.
func (p *parser) graph(end int64, path string, depth int) error {
	if depth >= p.lim.MaxGraphDepth {
		return limitErr("MaxGraphDepth", int64(p.lim.MaxGraphDepth), "subgraphs nested too deep at "+trunc(path))
	}
	p.m.Graphs++
	i := 0
	return p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			err := p.node(f.End, path, i, depth+1)
			i++
			return err
		case f.Num == 5 && f.Wire == protowire.Bytes:
			p.m.Initializers++
			return p.tensor(f, path)
		case f.Num == 15 && f.Wire == protowire.Bytes:
			p.m.Initializers++
			return p.sparse(f.End, path)
		}
		return nil
	})
}

// scratch returns the per-depth buffer of s, grown as needed.
func scratch(s *[][]byte, depth int) *[]byte {
	for len(*s) <= depth {
		*s = append(*s, nil)
	}
	return &(*s)[depth]
}

// NodeProto: name 3, op_type 4, attribute 5, domain 7. depth is the depth
// of graphs that subgraphs in the node's attributes would have.
func (p *parser) node(end int64, path string, idx, depth int) error {
	if p.m.Nodes >= p.lim.MaxNodes {
		return limitErr("MaxNodes", int64(p.lim.MaxNodes), "too many nodes")
	}
	p.m.Nodes++
	at := p.c.Pos()
	var opType, domain string
	name := scratch(&p.names, depth)
	*name = (*name)[:0]
	label := func() string {
		if len(*name) > 0 {
			return trunc(string(*name))
		}
		return fmt.Sprintf("%s#%d", trunc(opType), idx)
	}
	err := p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 3 && f.Wire == protowire.Bytes:
			b, err := p.c.Bytes(min(f.End-f.Start, displayMax))
			if err != nil {
				return err
			}
			*name = append((*name)[:0], b...)
		case f.Num == 4 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "operator type")
			if err != nil {
				return err
			}
			opType, err = p.intern(b)
			return err
		case f.Num == 7 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "operator domain")
			if err != nil {
				return err
			}
			domain, err = p.intern(b)
			return err
		case f.Num == 5 && f.Wire == protowire.Bytes:
			return p.attribute(f.End, path, label, depth)
		}
		return nil
	})
	// The operator is recorded even when the node is cut short: what was
	// read is evidence.
	if opType != "" || domain != "" {
		if e := p.addOp(domain, opType, path, at); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func (p *parser) addOp(domain, typ, path string, at int64) error {
	p.key = append(append(append(p.key[:0], domain...), 0), typ...)
	if i, ok := p.ops[string(p.key)]; ok {
		p.m.Ops[i].Count++
		return nil
	}
	if len(p.m.Ops) >= p.lim.MaxDistinct {
		return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "too many distinct operators")
	}
	p.ops[string(p.key)] = len(p.m.Ops)
	p.m.Ops = append(p.m.Ops, Op{Domain: domain, Type: typ, Graph: path, Offset: at, Count: 1})
	return nil
}

// AttributeProto: name 1, t 5, g 6, tensors 10, graphs 11,
// sparse_tensor 22, sparse_tensors 23.
func (p *parser) attribute(end int64, path string, node func() string, depth int) error {
	name := scratch(&p.attrs, depth)
	*name = (*name)[:0]
	graphs := 0
	sub := func() string {
		s := path + "/" + node() + "." + trunc(string(*name))
		if graphs > 0 {
			s += fmt.Sprintf("[%d]", graphs)
		}
		graphs++
		return s
	}
	return p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			b, err := p.c.Bytes(min(f.End-f.Start, displayMax))
			if err != nil {
				return err
			}
			*name = append((*name)[:0], b...)
		case (f.Num == 6 || f.Num == 11) && f.Wire == protowire.Bytes:
			return p.graph(f.End, sub(), depth)
		case (f.Num == 5 || f.Num == 10) && f.Wire == protowire.Bytes:
			return p.tensor(f, path)
		case (f.Num == 22 || f.Num == 23) && f.Wire == protowire.Bytes:
			return p.sparse(f.End, path)
		}
		return nil
	})
}

// SparseTensorProto: values 1, indices 2 (tensors).
func (p *parser) sparse(end int64, path string) error {
	return p.c.Fields(end, func(f protowire.Field) error {
		if (f.Num == 1 || f.Num == 2) && f.Wire == protowire.Bytes {
			return p.tensor(f, path)
		}
		return nil
	})
}

// TensorProto: name 8, external_data 13 (key 1, value 2), data_location
// 14. raw_data (9) and the typed data fields are skipped by offset.
func (p *parser) tensor(tf protowire.Field, path string) error {
	if p.tensors >= p.lim.MaxTensors {
		return limitErr("MaxTensors", int64(p.lim.MaxTensors), "too many tensors")
	}
	p.tensors++
	var (
		name      string
		declared  bool
		locations []string
		offset    int64 = -1
		length    int64 = -1
	)
	err := p.c.Fields(tf.End, func(f protowire.Field) error {
		switch {
		case f.Num == 8 && f.Wire == protowire.Bytes:
			return p.display(f, &name)
		case f.Num == 14 && f.Wire == protowire.Varint:
			declared = f.Val == 1 // DataLocation.EXTERNAL
		case f.Num == 13 && f.Wire == protowire.Bytes:
			key, val, err := p.entry(f.End)
			if err != nil {
				return err
			}
			switch key {
			case "location":
				if len(locations) >= p.lim.MaxExternal {
					return limitErr("MaxExternal", int64(p.lim.MaxExternal), "too many external-data locations")
				}
				locations = append(locations, val)
			case "offset":
				offset = number(val)
			case "length":
				length = number(val)
			}
		}
		return nil
	})
	if declared && len(locations) == 0 {
		locations = []string{""}
	}
	for _, loc := range locations {
		if len(p.m.ExternalData) >= p.lim.MaxExternal {
			return limitErr("MaxExternal", int64(p.lim.MaxExternal), "too many external-data references")
		}
		p.m.ExternalData = append(p.m.ExternalData, External{
			Tensor: name, Location: loc, Offset: offset, Length: length,
			Declared: declared, Graph: path, At: tf.At,
		})
	}
	return err
}

// entry reads a StringStringEntryProto of external_data. Only the keys
// loaders know are kept; their values are read in full.
func (p *parser) entry(end int64) (key, val string, err error) {
	var raw []byte
	err = p.c.Fields(end, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Bytes:
			if f.End-f.Start > 16 { // not a key loaders know
				key = "?"
				return nil
			}
			b, err := p.c.Bytes(f.End - f.Start)
			if err != nil {
				return err
			}
			key = string(b)
		case f.Num == 2 && f.Wire == protowire.Bytes:
			b, err := p.exact(f, "external-data value")
			if err != nil {
				return err
			}
			raw = append(raw[:0], b...)
		}
		return nil
	})
	return key, string(raw), err
}

// number reads an offset or length as Python's int() would; -1 when it is
// not a non-negative integer.
func number(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

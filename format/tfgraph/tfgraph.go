// Package tfgraph reads what matters for safety from TensorFlow graph
// files without TensorFlow: a SavedModel's saved_model.pb, a frozen
// GraphDef (.pb), and the keras_metadata.pb that Keras writes next to a
// SavedModel.
//
// A TensorFlow graph runs no Python when it is loaded, but its operators
// run when the graph does, which is what serving or calling a loaded model
// means. Some operators reach outside the tensor world: ReadFile and
// WriteFile touch any path, PyFunc and EagerPyFunc call back into Python,
// debug operators send tensors to file:// or grpc:// URLs, and operators
// that TensorFlow does not define come from custom-op libraries loaded as
// native code. Parse lists every distinct operator with the first node
// using it and the function holding it, and every attribute value that
// looks like a URL.
//
// The format is protobuf (tensorflow/core/protobuf/saved_model.proto,
// meta_graph.proto, tensorflow/core/framework/graph.proto, node_def.proto,
// function.proto, attr_value.proto). The schema is not recursive: a
// SavedModel holds MetaGraphDefs, each one GraphDef whose function library
// is flat, so nesting is bounded by the schema; unknown groups are skipped
// up to protobuf's own depth limit. Tensor contents (Const values of many
// MiB) are skipped by offset and never read. Nothing is allocated from a
// declared count; Limits bound nodes, functions, distinct operators and
// string sizes, and a limit that is hit is a *safeio.LimitError.
//
// The parser knows nothing about severity; scan/checks decides.
package tfgraph

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/format/internal/protowire"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// Kind says which message a file holds.
type Kind string

// Kinds of graph files.
const (
	KindSavedModel Kind = "saved-model" // SavedModel (saved_model.pb)
	KindGraphDef   Kind = "graph-def"   // bare GraphDef (frozen graph .pb)
)

// Limits bound the work done on one file.
type Limits struct {
	MaxNodes         int   // nodes in all graphs and functions
	MaxFunctions     int   // functions in all libraries
	MaxMetaGraphs    int   // MetaGraphDefs in a SavedModel
	MaxDistinct      int   // distinct operators (per function) and URLs kept
	MaxStringBytes   int64 // one operator type, function name or attribute value read (at most 64 KiB)
	MaxKerasObjects  int   // objects in keras_metadata.pb
	MaxMetadataBytes int64 // one Keras metadata JSON string
}

// DefaultLimits are generous for real models (a large SavedModel has a few
// hundred thousand nodes and tens of thousands of functions) and small
// enough that a crafted file cannot exhaust memory.
func DefaultLimits() Limits {
	return Limits{
		MaxNodes:         10_000_000,
		MaxFunctions:     1_000_000,
		MaxMetaGraphs:    1_000,
		MaxDistinct:      100_000,
		MaxStringBytes:   64 << 10,
		MaxKerasObjects:  1_000_000,
		MaxMetadataBytes: 64 << 20,
	}
}

// Graph is what a graph file says about itself.
type Graph struct {
	Kind          Kind
	SchemaVersion int64    // saved_model_schema_version
	MetaGraphs    int      // MetaGraphDefs read
	TFVersion     string   // tensorflow_version of the first meta graph that has one
	Tags          []string // distinct tags of all meta graphs ("serve", "train"…)

	Nodes     int // nodes in all graphs and function bodies
	Functions int // FunctionDefs in all libraries
	// FunctionNames are the names of the library's functions, in order:
	// a node whose op names one of them calls it, not a native operator.
	FunctionNames []string

	// Ops are the distinct operators per function, in order of first use.
	Ops []Op
	// URLs are attribute values that contain "://" (debug_urls,
	// PrintV2's output_stream…), in file order.
	URLs []URL
}

// Op is one distinct operator type in one graph or function.
type Op struct {
	Name     string // operator type, e.g. "MatMul"
	Node     string // first node using it (truncated to 256 bytes)
	Function string // function holding it; "" for the main graph
	Offset   int64  // byte offset of that first node
	Count    int    // nodes using it there
	// Attrs are the string attributes of the first node (s, placeholder,
	// the first strings of a list, a function's name), each truncated.
	Attrs map[string]string
}

// URL is an attribute value that names a URL.
type URL struct {
	Op, Node, Function string
	Attr               string
	Value              string // truncated to 1 KiB
	Offset             int64  // byte offset of the node
}

const (
	displayMax  = 256  // bytes kept of names and attribute values
	urlMax      = 1024 // bytes kept of a URL
	maxAttrKept = 16   // attributes kept per first node
	maxListKept = 8    // strings kept of one list attribute
)

// ErrMalformed is wrapped by every error about bytes that are not a valid
// protobuf message of the expected type.
var ErrMalformed = errors.New("tfgraph: malformed protobuf")

var wireOptions = protowire.Options{Name: "tfgraph", Malformed: ErrMalformed, FullReads: true}

// message reads the message in [start, end) and calls fn for each of its
// length-delimited fields; fields of other wire types are skipped as
// unknown.
func message(w *protowire.Reader, start, end int64, fn func(f protowire.Field) error) error {
	return w.Message(start, end, func(f protowire.Field) error {
		if f.Wire != protowire.Bytes {
			return nil
		}
		return fn(f)
	})
}

func limitErr(name string, v int64, detail string) error {
	return &safeio.LimitError{Limit: "tfgraph." + name, Value: v, Detail: detail}
}

// Parse reads a SavedModel when the file starts like one (SniffSavedModel)
// and a bare GraphDef otherwise.
func Parse(r io.ReaderAt, size int64, lim Limits) (*Graph, error) {
	head := make([]byte, min(size, 256))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return &Graph{}, fmt.Errorf("tfgraph: read header: %w", err)
	}
	if SniffSavedModel(head) {
		return ParseSavedModel(r, size, lim)
	}
	return ParseGraphDef(r, size, lim)
}

// ParseSavedModel reads a SavedModel of size bytes.
//
// On error it still returns the Graph read so far (never nil): operators
// found before a limit or a break are evidence. Errors wrap ErrMalformed
// for bytes that are not a SavedModel, are a *safeio.LimitError for a
// limit, and otherwise come from r.
func ParseSavedModel(r io.ReaderAt, size int64, lim Limits) (*Graph, error) {
	p := newParser(r, size, lim, KindSavedModel)
	err := p.savedModel(size)
	if err == nil && p.g.SchemaVersion == 0 && p.g.MetaGraphs == 0 {
		err = p.w.Malformed(0, "no schema version and no meta graph: not a SavedModel")
	}
	return p.g, err
}

// ParseGraphDef reads a bare GraphDef (a frozen graph) of size bytes. Its
// results are as for ParseSavedModel. Protobuf has no magic number, so a
// file whose nodes lack an operator type, or whose operator types are not
// identifiers, is reported as malformed rather than read as a graph.
func ParseGraphDef(r io.ReaderAt, size int64, lim Limits) (*Graph, error) {
	p := newParser(r, size, lim, KindGraphDef)
	err := p.graphDef(0, size)
	if err == nil && p.g.Nodes == 0 && p.g.Functions == 0 {
		err = p.w.Malformed(0, "no node and no function: not a GraphDef")
	}
	return p.g, err
}

type span struct{ k0, k1, v0, v1 int }

type parser struct {
	w   *protowire.Reader
	lim Limits
	g   *Graph

	ops  map[string]int // function "\x00" op → index in g.Ops
	key  []byte
	tags map[string]bool

	// per node scratch
	arena []byte
	attrs []span
	urls  []span
}

func newParser(r io.ReaderAt, size int64, lim Limits, kind Kind) *parser {
	return &parser{
		w: protowire.NewReaderAt(r, size, wireOptions), lim: lim, g: &Graph{Kind: kind},
		ops: map[string]int{}, tags: map[string]bool{},
	}
}

// SavedModel fields.
func (p *parser) savedModel(size int64) error {
	return p.w.Message(0, size, func(f protowire.Field) error {
		switch {
		case f.Num == 1 && f.Wire == protowire.Varint:
			p.g.SchemaVersion = int64(f.Val)
		case f.Num == 2 && f.Wire == protowire.Bytes:
			if p.g.MetaGraphs >= p.lim.MaxMetaGraphs {
				return limitErr("MaxMetaGraphs", int64(p.lim.MaxMetaGraphs), "")
			}
			p.g.MetaGraphs++
			return p.metaGraph(f.Start, f.End)
		}
		return nil
	})
}

// MetaGraphDef fields: meta_info_def 1, graph_def 2; saver_def 3,
// collection_def 4, signature_def 5, asset_file_def 6 and
// object_graph_def 7 name tensors and functions but hold no operators.
func (p *parser) metaGraph(start, end int64) error {
	return message(p.w, start, end, func(f protowire.Field) error {
		switch f.Num {
		case 1:
			return p.metaInfo(f.Start, f.End)
		case 2:
			return p.graphDef(f.Start, f.End)
		}
		return nil
	})
}

// MetaInfoDef fields: tags 4, tensorflow_version 5.
func (p *parser) metaInfo(start, end int64) error {
	return message(p.w, start, end, func(f protowire.Field) error {
		if f.Num != 4 && f.Num != 5 {
			return nil
		}
		s, err := p.shortText(f, displayMax)
		if err != nil {
			return err
		}
		switch f.Num {
		case 4:
			if !p.tags[s] && len(p.tags) < p.lim.MaxDistinct {
				p.tags[s] = true
				p.g.Tags = append(p.g.Tags, s)
			}
		case 5:
			if p.g.TFVersion == "" {
				p.g.TFVersion = s
			}
		}
		return nil
	})
}

// shortText reads a string field, truncated to max bytes on a rune
// boundary.
func (p *parser) shortText(f protowire.Field, max int64) (string, error) {
	end := f.End
	if end-f.Start > max {
		end = f.Start + max
	}
	b, err := p.w.Peek(f.Start, end)
	if err != nil {
		return "", err
	}
	return truncate(b, int(max)), nil
}

// truncate returns b as a string of at most max bytes, cut before a
// character split by the limit, with invalid UTF-8 replaced.
func truncate(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
		for j := len(b) - 1; j >= 0 && j >= len(b)-utf8.UTFMax; j-- {
			if utf8.RuneStart(b[j]) {
				if !utf8.FullRune(b[j:]) {
					b = b[:j]
				}
				break
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// GraphDef fields: node 1, library 2.
func (p *parser) graphDef(start, end int64) error {
	return message(p.w, start, end, func(f protowire.Field) error {
		switch f.Num {
		case 1:
			return p.node(f, "")
		case 2:
			return p.library(f.Start, f.End)
		}
		return nil
	})
}

// FunctionDefLibrary fields: function 1 (gradient 2 only pairs names).
func (p *parser) library(start, end int64) error {
	return message(p.w, start, end, func(f protowire.Field) error {
		if f.Num == 1 {
			return p.function(f.Start, f.End)
		}
		return nil
	})
}

// FunctionDef fields: signature 1 (an OpDef whose name 1 is the
// function's), node_def 3. The signature is read first whatever its
// place, so every node is attributed to its function.
func (p *parser) function(start, end int64) error {
	if p.g.Functions >= p.lim.MaxFunctions {
		return limitErr("MaxFunctions", int64(p.lim.MaxFunctions), "")
	}
	p.g.Functions++
	w := p.w
	name := ""
	err := message(w, start, end, func(f protowire.Field) error {
		if f.Num != 1 {
			return nil
		}
		return message(w, f.Start, f.End, func(g protowire.Field) error {
			if g.Num != 1 {
				return nil
			}
			if g.End-g.Start > p.lim.MaxStringBytes {
				return limitErr("MaxStringBytes", p.lim.MaxStringBytes, fmt.Sprintf("function name of %d bytes", g.End-g.Start))
			}
			b, err := w.Peek(g.Start, g.End)
			name = strings.ToValidUTF8(string(b), "\uFFFD")
			return err
		})
	})
	if err != nil {
		return err
	}
	p.g.FunctionNames = append(p.g.FunctionNames, name)
	if name == "" {
		name = fmt.Sprintf("<function at offset %d>", start)
	}
	return message(w, start, end, func(f protowire.Field) error {
		if f.Num == 3 {
			return p.node(f, name)
		}
		return nil
	})
}

// node reads a NodeDef: name 1, op 2, attr 5 (map entries: key 1, value
// 2 AttrValue). input 3 and device 4 are not needed.
func (p *parser) node(f protowire.Field, function string) error {
	if p.g.Nodes >= p.lim.MaxNodes {
		return limitErr("MaxNodes", int64(p.lim.MaxNodes), "")
	}
	p.g.Nodes++
	w := p.w
	p.arena, p.attrs, p.urls = p.arena[:0], p.attrs[:0], p.urls[:0]
	name, op := [2]int{-1, -1}, [2]int{-1, -1}
	err := message(w, f.Start, f.End, func(g protowire.Field) error {
		switch g.Num {
		case 1:
			b, err := w.Peek(g.Start, min(g.End, g.Start+displayMax))
			if err != nil {
				return err
			}
			name = p.keep(b)
		case 2:
			if g.End-g.Start > p.lim.MaxStringBytes {
				return limitErr("MaxStringBytes", p.lim.MaxStringBytes, fmt.Sprintf("operator type of %d bytes at offset %d", g.End-g.Start, g.Start))
			}
			b, err := w.Peek(g.Start, g.End)
			if err != nil {
				return err
			}
			op = p.keep(b)
		case 5:
			return p.attrEntry(g.Start, g.End)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if op[0] < 0 || op[0] == op[1] {
		return w.Malformed(f.At, "node without an operator type")
	}
	opb := p.arena[op[0]:op[1]]
	if !validOp(opb) {
		return w.Malformed(f.At, "operator type %q is not an identifier", truncate(opb, displayMax))
	}
	p.key = append(append(append(p.key[:0], function...), 0), opb...)
	i, seen := p.ops[string(p.key)]
	nodeName := ""
	if name[0] >= 0 {
		nodeName = truncate(p.arena[name[0]:name[1]], displayMax)
	}
	if !seen {
		if len(p.g.Ops) >= p.lim.MaxDistinct {
			return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "distinct operators")
		}
		i = len(p.g.Ops)
		p.ops[string(p.key)] = i
		o := Op{Name: string(opb), Node: nodeName, Function: function, Offset: f.At}
		for _, a := range p.attrs {
			if len(o.Attrs) >= maxAttrKept {
				break
			}
			if o.Attrs == nil {
				o.Attrs = map[string]string{}
			}
			k := truncate(p.arena[a.k0:a.k1], displayMax)
			v := truncate(p.arena[a.v0:a.v1], displayMax)
			if old, ok := o.Attrs[k]; ok {
				v = truncate([]byte(old+", "+v), displayMax)
			}
			o.Attrs[k] = v
		}
		p.g.Ops = append(p.g.Ops, o)
	}
	p.g.Ops[i].Count++
	for _, u := range p.urls {
		if len(p.g.URLs) >= p.lim.MaxDistinct {
			return limitErr("MaxDistinct", int64(p.lim.MaxDistinct), "URLs in attributes")
		}
		p.g.URLs = append(p.g.URLs, URL{
			Op: p.g.Ops[i].Name, Node: nodeName, Function: function,
			Attr:  truncate(p.arena[u.k0:u.k1], displayMax),
			Value: truncate(p.arena[u.v0:u.v1], urlMax), Offset: f.At,
		})
	}
	return nil
}

// keep copies b into the node's arena and returns its span.
func (p *parser) keep(b []byte) [2]int {
	s := len(p.arena)
	p.arena = append(p.arena, b...)
	return [2]int{s, len(p.arena)}
}

// attrEntry reads one entry of NodeDef.attr.
func (p *parser) attrEntry(start, end int64) error {
	w := p.w
	key := [2]int{-1, -1}
	var vals []protowire.Field // at most a few: AttrValue fields are read after the key
	var list, fn []protowire.Field
	err := message(w, start, end, func(g protowire.Field) error {
		switch g.Num {
		case 1:
			b, err := w.Peek(g.Start, min(g.End, g.Start+displayMax))
			if err != nil {
				return err
			}
			key = p.keep(b)
		case 2:
			// AttrValue: s 2, placeholder 9 (strings), list 1, func 10.
			return message(w, g.Start, g.End, func(v protowire.Field) error {
				switch v.Num {
				case 2, 9:
					vals = append(vals[:0], v) // a oneof: the last wins
					list, fn = list[:0], fn[:0]
				case 1:
					list = append(list[:0], v)
					vals, fn = vals[:0], fn[:0]
				case 10:
					fn = append(fn[:0], v)
					vals, list = vals[:0], list[:0]
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if key[0] < 0 {
		key = [2]int{len(p.arena), len(p.arena)}
	}
	for _, v := range vals {
		if err := p.attrString(key, v.Start, v.End, true); err != nil {
			return err
		}
	}
	for _, l := range list {
		// ListValue: s 2 (repeated bytes); the numeric lists are skipped.
		n := 0
		if err := message(w, l.Start, l.End, func(s protowire.Field) error {
			if s.Num != 2 {
				return nil
			}
			n++
			return p.attrString(key, s.Start, s.End, n <= maxListKept)
		}); err != nil {
			return err
		}
	}
	for _, f := range fn {
		// NameAttrList: name 1; its nested attributes are not read.
		if err := message(w, f.Start, f.End, func(s protowire.Field) error {
			if s.Num != 1 {
				return nil
			}
			return p.attrString(key, s.Start, s.End, true)
		}); err != nil {
			return err
		}
	}
	return nil
}

// attrString records a string attribute value of the current node: for
// evidence (kept) and as a URL when it contains "://". Values longer than
// MaxStringBytes are not read.
func (p *parser) attrString(key [2]int, start, end int64, kept bool) error {
	if end-start > p.lim.MaxStringBytes {
		return nil
	}
	b, err := p.w.Peek(start, end)
	if err != nil {
		return err
	}
	isURL := bytes.Contains(b, []byte("://"))
	if !isURL && (!kept || len(p.attrs) >= maxAttrKept) {
		return nil
	}
	n := min(len(b), displayMax)
	if isURL {
		n = min(len(b), urlMax)
	}
	v := p.keep(b[:n])
	s := span{key[0], key[1], v[0], v[1]}
	if kept && len(p.attrs) < maxAttrKept {
		p.attrs = append(p.attrs, s)
	}
	if isURL && len(p.urls) < p.lim.MaxDistinct {
		p.urls = append(p.urls, s)
	}
	return nil
}

// validOp reports whether b can be an operator or function name:
// TensorFlow's op names match [A-Za-z_][A-Za-z0-9_>]*, and function names
// produced by tf.function add '.', '-' and '/'.
func validOp(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '>' || c == '.' || c == '-' || c == '/'):
		default:
			return false
		}
	}
	return true
}

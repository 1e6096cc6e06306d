// Package pickle reads Python pickle streams without executing them.
//
// A symbolic interpreter follows every opcode of protocols 0–5 the way
// CPython's C unpickler (_pickle) does — the same stack, mark and memo
// discipline, FRAME as a read-ahead hint — but instead of importing and
// calling, it records what a real load would import (find_class), what it
// would call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD), with which
// arguments, and at which byte offset. Names are resolved from the values
// that really reach STACK_GLOBAL, whether they come from the memo, from
// Python 2 string opcodes or from earlier calls; a name computed at load time
// is recorded as unresolved.
//
// Wrappers whose behaviour is fixed by the standard library are seen
// through: functools.partial, operator.methodcaller and attrgetter,
// builtins.getattr on a module, builtins.__import__ and
// importlib.import_module, pkgutil.resolve_name and pydoc.locate. Byte
// strings handed to pickle.loads-like loaders (also after base64, zlib or
// _codecs.encode) are returned as Embedded so the caller can analyse them as
// pickles of their own.
//
// The package knows nothing about which callables are dangerous; that is
// policy, in scan/checks.
package pickle

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Options bound the interpreter. Zero fields take the defaults of
// safeio.Default.
type Options struct {
	MaxOps    int
	MaxStack  int
	MaxMemo   int
	MaxBytes  int64
	KeepBytes int // bytes of one str/bytes value kept for analysis
	// MaxStreams bounds stacked pickles read from one input (0: unlimited).
	MaxStreams int
	// Stop, when set, is asked every 65,536 opcodes whether to stop (a
	// deadline or a cancelled scan); its error ends interpretation.
	Stop func() error
}

// FromLimits takes the pickle limits of l.
func FromLimits(l safeio.Limits) Options {
	return Options{
		MaxOps:    l.PickleMaxOps,
		MaxStack:  l.PickleMaxStack,
		MaxMemo:   l.PickleMaxMemo,
		MaxBytes:  l.PickleMaxBytes,
		KeepBytes: l.PickleKeepBytes,
	}
}

func (o *Options) fill() {
	d := FromLimits(safeio.Default())
	if o.MaxOps <= 0 {
		o.MaxOps = d.MaxOps
	}
	if o.MaxStack <= 0 {
		o.MaxStack = d.MaxStack
	}
	if o.MaxMemo <= 0 {
		o.MaxMemo = d.MaxMemo
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.KeepBytes <= 0 {
		o.KeepBytes = d.KeepBytes
	}
}

// Import is one name a real load would look up (find_class), or reach
// through a resolver such as getattr on a module.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	// Op is the opcode (GLOBAL, STACK_GLOBAL, INST, EXT1, …) or the
	// wrapper ("builtins.getattr", "operator.methodcaller", …) that reached
	// the name.
	Op string `json:"op"`
	// Resolved is false when the module or name is computed at load time;
	// Why then says what the operands were.
	Resolved bool   `json:"resolved"`
	Why      string `json:"why,omitempty"`
}

// Qualified is module.name.
func (i Import) Qualified() string {
	if i.Module == "" {
		return i.Name
	}
	if i.Name == "" {
		return i.Module
	}
	return i.Module + "." + i.Name
}

// CallRecord is one call a real load would make.
type CallRecord struct {
	Offset int64  `json:"offset"`
	Op     string `json:"op"` // REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD
	// Import is the index in Result.Imports of what is called, or -1 when
	// the callee is not a looked-up name (the result of another call…).
	Import int    `json:"import"`
	Callee string `json:"callee"`
	Args   string `json:"args"`
	// Via names the wrapper the call goes through (functools.partial…).
	Via string `json:"via,omitempty"`
	// Resolved is set when the interpreter resolved what this call reaches
	// (builtins.getattr(cls, "NAME"), importlib.import_module("x")…); the
	// name reached is in Imports.
	Resolved bool `json:"resolved,omitempty"`
	// ArgValues are the arguments as the interpreter holds them, for
	// checks that need their structure (tensor shapes and strides).
	ArgValues Value `json:"-"`
}

// Embedded is a byte string that a real load hands to a deserialiser.
type Embedded struct {
	Offset    int64    // of the call that deserialises it
	Loader    string   // e.g. "pickle.loads"
	Data      []byte   // decoded bytes (up to Options.KeepBytes)
	Truncated bool     // Data is a prefix of a larger value
	Decoding  []string // decoders applied, outermost last: "base64", "zlib"
}

// Anomaly is something a well-formed pickle would not contain but that does
// not stop a real load: a PROTO in the middle of a stream, an opcode that
// straddles a FRAME.
type Anomaly struct {
	Offset int64
	Kind   string
	Detail string
}

// Anomaly kinds.
const (
	AnomalyMisplacedProto = "misplaced-proto"
	AnomalyFrame          = "frame-boundary"
	AnomalyTrailingData   = "trailing-data"
)

// Stream is one pickle in a file of stacked pickles.
type Stream struct {
	Offset   int64
	End      int64
	Protocol int
	Complete bool // ended with STOP
}

// Error is where and why interpretation stopped before the input ended. A
// real load stops there too (except for Limit errors, which are ours).
type Error struct {
	Offset int64
	Op     string
	Msg    string
	Limit  *safeio.LimitError
}

func (e *Error) Error() string {
	if e.Op != "" {
		return fmt.Sprintf("offset %d: %s: %s", e.Offset, e.Op, e.Msg)
	}
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

// Unwrap exposes the limit error, if any.
func (e *Error) Unwrap() error {
	if e.Limit != nil {
		return e.Limit
	}
	return nil
}

// Result is everything a real load of the input would do, as far as it can
// be known without running it.
type Result struct {
	Streams   []Stream
	Imports   []Import
	Calls     []CallRecord
	Embedded  []Embedded
	Anomalies []Anomaly
	// PersistentIDs are the ids handed to the loader's persistent_load
	// (PyTorch: ("storage", type, key, location, numel)), up to 1<<20.
	PersistentIDs []Value
	Ops           int64
	// Err is set when a stream broke (a real load raises there) or a limit
	// was hit. Everything before it is in the other fields.
	Err *Error
	// BytesRead is how far the interpreter read.
	BytesRead int64
	// Identified is true when the input is certainly a pickle: it began
	// with PROTO, reached STOP, or looked up a name. A break in input that
	// is not identified is probably not a pickle at all.
	Identified bool
}

// ErrNotPickle is returned by Interpret when the first byte is not an
// opcode that can start a pickle.
var ErrNotPickle = errors.New("not a pickle")

// Interpret reads pickles from r until the input ends, a stream breaks or a
// limit is hit. Stacked pickles (several dumps written one after another)
// are all read, as pickle.load called repeatedly would. Reading stops
// quietly before bytes that cannot start a pickle (legacy PyTorch storage
// data, for example); that is recorded as a trailing-data anomaly.
func Interpret(r io.Reader, opt Options) *Result {
	opt.fill()
	in := &input{br: bufio.NewReaderSize(safeio.LimitReader(r, opt.MaxBytes, "PickleMaxBytes"), 64<<10)}
	m := &machine{in: in, opt: opt, res: &Result{}}
	m.run()
	m.res.BytesRead = in.off
	return m.res
}

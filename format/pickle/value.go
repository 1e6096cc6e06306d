package pickle

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Value is what the symbolic interpreter holds on its stack and in its memo.
// Literals (strings, bytes, numbers) are kept as far as they are small; every
// object a real load would construct is represented by how it was made
// (Call), never constructed.
type Value interface {
	summary(depth int, b *strings.Builder)
}

// Str is a Python str (also Python 2 str from STRING/BINSTRING).
type Str struct {
	S         string // at most Options.KeepBytes bytes
	Len       int64  // length on the wire
	Truncated bool
}

// Bytes is a Python bytes or bytearray.
type Bytes struct {
	B         []byte
	Len       int64
	Truncated bool
	Offset    int64 // where the bytes begin in the stream (for nested pickles)
	decoding  []string
}

// Int is a Python int; Big is set when it does not fit in 64 bits.
type Int struct {
	V   int64
	Big *big.Int
}

// Float is a Python float.
type Float float64

// Bool is True or False.
type Bool bool

// None is Python's None.
type None struct{}

// Tuple is a Python tuple.
type Tuple []Value

// List is a Python list; only the first items are kept.
type List struct {
	Items []Value
	N     int64
}

// Set is a Python set or frozenset; only the first items are kept.
type Set struct {
	Items  []Value
	N      int64
	Frozen bool
}

// Dict is a Python dict; only the first items are kept.
type Dict struct {
	Keys, Values []Value
	N            int64
}

// Global is a callable or class a real load would look up with find_class.
// Index is its position in Result.Imports.
type Global struct {
	Module, Name string
	Index        int
}

// Module is a module object produced at load time (builtins.__import__,
// importlib.import_module).
type Module struct{ Name string }

// Call is the object a real load would make by calling Callee with Args:
// REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST all produce one.
type Call struct {
	Callee Value
	Args   Value
	Op     string
	Offset int64
	// Wrapper behaviour of well-known callables, filled by the interpreter:
	// functools.partial, operator.methodcaller and operator.attrgetter
	// objects remember what calling them will reach.
	Partial     Value  // functools.partial: the wrapped callable
	PartialArgs Value  // functools.partial: its bound arguments
	MethodName  string // operator.methodcaller: the method name
	AttrNames   []string
	state       Value // set by BUILD
}

// PersID is an object returned by the loader's persistent_load (PyTorch
// storages).
type PersID struct{ ID Value }

// Buffer is an out-of-band buffer (NEXT_BUFFER).
type Buffer struct{}

// Unknown is a value the interpreter cannot know statically.
type Unknown struct{ Why string }

type mark struct{}

func (mark) summary(int, *strings.Builder) {}

const summaryMax = 200

// Summary renders v the way Python's repr would, truncated to a readable size.
func Summary(v Value) string {
	var b strings.Builder
	if v == nil {
		return "?"
	}
	v.summary(0, &b)
	s := b.String()
	if len(s) > summaryMax {
		s = s[:summaryMax] + "…"
	}
	return s
}

func (v Str) summary(_ int, b *strings.Builder) {
	s := v.S
	if len(s) > summaryMax {
		s = s[:summaryMax]
	}
	b.WriteString(strconv.Quote(s))
	if v.Truncated || len(v.S) > summaryMax {
		fmt.Fprintf(b, "…(%d chars)", v.Len)
	}
}

func (v Bytes) summary(_ int, b *strings.Builder) {
	s := v.B
	if len(s) > 64 {
		s = s[:64]
	}
	b.WriteString("b" + strconv.Quote(string(s)))
	if int64(len(s)) < v.Len {
		fmt.Fprintf(b, "…(%d bytes)", v.Len)
	}
}

func (v Int) summary(_ int, b *strings.Builder) {
	if v.Big != nil {
		s := v.Big.String()
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		b.WriteString(s)
		return
	}
	b.WriteString(strconv.FormatInt(v.V, 10))
}

func (v Float) summary(_ int, b *strings.Builder) {
	b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 64))
}

func (v Bool) summary(_ int, b *strings.Builder) {
	if v {
		b.WriteString("True")
	} else {
		b.WriteString("False")
	}
}

func (None) summary(_ int, b *strings.Builder) { b.WriteString("None") }

func seq(depth int, b *strings.Builder, open, close string, items []Value, n int64) {
	b.WriteString(open)
	if depth > 4 {
		b.WriteString("…" + close)
		return
	}
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > summaryMax {
			b.WriteString("…")
			break
		}
		if it == nil {
			b.WriteString("?")
		} else {
			it.summary(depth+1, b)
		}
	}
	if n > int64(len(items)) {
		fmt.Fprintf(b, ", …(%d items)", n)
	}
	b.WriteString(close)
}

func (v Tuple) summary(depth int, b *strings.Builder) {
	seq(depth, b, "(", ")", v, int64(len(v)))
}

func (v *List) summary(depth int, b *strings.Builder) { seq(depth, b, "[", "]", v.Items, v.N) }

func (v *Set) summary(depth int, b *strings.Builder) {
	if v.Frozen {
		b.WriteString("frozenset(")
		seq(depth, b, "{", "}", v.Items, v.N)
		b.WriteString(")")
		return
	}
	seq(depth, b, "{", "}", v.Items, v.N)
}

func (v *Dict) summary(depth int, b *strings.Builder) {
	b.WriteString("{")
	if depth > 4 {
		b.WriteString("…}")
		return
	}
	for i := range v.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len() > summaryMax {
			b.WriteString("…")
			break
		}
		v.Keys[i].summary(depth+1, b)
		b.WriteString(": ")
		v.Values[i].summary(depth+1, b)
	}
	if v.N > int64(len(v.Keys)) {
		fmt.Fprintf(b, ", …(%d items)", v.N)
	}
	b.WriteString("}")
}

func (v Global) summary(_ int, b *strings.Builder) {
	b.WriteString(v.Module + "." + v.Name)
}

func (v Module) summary(_ int, b *strings.Builder) { b.WriteString("<module " + v.Name + ">") }

func (v *Call) summary(depth int, b *strings.Builder) {
	if depth > 4 {
		b.WriteString("…(…)")
		return
	}
	if v.Callee == nil {
		b.WriteString("?")
	} else {
		v.Callee.summary(depth+1, b)
	}
	if t, ok := v.Args.(Tuple); ok {
		seq(depth, b, "(", ")", t, int64(len(t)))
		return
	}
	b.WriteString("(*")
	if v.Args == nil {
		b.WriteString("?")
	} else {
		v.Args.summary(depth+1, b)
	}
	b.WriteString(")")
}

func (v PersID) summary(depth int, b *strings.Builder) {
	b.WriteString("persistent_load(")
	if v.ID != nil {
		v.ID.summary(depth+1, b)
	}
	b.WriteString(")")
}

func (Buffer) summary(_ int, b *strings.Builder) { b.WriteString("<out-of-band buffer>") }

func (v Unknown) summary(_ int, b *strings.Builder) { b.WriteString("<" + v.Why + ">") }

// ArgsSummary renders a call's arguments without the surrounding tuple
// parentheses: "('echo hi',)" becomes "'echo hi'".
func ArgsSummary(args Value) string {
	if args == nil {
		return ""
	}
	if t, ok := args.(Tuple); ok {
		var b strings.Builder
		seq(0, &b, "", "", t, int64(len(t)))
		s := b.String()
		if len(s) > summaryMax {
			s = s[:summaryMax] + "…"
		}
		return s
	}
	return "*" + Summary(args)
}

package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Opcodes of protocols 0–5 (Lib/pickle.py, Modules/_pickle.c).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinint         = 'J'
	opBinint1        = 'K'
	opLong           = 'L'
	opBinint2        = 'M'
	opNone           = 'N'
	opPersid         = 'P'
	opBinpersid      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinstring      = 'T'
	opShortBinstring = 'U'
	opUnicode        = 'V'
	opBinunicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinget         = 'h'
	opInst           = 'i'
	opLongBinget     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinput         = 'q'
	opLongBinput     = 'r'
	opSetitem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetitems       = 'u'
	opBinfloat       = 'G'
	// protocol 2
	opProto    = 0x80
	opNewobj   = 0x81
	opExt1     = 0x82
	opExt2     = 0x83
	opExt4     = 0x84
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewtrue  = 0x88
	opNewfalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b
	// protocol 3
	opBinbytes      = 'B'
	opShortBinbytes = 'C'
	// protocol 4
	opShortBinunicode = 0x8c
	opBinunicode8     = 0x8d
	opBinbytes8       = 0x8e
	opEmptySet        = 0x8f
	opAdditems        = 0x90
	opFrozenset       = 0x91
	opNewobjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	// protocol 5
	opBytearray8     = 0x96
	opNextBuffer     = 0x97
	opReadonlyBuffer = 0x98
)

var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
	opFloat: "FLOAT", opInt: "INT", opBinint: "BININT", opBinint1: "BININT1", opLong: "LONG",
	opBinint2: "BININT2", opNone: "NONE", opPersid: "PERSID", opBinpersid: "BINPERSID",
	opReduce: "REDUCE", opString: "STRING", opBinstring: "BINSTRING",
	opShortBinstring: "SHORT_BINSTRING", opUnicode: "UNICODE", opBinunicode: "BINUNICODE",
	opAppend: "APPEND", opBuild: "BUILD", opGlobal: "GLOBAL", opDict: "DICT",
	opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS", opGet: "GET", opBinget: "BINGET",
	opInst: "INST", opLongBinget: "LONG_BINGET", opList: "LIST", opEmptyList: "EMPTY_LIST",
	opObj: "OBJ", opPut: "PUT", opBinput: "BINPUT", opLongBinput: "LONG_BINPUT",
	opSetitem: "SETITEM", opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetitems: "SETITEMS",
	opBinfloat: "BINFLOAT", opProto: "PROTO", opNewobj: "NEWOBJ", opExt1: "EXT1", opExt2: "EXT2",
	opExt4: "EXT4", opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3",
	opNewtrue: "NEWTRUE", opNewfalse: "NEWFALSE", opLong1: "LONG1", opLong4: "LONG4",
	opBinbytes: "BINBYTES", opShortBinbytes: "SHORT_BINBYTES",
	opShortBinunicode: "SHORT_BINUNICODE", opBinunicode8: "BINUNICODE8",
	opBinbytes8: "BINBYTES8", opEmptySet: "EMPTY_SET", opAdditems: "ADDITEMS",
	opFrozenset: "FROZENSET", opNewobjEx: "NEWOBJ_EX", opStackGlobal: "STACK_GLOBAL",
	opMemoize: "MEMOIZE", opFrame: "FRAME", opBytearray8: "BYTEARRAY8",
	opNextBuffer: "NEXT_BUFFER", opReadonlyBuffer: "READONLY_BUFFER",
}

// OpName returns the name of opcode b, or "" if b is not an opcode.
func OpName(b byte) string { return opNames[b] }

const (
	keepItems   = 32        // items kept of a list, dict or set
	keepRetain  = 256 << 20 // bytes of str/bytes values kept in all
	maxLineKeep = 1 << 20   // protocol-0 text arguments kept
	// CPython refuses int literals of more than 4300 digits
	// (sys.int_info.default_max_str_digits), so a real load fails there too.
	maxIntDigits = 4300
)

// smallInts are the boxed values of BININT1, allocated once.
var smallInts = func() (t [256]Value) {
	for i := range t {
		t[i] = Int{V: int64(i)}
	}
	return t
}()

type machine struct {
	in  *input
	opt Options
	res *Result

	stack []Value
	marks []int
	memo  memo

	proto    int
	retained int64 // bytes of str/bytes kept so far
	frameEnd int64 // end of the current FRAME, or -1
	depth    int   // inline pickles (joblib object arrays)

	streamImports int
	streamOps     int
	skipped       int64 // bytes consumed outside the pickle by the last opcode
}

// stopErr ends interpretation of a stream.
type stopErr struct{ e *Error }

func (s stopErr) Error() string { return s.e.Error() }

func (m *machine) fail(off int64, op byte, format string, a ...any) error {
	return stopErr{&Error{Offset: off, Op: OpName(op), Msg: fmt.Sprintf(format, a...)}}
}

func (m *machine) toErr(off int64, op byte, err error) *Error {
	var se stopErr
	if errors.As(err, &se) {
		return se.e
	}
	e := &Error{Offset: off, Op: OpName(op), Msg: err.Error()}
	if le, ok := safeio.IsLimit(err); ok {
		e.Limit = le
	}
	return e
}

func (m *machine) run() {
	for n := 0; ; n++ {
		if m.opt.MaxStreams > 0 && n >= m.opt.MaxStreams {
			return
		}
		head := m.in.peek(2)
		if len(head) == 0 {
			return
		}
		if n > 0 && onlySpace(m.in.peek(4096)) && len(m.in.peek(4097)) <= 4096 {
			return // a trailing newline, as text editors leave
		}
		if n > 0 && !plausibleStart(m.in.peek(4096)) {
			m.res.Anomalies = append(m.res.Anomalies, Anomaly{Offset: m.in.off, Kind: AnomalyTrailingData,
				Detail: "bytes after the last pickle are not a pickle; a loader that stops at STOP ignores them"})
			return
		}
		start := m.in.off
		nImports, nCalls := len(m.res.Imports), len(m.res.Calls)
		st, err := m.stream()
		if err != nil && n > 0 && len(m.res.Imports) == nImports && len(m.res.Calls) == nCalls && m.streamOps < 16 && err.Limit == nil {
			// Binary data after the last pickle that happened to start
			// like one: nothing was looked up before it broke.
			m.res.Anomalies = append(m.res.Anomalies, Anomaly{Offset: start, Kind: AnomalyTrailingData,
				Detail: fmt.Sprintf("bytes after the last pickle are not a pickle (%s)", err.Msg)})
			return
		}
		m.res.Streams = append(m.res.Streams, st)
		if st.Complete || len(m.res.Imports) > 0 || (n == 0 && st.Protocol >= 2) {
			m.res.Identified = true
		}
		if err != nil {
			m.res.Err = err
			return
		}
	}
}

// plausibleStart reports whether b can begin a stacked pickle: PROTO with a
// known protocol, or protocol 0/1 opcodes that tokenize cleanly.
func plausibleStart(b []byte) bool {
	if len(b) >= 2 && b[0] == opProto {
		return b[1] <= 5
	}
	return tokenizes(b, 2)
}

func (m *machine) push(v Value) error {
	if len(m.stack) >= m.opt.MaxStack {
		return &safeio.LimitError{Limit: "PickleMaxStack", Value: int64(m.opt.MaxStack)}
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *machine) fence() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

var errUnderflow = errors.New("unpickling stack underflow")

func (m *machine) pop() (Value, error) {
	if len(m.stack) <= m.fence() {
		return nil, errUnderflow
	}
	v := m.stack[len(m.stack)-1]
	m.stack[len(m.stack)-1] = nil
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

// memoIndex reads the memo index argument of GET/PUT (a decimal line),
// BINGET/BINPUT (one byte) and LONG_BINGET/LONG_BINPUT (four bytes).
func (m *machine) memoIndex(off int64, op byte) (int64, error) {
	switch op {
	case opGet, opPut:
		line, _, err := m.in.readLine(32)
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			return 0, m.fail(off, op, "invalid memo key %q", truncate(string(line), 32))
		}
		return v, nil
	case opBinget, opBinput:
		b, err := m.in.readByte()
		return int64(b), err
	}
	var buf [4]byte
	if err := m.in.read(buf[:]); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint32(buf[:])), nil
}

// pop2 pops the two values on top: below, then top.
func (m *machine) pop2() (below, top Value, err error) {
	if top, err = m.pop(); err != nil {
		return nil, nil, err
	}
	if below, err = m.pop(); err != nil {
		return nil, nil, err
	}
	return below, top, nil
}

func (m *machine) top() (Value, error) {
	if len(m.stack) <= m.fence() {
		return nil, errUnderflow
	}
	return m.stack[len(m.stack)-1], nil
}

// popMarkView pops the items above the last mark, and the mark, returning
// them as a view of the stack that is valid until the next push.
func (m *machine) popMarkView() ([]Value, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("could not find MARK")
	}
	f := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[f:len(m.stack):len(m.stack)]
	m.stack = m.stack[:f]
	return items, nil
}

// popMark pops the items above the last mark, and the mark.
func (m *machine) popMark() ([]Value, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("could not find MARK")
	}
	f := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := make([]Value, len(m.stack)-f)
	copy(items, m.stack[f:])
	clear(m.stack[f:])
	m.stack = m.stack[:f]
	return items, nil
}

func (m *machine) memoPut(idx int64, v Value) error {
	if m.memo.n >= m.opt.MaxMemo && !m.memo.has(idx) {
		return &safeio.LimitError{Limit: "PickleMaxMemo", Value: int64(m.opt.MaxMemo)}
	}
	m.memo.put(idx, v)
	return nil
}

// keep decides how many bytes of a str/bytes value of length n to keep.
func (m *machine) keep(n int64) int {
	k := int64(m.opt.KeepBytes)
	if m.retained > keepRetain {
		k = 256
	}
	if n < k {
		k = n
	}
	m.retained += k
	return int(k)
}

func (m *machine) stream() (Stream, *Error) {
	st := Stream{Offset: m.in.off}
	m.stack = m.stack[:0]
	m.marks = m.marks[:0]
	m.memo.reset()
	m.proto = 0
	m.frameEnd = -1
	m.streamImports = 0
	m.streamOps = 0
	for {
		off := m.in.off
		op, err := m.in.readByte()
		if err != nil {
			st.End = m.in.off
			return st, m.toErr(off, 0, err)
		}
		m.res.Ops++
		m.streamOps++
		if m.res.Ops > int64(m.opt.MaxOps) {
			st.End = m.in.off
			return st, m.toErr(off, op, &safeio.LimitError{Limit: "PickleMaxOps", Value: int64(m.opt.MaxOps)})
		}
		if m.res.Ops&0xffff == 0 && m.opt.Stop != nil {
			if err := m.opt.Stop(); err != nil {
				st.End = m.in.off
				return st, m.toErr(off, op, err)
			}
		}
		if op == opStop {
			st.Complete = true
			st.End = m.in.off
			st.Protocol = m.proto
			if m.frameEnd >= 0 && m.in.off < m.frameEnd {
				m.anomaly(off, AnomalyFrame, "STOP before the end of the current frame")
			}
			return st, nil
		}
		if err := m.step(off, op); err != nil {
			st.End = m.in.off
			st.Protocol = m.proto
			return st, m.toErr(off, op, err)
		}
		if m.frameEnd >= 0 && op != opFrame {
			// Bytes that joblib writes outside the pickle (array data) do
			// not belong to the opcode.
			end := m.in.off - m.skipped
			m.skipped = 0
			if off < m.frameEnd && end > m.frameEnd {
				m.anomaly(off, AnomalyFrame, fmt.Sprintf("%s straddles the end of a frame at offset %d; pickle.py and _pickle disagree on such input", OpName(op), m.frameEnd))
			}
			if m.in.off >= m.frameEnd {
				m.frameEnd = -1
			}
		}
	}
}

func (m *machine) anomaly(off int64, kind, detail string) {
	if len(m.res.Anomalies) < 1000 {
		m.res.Anomalies = append(m.res.Anomalies, Anomaly{Offset: off, Kind: kind, Detail: detail})
	}
}

func (m *machine) step(off int64, op byte) error {
	var buf [8]byte
	switch op {
	case opProto:
		b, err := m.in.readByte()
		if err != nil {
			return err
		}
		if b > 5 {
			return m.fail(off, op, "unsupported pickle protocol: %d", b)
		}
		if m.streamOps > 1 {
			m.anomaly(off, AnomalyMisplacedProto, fmt.Sprintf("PROTO %d in the middle of a stream", b))
		}
		m.proto = int(b)
		return nil
	case opFrame:
		if err := m.in.read(buf[:8]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint64(buf[:8])
		if m.frameEnd >= 0 && m.in.off < m.frameEnd {
			m.anomaly(off, AnomalyFrame, "a new frame begins before the end of the current one")
		}
		if n > math.MaxInt64/2 {
			return m.fail(off, op, "frame length %d is too large", n)
		}
		m.frameEnd = m.in.off + int64(n)
		return nil
	case opMark:
		if len(m.marks) >= m.opt.MaxStack {
			return &safeio.LimitError{Limit: "PickleMaxStack", Value: int64(m.opt.MaxStack)}
		}
		m.marks = append(m.marks, len(m.stack))
		return nil
	case opPop:
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			m.marks = m.marks[:len(m.marks)-1] // POP removes a mark on top, as _pickle does
			return nil
		}
		_, err := m.pop()
		return err
	case opPopMark:
		_, err := m.popMark()
		return err
	case opDup:
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.push(v)

	// Numbers
	case opNone:
		return m.push(None{})
	case opNewtrue:
		return m.push(Bool(true))
	case opNewfalse:
		return m.push(Bool(false))
	case opBinint:
		if err := m.in.read(buf[:4]); err != nil {
			return err
		}
		return m.push(Int{V: int64(int32(binary.LittleEndian.Uint32(buf[:4])))})
	case opBinint1:
		b, err := m.in.readByte()
		if err != nil {
			return err
		}
		return m.push(smallInts[b])
	case opBinint2:
		if err := m.in.read(buf[:2]); err != nil {
			return err
		}
		return m.push(Int{V: int64(binary.LittleEndian.Uint16(buf[:2]))})
	case opInt, opLong:
		line, n, err := m.in.readLine(maxIntDigits + 2)
		if err != nil {
			return err
		}
		if n > maxIntDigits+2 {
			return m.fail(off, op, "integer literal of %d digits exceeds Python's limit", n)
		}
		s := string(line)
		if op == opInt {
			switch s {
			case "00":
				return m.push(Bool(false))
			case "01":
				return m.push(Bool(true))
			}
		} else {
			s = strings.TrimSuffix(s, "L")
		}
		v, err := parseInt(s)
		if err != nil {
			return m.fail(off, op, "invalid literal for int(): %q", truncate(s, 40))
		}
		return m.push(v)
	case opLong1, opLong4:
		var n int64
		if op == opLong1 {
			b, err := m.in.readByte()
			if err != nil {
				return err
			}
			n = int64(b)
		} else {
			if err := m.in.read(buf[:4]); err != nil {
				return err
			}
			n = int64(int32(binary.LittleEndian.Uint32(buf[:4])))
			if n < 0 {
				return m.fail(off, op, "LONG pickle has negative byte count")
			}
		}
		b, err := m.in.readKeep(n, 64)
		if err != nil {
			return err
		}
		if int64(len(b)) < n {
			return m.push(Unknown{Why: fmt.Sprintf("%d-byte integer", n)})
		}
		return m.push(decodeLong(b))
	case opFloat:
		line, _, err := m.in.readLine(64)
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(line)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return m.fail(off, op, "could not convert string to float")
		}
		return m.push(Float(f))
	case opBinfloat:
		if err := m.in.read(buf[:8]); err != nil {
			return err
		}
		return m.push(Float(math.Float64frombits(binary.BigEndian.Uint64(buf[:8]))))

	// Strings and bytes
	case opString:
		line, n, err := m.in.readLine(m.keep(maxLineKeep))
		if err != nil {
			return err
		}
		s, err := unquoteString(line, int64(len(line)) < n)
		if err != nil {
			return m.fail(off, op, "%v", err)
		}
		return m.push(Str{S: s, Len: n, Truncated: int64(len(line)) < n})
	case opUnicode:
		line, n, err := m.in.readLine(m.keep(maxLineKeep))
		if err != nil {
			return err
		}
		return m.push(Str{S: rawUnicodeEscape(line), Len: n, Truncated: int64(len(line)) < n})
	case opBinstring, opBinunicode, opBinbytes:
		if err := m.in.read(buf[:4]); err != nil {
			return err
		}
		n := int64(binary.LittleEndian.Uint32(buf[:4]))
		if op == opBinstring {
			n = int64(int32(binary.LittleEndian.Uint32(buf[:4])))
			if n < 0 {
				return m.fail(off, op, "BINSTRING pickle has negative byte count")
			}
		}
		return m.pushData(op, n)
	case opShortBinstring, opShortBinunicode, opShortBinbytes:
		b, err := m.in.readByte()
		if err != nil {
			return err
		}
		return m.pushData(op, int64(b))
	case opBinunicode8, opBinbytes8, opBytearray8:
		if err := m.in.read(buf[:8]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint64(buf[:8])
		if n > math.MaxInt64 {
			return m.fail(off, op, "byte count %d exceeds the maximum size", n)
		}
		return m.pushData(op, int64(n))

	// Containers
	case opEmptyTuple:
		return m.push(Tuple{})
	case opTuple:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(Tuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(m.stack)-m.fence() < n {
			return errUnderflow
		}
		t := make(Tuple, n)
		copy(t, m.stack[len(m.stack)-n:])
		m.stack = m.stack[:len(m.stack)-n]
		return m.push(t)
	case opEmptyList:
		return m.push(&List{})
	case opList:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		l := &List{}
		l.add(items)
		return m.push(l)
	case opAppend:
		v, err := m.pop()
		if err != nil {
			return err
		}
		return m.addToTop(op, []Value{v})
	case opAppends:
		items, err := m.popMarkView()
		if err != nil {
			return err
		}
		return m.addToTop(op, items)
	case opEmptyDict:
		return m.push(&Dict{})
	case opDict:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return m.fail(off, op, "odd number of items for DICT")
		}
		d := &Dict{}
		d.add(items)
		return m.push(d)
	case opSetitem:
		k, v, err := m.pop2()
		if err != nil {
			return err
		}
		return m.addToTop(op, []Value{k, v})
	case opSetitems:
		items, err := m.popMarkView()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return m.fail(off, op, "odd number of items for SETITEMS")
		}
		return m.addToTop(op, items)
	case opEmptySet:
		return m.push(&Set{})
	case opAdditems:
		items, err := m.popMarkView()
		if err != nil {
			return err
		}
		return m.addToTop(op, items)
	case opFrozenset:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		s := &Set{Frozen: true}
		s.add(items)
		return m.push(s)

	// Memo
	case opGet, opBinget, opLongBinget:
		idx, err := m.memoIndex(off, op)
		if err != nil {
			return err
		}
		v, ok := m.memo.get(idx)
		if !ok {
			return m.fail(off, op, "memo value not found at index %d", idx)
		}
		return m.push(v)
	case opPut, opBinput, opLongBinput:
		idx, err := m.memoIndex(off, op)
		if err != nil {
			return err
		}
		if idx < 0 {
			return m.fail(off, op, "negative PUT argument")
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(idx, v)
	case opMemoize:
		v, err := m.top()
		if err != nil {
			return err
		}
		// _pickle memoizes at the number of entries already in the memo,
		// whatever indexes PUT used before.
		return m.memoPut(int64(m.memo.n), v)

	// Names
	case opGlobal:
		mod, name, err := m.readNames(off, op)
		if err != nil {
			return err
		}
		return m.push(m.importName(mod, name, off, "GLOBAL"))
	case opStackGlobal:
		mod, name, err := m.pop2()
		if err != nil {
			return err
		}
		ms, mok := mod.(Str)
		ns, nok := name.(Str)
		if mok && nok {
			return m.push(m.importName(ms.S, ns.S, off, "STACK_GLOBAL"))
		}
		if isLiteral(mod) || isLiteral(name) {
			return m.fail(off, op, "STACK_GLOBAL requires str")
		}
		return m.push(m.unresolved(off, "STACK_GLOBAL", Summary(mod), Summary(name),
			fmt.Sprintf("STACK_GLOBAL gets module %s and name %s, computed at load time", Summary(mod), Summary(name))))
	case opExt1, opExt2, opExt4:
		var code int64
		switch op {
		case opExt1:
			b, err := m.in.readByte()
			if err != nil {
				return err
			}
			code = int64(b)
		case opExt2:
			if err := m.in.read(buf[:2]); err != nil {
				return err
			}
			code = int64(binary.LittleEndian.Uint16(buf[:2]))
		default:
			if err := m.in.read(buf[:4]); err != nil {
				return err
			}
			code = int64(int32(binary.LittleEndian.Uint32(buf[:4])))
		}
		if code <= 0 {
			return m.fail(off, op, "EXT specifies code <= 0")
		}
		return m.push(m.unresolved(off, OpName(op), "copyreg", fmt.Sprintf("extension code %d", code),
			fmt.Sprintf("extension code %d is looked up in copyreg's extension registry, which the loading program controls", code)))
	case opPersid:
		line, n, err := m.in.readLine(m.keep(4096))
		if err != nil {
			return err
		}
		id := Str{S: string(line), Len: n}
		if len(m.res.PersistentIDs) < 1<<20 {
			m.res.PersistentIDs = append(m.res.PersistentIDs, id)
		}
		return m.push(PersID{ID: id})
	case opBinpersid:
		v, err := m.pop()
		if err != nil {
			return err
		}
		if len(m.res.PersistentIDs) < 1<<20 {
			m.res.PersistentIDs = append(m.res.PersistentIDs, v)
		}
		return m.push(PersID{ID: v})
	case opNextBuffer:
		return m.push(Buffer{})
	case opReadonlyBuffer:
		_, err := m.top()
		return err

	// Calls
	case opReduce, opNewobj:
		callee, args, err := m.pop2()
		if err != nil {
			return err
		}
		return m.push(m.call(off, OpName(op), callee, args, ""))
	case opNewobjEx:
		args, kwargs, err := m.pop2()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		c := m.call(off, "NEWOBJ_EX", cls, args, "")
		if len(m.res.Calls) > 0 {
			if d, ok := kwargs.(*Dict); ok && d.N > 0 {
				m.res.Calls[len(m.res.Calls)-1].Args += ", **" + Summary(d)
			}
		}
		return m.push(c)
	case opObj:
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errUnderflow
		}
		return m.push(m.call(off, "OBJ", items[0], Tuple(items[1:]), ""))
	case opInst:
		mod, name, err := m.readNames(off, op)
		if err != nil {
			return err
		}
		items, err := m.popMark()
		if err != nil {
			return err
		}
		cls := m.importName(mod, name, off, "INST")
		return m.push(m.call(off, "INST", cls, Tuple(items), ""))
	case opBuild:
		state, err := m.pop()
		if err != nil {
			return err
		}
		obj, err := m.top()
		if err != nil {
			return err
		}
		return m.build(off, obj, state)
	}
	return m.fail(off, op, "invalid load key, %q", rune(op))
}

func isLiteral(v Value) bool {
	switch v.(type) {
	case Bytes, Int, Float, Bool, None, Tuple, *List, *Dict, *Set:
		return true
	}
	return false
}

// readNames reads the two text lines of GLOBAL and INST. _pickle decodes
// them as UTF-8.
func (m *machine) readNames(off int64, op byte) (string, string, error) {
	mod, n1, err := m.in.readLine(4096)
	if err != nil {
		return "", "", err
	}
	name, n2, err := m.in.readLine(4096)
	if err != nil {
		return "", "", err
	}
	if n1 > 4096 || n2 > 4096 {
		return "", "", m.fail(off, op, "module or name longer than 4096 bytes")
	}
	if !utf8.Valid(mod) || !utf8.Valid(name) {
		return "", "", m.fail(off, op, "module or name is not valid UTF-8")
	}
	return string(mod), string(name), nil
}

func (m *machine) pushData(op byte, n int64) error {
	off := m.in.off
	isStr := op != opBinbytes && op != opShortBinbytes && op != opBinbytes8 && op != opBytearray8
	if isStr && n <= 4096 {
		// Short strings, the bulk of opcode-dense pickles: one allocation.
		if p, err := m.in.br.Peek(int(n)); err == nil {
			str := string(p)
			m.in.br.Discard(int(n))
			m.in.off += n
			m.retained += n
			return m.push(Str{S: str, Len: n})
		}
	}
	b, err := m.in.readKeep(n, m.keep(n))
	if err != nil {
		return err
	}
	trunc := int64(len(b)) < n
	switch op {
	case opBinbytes, opShortBinbytes, opBinbytes8, opBytearray8:
		return m.push(Bytes{B: b, Len: n, Truncated: trunc, Offset: off})
	case opBinstring, opShortBinstring:
		// Python 2 str: decoded with the loader's encoding (ASCII by
		// default, latin1 for PyTorch); keep the bytes as they are.
		return m.push(Str{S: string(b), Len: n, Truncated: trunc})
	}
	return m.push(Str{S: string(b), Len: n, Truncated: trunc})
}

func (m *machine) importName(mod, name string, off int64, op string) Global {
	m.res.Imports = append(m.res.Imports, Import{Module: mod, Name: name, Offset: off, Op: op, Resolved: true})
	m.streamImports++
	return Global{Module: mod, Name: name, Index: len(m.res.Imports) - 1}
}

func (m *machine) unresolved(off int64, op, mod, name, why string) Global {
	m.res.Imports = append(m.res.Imports, Import{Module: mod, Name: name, Offset: off, Op: op, Why: why})
	m.streamImports++
	return Global{Module: mod, Name: name, Index: len(m.res.Imports) - 1}
}

// addToTop adds items to the value on top of the stack when it is what op
// fills: a list for APPEND and APPENDS, a dict for SETITEM and SETITEMS, a
// set for ADDITEMS. Anything else is left as it is: a real load would call
// its append, extend, __setitem__ or add.
func (m *machine) addToTop(op byte, items []Value) error {
	t, err := m.top()
	if err != nil {
		return err
	}
	switch c := t.(type) {
	case *List:
		if op == opAppend || op == opAppends {
			c.add(items)
		}
	case *Dict:
		if op == opSetitem || op == opSetitems {
			c.add(items)
		}
	case *Set:
		if op == opAdditems {
			c.add(items)
		}
	}
	return nil
}

// keepSome appends items to kept until it holds keepItems.
func keepSome(kept, items []Value) []Value {
	for _, it := range items {
		if len(kept) < keepItems {
			kept = append(kept, it)
		}
	}
	return kept
}

func (l *List) add(items []Value) {
	l.Items = keepSome(l.Items, items)
	l.N += int64(len(items))
}

func (s *Set) add(items []Value) {
	s.Items = keepSome(s.Items, items)
	s.N += int64(len(items))
}

func (d *Dict) add(items []Value) {
	for i := 0; i+1 < len(items); i += 2 {
		if len(d.Keys) < keepItems {
			d.Keys = append(d.Keys, items[i])
			d.Values = append(d.Values, items[i+1])
		}
		d.N++
	}
}

// Get returns the value of a str key kept in d.
func (d *Dict) Get(key string) (Value, bool) {
	for i, k := range d.Keys {
		if s, ok := k.(Str); ok && s.S == key {
			return d.Values[i], true
		}
	}
	return nil, false
}

func parseInt(s string) (Int, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 0, 64); err == nil {
		return Int{V: v}, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Int{V: v}, nil
	}
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return Int{}, errors.New("invalid int")
	}
	return Int{Big: b}, nil
}

// decodeLong decodes a little-endian two's complement integer (LONG1/LONG4).
func decodeLong(b []byte) Int {
	if len(b) == 0 {
		return Int{}
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return Int{V: int64(u<<shift) >> shift}
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return Int{Big: v}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// unquoteString decodes the argument of STRING: a quoted Python 2 string
// literal with backslash escapes.
func unquoteString(line []byte, truncated bool) (string, error) {
	if truncated {
		// Too long to keep whole: return the prefix undecoded.
		if len(line) > 0 {
			return string(line[1:]), nil
		}
		return "", nil
	}
	if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
		return "", errors.New("the STRING opcode argument must be quoted")
	}
	s := line[1 : len(line)-1]
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'v':
			out = append(out, 11)
		case '\\', '\'', '"':
			out = append(out, e)
		case '\n':
		case 'x':
			if i+2 < len(s)+0 && isHex(s[i+1]) && isHex(s[i+2]) {
				v, _ := strconv.ParseUint(string(s[i+1:i+3]), 16, 8)
				out = append(out, byte(v))
				i += 2
			} else {
				return "", errors.New("invalid \\x escape")
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			v := 0
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				v = v*8 + int(s[j]-'0')
				j++
			}
			out = append(out, byte(v))
			i = j - 1
		default:
			out = append(out, '\\', e)
		}
	}
	return string(out), nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// rawUnicodeEscape decodes Python's raw-unicode-escape codec: \uXXXX and
// \UXXXXXXXX are escapes, every other byte is a Latin-1 character.
func rawUnicodeEscape(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(b) {
				if v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32); err == nil && v <= utf8.MaxRune {
					sb.WriteRune(rune(v))
					i += 1 + n
					continue
				}
			}
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

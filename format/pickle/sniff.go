package pickle

import "encoding/binary"

// argKind says how an opcode's argument is laid out.
type argKind int

const (
	argNone     argKind = iota
	argLine             // up to '\n'
	argTwoLines         // GLOBAL, INST
	argFixed            // fixed byte count
	argLen1             // 1-byte length, then data
	argLen4             // 4-byte little-endian length, then data
	argLen8             // 8-byte little-endian length, then data
)

type opInfo struct {
	kind argKind
	n    int
}

var opArgs = func() [256]*opInfo {
	var t [256]*opInfo
	set := func(k argKind, n int, ops ...byte) {
		for _, o := range ops {
			t[o] = &opInfo{kind: k, n: n}
		}
	}
	set(argNone, 0, opMark, opStop, opPop, opPopMark, opDup, opNone, opReduce, opAppend,
		opBuild, opDict, opEmptyDict, opAppends, opList, opEmptyList, opObj, opSetitem,
		opTuple, opEmptyTuple, opSetitems, opBinpersid, opNewobj, opTuple1, opTuple2,
		opTuple3, opNewtrue, opNewfalse, opEmptySet, opAdditems, opFrozenset, opNewobjEx,
		opStackGlobal, opMemoize, opNextBuffer, opReadonlyBuffer)
	set(argLine, 0, opFloat, opInt, opLong, opPersid, opString, opUnicode, opGet, opPut)
	set(argTwoLines, 0, opGlobal, opInst)
	set(argFixed, 1, opBinint1, opBinget, opBinput, opExt1, opProto)
	set(argFixed, 2, opBinint2, opExt2)
	set(argFixed, 4, opBinint, opLongBinget, opLongBinput, opExt4)
	set(argFixed, 8, opBinfloat, opFrame)
	set(argLen1, 0, opShortBinstring, opShortBinunicode, opShortBinbytes, opLong1)
	set(argLen4, 0, opBinstring, opBinunicode, opBinbytes, opLong4)
	set(argLen8, 0, opBinunicode8, opBinbytes8, opBytearray8)
	return t
}()

// tokens walks the opcodes in b without interpreting them. It returns the
// number of complete opcodes, whether STOP was reached, whether a name was
// looked up (GLOBAL, INST, STACK_GLOBAL), and whether an invalid opcode or
// argument was met before b ran out.
func tokens(b []byte) (n int, stop, names, bad bool) {
	i := 0
	for i < len(b) {
		op := b[i]
		info := opArgs[op]
		if info == nil {
			return n, false, names, true
		}
		i++
		switch info.kind {
		case argLine, argTwoLines:
			lines := 1
			if info.kind == argTwoLines {
				lines = 2
				names = true
			}
			for l := 0; l < lines; l++ {
				j := i
				for j < len(b) && b[j] != '\n' {
					if (op == opGlobal || op == opInst) && (b[j] < 0x20 || b[j] == 0x7f) {
						return n, false, names, true
					}
					j++
				}
				if j >= len(b) {
					return n, false, names, false
				}
				i = j + 1
			}
		case argFixed:
			if op == opProto && i < len(b) && b[i] > 5 {
				return n, false, names, true
			}
			i += info.n
		case argLen1:
			if i >= len(b) {
				return n, false, names, false
			}
			i += 1 + int(b[i])
		case argLen4:
			if i+4 > len(b) {
				return n, false, names, false
			}
			l := binary.LittleEndian.Uint32(b[i:])
			if uint64(l) > uint64(len(b)-i) {
				// Longer than the window: fine, but we can look no further.
				return n + 1, false, names, false
			}
			i += 4 + int(l)
		case argLen8:
			if i+8 > len(b) {
				return n, false, names, false
			}
			l := binary.LittleEndian.Uint64(b[i:])
			if l > uint64(len(b)-i) {
				return n + 1, false, names, false
			}
			i += 8 + int(l)
		}
		if i > len(b) {
			return n, false, names, false
		}
		n++
		if op == opStackGlobal {
			names = true
		}
		if op == opStop {
			return n, true, names, false
		}
	}
	return n, false, names, false
}

// tokenizes reports whether b reads as the start of a pickle: it reaches
// STOP, or at least minOps opcodes parse and a name is looked up.
func tokenizes(b []byte, minOps int) bool {
	n, stop, names, bad := tokens(b)
	if bad {
		return false
	}
	return stop || (names && n >= minOps)
}

// Sniff reports whether header (the first few KiB of a file or member) is
// a pickle. A PROTO opcode with a known protocol followed by a valid opcode
// is enough; a protocol 0 or 1 pickle, which has no header, must tokenize
// to a STOP, or look up a name, within the window. The bytes decide, never
// the file name.
func Sniff(header []byte) bool {
	if len(header) >= 3 && header[0] == opProto && header[1] <= 5 {
		if header[1] < 2 {
			return tokenizes(header, 3)
		}
		// Joblib writes raw array bytes inside the stream, so only the
		// opcodes before the first non-opcode count. Random bytes that begin
		// 0x80 0x02 rarely parse for long, or look up a name.
		n, stop, names, bad := tokens(header)
		return stop || names || n >= 8 || (!bad && n >= 2 && len(header) < 64)
	}
	if len(header) == 0 || opArgs[header[0]] == nil {
		return false
	}
	switch header[0] {
	case opStop, opPop, opPopMark, opDup, opAppend, opAppends, opBuild, opSetitem,
		opSetitems, opReduce, opTuple, opDict, opList, opObj, opMemoize:
		// These need something on the stack: no pickle starts with them.
		return false
	}
	return tokenizes(header, 3)
}

package pickle

import (
	"encoding/binary"
	"strconv"
)

// pb builds pickle bytes opcode by opcode, for attack fixtures that no
// library would write.
type pb struct{ b []byte }

func (p *pb) op(ops ...byte) *pb { p.b = append(p.b, ops...); return p }

func (p *pb) proto(n byte) *pb { return p.op(opProto, n) }

func (p *pb) global(mod, name string) *pb {
	p.b = append(p.b, opGlobal)
	p.b = append(p.b, mod+"\n"+name+"\n"...)
	return p
}

func (p *pb) inst(mod, name string) *pb {
	p.b = append(p.b, opInst)
	p.b = append(p.b, mod+"\n"+name+"\n"...)
	return p
}

// str pushes s with SHORT_BINUNICODE or BINUNICODE.
func (p *pb) str(s string) *pb {
	if len(s) < 256 {
		p.b = append(p.b, opShortBinunicode, byte(len(s)))
	} else {
		p.b = append(p.b, opBinunicode)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	}
	p.b = append(p.b, s...)
	return p
}

// str0 pushes s with the protocol 0 STRING opcode.
func (p *pb) str0(s string) *pb {
	p.b = append(p.b, opString)
	p.b = append(p.b, strconv.Quote(s)...)
	p.b = append(p.b, '\n')
	return p
}

// binstring pushes s with SHORT_BINSTRING (a Python 2 str).
func (p *pb) binstring(s string) *pb {
	p.b = append(p.b, opShortBinstring, byte(len(s)))
	p.b = append(p.b, s...)
	return p
}

func (p *pb) bytes(b []byte) *pb {
	p.b = append(p.b, opBinbytes)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(b)))
	p.b = append(p.b, b...)
	return p
}

func (p *pb) put(i byte) *pb   { return p.op(opBinput, i) }
func (p *pb) get(i byte) *pb   { return p.op(opBinget, i) }
func (p *pb) memoize() *pb     { return p.op(opMemoize) }
func (p *pb) stackGlobal() *pb { return p.op(opStackGlobal) }
func (p *pb) tuple1() *pb      { return p.op(opTuple1) }
func (p *pb) tuple2() *pb      { return p.op(opTuple2) }
func (p *pb) reduce() *pb      { return p.op(opReduce) }
func (p *pb) stop() *pb        { return p.op(opStop) }

// call pushes a GLOBAL and calls it with string arguments.
func (p *pb) call(mod, name string, args ...string) *pb {
	p.global(mod, name).op(opMark)
	for _, a := range args {
		p.str(a)
	}
	return p.op(opTuple, opReduce)
}

package pysrc

import (
	"strconv"
	"strings"
)

type exprKind uint8

const (
	eOther exprKind = iota
	eName
	eConst // a string or bytes constant (possibly folded or decoded)
	eNum
	eAttr
	eCall
	eSub
	eList // list or tuple display
)

type kwarg struct {
	name string
	v    *expr
}

// expr is the small expression tree the analysis keeps: enough to render a
// callee, resolve it, and fold constants.
type expr struct {
	kind    exprKind
	name    string // eName: identifier; eAttr: attribute; eNum: text
	x       *expr  // eAttr, eCall, eSub: the object
	args    []*expr
	kws     []kwarg
	tok     int // index of the first token
	val     []byte
	const_  bool // val holds a constant string value
	owned   bool // val may be appended to (made by folding, not shared)
	isBytes bool
	call    int // eCall: index in Module.Calls, -1 when not recorded
}

var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

func startsExpr(t Token) bool {
	switch t.Kind {
	case Name:
		return !keywords[t.Text] || t.Text == "None" || t.Text == "True" || t.Text == "False" || t.Text == "not" || t.Text == "await" || t.Text == "lambda"
	case Number, String:
		return true
	case Op:
		switch t.Text {
		case "(", "[", "{", "-", "+", "~", "...", "*", "**":
			return true
		}
	}
	return false
}

var binops = map[string]bool{
	"+": true, "-": true, "*": true, "/": true, "//": true, "%": true, "**": true, "@": true,
	"<<": true, ">>": true, "&": true, "|": true, "^": true, "<": true, ">": true, "<=": true,
	">=": true, "==": true, "!=": true, "<>": true, ":=": true,
}

var wordops = map[string]bool{"and": true, "or": true, "in": true, "is": true, "not": true, "if": true, "else": true}

// expr parses an expression roughly: operands joined by binary operators.
// Only + is kept (for folding); the rest becomes eOther. It returns nil and
// consumes nothing when no expression starts here.
func (p *parser) expr() *expr {
	if p.depth > p.lim.MaxNesting*2+16 {
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	left := p.unary()
	if left == nil {
		return nil
	}
	for {
		t := p.peek()
		isBin := t.Kind == Op && binops[t.Text] || t.Kind == Name && wordops[t.Text]
		if !isBin {
			return left
		}
		p.next()
		for p.isName("not") || p.isName("is") { // is not, not in
			p.next()
		}
		right := p.unary()
		if right == nil {
			return &expr{kind: eOther, tok: left.tok}
		}
		if t.Text == "+" {
			left = p.fold(left, right)
		} else {
			left = &expr{kind: eOther, tok: left.tok}
		}
	}
}

func (p *parser) unary() *expr {
	for {
		t := p.peek()
		if t.Kind == Op && (t.Text == "-" || t.Text == "+" || t.Text == "~" || t.Text == "*" || t.Text == "**") ||
			t.Kind == Name && (t.Text == "not" || t.Text == "await") {
			p.next()
			continue
		}
		break
	}
	if p.isName("lambda") {
		tok := p.i
		p.next()
		for !p.atLineEnd() && !p.isOp(":") && p.peek().Kind != Indent && p.peek().Kind != Dedent {
			if p.isOp("(") || p.isOp(")") || p.isOp("]") || p.isOp("}") {
				break
			}
			p.next()
		}
		if p.isOp(":") {
			p.next()
			p.lambdas++
			p.expr()
			p.lambdas--
		}
		return &expr{kind: eOther, tok: tok}
	}
	return p.postfix()
}

func (p *parser) postfix() *expr {
	e := p.atom()
	if e == nil {
		return nil
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			if p.peek().Kind != Name {
				return e
			}
			e = &expr{kind: eAttr, x: e, name: p.next().Text, tok: e.tok}
		case p.isOp("("):
			p.next()
			c := &expr{kind: eCall, x: e, tok: e.tok, call: -1}
			c.args, c.kws, _ = p.items(")")
			p.recordCall(c)
			e = c
		case p.isOp("["):
			open := p.i
			p.next()
			// 'metsys.so'[::-1]
			if p.isOp(":") && p.peekAt(1).Kind == Op && p.peekAt(1).Text == ":" && p.peekAt(2).Kind == Op && p.peekAt(2).Text == "-" &&
				p.peekAt(3).Kind == Number && p.peekAt(3).Text == "1" && p.peekAt(4).Kind == Op && p.peekAt(4).Text == "]" {
				p.i += 5
				if e.const_ && p.spend(len(e.val)) {
					e = reversed(e)
				} else {
					e = &expr{kind: eOther, tok: e.tok}
				}
				continue
			}
			args, _, _ := p.items("]")
			e = &expr{kind: eSub, x: e, args: args, tok: open}
		default:
			return e
		}
	}
}

func reversed(e *expr) *expr {
	r := []rune(string(e.val))
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return &expr{kind: eConst, const_: true, val: []byte(string(r)), owned: true, tok: e.tok, isBytes: e.isBytes}
}

func (p *parser) atom() *expr {
	t := p.peek()
	switch t.Kind {
	case Name:
		if keywords[t.Text] && t.Text != "None" && t.Text != "True" && t.Text != "False" {
			return nil
		}
		p.next()
		return &expr{kind: eName, name: t.Text, tok: p.i - 1}
	case Number:
		p.next()
		return &expr{kind: eNum, name: t.Text, tok: p.i - 1}
	case String:
		tok := p.i
		e := &expr{kind: eConst, tok: tok, const_: true}
		for p.peek().Kind == String {
			s := p.next()
			v, isBytes, ok := StringValue(s.Text)
			e.isBytes = e.isBytes || isBytes
			if !ok {
				e.const_ = false
			}
			if e.const_ && len(e.val)+len(v) <= p.lim.MaxDecoded {
				e.val = append(e.val, v...)
			} else {
				e.const_ = false
			}
		}
		if !e.const_ {
			e.val = nil
			e.kind = eOther
		}
		e.owned = true
		return e
	case Op:
		switch t.Text {
		case "(":
			tok := p.i
			p.next()
			items, _, comma := p.items(")")
			if len(items) == 1 && !comma {
				return items[0]
			}
			return &expr{kind: eList, args: items, tok: tok}
		case "[":
			tok := p.i
			p.next()
			items, _, _ := p.items("]")
			return &expr{kind: eList, args: items, tok: tok}
		case "{":
			tok := p.i
			p.next()
			p.items("}")
			return &expr{kind: eOther, tok: tok}
		case "...":
			p.next()
			return &expr{kind: eOther, tok: p.i - 1}
		}
	}
	return nil
}

// items parses the inside of brackets up to closer: expressions, keyword
// arguments, comprehensions. A comprehension makes the list unusable for
// folding (nil items).
func (p *parser) items(closer string) (items []*expr, kws []kwarg, comma bool) {
	comp := false
	for {
		t := p.peek()
		switch t.Kind {
		case EndMarker, Newline, Indent, Dedent:
			return
		case Op:
			switch t.Text {
			case closer:
				p.next()
				if comp {
					items = nil
				}
				return
			case ")", "]", "}":
				return // mismatched: let the caller resync
			case ",":
				comma = true
				p.next()
				continue
			case "*", "**":
				p.next()
				if e := p.expr(); e != nil {
					items = append(items, &expr{kind: eOther, tok: e.tok})
				}
				continue
			}
		case Name:
			switch t.Text {
			case "for", "async", "in", "if", "else":
				comp = comp || t.Text == "for"
				p.next()
				continue
			}
			if n := p.peekAt(1); n.Kind == Op && n.Text == "=" && !keywords[t.Text] {
				p.next()
				p.next()
				if v := p.expr(); v != nil {
					kws = append(kws, kwarg{name: t.Text, v: v})
				}
				continue
			}
		}
		e := p.expr()
		if e == nil {
			p.next() // ':' in slices and dicts, '=' of defaults, stray tokens
			continue
		}
		items = append(items, e)
	}
}

// maxArgConst bounds the constant value kept for each call argument.
const maxArgConst = 4096

// spend takes n bytes from the folding budget (four times MaxDecoded per
// file), so that folding stays linear: a = a + a on every line stops
// folding instead of copying megabytes per line.
func (p *parser) spend(n int) bool {
	if p.budget < n {
		p.budget = 0
		return false
	}
	p.budget -= n
	return true
}

// fold folds a + b when both are constants.
func (p *parser) fold(a, b *expr) *expr {
	a, b = p.value(a, 0), p.value(b, 0)
	if !a.const_ || !b.const_ || len(a.val)+len(b.val) > p.lim.MaxDecoded || !p.spend(len(b.val)+boolInt(!a.owned)*len(a.val)) {
		return &expr{kind: eOther, tok: a.tok}
	}
	if a.owned {
		a.val = append(a.val, b.val...)
		return a
	}
	v := make([]byte, 0, len(a.val)+len(b.val))
	v = append(append(v, a.val...), b.val...)
	return &expr{kind: eConst, const_: true, owned: true, val: v, tok: a.tok, isBytes: a.isBytes}
}

// value follows a plain name to the constant last assigned to it.
func (p *parser) value(e *expr, depth int) *expr {
	for e != nil && e.kind == eName && depth < 8 {
		v, ok := p.vars[e.name]
		if !ok || v == e {
			break
		}
		if v.const_ {
			return &expr{kind: eConst, const_: true, val: v.val, tok: e.tok, isBytes: v.isBytes}
		}
		e = v
		depth++
	}
	if e == nil {
		return &expr{kind: eOther}
	}
	return e
}

// builtinNames are the builtins a call can name without an import.
var builtinNames = map[string]bool{
	"exec": true, "eval": true, "compile": true, "open": true, "__import__": true, "getattr": true,
	"setattr": true, "delattr": true, "globals": true, "locals": true, "vars": true, "input": true,
	"breakpoint": true, "execfile": true, "chr": true, "bytes": true, "str": true, "bytearray": true,
	"memoryview": true, "print": true, "help": true, "reload": true,
}

// resolve returns the dotted name e stands for and the origin of its first
// component ("import", "builtin", "local"), or "" when it has none.
func (p *parser) resolve(e *expr, depth int) (string, string) {
	p.steps++
	if e == nil || depth > 32 || p.steps > 4096 {
		return "", ""
	}
	switch e.kind {
	case eName:
		if t, ok := p.mod.Aliases[e.name]; ok {
			return t, "import"
		}
		if v, ok := p.vars[e.name]; ok && v != e && (v.kind == eName || v.kind == eAttr || v.kind == eCall && v.call >= 0) {
			if r, o := p.resolve(v, depth+1); r != "" {
				return r, o
			}
		}
		if e.name == "__builtins__" || e.name == "builtins" {
			return "builtins", "builtin"
		}
		if builtinNames[e.name] && !p.defined[e.name] {
			return "builtins." + e.name, "builtin"
		}
		return e.name, "local"
	case eAttr:
		r, o := p.resolve(e.x, depth+1)
		if r == "" {
			return "", ""
		}
		return r + "." + e.name, o
	case eCall:
		fn, o := p.resolve(e.x, depth+1)
		if fn == "" {
			return "", ""
		}
		switch fn {
		case "builtins.__import__", "importlib.import_module", "importlib.__import__":
			if len(e.args) > 0 {
				if a := p.value(e.args[0], 0); a.const_ {
					return string(a.val), "import"
				}
			}
		case "builtins.getattr":
			if len(e.args) >= 2 {
				if a := p.value(e.args[1], 0); a.const_ {
					r, o2 := p.resolve(e.args[0], depth+1)
					if r != "" {
						return r + "." + string(a.val), o2
					}
				}
			}
		case "builtins.globals", "builtins.locals", "builtins.vars":
			return "builtins." + fn[len("builtins."):] + "()", "builtin"
		}
		return fn + "()", o
	case eSub:
		r, _ := p.resolve(e.x, depth+1)
		if r == "" || len(e.args) != 1 {
			return "", ""
		}
		k := p.value(e.args[0], 0)
		if !k.const_ {
			return "", ""
		}
		switch r {
		case "sys.modules":
			return string(k.val), "import"
		case "builtins", "builtins.globals()", "builtins.locals()", "builtins.vars()", "builtins.__dict__":
			name := string(k.val)
			if name == "__builtins__" {
				return "builtins", "builtin"
			}
			if t, ok := p.mod.Aliases[name]; ok && r != "builtins" {
				return t, "import"
			}
			return "builtins." + name, "builtin"
		}
	}
	return "", ""
}

// render writes e as Python-like text, shortened.
func (p *parser) render(e *expr, depth int) string {
	if e == nil {
		return "…"
	}
	if depth > 16 {
		return "…"
	}
	switch e.kind {
	case eName, eNum:
		return e.name
	case eConst:
		return quote(e.val, e.isBytes, 80)
	case eAttr:
		return p.render(e.x, depth+1) + "." + e.name
	case eCall:
		var b strings.Builder
		b.WriteString(p.render(e.x, depth+1))
		b.WriteByte('(')
		for i, a := range e.args {
			if i > 0 {
				b.WriteString(", ")
			}
			if i >= 4 {
				b.WriteString("…")
				break
			}
			b.WriteString(p.render(a, depth+1))
		}
		b.WriteByte(')')
		return b.String()
	case eSub:
		return p.render(e.x, depth+1) + "[…]"
	case eList:
		return "[…]"
	}
	return "…"
}

func quote(v []byte, isBytes bool, max int) string {
	cut := false
	if len(v) > max {
		v, cut = v[:max], true
	}
	s := string(v)
	q := strconv.Quote(s)
	q = "'" + strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`) + "'"
	if cut {
		q += "…"
	}
	if isBytes {
		q = "b" + q
	}
	return q
}

// recordCall records a call, folds what can be folded (”.join, chr,
// decoders of constants, .decode()) and recognises exec chains.
func (p *parser) recordCall(c *expr) {
	callee := p.render(c.x, 0)
	p.steps = 0 // resolve follows variables: bound its work per call
	resolved, origin := p.resolve(c.x, 0)
	tok := p.toks[c.tok]
	call := Call{
		Callee: callee, Resolved: resolved, Origin: origin,
		Line: tok.Line, Offset: tok.Offset, ModuleLevel: !p.inFunction(), Scope: p.scopeName(),
	}
	for _, a := range c.args {
		v := p.value(a, 0)
		if v.const_ {
			s := string(v.val[:min(len(v.val), maxArgConst)])
			call.consts = append(call.consts, &s)
			call.Args = append(call.Args, quote(v.val, v.isBytes, 200))
		} else {
			call.consts = append(call.consts, nil)
			call.Args = append(call.Args, p.render(a, 0))
		}
	}
	for _, k := range c.kws {
		if call.Keywords == nil {
			call.Keywords = map[string]string{}
			call.kwConsts = map[string]string{}
		}
		v := p.value(k.v, 0)
		if v.const_ {
			call.kwConsts[k.name] = string(v.val[:min(len(v.val), maxArgConst)])
			call.Keywords[k.name] = quote(v.val, v.isBytes, 200)
		} else {
			call.Keywords[k.name] = p.render(k.v, 0)
		}
	}
	p.mod.Calls = append(p.mod.Calls, call)
	c.call = len(p.mod.Calls) - 1

	p.foldCall(c, resolved)
	switch resolved {
	case "builtins.exec", "builtins.eval", "builtins.compile", "builtins.execfile":
		if len(c.args) > 0 {
			p.execChain(c, call, resolved)
		}
	}
}

// foldCall turns calls whose result is a known constant into constants.
func (p *parser) foldCall(c *expr, fn string) {
	constArg := func(i int) ([]byte, bool) {
		if i >= len(c.args) {
			return nil, false
		}
		v := p.value(c.args[i], 0)
		return v.val, v.const_
	}
	set := func(v []byte, isBytes bool) {
		if len(v) <= p.lim.MaxDecoded && p.spend(len(v)) {
			c.const_, c.val, c.owned, c.isBytes = true, v, true, isBytes
		}
	}
	// "sep".join([...]) and methods of constants
	if obj := p.value(c.x.x, 0); c.x.kind == eAttr && obj.const_ {
		switch c.x.name {
		case "join":
			if obj.const_ && len(c.args) == 1 {
				l := p.value(c.args[0], 0)
				if l.kind == eList && l.args != nil {
					var parts []string
					for _, it := range l.args {
						v := p.value(it, 0)
						if !v.const_ {
							return
						}
						parts = append(parts, string(v.val))
					}
					set([]byte(strings.Join(parts, string(obj.val))), obj.isBytes)
				}
			}
			return
		case "decode", "encode", "strip", "lower", "upper":
			if obj.const_ {
				v := obj.val
				switch c.x.name {
				case "strip":
					v = []byte(strings.TrimSpace(string(v)))
				case "lower":
					v = []byte(strings.ToLower(string(v)))
				case "upper":
					v = []byte(strings.ToUpper(string(v)))
				case "decode", "encode":
					if enc, ok := constArg(0); ok && isRot13(string(enc)) {
						v = rot13(v)
					}
				}
				set(v, c.x.name == "encode")
			}
			return
		case "replace":
			if a, ok := constArg(0); ok && obj.const_ {
				if b, ok := constArg(1); ok {
					set([]byte(strings.ReplaceAll(string(obj.val), string(a), string(b))), obj.isBytes)
				}
			}
			return
		}
	}
	switch fn {
	case "builtins.chr":
		if len(c.args) == 1 && c.args[0].kind == eNum {
			if n, err := strconv.ParseInt(strings.ReplaceAll(c.args[0].name, "_", ""), 0, 32); err == nil && n >= 0 && n <= 0x10ffff {
				set([]byte(string(rune(n))), false)
			}
		}
	case "builtins.str", "builtins.bytes", "builtins.bytearray":
		if v, ok := constArg(0); ok {
			set(v, fn != "builtins.str")
		}
	default:
		if v, ok := constArg(0); ok {
			enc := ""
			if e, ok := constArg(1); ok {
				enc = string(e)
			}
			for _, k := range c.kws {
				if k.name == "encoding" {
					if e := p.value(k.v, 0); e.const_ {
						enc = string(e.val)
					}
				}
			}
			if out, ok := decode(fn, v, enc, p.lim.MaxDecoded); ok {
				set(out, true)
			}
		}
	}
}

// execChain follows the code argument of exec/eval/compile back through
// decoders, method calls and variables to a constant or a download.
func (p *parser) execChain(c *expr, call Call, sink string) {
	var chain []string
	download := false
	e := c.args[0]
	var code []byte
	known := false
	for depth := 0; e != nil && depth < 32; depth++ {
		if e.kind == eName {
			v, ok := p.vars[e.name]
			if !ok || v == e {
				break
			}
			e = v
			continue
		}
		if e.kind == eAttr && (e.name == "text" || e.name == "content" || e.name == "body" || e.name == "data") {
			e = e.x
			continue
		}
		if e.kind != eCall {
			if e.const_ && !known {
				code, known = e.val, true
			}
			break
		}
		fn, _ := p.resolve(e.x, 0)
		fn = strings.ReplaceAll(fn, "()", "")
		if e.x.kind == eAttr && !isDecoder(fn) {
			switch e.x.name {
			case "decode", "encode", "read", "strip", "json", "getvalue", "readlines", "readline", "replace", "lower", "upper":
				if e.const_ && !known && len(chain) == 0 {
					code, known = e.val, true
				}
				e = e.x.x
				continue
			}
		}
		switch {
		case fn == "builtins.compile":
			if e.call >= 0 {
				p.absorbed[e.call] = true
			}
		case fn == "builtins.str" || fn == "builtins.bytes" || fn == "builtins.bytearray":
		case isDecoder(fn):
			chain = append(chain, strings.TrimPrefix(fn, "builtins."))
		case isDownload(fn):
			chain = append(chain, fn)
			download = true
		default:
			if e.const_ && !known {
				code, known = e.val, true
			}
			e = nil
			continue
		}
		if e.const_ && !known {
			code, known = e.val, true
		}
		if len(e.args) == 0 {
			break
		}
		e = e.args[0]
	}
	if len(chain) == 0 && !known {
		return
	}
	p.obfCall = append(p.obfCall, c.call)
	o := Obfuscation{Sink: sink, Chain: chain, Download: download, Line: call.Line, Offset: call.Offset, ModuleLevel: call.ModuleLevel, Scope: call.Scope}
	if known {
		o.Decoded = string(code)
		if len(o.Decoded) > 400 {
			o.Decoded = o.Decoded[:400] + "…"
		}
		if p.level+1 <= p.lim.MaxInner {
			inner, err := analyze(code, p.lim, p.level+1)
			o.Inner = inner
			if err != nil && p.err == nil {
				p.err = err
			}
		}
	}
	p.mod.Obfuscated = append(p.mod.Obfuscated, o)
}

func isDownload(fn string) bool {
	for _, pre := range []string{"requests.", "urllib.request.", "urllib.urlopen", "urllib2.", "http.client.", "httpx.", "urllib3.", "aiohttp.", "socket."} {
		if strings.HasPrefix(fn, pre) {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

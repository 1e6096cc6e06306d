package jinja

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Parse parses a Jinja2 template into a syntax tree, within lim. It never
// renders or evaluates anything. On a syntax error or a limit it returns a nil
// template and an *Error with the line and column.
func Parse(src string, lim Limits) (t *Template, err error) {
	lim = lim.withDefaults()
	if len(src) > lim.MaxBytes {
		return nil, limitError("MaxBytes", int64(lim.MaxBytes), Pos{Line: 1, Col: 1}, fmt.Sprintf("template of %d bytes", len(src)))
	}
	toks, err := lex(src, lim)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, lim: lim}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			t, err = nil, pe
		}
	}()
	start := p.cur().pos
	body := p.subparse()
	tmpl := &Template{span: span{Start: start, End: len(src)}, Body: body, Nodes: p.nodes + 1}
	return tmpl, nil
}

type parser struct {
	toks    []token
	i       int
	lim     Limits
	depth   int
	nodes   int
	prevEnd int
}

func (p *parser) cur() token { return p.toks[p.i] }

func (p *parser) peek() token {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	p.prevEnd = t.end
	return t
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	panic(newError(pos, format, args...))
}

func (p *parser) isOp(s string) bool {
	t := p.cur()
	return t.kind == tOp && t.val == s
}

func (p *parser) isName(s string) bool {
	t := p.cur()
	return t.kind == tName && t.val == s
}

func (p *parser) skipOp(s string) bool {
	if p.isOp(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipName(s string) bool {
	if p.isName(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(s string) token {
	if !p.isOp(s) {
		p.fail(p.cur().pos, "expected %q, got %s", s, p.cur().describe())
	}
	return p.next()
}

func (p *parser) expectName(s string) token {
	if !p.isName(s) {
		p.fail(p.cur().pos, "expected %q, got %s", s, p.cur().describe())
	}
	return p.next()
}

func (p *parser) expectIdent() token {
	if p.cur().kind != tName {
		p.fail(p.cur().pos, "expected a name, got %s", p.cur().describe())
	}
	return p.next()
}

func (p *parser) expectBlockEnd() {
	if p.cur().kind != tBlockEnd {
		p.fail(p.cur().pos, "expected end of statement '%%}', got %s", p.cur().describe())
	}
	p.next()
}

// enter counts one level of nesting; the caller undoes it with leave.
func (p *parser) enter(pos Pos) {
	p.depth++
	if p.depth > p.lim.MaxDepth {
		panic(limitError("MaxDepth", int64(p.lim.MaxDepth), pos, "template nested too deeply"))
	}
}

func (p *parser) leave() { p.depth-- }

// sp makes the span of a node that started at start and ends with the last
// consumed token, and counts the node.
func (p *parser) sp(start Pos) span {
	p.nodes++
	if p.nodes > p.lim.MaxNodes {
		panic(limitError("MaxNodes", int64(p.lim.MaxNodes), start, "too many syntax-tree nodes"))
	}
	end := p.prevEnd
	if end < start.Offset {
		end = start.Offset
	}
	return span{Start: start, End: end}
}

func (p *parser) ex(start Pos) exprNode { return exprNode{p.sp(start)} }

// subparse reads template data and statements until a "{% name %}" whose
// name is in ends; it stops with the cursor on that name.
func (p *parser) subparse(ends ...string) []Node {
	var body []Node
	for {
		t := p.cur()
		switch t.kind {
		case tText, tRaw:
			p.next()
			body = append(body, &Text{span: p.sp(t.pos), Text: t.val, Raw: t.kind == tRaw})
		case tVarBegin:
			p.next()
			e := p.parseTuple(false, true, nil, false)
			if p.cur().kind != tVarEnd {
				p.fail(p.cur().pos, "expected end of print statement '}}', got %s", p.cur().describe())
			}
			p.next()
			body = append(body, &Output{span: p.sp(t.pos), Expr: e})
		case tBlockBegin:
			p.next()
			name := p.cur()
			if name.kind != tName {
				p.fail(name.pos, "expected a tag name, got %s", name.describe())
			}
			for _, e := range ends {
				if name.val == e {
					return body
				}
			}
			body = append(body, p.parseStatement(t.pos))
		case tEOF:
			if len(ends) > 0 {
				p.fail(t.pos, "unexpected end of template: expected %s", quoteList(ends))
			}
			return body
		default:
			p.fail(t.pos, "unexpected %s", t.describe())
		}
	}
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, " or ")
}

// body parses a block body up to one of ends, with one more level of depth.
func (p *parser) body(start Pos, ends ...string) []Node {
	p.enter(start)
	b := p.subparse(ends...)
	p.leave()
	return b
}

// endTag consumes "name %}" that closes a block.
func (p *parser) endTag(name string) {
	p.expectName(name)
	p.expectBlockEnd()
}

func (p *parser) parseStatement(start Pos) Node {
	t := p.next() // the tag name
	switch t.val {
	case "if":
		return p.parseIf(start)
	case "for":
		return p.parseFor(start)
	case "set":
		return p.parseSet(start)
	case "macro":
		return p.parseMacro(start)
	case "call":
		return p.parseCallBlock(start)
	case "filter":
		fs := p.parseFilterChain(true)
		p.expectBlockEnd()
		body := p.body(start, "endfilter")
		p.endTag("endfilter")
		return &FilterBlock{span: p.sp(start), Filters: fs, Body: body}
	case "with":
		return p.parseWith(start)
	case "import":
		tmpl := p.parseExpression(true)
		p.expectName("as")
		target := p.expectIdent().val
		wc := p.contextModifier(false)
		p.expectBlockEnd()
		return &Import{span: p.sp(start), Template: tmpl, Target: target, WithContext: wc}
	case "from":
		return p.parseFromImport(start)
	case "include":
		tmpl := p.parseExpression(true)
		ignore := false
		if p.isName("ignore") && p.peek().kind == tName && p.peek().val == "missing" {
			p.next()
			p.next()
			ignore = true
		}
		wc := p.contextModifier(true)
		p.expectBlockEnd()
		return &Include{span: p.sp(start), Template: tmpl, IgnoreMissing: ignore, WithContext: wc}
	case "extends":
		tmpl := p.parseExpression(true)
		p.expectBlockEnd()
		return &Extends{span: p.sp(start), Template: tmpl}
	case "block":
		name := p.expectIdent().val
		b := &Block{Name: name}
		for {
			if p.skipName("scoped") {
				b.Scoped = true
			} else if p.skipName("required") {
				b.Required = true
			} else {
				break
			}
		}
		p.expectBlockEnd()
		b.Body = p.body(start, "endblock")
		p.expectName("endblock")
		if p.cur().kind == tName {
			if n := p.next(); n.val != name {
				p.fail(n.pos, "endblock %q does not close block %q", n.val, name)
			}
		}
		p.expectBlockEnd()
		b.span = p.sp(start)
		return b
	case "break":
		p.expectBlockEnd()
		return &Break{p.sp(start)}
	case "continue":
		p.expectBlockEnd()
		return &Continue{p.sp(start)}
	case "do":
		e := p.parseTuple(false, true, nil, false)
		p.expectBlockEnd()
		return &Do{span: p.sp(start), Expr: e}
	case "autoescape":
		e := p.parseExpression(true)
		p.expectBlockEnd()
		body := p.body(start, "endautoescape")
		p.endTag("endautoescape")
		return &ScopedBlock{span: p.sp(start), Tag: t.val, Expr: e, Body: body}
	case "generation":
		// Hugging Face transformers' extension marking assistant output.
		p.expectBlockEnd()
		body := p.body(start, "endgeneration")
		p.endTag("endgeneration")
		return &ScopedBlock{span: p.sp(start), Tag: t.val, Body: body}
	}
	p.fail(t.pos, "unknown tag %q", t.val)
	return nil
}

// contextModifier reads "with context" / "without context".
func (p *parser) contextModifier(def bool) bool {
	if (p.isName("with") || p.isName("without")) && p.peek().kind == tName && p.peek().val == "context" {
		w := p.next().val
		p.next()
		return w == "with"
	}
	return def
}

func (p *parser) parseIf(start Pos) Node {
	n := &If{Test: p.parseTuple(false, false, nil, false)}
	p.expectBlockEnd()
	n.Body = p.body(start, "elif", "else", "endif")
	for {
		t := p.next()
		switch t.val {
		case "elif":
			if len(n.Elifs) >= p.lim.MaxNodes {
				p.fail(t.pos, "too many elif")
			}
			e := &If{Test: p.parseTuple(false, false, nil, false)}
			p.expectBlockEnd()
			e.Body = p.body(t.pos, "elif", "else", "endif")
			e.span = p.sp(t.pos)
			n.Elifs = append(n.Elifs, e)
		case "else":
			p.expectBlockEnd()
			n.Else = p.body(t.pos, "endif")
		case "endif":
			p.expectBlockEnd()
			n.span = p.sp(start)
			return n
		}
	}
}

func (p *parser) parseFor(start Pos) Node {
	n := &For{}
	n.Target = p.parseAssignTarget(true, false, []string{"in"}, false)
	p.expectName("in")
	n.Iter = p.parseTuple(false, false, []string{"recursive"}, false)
	if p.skipName("if") {
		n.Filter = p.parseExpression(true)
	}
	n.Recursive = p.skipName("recursive")
	p.expectBlockEnd()
	n.Body = p.body(start, "endfor", "else")
	if p.next().val == "else" {
		p.expectBlockEnd()
		n.Else = p.body(start, "endfor")
		p.next()
	}
	p.expectBlockEnd()
	n.span = p.sp(start)
	return n
}

func (p *parser) parseSet(start Pos) Node {
	n := &Set{Target: p.parseAssignTarget(true, false, nil, true)}
	if p.skipOp("=") {
		n.Value = p.parseTuple(false, true, nil, false)
		p.expectBlockEnd()
		n.span = p.sp(start)
		return n
	}
	if p.isOp("|") {
		n.Filters = p.parseFilterChain(false)
	}
	p.expectBlockEnd()
	n.Body = p.body(start, "endset")
	p.endTag("endset")
	n.span = p.sp(start)
	return n
}

// parseSignature reads "(a, b=1)" of a macro or call block.
func (p *parser) parseSignature() ([]*Name, []Expr) {
	var params []*Name
	var defaults []Expr
	p.expectOp("(")
	for !p.isOp(")") {
		if len(params) > 0 {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		t := p.expectIdent()
		params = append(params, &Name{exprNode: p.ex(t.pos), Name: t.val})
		if p.skipOp("=") {
			defaults = append(defaults, p.parseExpression(true))
		} else if len(defaults) > 0 {
			p.fail(t.pos, "parameter without a default follows a parameter with one")
		}
	}
	p.expectOp(")")
	return params, defaults
}

func (p *parser) parseMacro(start Pos) Node {
	n := &Macro{Name: p.expectIdent().val}
	n.Params, n.Defaults = p.parseSignature()
	p.expectBlockEnd()
	n.Body = p.body(start, "endmacro")
	p.endTag("endmacro")
	n.span = p.sp(start)
	return n
}

func (p *parser) parseCallBlock(start Pos) Node {
	n := &CallBlock{}
	if p.isOp("(") {
		n.Params, n.Defaults = p.parseSignature()
	}
	pos := p.cur().pos
	c, ok := p.parseExpression(true).(*Call)
	if !ok {
		p.fail(pos, "expected a call in the call block")
	}
	n.Call = c
	p.expectBlockEnd()
	n.Body = p.body(start, "endcall")
	p.endTag("endcall")
	n.span = p.sp(start)
	return n
}

func (p *parser) parseWith(start Pos) Node {
	n := &With{}
	for p.cur().kind != tBlockEnd {
		if len(n.Targets) > 0 {
			p.expectOp(",")
		}
		n.Targets = append(n.Targets, p.parseAssignTarget(true, false, nil, false))
		p.expectOp("=")
		n.Values = append(n.Values, p.parseExpression(true))
	}
	p.expectBlockEnd()
	n.Body = p.body(start, "endwith")
	p.endTag("endwith")
	n.span = p.sp(start)
	return n
}

func (p *parser) parseFromImport(start Pos) Node {
	n := &FromImport{Template: p.parseExpression(true)}
	p.expectName("import")
	for {
		if len(n.Names) > 0 && !p.skipOp(",") {
			break
		}
		if (p.isName("with") || p.isName("without")) && p.peek().kind == tName && p.peek().val == "context" {
			break
		}
		if p.cur().kind != tName {
			if len(n.Names) == 0 {
				p.fail(p.cur().pos, "expected a name to import, got %s", p.cur().describe())
			}
			break
		}
		in := ImportName{Name: p.next().val}
		if p.skipName("as") {
			in.Alias = p.expectIdent().val
		}
		n.Names = append(n.Names, in)
	}
	n.WithContext = p.contextModifier(false)
	p.expectBlockEnd()
	n.span = p.sp(start)
	return n
}

// parseAssignTarget reads the target of for, set and with: a name, a
// namespace attribute (ns.x, with withNamespace) or a tuple of names.
func (p *parser) parseAssignTarget(withTuple, nameOnly bool, extraEnd []string, withNamespace bool) Expr {
	t := p.cur()
	if withNamespace && t.kind == tName && p.peek().kind == tOp && p.peek().val == "." {
		p.next()
		p.next()
		attr := p.expectIdent()
		base := &Name{exprNode: exprNode{span{Start: t.pos, End: t.end}}, Name: t.val}
		p.nodes++
		return &Getattr{exprNode: p.ex(t.pos), Node: base, Attr: attr.val}
	}
	var target Expr
	if nameOnly {
		n := p.expectIdent()
		return &Name{exprNode: p.ex(n.pos), Name: n.val}
	}
	if withTuple {
		target = p.parseTuple(true, false, extraEnd, false)
	} else {
		target = p.parsePrimary()
	}
	if !assignable(target) {
		p.fail(t.pos, "cannot assign to this expression")
	}
	return target
}

func assignable(e Expr) bool {
	switch e := e.(type) {
	case *Name:
		switch e.Name {
		case "true", "false", "none", "True", "False", "None":
			return false
		}
		return true
	case *Tuple:
		for _, it := range e.Items {
			if !assignable(it) {
				return false
			}
		}
		return true
	}
	return false
}

// isTupleEnd reports whether the current token ends a tuple.
func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.cur()
	switch t.kind {
	case tVarEnd, tBlockEnd, tEOF:
		return true
	case tOp:
		return t.val == ")"
	case tName:
		for _, e := range extraEnd {
			if t.val == e {
				return true
			}
		}
	}
	return false
}

// parseTuple reads "a, b, c" (a Tuple) or a single expression.
func (p *parser) parseTuple(simplified, withCondexpr bool, extraEnd []string, explicitParens bool) Expr {
	start := p.cur().pos
	var items []Expr
	isTuple := false
	for {
		if len(items) > 0 {
			p.expectOp(",")
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		switch {
		case simplified:
			items = append(items, p.parsePrimary())
		default:
			items = append(items, p.parseExpression(withCondexpr))
		}
		if p.isOp(",") {
			isTuple = true
		} else {
			break
		}
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0]
		}
		if !explicitParens {
			p.fail(p.cur().pos, "expected an expression, got %s", p.cur().describe())
		}
	}
	return &Tuple{exprNode: p.ex(start), Items: items}
}

func (p *parser) parseExpression(withCondexpr bool) Expr {
	p.enter(p.cur().pos)
	defer p.leave()
	if withCondexpr {
		return p.parseCondexpr()
	}
	return p.parseOr()
}

func (p *parser) parseCondexpr() Expr {
	start := p.cur().pos
	e := p.parseOr()
	n := 0
	for p.skipName("if") {
		p.enter(start)
		n++
		test := p.parseOr()
		var els Expr
		if p.skipName("else") {
			els = p.parseExpression(true)
		}
		e = &CondExpr{exprNode: p.ex(start), Test: test, Then: e, Else: els}
	}
	p.depth -= n
	return e
}

// binaryChain parses left-associative operators; each step counts as one
// level of depth, so the tree depth stays bounded.
func (p *parser) binaryChain(sub func() Expr, match func() (string, bool)) Expr {
	start := p.cur().pos
	left := sub()
	n := 0
	for {
		op, ok := match()
		if !ok {
			break
		}
		p.enter(start)
		n++
		right := sub()
		left = &Binary{exprNode: p.ex(start), Op: op, Left: left, Right: right}
	}
	p.depth -= n
	return left
}

func (p *parser) nameOp(names ...string) func() (string, bool) {
	return func() (string, bool) {
		for _, s := range names {
			if p.skipName(s) {
				return s, true
			}
		}
		return "", false
	}
}

func (p *parser) opOp(ops ...string) func() (string, bool) {
	return func() (string, bool) {
		for _, s := range ops {
			if p.skipOp(s) {
				return s, true
			}
		}
		return "", false
	}
}

func (p *parser) parseOr() Expr  { return p.binaryChain(p.parseAnd, p.nameOp("or")) }
func (p *parser) parseAnd() Expr { return p.binaryChain(p.parseNot, p.nameOp("and")) }

func (p *parser) parseNot() Expr {
	if p.isName("not") {
		t := p.next()
		p.enter(t.pos)
		defer p.leave()
		x := p.parseNot()
		return &Unary{exprNode: p.ex(t.pos), Op: "not", Node: x}
	}
	return p.parseCompare()
}

var compareOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *parser) parseCompare() Expr {
	start := p.cur().pos
	e := p.parseMath1()
	var ops []Operand
	for {
		t := p.cur()
		switch {
		case t.kind == tOp && compareOps[t.val]:
			p.next()
			ops = append(ops, Operand{Op: t.val, Expr: p.parseMath1()})
		case p.isName("in"):
			p.next()
			ops = append(ops, Operand{Op: "in", Expr: p.parseMath1()})
		case p.isName("not") && p.peek().kind == tName && p.peek().val == "in":
			p.next()
			p.next()
			ops = append(ops, Operand{Op: "notin", Expr: p.parseMath1()})
		default:
			if len(ops) == 0 {
				return e
			}
			return &Compare{exprNode: p.ex(start), Expr: e, Ops: ops}
		}
	}
}

func (p *parser) parseMath1() Expr  { return p.binaryChain(p.parseConcat, p.opOp("+", "-")) }
func (p *parser) parseConcat() Expr { return p.binaryChain(p.parseMath2, p.opOp("~")) }
func (p *parser) parseMath2() Expr {
	return p.binaryChain(p.parsePow, p.opOp("*", "/", "//", "%"))
}
func (p *parser) parsePow() Expr {
	return p.binaryChain(func() Expr { return p.parseUnary(true) }, p.opOp("**"))
}

func (p *parser) parseUnary(withFilter bool) Expr {
	t := p.cur()
	p.enter(t.pos)
	defer p.leave()
	var e Expr
	if t.kind == tOp && (t.val == "-" || t.val == "+") {
		p.next()
		x := p.parseUnary(false)
		e = &Unary{exprNode: p.ex(t.pos), Op: t.val, Node: x}
	} else {
		e = p.parsePrimary()
	}
	e = p.parsePostfix(t.pos, e)
	if withFilter {
		e = p.parseFilterExpr(t.pos, e)
	}
	return e
}

func (p *parser) parsePrimary() Expr {
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &Const{exprNode: p.ex(t.pos), Value: true}
		case "false", "False":
			return &Const{exprNode: p.ex(t.pos), Value: false}
		case "none", "None":
			return &Const{exprNode: p.ex(t.pos), Value: nil}
		}
		return &Name{exprNode: p.ex(t.pos), Name: t.val}
	case tString:
		var b strings.Builder
		for p.cur().kind == tString {
			b.WriteString(p.next().val)
		}
		return &Const{exprNode: p.ex(t.pos), Value: b.String()}
	case tInt:
		p.next()
		return p.intConst(t)
	case tFloat:
		p.next()
		// Out of range gives ±Inf, as in Python.
		f, _ := strconv.ParseFloat(t.val, 64)
		return &Const{exprNode: p.ex(t.pos), Value: f}
	case tOp:
		switch t.val {
		case "(":
			p.next()
			p.enter(t.pos)
			e := p.parseTuple(false, true, nil, true)
			p.leave()
			p.expectOp(")")
			if tu, ok := e.(*Tuple); ok {
				tu.span = p.sp(t.pos)
				p.nodes--
			}
			return e
		case "[":
			return p.parseList()
		case "{":
			return p.parseDict()
		}
	}
	p.fail(t.pos, "unexpected %s", t.describe())
	return nil
}

func (p *parser) intConst(t token) Expr {
	s := t.val
	base := 10
	if len(s) > 1 && s[0] == '0' && s[1] != '0' {
		base = 0
	}
	if v, err := strconv.ParseInt(s, base, 64); err == nil {
		return &Const{exprNode: p.ex(t.pos), Value: v}
	}
	bi, ok := new(big.Int).SetString(s, base)
	if !ok {
		p.fail(t.pos, "malformed integer %q", s)
	}
	f, _ := new(big.Float).SetInt(bi).Float64()
	return &Const{exprNode: p.ex(t.pos), Value: f, BigInt: bi.String()}
}

func (p *parser) parseList() Expr {
	start := p.next().pos
	p.enter(start)
	defer p.leave()
	var items []Expr
	for !p.isOp("]") {
		if len(items) > 0 {
			p.expectOp(",")
			if p.isOp("]") {
				break
			}
		}
		items = append(items, p.parseExpression(true))
	}
	p.expectOp("]")
	return &List{exprNode: p.ex(start), Items: items}
}

func (p *parser) parseDict() Expr {
	start := p.next().pos
	p.enter(start)
	defer p.leave()
	d := &Dict{}
	for !p.isOp("}") {
		if len(d.Keys) > 0 {
			p.expectOp(",")
			if p.isOp("}") {
				break
			}
		}
		k := p.parseExpression(true)
		p.expectOp(":")
		v := p.parseExpression(true)
		d.Keys = append(d.Keys, k)
		d.Values = append(d.Values, v)
	}
	p.expectOp("}")
	d.exprNode = p.ex(start)
	return d
}

// parsePostfix reads ".attr", "[key]" and "(args)" after a primary.
func (p *parser) parsePostfix(start Pos, e Expr) Expr {
	n := 0
	defer func() { p.depth -= n }()
	for {
		t := p.cur()
		if t.kind != tOp || (t.val != "." && t.val != "[" && t.val != "(") {
			return e
		}
		p.enter(start)
		n++
		switch t.val {
		case ".":
			p.next()
			a := p.next()
			switch a.kind {
			case tName:
				e = &Getattr{exprNode: p.ex(start), Node: e, Attr: a.val}
			case tInt:
				key := p.intConst(a)
				e = &Getitem{exprNode: p.ex(start), Node: e, Arg: key}
			default:
				p.fail(a.pos, "expected an attribute name after '.', got %s", a.describe())
			}
		case "[":
			p.next()
			var args []Expr
			for !p.isOp("]") {
				if len(args) > 0 {
					p.expectOp(",")
					if p.isOp("]") {
						break
					}
				}
				args = append(args, p.parseSubscribed())
			}
			p.expectOp("]")
			if len(args) == 0 {
				p.fail(t.pos, "empty subscript")
			}
			arg := args[0]
			if len(args) > 1 {
				arg = &Tuple{exprNode: p.ex(t.pos), Items: args}
			}
			e = &Getitem{exprNode: p.ex(start), Node: e, Arg: arg}
		case "(":
			c := &Call{Node: e}
			c.Args, c.Kwargs, c.DynArgs, c.DynKwargs = p.parseCallArgs()
			c.exprNode = p.ex(start)
			e = c
		}
	}
}

func (p *parser) parseSubscribed() Expr {
	start := p.cur().pos
	var lo, hi, step Expr
	if !p.skipOp(":") {
		e := p.parseExpression(true)
		if !p.skipOp(":") {
			return e
		}
		lo = e
	}
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		hi = p.parseExpression(true)
	}
	if p.skipOp(":") {
		if !p.isOp("]") && !p.isOp(",") {
			step = p.parseExpression(true)
		}
	}
	return &Slice{exprNode: p.ex(start), Start: lo, Stop: hi, Step: step}
}

func (p *parser) parseCallArgs() (args []Expr, kwargs []Keyword, dynArgs, dynKwargs Expr) {
	open := p.expectOp("(")
	p.enter(open.pos)
	defer p.leave()
	first := true
	for !p.isOp(")") {
		if !first {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		first = false
		pos := p.cur().pos
		// The order Python and Jinja2 require: positional, keyword, *args, **kwargs.
		ensure := func(ok bool) {
			if !ok {
				p.fail(pos, "invalid syntax for function call expression")
			}
		}
		switch {
		case p.skipOp("*"):
			ensure(dynArgs == nil && dynKwargs == nil)
			dynArgs = p.parseExpression(true)
		case p.skipOp("**"):
			ensure(dynKwargs == nil)
			dynKwargs = p.parseExpression(true)
		case p.cur().kind == tName && p.peek().kind == tOp && p.peek().val == "=":
			ensure(dynKwargs == nil)
			key := p.next().val
			p.next()
			kwargs = append(kwargs, Keyword{Key: key, Value: p.parseExpression(true)})
		default:
			ensure(dynArgs == nil && dynKwargs == nil && len(kwargs) == 0)
			args = append(args, p.parseExpression(true))
		}
	}
	p.expectOp(")")
	return args, kwargs, dynArgs, dynKwargs
}

// dottedName reads "name(.name)*" of a filter or test.
func (p *parser) dottedName() string {
	name := p.expectIdent().val
	for p.isOp(".") && p.peek().kind == tName {
		p.next()
		name += "." + p.next().val
	}
	return name
}

// parseFilterChain reads "f(args)|g" of a filter block (startInline: no
// leading "|") or "|f|g" of a block set.
func (p *parser) parseFilterChain(startInline bool) []*Filter {
	var fs []*Filter
	for startInline || p.isOp("|") {
		start := p.cur().pos
		if !startInline {
			p.next()
		}
		startInline = false
		if len(fs) >= p.lim.MaxDepth {
			panic(limitError("MaxDepth", int64(p.lim.MaxDepth), start, "filter chain too long"))
		}
		f := &Filter{Name: p.dottedName()}
		if p.isOp("(") {
			f.Args, f.Kwargs, f.DynArgs, f.DynKwargs = p.parseCallArgs()
		}
		f.exprNode = p.ex(start)
		fs = append(fs, f)
	}
	return fs
}

// parseFilterExpr reads "|filter", "is test" and calls after a unary.
func (p *parser) parseFilterExpr(start Pos, e Expr) Expr {
	n := 0
	defer func() { p.depth -= n }()
	for {
		switch {
		case p.isOp("|"):
			p.enter(start)
			n++
			p.next()
			f := &Filter{Node: e, Name: p.dottedName()}
			if p.isOp("(") {
				f.Args, f.Kwargs, f.DynArgs, f.DynKwargs = p.parseCallArgs()
			}
			f.exprNode = p.ex(start)
			e = f
		case p.isName("is"):
			p.enter(start)
			n++
			p.next()
			negated := p.skipName("not")
			t := &Test{Node: e, Name: p.dottedName()}
			c := p.cur()
			switch {
			case p.isOp("("):
				t.Args, t.Kwargs, t.DynArgs, t.DynKwargs = p.parseCallArgs()
			case (c.kind == tName && c.val != "else" && c.val != "or" && c.val != "and" && c.val != "is" && c.val != "if") ||
				c.kind == tString || c.kind == tInt || c.kind == tFloat ||
				(c.kind == tOp && (c.val == "[" || c.val == "{")):
				if c.kind == tName && (c.val == "in" || c.val == "not" || c.val == "recursive") {
					break
				}
				arg := p.parsePrimary()
				arg = p.parsePostfix(c.pos, arg)
				t.Args = []Expr{arg}
			}
			t.exprNode = p.ex(start)
			e = t
			if negated {
				e = &Unary{exprNode: p.ex(start), Op: "not", Node: e}
			}
		case p.isOp("("):
			p.enter(start)
			n++
			c := &Call{Node: e}
			c.Args, c.Kwargs, c.DynArgs, c.DynKwargs = p.parseCallArgs()
			c.exprNode = p.ex(start)
			e = c
		default:
			return e
		}
	}
}

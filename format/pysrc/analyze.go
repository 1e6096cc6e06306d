package pysrc

import (
	"fmt"
	"strings"
)

// Analyze tokenizes src and extracts its imports, definitions, calls and
// obfuscated exec chains. It never fails on malformed source (the analysis
// continues after bad tokens and records them in Errors). The error is a
// *safeio.LimitError when a limit was hit; the module then describes the
// part before that point and is never nil.
func Analyze(src []byte, lim Limits) (*Module, error) {
	lim = lim.withDefaults()
	return analyze(src, lim, 0)
}

func analyze(src []byte, lim Limits, level int) (*Module, error) {
	toks, err := Tokenize(src, lim)
	m := &Module{Aliases: map[string]string{}, Tokens: len(toks)}
	if n := len(toks); n > 0 {
		m.Lines = toks[n-1].Line
	}
	sig := toks[:0:0]
	n := 0
	for _, t := range toks {
		if t.Kind != Comment && t.Kind != NL && t.Kind != ErrorToken {
			n++
		}
	}
	sig = make([]Token, 0, n)
	for _, t := range toks {
		if t.Err != "" && len(m.Errors) < 20 {
			m.Errors = append(m.Errors, fmt.Sprintf("line %d: %s", t.Line, t.Err))
		}
		switch t.Kind {
		case Comment, NL, ErrorToken:
			continue
		}
		sig = append(sig, t)
	}
	p := &parser{toks: sig, mod: m, lim: lim, level: level, vars: map[string]*expr{}, defined: map[string]bool{}, absorbed: map[int]bool{}, budget: 4 * lim.MaxDecoded}
	p.file()
	// exec(compile(payload)) is one chain: drop the compile's own record.
	kept := m.Obfuscated[:0]
	for i, o := range m.Obfuscated {
		if !p.absorbed[p.obfCall[i]] {
			kept = append(kept, o)
		}
	}
	m.Obfuscated = kept
	if err == nil {
		err = p.err
	}
	return m, err
}

type scope struct {
	kind string // "def" or "class"
	name string
	def  int // index in Module.Defs
}

type parser struct {
	toks []Token
	i    int
	mod  *Module
	lim  Limits
	err  error

	level   int              // exec nesting of this analysis
	scopes  []scope          // enclosing defs and classes
	blocks  []bool           // per INDENT: whether it opened a scope
	pending *scope           // a def/class header waiting for its INDENT
	lambdas int              // lambda bodies being parsed
	vars    map[string]*expr // last value assigned to each plain name
	defined map[string]bool  // names this file defines (def, class): not builtins
	depth   int              // expression recursion

	obfCall  []int        // call index of each Obfuscated entry
	absorbed map[int]bool // compile calls that an outer exec/eval chain includes
	budget   int          // bytes that constant folding and decoding may still produce
	steps    int          // resolve steps for the current call
}

func (p *parser) peek() Token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return Token{Kind: EndMarker}
}

func (p *parser) peekAt(k int) Token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return Token{Kind: EndMarker}
}

func (p *parser) next() Token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.Kind == Op && t.Text == s
}

func (p *parser) isName(s string) bool {
	t := p.peek()
	return t.Kind == Name && t.Text == s
}

// lastLine is the line of the last token before the current one that is
// not an INDENT or DEDENT: where a block that closes here ends.
func (p *parser) lastLine() int {
	for k := min(p.i, len(p.toks)) - 1; k >= 0; k-- {
		if p.toks[k].Kind != Dedent && p.toks[k].Kind != Indent {
			return p.toks[k].Line
		}
	}
	return 1
}

func (p *parser) inFunction() bool {
	if p.lambdas > 0 {
		return true
	}
	for _, s := range p.scopes {
		if s.kind == "def" {
			return true
		}
	}
	return false
}

func (p *parser) scopeName() string {
	if len(p.scopes) == 0 {
		return ""
	}
	return p.mod.Defs[p.scopes[len(p.scopes)-1].def].Qualified
}

func (p *parser) file() {
	for p.peek().Kind != EndMarker {
		p.statement()
	}
	for len(p.blocks) > 0 {
		p.closeBlock()
	}
}

func (p *parser) closeBlock() {
	opened := p.blocks[len(p.blocks)-1]
	p.blocks = p.blocks[:len(p.blocks)-1]
	if opened && len(p.scopes) > 0 {
		s := p.scopes[len(p.scopes)-1]
		p.scopes = p.scopes[:len(p.scopes)-1]
		p.mod.Defs[s.def].EndLine = p.lastLine()
	}
}

// statement parses one logical line (and opens or closes blocks).
func (p *parser) statement() {
	t := p.peek()
	switch t.Kind {
	case Newline:
		p.next()
		return
	case Indent:
		p.next()
		p.blocks = append(p.blocks, p.pending != nil)
		if p.pending != nil {
			p.scopes = append(p.scopes, *p.pending)
			p.pending = nil
		}
		return
	case Dedent:
		if len(p.blocks) > 0 {
			p.closeBlock()
		}
		p.next()
		return
	}
	p.pending = nil
	start := p.i
	if t.Kind == Name {
		switch t.Text {
		case "def", "class":
			p.definition()
			return
		case "async":
			if p.peekAt(1).Kind == Name && p.peekAt(1).Text == "def" {
				p.next()
				p.definition()
				return
			}
		case "import":
			p.importStmt()
			return
		case "from":
			if p.peekAt(1).Kind != Name || p.peekAt(1).Text != "import" {
				p.fromStmt()
				return
			}
		}
		// NAME = value, NAME: T = value
		if n := p.peekAt(1); n.Kind == Op && (n.Text == "=" || n.Text == ":") && !keywords[t.Text] {
			p.next()
			if p.isOp(":") {
				p.next()
				p.expr() // annotation
			}
			if p.isOp("=") {
				p.next()
				// a = b = value: assign the last value to every target
				targets := []string{t.Text}
				for {
					if p.peek().Kind == Name && p.peekAt(1).Kind == Op && p.peekAt(1).Text == "=" {
						targets = append(targets, p.next().Text)
						p.next()
						continue
					}
					break
				}
				v := p.expr()
				if v != nil && p.atLineEnd() {
					for _, name := range targets {
						p.vars[name] = v
					}
				}
			}
		}
	}
	p.rest()
	if p.i == start {
		p.next()
	}
}

func (p *parser) atLineEnd() bool {
	k := p.peek().Kind
	return k == Newline || k == EndMarker || p.isOp(";")
}

// rest parses expressions up to the end of the logical line.
func (p *parser) rest() {
	for {
		t := p.peek()
		if t.Kind == Newline || t.Kind == EndMarker || t.Kind == Indent || t.Kind == Dedent {
			return
		}
		if t.Kind == Name && t.Text == "lambda" || startsExpr(t) {
			e := p.expr()
			// with X as name / except E as name: name now holds X
			if e != nil && p.isName("as") && p.peekAt(1).Kind == Name {
				p.next()
				p.vars[p.next().Text] = e
			}
			continue
		}
		if t.Kind == Op && t.Text == ";" {
			p.next()
			// a new simple statement on the same line
			if p.peek().Kind == Name && p.peekAt(1).Kind == Op && p.peekAt(1).Text == "=" {
				return
			}
			continue
		}
		if t.Kind == Name && (t.Text == "import" || t.Text == "from") {
			// after a ';' or a compound header on the same line
			if t.Text == "import" {
				p.importStmt()
			} else {
				p.fromStmt()
			}
			return
		}
		p.next()
	}
}

// definition parses a def or class header and opens its scope.
func (p *parser) definition() {
	kw := p.next()
	name := ""
	if p.peek().Kind == Name {
		name = p.next().Text
	}
	if len(p.scopes) == 0 {
		p.defined[name] = true
	}
	qual := name
	if s := p.scopeName(); s != "" {
		qual = s + "." + name
	}
	p.mod.Defs = append(p.mod.Defs, Def{Kind: kw.Text, Name: name, Qualified: qual, Line: kw.Line, EndLine: kw.Line})
	sc := scope{kind: kw.Text, name: name, def: len(p.mod.Defs) - 1}
	if p.isOp("[") { // PEP 695 type parameters
		p.next()
		p.items("]")
	}
	if p.isOp("(") {
		// parameters (defaults are evaluated now) or bases
		p.next()
		p.items(")")
	}
	for !p.atLineEnd() && !p.isOp(":") {
		if startsExpr(p.peek()) {
			p.expr() // return annotation
			continue
		}
		p.next()
	}
	if !p.isOp(":") {
		return
	}
	p.next()
	if p.peek().Kind == Newline {
		p.next()
		p.pending = &sc
		return
	}
	// def f(): body on the same line
	p.scopes = append(p.scopes, sc)
	p.rest()
	p.scopes = p.scopes[:len(p.scopes)-1]
}

func (p *parser) dotted() (string, int) {
	var b strings.Builder
	level := 0
	for {
		switch {
		case p.isOp("."):
			p.next()
			if b.Len() == 0 {
				level++
			} else {
				b.WriteByte('.')
			}
			continue
		case p.isOp("..."):
			p.next()
			level += 3
			continue
		case p.peek().Kind == Name && p.peek().Text != "import" && p.peek().Text != "as":
			if b.Len() > 0 && !strings.HasSuffix(b.String(), ".") {
				return b.String(), level
			}
			b.WriteString(p.next().Text)
			continue
		}
		return strings.TrimSuffix(b.String(), "."), level
	}
}

func (p *parser) addImport(im Import) {
	im.ModuleLevel = !p.inFunction()
	p.mod.Imports = append(p.mod.Imports, im)
	if im.As != "" {
		p.mod.Aliases[im.As] = im.Target()
	}
}

// import a.b as c, d
func (p *parser) importStmt() {
	line := p.next().Line
	for {
		mod, level := p.dotted()
		if mod == "" && level == 0 {
			break
		}
		im := Import{Module: mod, Level: level, Line: line}
		if p.isName("as") && p.peekAt(1).Kind == Name {
			p.next()
			im.As = p.next().Text
		} else {
			// import a.b binds a, which is the module a
			top := mod
			if i := strings.IndexByte(top, '.'); i >= 0 {
				top = top[:i]
			}
			im.As = top
			p.addImport(im)
			if top != mod {
				p.mod.Aliases[top] = top
			}
			if !p.isOp(",") {
				break
			}
			p.next()
			continue
		}
		p.addImport(im)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	p.rest()
}

// from a import b as c, d / from . import x / from a import (b, c)
func (p *parser) fromStmt() {
	line := p.next().Line
	mod, level := p.dotted()
	if !p.isName("import") {
		p.rest()
		return
	}
	p.next()
	paren := false
	if p.isOp("(") {
		p.next()
		paren = true
	}
	for {
		t := p.peek()
		if t.Kind == Op && t.Text == "*" {
			p.next()
			p.addImport(Import{Module: mod, Level: level, Name: "*", Line: line})
		} else if t.Kind == Name {
			p.next()
			im := Import{Module: mod, Level: level, Name: t.Text, As: t.Text, Line: line}
			if p.isName("as") && p.peekAt(1).Kind == Name {
				p.next()
				im.As = p.next().Text
			}
			p.addImport(im)
		} else {
			break
		}
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if paren && p.isOp(")") {
		p.next()
	}
	p.rest()
}

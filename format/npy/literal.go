package npy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// A literal is one Python literal value, as ast.literal_eval would build it
// from an .npy header. Only the kinds a header can hold are modelled.
type literal struct {
	kind  litKind
	str   string    // litStr, litBytes
	num   int64     // litInt; litBool is 0 or 1
	items []literal // litTuple, litList, litSet; litDict: key, value, key, value…
}

type litKind uint8

const (
	litStr litKind = iota
	litBytes
	litInt
	litBool
	litNone
	litTuple
	litList
	litSet
	litDict
)

var litKindNames = [...]string{"str", "bytes", "int", "bool", "None", "tuple", "list", "set", "dict"}

func (k litKind) String() string { return litKindNames[k] }

// isInt reports whether Python's isinstance(v, int) holds: bool is an int.
func (v literal) isInt() bool { return v.kind == litInt || v.kind == litBool }

// lookup returns the value of the last str key k in a dict, as a dict literal
// with repeated keys keeps the last one.
func (v literal) lookup(k string) (literal, bool) {
	var found literal
	ok := false
	for i := 0; i+1 < len(v.items); i += 2 {
		if key := v.items[i]; key.kind == litStr && key.str == k {
			found, ok = v.items[i+1], true
		}
	}
	return found, ok
}

// literalParser reads one Python literal expression: dict, set, list, tuple,
// str and bytes (all quote and prefix forms, escapes, implicit
// concatenation), int (with signs, bases and underscores) and
// True/False/None. Anything else — names, calls, operators, floats — is a
// syntax error, as it is for ast.literal_eval or cannot be part of a valid
// header. It never evaluates anything and recursion is bounded by MaxDepth.
type literalParser struct {
	src       string // UTF-8
	pos       int
	depth     int
	allowLong bool // accept Python 2 long suffixes: 3L
}

// parseLiteral parses src as exactly one literal surrounded by whitespace.
func parseLiteral(src string, allowLong bool) (literal, error) {
	if strings.IndexByte(src, 0) >= 0 {
		return literal{}, fmt.Errorf("header holds a NUL byte")
	}
	p := &literalParser{src: src, allowLong: allowLong}
	v, err := p.value()
	if err != nil {
		return literal{}, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return literal{}, p.errorf("unexpected %q after the value", p.src[p.pos])
	}
	return v, nil
}

func (p *literalParser) errorf(format string, args ...any) error {
	return fmt.Errorf("header offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// skipSpace skips whitespace, comments and line continuations, which the
// Python tokenizer allows between the tokens of a bracketed expression.
func (p *literalParser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; c {
		case ' ', '\t', '\f', '\r', '\n':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
				p.pos++
			}
		case '\\':
			n := newlineLen(p.src[p.pos+1:])
			if n == 0 {
				return
			}
			p.pos += 1 + n
		default:
			return
		}
	}
}

// newlineLen returns the length of the newline s starts with, or 0.
func newlineLen(s string) int {
	switch {
	case strings.HasPrefix(s, "\r\n"):
		return 2
	case strings.HasPrefix(s, "\n"), strings.HasPrefix(s, "\r"):
		return 1
	}
	return 0
}

func (p *literalParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *literalParser) value() (literal, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return literal{}, p.errorf("unexpected end of header")
	}
	c := p.src[p.pos]
	switch {
	case c == '{' || c == '[' || c == '(':
		return p.container()
	case c == '\'' || c == '"':
		return p.strings()
	case c == '-' || c == '+' || isDigit(c):
		return p.integer()
	case isIdentStart(c):
		if p.stringPrefixLen() >= 0 {
			return p.strings()
		}
		return p.name()
	}
	return literal{}, p.errorf("unexpected %q", c)
}

func (p *literalParser) container() (literal, error) {
	p.depth++
	if p.depth > MaxDepth {
		return literal{}, fmt.Errorf("header offset %d: %w", p.pos, &safeio.LimitError{Limit: "npy.MaxDepth", Value: MaxDepth, Detail: "header literal nested too deeply"})
	}
	defer func() { p.depth-- }()

	open := p.src[p.pos]
	p.pos++
	switch open {
	case '[':
		items, err := p.items(']')
		return literal{kind: litList, items: items}, err
	case '(':
		p.skipSpace()
		if p.peek() == ')' {
			p.pos++
			return literal{kind: litTuple}, nil
		}
		first, err := p.value()
		if err != nil {
			return literal{}, err
		}
		p.skipSpace()
		switch p.peek() {
		case ')': // a parenthesised value, not a tuple
			p.pos++
			return first, nil
		case ',':
			p.pos++
			rest, err := p.items(')')
			return literal{kind: litTuple, items: append([]literal{first}, rest...)}, err
		}
		return literal{}, p.expected("',' or ')'")
	default: // '{'
		p.skipSpace()
		if p.peek() == '}' {
			p.pos++
			return literal{kind: litDict}, nil
		}
		first, err := p.value()
		if err != nil {
			return literal{}, err
		}
		p.skipSpace()
		if p.peek() != ':' {
			// A set display: {'a', 'b'}.
			switch p.peek() {
			case '}':
				p.pos++
				return literal{kind: litSet, items: []literal{first}}, nil
			case ',':
				p.pos++
				rest, err := p.items('}')
				return literal{kind: litSet, items: append([]literal{first}, rest...)}, err
			}
			return literal{}, p.expected("':', ',' or '}'")
		}
		return p.dict(first)
	}
}

// items reads comma-separated values up to and including end, allowing a
// trailing comma. The opening bracket (and any first item) is already read.
func (p *literalParser) items(end byte) ([]literal, error) {
	var items []literal
	for {
		p.skipSpace()
		if p.peek() == end {
			p.pos++
			return items, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		switch p.peek() {
		case end:
			p.pos++
			return items, nil
		case ',':
			p.pos++
		default:
			return nil, p.expected(fmt.Sprintf("',' or %q", end))
		}
	}
}

// dict reads the rest of a dict display whose first key is read and whose
// ':' is next.
func (p *literalParser) dict(key literal) (literal, error) {
	d := literal{kind: litDict}
	for {
		p.skipSpace()
		if p.peek() != ':' {
			return literal{}, p.expected("':'")
		}
		p.pos++
		val, err := p.value()
		if err != nil {
			return literal{}, err
		}
		d.items = append(d.items, key, val)
		p.skipSpace()
		switch p.peek() {
		case '}':
			p.pos++
			return d, nil
		case ',':
			p.pos++
		default:
			return literal{}, p.expected("',' or '}'")
		}
		p.skipSpace()
		if p.peek() == '}' {
			p.pos++
			return d, nil
		}
		if key, err = p.value(); err != nil {
			return literal{}, err
		}
	}
}

func (p *literalParser) expected(what string) error {
	if p.pos >= len(p.src) {
		return p.errorf("unexpected end of header, expected %s", what)
	}
	return p.errorf("unexpected %q, expected %s", p.src[p.pos], what)
}

func (p *literalParser) name() (literal, error) {
	start := p.pos
	for p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
		p.pos++
	}
	switch word := p.src[start:p.pos]; word {
	case "True":
		return literal{kind: litBool, num: 1}, nil
	case "False":
		return literal{kind: litBool}, nil
	case "None":
		return literal{kind: litNone}, nil
	default:
		p.pos = start
		return literal{}, p.errorf("name %q is not a literal", word)
	}
}

// integer reads an optionally signed int. Python 2 headers may end a number
// with L; numpy strips that for format versions 1.0 and 2.0.
func (p *literalParser) integer() (literal, error) {
	sign := ""
	if c := p.src[p.pos]; c == '-' || c == '+' {
		p.pos++
		if c == '-' {
			sign = "-"
		}
		p.skipSpace()
		if !isDigit(p.peek()) {
			return literal{}, p.expected("a number after the sign")
		}
	}
	start := p.pos
	for p.pos < len(p.src) && (isIdentPart(p.src[p.pos]) || p.src[p.pos] == '.') {
		p.pos++
	}
	tok := p.src[start:p.pos]
	if p.allowLong && len(tok) > 1 && (tok[len(tok)-1] == 'L' || tok[len(tok)-1] == 'l') {
		tok = tok[:len(tok)-1]
	}
	n, ok := parsePythonInt(sign, tok)
	if !ok {
		p.pos = start
		return literal{}, p.errorf("%q is not an integer literal that fits in 64 bits", tok)
	}
	return literal{kind: litInt, num: n}, nil
}

// parsePythonInt parses a Python 3 integer token: decimal without leading
// zeros (except zero itself), or 0x/0o/0b, with single underscores between
// digits.
func parsePythonInt(sign, tok string) (int64, bool) {
	if len(tok) > 1 && tok[0] == '0' && !strings.ContainsAny(tok[1:2], "xXoObB") {
		// Leading zeros are only allowed for zero: 00, 0_0.
		if strings.Trim(tok, "0_") != "" || strings.Contains(tok, "__") || tok[len(tok)-1] == '_' {
			return 0, false
		}
		return 0, true
	}
	// strconv with base 0 accepts Go's syntax, which differs from Python's
	// only in legacy octal (0777) excluded above.
	n, err := strconv.ParseInt(sign+tok, 0, 64)
	return n, err == nil
}

// stringPrefixLen returns the length of a valid string prefix (u, b, r, br,
// rb in any case) when a quote follows it, or -1.
func (p *literalParser) stringPrefixLen() int {
	for n := 0; n <= 2 && p.pos+n < len(p.src); n++ {
		c := p.src[p.pos+n]
		if c == '\'' || c == '"' {
			if validPrefix(strings.ToLower(p.src[p.pos : p.pos+n])) {
				return n
			}
			return -1
		}
		if !isIdentPart(c) {
			return -1
		}
	}
	return -1
}

func validPrefix(s string) bool {
	switch s {
	case "", "u", "b", "r", "br", "rb":
		return true
	}
	// f-strings are not literals.
	return false
}

// strings reads one or more adjacent string literals, which Python
// concatenates ('|' 'O' is '|O'); str and bytes cannot be mixed.
func (p *literalParser) strings() (literal, error) {
	v, err := p.stringLit()
	if err != nil {
		return literal{}, err
	}
	var b strings.Builder
	first := true
	for {
		save := p.pos
		p.skipSpace()
		c := p.peek()
		if !(c == '\'' || c == '"' || (isIdentStart(c) && p.stringPrefixLen() >= 0)) {
			p.pos = save
			break
		}
		next, err := p.stringLit()
		if err != nil {
			return literal{}, err
		}
		if next.kind != v.kind {
			return literal{}, p.errorf("cannot mix bytes and str literals")
		}
		if first {
			b.WriteString(v.str)
			first = false
		}
		b.WriteString(next.str)
	}
	if !first {
		v.str = b.String()
	}
	return v, nil
}

// stringLit reads one string literal with its prefix.
func (p *literalParser) stringLit() (literal, error) {
	n := p.stringPrefixLen()
	if n < 0 {
		return literal{}, p.errorf("expected a string")
	}
	prefix := strings.ToLower(p.src[p.pos : p.pos+n])
	p.pos += n
	isBytes := strings.Contains(prefix, "b")
	raw := strings.Contains(prefix, "r")

	quote := p.src[p.pos : p.pos+1]
	if len(p.src)-p.pos >= 3 && p.src[p.pos+1] == quote[0] && p.src[p.pos+2] == quote[0] {
		quote = p.src[p.pos : p.pos+3]
	}
	p.pos += len(quote)
	triple := len(quote) == 3
	kind := litStr
	if isBytes {
		kind = litBytes
	}

	// Most strings hold no escapes and no special characters: take them
	// as they are.
	if !triple {
		end := strings.IndexByte(p.src[p.pos:], quote[0])
		if end >= 0 {
			s := p.src[p.pos : p.pos+end]
			if strings.IndexAny(s, "\\\r\n") < 0 && (!isBytes || isASCII(s)) {
				p.pos += end + 1
				return literal{kind: kind, str: s}, nil
			}
		}
	}

	var out strings.Builder
	for {
		if p.pos >= len(p.src) {
			return literal{}, p.errorf("unterminated string")
		}
		if strings.HasPrefix(p.src[p.pos:], quote) {
			p.pos += len(quote)
			break
		}
		c := p.src[p.pos]
		if !triple && (c == '\n' || c == '\r') {
			return literal{}, p.errorf("newline in a string")
		}
		if isBytes && c >= utf8.RuneSelf {
			return literal{}, p.errorf("non-ASCII character in a bytes literal")
		}
		if c != '\\' {
			out.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.src) {
			return literal{}, p.errorf("unterminated string")
		}
		if raw {
			// A backslash keeps the next character, even a quote or a
			// newline, and both stay in the value.
			size := newlineLen(p.src[p.pos+1:])
			if size == 0 {
				_, size = utf8.DecodeRuneInString(p.src[p.pos+1:])
			}
			out.WriteString(p.src[p.pos : p.pos+1+size])
			p.pos += 1 + size
			continue
		}
		if err := p.escape(&out, isBytes); err != nil {
			return literal{}, err
		}
	}
	return literal{kind: kind, str: out.String()}, nil
}

// escape decodes the escape sequence at p.pos (a backslash) into out.
func (p *literalParser) escape(out *strings.Builder, isBytes bool) error {
	start := p.pos
	p.pos++ // the backslash
	c := p.src[p.pos]
	if n := newlineLen(p.src[p.pos:]); n > 0 {
		p.pos += n // line continuation inside a string
		return nil
	}
	if r, ok := simpleEscapes[c]; ok {
		out.WriteByte(r)
		p.pos++
		return nil
	}
	writeCode := func(r rune) error {
		if isBytes {
			if r > 0xFF {
				return fmt.Errorf("header offset %d: escape out of range for bytes", start)
			}
			out.WriteByte(byte(r))
			return nil
		}
		if r > utf8.MaxRune {
			return fmt.Errorf("header offset %d: escape out of range", start)
		}
		out.WriteRune(r)
		return nil
	}
	switch {
	case c >= '0' && c <= '7':
		r := rune(0)
		for i := 0; i < 3 && p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; i++ {
			r = r*8 + rune(p.src[p.pos]-'0')
			p.pos++
		}
		return writeCode(r)
	case c == 'x' || (!isBytes && (c == 'u' || c == 'U')):
		n := 2
		switch c {
		case 'u':
			n = 4
		case 'U':
			n = 8
		}
		if p.pos+1+n > len(p.src) {
			return fmt.Errorf("header offset %d: truncated \\%c escape", start, c)
		}
		v, err := strconv.ParseUint(p.src[p.pos+1:p.pos+1+n], 16, 32)
		if err != nil || strings.ContainsAny(p.src[p.pos+1:p.pos+1+n], "+-_") {
			return fmt.Errorf("header offset %d: bad \\%c escape", start, c)
		}
		p.pos += 1 + n
		return writeCode(rune(v))
	case c == 'N' && !isBytes:
		end := strings.IndexByte(p.src[p.pos:], '}')
		if !strings.HasPrefix(p.src[p.pos:], "N{") || end < 0 {
			return fmt.Errorf("header offset %d: malformed \\N{...} escape", start)
		}
		name := strings.ToUpper(p.src[p.pos+2 : p.pos+end])
		p.pos += end + 1
		if r, ok := asciiNames[name]; ok {
			out.WriteByte(r)
		} else {
			// Not a printable ASCII character (or not a name at all). A dtype
			// string is ASCII, so this cannot spell one; it can only be part
			// of a field name, where a placeholder will do.
			out.WriteRune(utf8.RuneError)
		}
		return nil
	}
	// An unknown escape keeps its backslash (Python warns, but accepts it).
	out.WriteByte('\\')
	return nil
}

// asciiNames maps the Unicode names of printable ASCII characters, as
// \N{...} escapes spell them, to the characters.
var asciiNames = func() map[string]byte {
	m := map[string]byte{}
	punct := []string{" SPACE", "!EXCLAMATION MARK", "\"QUOTATION MARK", "#NUMBER SIGN",
		"$DOLLAR SIGN", "%PERCENT SIGN", "&AMPERSAND", "'APOSTROPHE", "(LEFT PARENTHESIS",
		")RIGHT PARENTHESIS", "*ASTERISK", "+PLUS SIGN", ",COMMA", "-HYPHEN-MINUS",
		".FULL STOP", "/SOLIDUS", ":COLON", ";SEMICOLON", "<LESS-THAN SIGN", "=EQUALS SIGN",
		">GREATER-THAN SIGN", "?QUESTION MARK", "@COMMERCIAL AT", "[LEFT SQUARE BRACKET",
		"\\REVERSE SOLIDUS", "]RIGHT SQUARE BRACKET", "^CIRCUMFLEX ACCENT", "_LOW LINE",
		"`GRAVE ACCENT", "{LEFT CURLY BRACKET", "|VERTICAL LINE", "}RIGHT CURLY BRACKET", "~TILDE"}
	for _, p := range punct {
		m[p[1:]] = p[0]
	}
	digits := []string{"ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"}
	for i, d := range digits {
		m["DIGIT "+d] = byte('0' + i)
	}
	for c := byte('A'); c <= 'Z'; c++ {
		m["LATIN CAPITAL LETTER "+string(c)] = c
		m["LATIN SMALL LETTER "+string(c)] = c + 'a' - 'A'
	}
	return m
}()

// simpleEscapes are the one-character escapes of Python string literals.
var simpleEscapes = map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }

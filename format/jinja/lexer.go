package jinja

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF        tokKind = iota
	tText               // template data outside tags
	tVarBegin           // {{
	tVarEnd             // }}
	tBlockBegin         // {%
	tBlockEnd           // %}
	tName
	tString
	tInt
	tFloat
	tOp  // operators and punctuation: the text is in val
	tRaw // the content of a {% raw %} block
)

var kindNames = [...]string{"end of template", "text", "'{{'", "'}}'", "'{%'", "'%}'", "name", "string", "integer", "float", "operator", "raw text"}

func (k tokKind) String() string { return kindNames[k] }

type token struct {
	kind tokKind
	val  string // names, operators, decoded strings, number text, text
	pos  Pos
	end  int // byte offset just after the token
}

func (t token) describe() string {
	switch t.kind {
	case tName, tOp:
		return strconv.Quote(t.val)
	case tString:
		return "string"
	}
	return t.kind.String()
}

// operators, longest first so that "**" wins over "*".
var operators = []string{
	"//", "**", "==", "!=", ">=", "<=",
	"+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
	">", "<", "=", ".", ":", "|", ",", ";",
}

// lexer turns template source into tokens. It follows Jinja2's default
// delimiters and whitespace control: "{%-" / "{{-" / "{#-" strip the
// whitespace before the tag, "-%}" / "-}}" / "-#}" strip it after. A "+"
// after an opening delimiter is accepted (it disables lstrip_blocks, which is
// a rendering detail).
type lexer struct {
	src  string
	lim  Limits
	pos  int
	line int
	col  int // of pos, 1-based, counted in bytes
	toks []token
	// stripNext is set when the last tag ended with "-": the next text loses
	// its leading whitespace.
	stripNext bool
}

func lex(src string, lim Limits) ([]token, error) {
	lx := &lexer{src: src, lim: lim, line: 1, col: 1}
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

func (lx *lexer) here() Pos { return Pos{Offset: lx.pos, Line: lx.line, Col: lx.col} }

// advance moves pos forward by n bytes, keeping line and column.
func (lx *lexer) advance(n int) {
	end := lx.pos + n
	for i := lx.pos; i < end; i++ {
		if lx.src[i] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
	}
	lx.pos = end
}

func (lx *lexer) errf(p Pos, format string, args ...any) error {
	return newError(p, format, args...)
}

func (lx *lexer) emit(t token) error {
	if len(lx.toks) >= lx.lim.MaxTokens {
		return limitError("MaxTokens", int64(lx.lim.MaxTokens), t.pos, "too many tokens")
	}
	lx.toks = append(lx.toks, t)
	return nil
}

// isSpace is Python's str.isspace for the ASCII range, which is what
// Jinja's whitespace control strips in practice.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (lx *lexer) run() error {
	for lx.pos < len(lx.src) {
		// Find the next opening delimiter.
		i := lx.pos
		open := -1
		for i < len(lx.src) {
			j := strings.IndexByte(lx.src[i:], '{')
			if j < 0 || i+j+1 >= len(lx.src) {
				break
			}
			c := lx.src[i+j+1]
			if c == '{' || c == '%' || c == '#' {
				open = i + j
				break
			}
			i += j + 1
		}
		textEnd := len(lx.src)
		if open >= 0 {
			textEnd = open
		}
		if textEnd > lx.pos {
			text := lx.src[lx.pos:textEnd]
			if lx.stripNext {
				text = strings.TrimLeftFunc(text, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
			}
			// "{%-" strips the whitespace before the tag.
			if open >= 0 && open+2 < len(lx.src) && lx.src[open+2] == '-' {
				text = strings.TrimRightFunc(text, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
			}
			p := lx.here()
			if text != "" {
				if err := lx.emit(token{kind: tText, val: text, pos: p, end: textEnd}); err != nil {
					return err
				}
			}
			lx.advance(textEnd - lx.pos)
		}
		lx.stripNext = false
		if open < 0 {
			break
		}
		switch lx.src[open+1] {
		case '#':
			if err := lx.comment(); err != nil {
				return err
			}
		case '%':
			if ok, err := lx.raw(); ok || err != nil {
				if err != nil {
					return err
				}
				continue
			}
			if err := lx.tag(tBlockBegin, tBlockEnd, "%}"); err != nil {
				return err
			}
		case '{':
			if err := lx.tag(tVarBegin, tVarEnd, "}}"); err != nil {
				return err
			}
		}
	}
	return lx.emit(token{kind: tEOF, pos: lx.here(), end: lx.pos})
}

// comment skips "{# … #}".
func (lx *lexer) comment() error {
	start := lx.here()
	j := strings.Index(lx.src[lx.pos+2:], "#}")
	if j < 0 {
		return lx.errf(start, "unterminated comment")
	}
	end := lx.pos + 2 + j
	lx.stripNext = end > lx.pos+2 && lx.src[end-1] == '-'
	lx.advance(end + 2 - lx.pos)
	return nil
}

// matchTagWord matches "{%", optional "-"/"+", spaces, word, spaces,
// optional "-", "%}" at pos p. It returns the end offset, whether the closing
// delimiter had "-", and ok.
func matchTagWord(src string, p int, word string) (end int, strip, ok bool) {
	if !strings.HasPrefix(src[p:], "{%") {
		return 0, false, false
	}
	i := p + 2
	if i < len(src) && (src[i] == '-' || src[i] == '+') {
		i++
	}
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	if !strings.HasPrefix(src[i:], word) {
		return 0, false, false
	}
	i += len(word)
	if i < len(src) && isNameByte(src[i]) {
		return 0, false, false
	}
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	if i < len(src) && src[i] == '-' {
		strip = true
		i++
	}
	if !strings.HasPrefix(src[i:], "%}") {
		return 0, false, false
	}
	return i + 2, strip, true
}

// raw handles "{% raw %}…{% endraw %}": the content is one token, not lexed.
func (lx *lexer) raw() (bool, error) {
	end, strip, ok := matchTagWord(lx.src, lx.pos, "raw")
	if !ok {
		return false, nil
	}
	start := lx.here()
	lx.advance(end - lx.pos)
	contentStart := lx.pos
	for k := lx.pos; k < len(lx.src); {
		j := strings.Index(lx.src[k:], "{%")
		if j < 0 {
			break
		}
		k += j
		if cend, cstrip, ok := matchTagWord(lx.src, k, "endraw"); ok {
			content := lx.src[contentStart:k]
			if strip {
				content = strings.TrimLeftFunc(content, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
			}
			if k+2 < len(lx.src) && lx.src[k+2] == '-' {
				content = strings.TrimRightFunc(content, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
			}
			if err := lx.emit(token{kind: tRaw, val: content, pos: start, end: cend}); err != nil {
				return true, err
			}
			lx.advance(cend - lx.pos)
			lx.stripNext = cstrip
			return true, nil
		}
		k += 2
	}
	return true, lx.errf(start, "unterminated raw block: missing {%% endraw %%}")
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= utf8.RuneSelf
}

func isNameByte(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// tag lexes the inside of "{{ … }}" or "{% … %}". The closing delimiter only
// ends the tag when brackets are balanced, as in Jinja2, so "{{ {'a': 1} }}"
// works.
func (lx *lexer) tag(begin, endKind tokKind, closing string) error {
	start := lx.here()
	n := 2
	if lx.pos+2 < len(lx.src) && (lx.src[lx.pos+2] == '-' || lx.src[lx.pos+2] == '+') {
		n = 3
	}
	if err := lx.emit(token{kind: begin, pos: start, end: lx.pos + n}); err != nil {
		return err
	}
	lx.advance(n)
	var balance []byte
	for {
		for lx.pos < len(lx.src) && isSpace(lx.src[lx.pos]) {
			lx.advance(1)
		}
		if lx.pos >= len(lx.src) {
			return lx.errf(start, "unexpected end of template: %s opened here is not closed", kindNames[begin])
		}
		p := lx.here()
		rest := lx.src[lx.pos:]
		if len(balance) == 0 {
			if strings.HasPrefix(rest, closing) {
				if err := lx.emit(token{kind: endKind, pos: p, end: lx.pos + 2}); err != nil {
					return err
				}
				lx.advance(2)
				return nil
			}
			if rest[0] == '+' && begin == tBlockBegin && strings.HasPrefix(rest[1:], closing) {
				// "+%}" keeps the newline trim_blocks would remove (Jinja2 3.0).
				if err := lx.emit(token{kind: endKind, pos: p, end: lx.pos + 3}); err != nil {
					return err
				}
				lx.advance(3)
				return nil
			}
			if rest[0] == '-' && strings.HasPrefix(rest[1:], closing) {
				if err := lx.emit(token{kind: endKind, pos: p, end: lx.pos + 3}); err != nil {
					return err
				}
				lx.advance(3)
				lx.stripNext = true
				return nil
			}
		}
		c := rest[0]
		switch {
		case isNameStart(c):
			k := 1
			for k < len(rest) && isNameByte(rest[k]) {
				k++
			}
			if err := lx.emit(token{kind: tName, val: rest[:k], pos: p, end: lx.pos + k}); err != nil {
				return err
			}
			lx.advance(k)
		case isDigit(c) || (c == '.' && len(rest) > 1 && isDigit(rest[1]) && lx.lastIsNotValue()):
			k, kind, err := lexNumber(rest)
			if err != nil {
				return lx.errf(p, "%v", err)
			}
			if err := lx.emit(token{kind: kind, val: strings.ReplaceAll(rest[:k], "_", ""), pos: p, end: lx.pos + k}); err != nil {
				return err
			}
			lx.advance(k)
		case c == '\'' || c == '"':
			k, val, err := lexString(rest)
			if err != nil {
				return lx.errf(p, "%v", err)
			}
			if err := lx.emit(token{kind: tString, val: val, pos: p, end: lx.pos + k}); err != nil {
				return err
			}
			lx.advance(k)
		default:
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(rest, o) {
					op = o
					break
				}
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(rest)
				return lx.errf(p, "unexpected character %q", r)
			}
			switch op {
			case "(", "[", "{":
				if len(balance) >= lx.lim.MaxDepth {
					return limitError("MaxDepth", int64(lx.lim.MaxDepth), p, "brackets nested too deeply")
				}
				balance = append(balance, op[0])
			case ")", "]", "}":
				want := map[byte]byte{')': '(', ']': '[', '}': '{'}[op[0]]
				if len(balance) == 0 || balance[len(balance)-1] != want {
					return lx.errf(p, "unexpected %q", op)
				}
				balance = balance[:len(balance)-1]
			}
			if err := lx.emit(token{kind: tOp, val: op, pos: p, end: lx.pos + len(op)}); err != nil {
				return err
			}
			lx.advance(len(op))
		}
	}
}

// lastIsNotValue reports whether a "." here starts a float (".5") rather than
// an attribute access ("a.0").
func (lx *lexer) lastIsNotValue() bool {
	if len(lx.toks) == 0 {
		return true
	}
	t := lx.toks[len(lx.toks)-1]
	switch t.kind {
	case tName, tString, tInt, tFloat:
		return false
	case tOp:
		return t.val != ")" && t.val != "]" && t.val != "}"
	}
	return true
}

// lexNumber reads an integer or float as Jinja2 does: digits with single
// underscores, an optional fraction and exponent.
func lexNumber(s string) (int, tokKind, error) {
	k := 0
	digits := func() {
		for k < len(s) && (isDigit(s[k]) || (s[k] == '_' && k > 0 && isDigit(s[k-1]) && k+1 < len(s) && isDigit(s[k+1]))) {
			k++
		}
	}
	// Jinja2 also has 0b, 0o and 0x literals.
	if len(s) > 2 && s[0] == '0' && strings.ContainsRune("bBoOxX", rune(s[1])) {
		k = 2
		for k < len(s) && (isHex(s[k]) || s[k] == '_') {
			k++
		}
		if k == 2 {
			return 0, 0, errorString("malformed number")
		}
		return k, tInt, nil
	}
	kind := tInt
	digits()
	if k < len(s)-1 && s[k] == '.' && isDigit(s[k+1]) {
		kind = tFloat
		k++
		digits()
	}
	if k < len(s) && (s[k] == 'e' || s[k] == 'E') {
		j := k + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			kind = tFloat
			k = j
			digits()
		}
	}
	return k, kind, nil
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

type errorString string

func (e errorString) Error() string { return string(e) }

// lexString reads a quoted string and decodes its escapes the way Jinja2
// does (Python's "unicode-escape": \n, \t, \xHH, \uHHHH, \UHHHHHHHH, octal
// \ooo; unknown escapes stay as written). It returns the length consumed.
func lexString(s string) (int, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		if c == q {
			return i + 1, b.String(), nil
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return 0, "", errorString("truncated \\" + string(e) + " escape in string")
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return 0, "", errorString("malformed \\" + string(e) + " escape in string")
			}
			b.WriteRune(rune(v))
			i += n
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i < len(s) && s[i] >= '0' && s[i] <= '7'; k++ {
				v = v*8 + int(s[i]-'0')
				i++
			}
			b.WriteRune(rune(v))
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return 0, "", errorString("unterminated string")
}

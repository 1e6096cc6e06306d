// Package pysrc reads Python 3 source without running it: a bounded,
// error-tolerant tokenizer and a light analysis that lists what the code
// imports, defines and calls, and whether each call runs at import time.
//
// It exists because loading a model with trust_remote_code=True imports the
// *.py files its config.json names (auto_map), dataset loading scripts are
// imported by the datasets library, and TorchScript archives carry code/*.py.
// The analysis is static: names are resolved through the file's imports
// (from os import system as s; s(…) is os.system), string arguments are
// folded when they are constants ('sys'+'tem', ”.join([…]), chr(115),
// 'metsys'[::-1]), and payloads hidden behind base64, hex, zlib, gzip, bz2
// or rot13 are decoded and analysed in turn. Nothing is evaluated.
//
// The package knows nothing about severity: scan/checks decides what a call
// means.
package pysrc

import (
	"fmt"
	"strings"

	"github.com/aigis-sec/aigis/internal/safeio"
)

// Kind is the kind of a token.
type Kind uint8

// Token kinds, as Python's tokenize module names them.
const (
	ErrorToken Kind = iota // a character that cannot start a token
	Name
	Number
	String
	Op
	Newline // end of a logical line
	NL      // a line break that does not end a logical line (blank, comment, inside brackets)
	Indent
	Dedent
	Comment
	EndMarker
)

var kindNames = [...]string{"ERRORTOKEN", "NAME", "NUMBER", "STRING", "OP", "NEWLINE", "NL", "INDENT", "DEDENT", "COMMENT", "ENDMARKER"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Token is one token of the source.
type Token struct {
	Kind   Kind
	Text   string // the source text; a STRING keeps its prefix and quotes, an f-string its raw content
	Line   int    // 1-based line of the first byte
	Col    int    // 0-based byte column of the first byte
	Offset int    // byte offset of the first byte
	// Err is set when the token is malformed: an unterminated string, an
	// inconsistent dedent, a closing bracket without an opening one.
	Err string
}

// Limits bound the work done on one source file. A zero field takes its
// value from DefaultLimits.
type Limits struct {
	MaxBytes   int // bytes of source analysed; the rest is cut off
	MaxTokens  int // tokens produced
	MaxNesting int // brackets, indentation levels and f-string replacement fields inside each other
	MaxDecoded int // bytes produced when decoding an obfuscated payload or folding a constant
	MaxInner   int // levels of exec'd code analysed (exec of a decoded string that execs another…)
}

// DefaultLimits are generous for real model code (transformers' largest
// modeling files are under 1 MiB) and bound crafted input.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxTokens: 8_000_000, MaxNesting: 200, MaxDecoded: 4 << 20, MaxInner: 4}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = d.MaxTokens
	}
	if l.MaxNesting <= 0 {
		l.MaxNesting = d.MaxNesting
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = d.MaxDecoded
	}
	if l.MaxInner <= 0 {
		l.MaxInner = d.MaxInner
	}
	return l
}

func limitErr(name string, v int, detail string) error {
	return &safeio.LimitError{Limit: "pysrc." + name, Value: int64(v), Detail: detail}
}

// Tokenize splits src into tokens. It never fails on malformed source: bad
// tokens carry Err. The error is a *safeio.LimitError when a limit was hit;
// the tokens before that point are returned with it.
func Tokenize(src []byte, lim Limits) ([]Token, error) {
	lim = lim.withDefaults()
	var cut error
	if len(src) > lim.MaxBytes {
		src = src[:lim.MaxBytes]
		cut = limitErr("MaxBytes", lim.MaxBytes, "source cut off")
	}
	t := &tokenizer{s: string(src), lim: lim}
	// About one token per 5 bytes of real code: avoids regrowing the slice.
	t.toks = make([]Token, 0, min(len(src)/5+16, lim.MaxTokens))
	t.run()
	if t.err != nil {
		return t.toks, t.err
	}
	return t.toks, cut
}

type tokenizer struct {
	s         string
	lim       Limits
	toks      []Token
	err       error
	line      int
	lineStart int // offset of the first byte of the current line
}

func (t *tokenizer) emit(k Kind, start, end int, errMsg string) bool {
	if t.err != nil {
		return false
	}
	if len(t.toks) >= t.lim.MaxTokens {
		t.err = limitErr("MaxTokens", t.lim.MaxTokens, fmt.Sprintf("at line %d", t.line))
		return false
	}
	t.toks = append(t.toks, Token{Kind: k, Text: t.s[start:end], Line: t.line, Col: start - t.lineStart, Offset: start, Err: errMsg})
	return true
}

// newlines advances the line counter over s[a:b].
func (t *tokenizer) newlines(a, b int) {
	for i := a; i < b; i++ {
		if t.s[i] == '\n' || (t.s[i] == '\r' && (i+1 >= len(t.s) || t.s[i+1] != '\n')) {
			t.line++
			t.lineStart = i + 1
		}
	}
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringPrefix reports whether p (any case) is a valid string prefix, and
// whether it makes the string raw and formatted (f or t).
func stringPrefix(p string) (ok, raw, formatted bool) {
	if len(p) > 2 {
		return false, false, false
	}
	var r, f, b, u int
	for i := 0; i < len(p); i++ {
		switch p[i] | 0x20 {
		case 'r':
			r++
		case 'f', 't':
			f++
		case 'b':
			b++
		case 'u':
			u++
		default:
			return false, false, false
		}
	}
	if r > 1 || f > 1 || b > 1 || u > 1 || f+b > 1 || (u == 1 && len(p) > 1) {
		return false, false, false
	}
	return true, r == 1, f == 1
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "<>"}

const ops1 = "+-*/%@&|^~<>()[]{},:;.=!"

func (t *tokenizer) run() {
	s := t.s
	i := 0
	if strings.HasPrefix(s, "\ufeff") {
		i = 3
	}
	t.line, t.lineStart = 1, i
	indents := []int{0}
	depth := 0
	atLineStart := true
	lineHasTokens := false
	for t.err == nil {
		if atLineStart && depth == 0 {
			atLineStart = false
			col, j := 0, i
			for j < len(s) {
				switch s[j] {
				case ' ':
					col++
				case '\t':
					col = (col/8 + 1) * 8
				case '\f':
					col = 0
				default:
					goto measured
				}
				j++
			}
		measured:
			i = j
			if j < len(s) && s[j] != '#' && s[j] != '\n' && s[j] != '\r' && !(s[j] == '\\' && j+1 < len(s) && (s[j+1] == '\n' || s[j+1] == '\r')) {
				top := indents[len(indents)-1]
				if col > top {
					if len(indents) > t.lim.MaxNesting {
						t.err = limitErr("MaxNesting", t.lim.MaxNesting, fmt.Sprintf("indentation at line %d", t.line))
						return
					}
					indents = append(indents, col)
					t.emit(Indent, t.lineStart, j, "")
				} else {
					for col < indents[len(indents)-1] {
						indents = indents[:len(indents)-1]
						msg := ""
						if col > indents[len(indents)-1] {
							msg = "unindent does not match any outer indentation level"
						}
						t.emit(Dedent, j, j, msg)
					}
				}
			}
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			i++
		case c == '#':
			j := i
			for j < len(s) && s[j] != '\n' && s[j] != '\r' {
				j++
			}
			t.emit(Comment, i, j, "")
			i = j
		case c == '\n' || c == '\r':
			j := i + 1
			if c == '\r' && j < len(s) && s[j] == '\n' {
				j++
			}
			if depth == 0 && lineHasTokens {
				t.emit(Newline, i, j, "")
			} else {
				t.emit(NL, i, j, "")
			}
			lineHasTokens = false
			t.line++
			t.lineStart = j
			i = j
			if depth == 0 {
				atLineStart = true
			}
		case c == '\\':
			j := i + 1
			if j < len(s) && (s[j] == '\n' || s[j] == '\r') {
				if s[j] == '\r' && j+1 < len(s) && s[j+1] == '\n' {
					j++
				}
				t.line++
				t.lineStart = j + 1
				i = j + 1
				continue
			}
			t.emit(ErrorToken, i, j, "unexpected backslash")
			i = j
		case isNameStart(c):
			j := i
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			lineHasTokens = true
			if j < len(s) && (s[j] == '\'' || s[j] == '"') {
				if ok, raw, f := stringPrefix(s[i:j]); ok {
					i = t.str(i, j, raw, f)
					continue
				}
			}
			t.emit(Name, i, j, "")
			i = j
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			j := i
			if c == '0' && i+1 < len(s) && strings.IndexByte("xXoObB", s[i+1]) >= 0 {
				j += 2
				for j < len(s) && (isNameChar(s[j]) && s[j] < 0x80) {
					j++
				}
			} else {
			digits:
				for j < len(s) {
					switch d := s[j]; {
					case isDigit(d) || d == '_' || d == '.':
						j++
					case d == 'e' || d == 'E':
						j++
						if j < len(s) && (s[j] == '+' || s[j] == '-') {
							j++
						}
					case d == 'j' || d == 'J':
						j++
						break digits
					default:
						break digits
					}
				}
			}
			lineHasTokens = true
			t.emit(Number, i, j, "")
			i = j
		case c == '\'' || c == '"':
			lineHasTokens = true
			i = t.str(i, i, false, false)
		default:
			lineHasTokens = true
			n := 0
			for _, o := range ops3 {
				if strings.HasPrefix(s[i:], o) {
					n = 3
					break
				}
			}
			if n == 0 {
				for _, o := range ops2 {
					if strings.HasPrefix(s[i:], o) {
						n = 2
						break
					}
				}
			}
			if n == 0 && strings.IndexByte(ops1, c) >= 0 {
				n = 1
			}
			if n == 0 {
				// One UTF-8 sequence or byte that cannot start a token.
				t.emit(ErrorToken, i, i+1, "unexpected character")
				i++
				continue
			}
			msg := ""
			switch c {
			case '(', '[', '{':
				depth++
				if depth > t.lim.MaxNesting {
					t.err = limitErr("MaxNesting", t.lim.MaxNesting, fmt.Sprintf("brackets at line %d", t.line))
					return
				}
			case ')', ']', '}':
				if depth == 0 {
					msg = "unmatched closing bracket"
				} else {
					depth--
				}
			}
			t.emit(Op, i, i+n, msg)
			i += n
		}
	}
	if t.err != nil {
		return
	}
	if lineHasTokens {
		t.emit(Newline, len(s), len(s), "")
	}
	for len(indents) > 1 {
		indents = indents[:len(indents)-1]
		t.emit(Dedent, len(s), len(s), "")
	}
	t.emit(EndMarker, len(s), len(s), "")
}

// str scans a string literal whose prefix starts at start and whose opening
// quote is at q, emits it and returns the offset after it.
func (t *tokenizer) str(start, q int, raw, formatted bool) int {
	end, msg := t.scanString(q, raw, formatted, 1)
	line, ls := t.line, t.lineStart
	if t.err != nil {
		return len(t.s)
	}
	t.emit(String, start, end, msg)
	// The token starts on the line it started on; later tokens on the lines
	// it spans.
	t.line, t.lineStart = line, ls
	t.newlines(start, end)
	return end
}

// scanString returns the end of the string whose opening quote is at q, and
// an error message when it is unterminated. An unterminated single-quoted
// string ends before the line break; a triple-quoted one at the end of input.
func (t *tokenizer) scanString(q int, raw, formatted bool, depth int) (int, string) {
	s := t.s
	quote := s[q]
	triple := q+2 < len(s) && s[q+1] == quote && s[q+2] == quote
	j := q + 1
	if triple {
		j = q + 3
	}
	for j < len(s) {
		c := s[j]
		switch {
		case c == '\\':
			// In raw strings too, a backslash keeps the next quote in the string.
			j += 2
			if j > len(s) {
				j = len(s)
			}
			continue
		case formatted && c == '{':
			if j+1 < len(s) && s[j+1] == '{' {
				j += 2
				continue
			}
			end, msg := t.skipReplacement(j+1, quote, triple, depth+1)
			if msg != "" {
				return end, msg
			}
			j = end
			continue
		case c == quote:
			if !triple {
				return j + 1, ""
			}
			if j+2 < len(s) && s[j+1] == quote && s[j+2] == quote {
				return j + 3, ""
			}
		case (c == '\n' || c == '\r') && !triple:
			return j, "unterminated string literal"
		}
		j++
	}
	if triple {
		return len(s), "unterminated triple-quoted string literal"
	}
	return len(s), "unterminated string literal"
}

// skipReplacement skips an f-string replacement field starting after its
// '{' and returns the offset after its '}'. Strings inside it are scanned as
// strings, so quotes and braces in them do not end the field (PEP 701).
func (t *tokenizer) skipReplacement(j int, outerQuote byte, outerTriple bool, depth int) (int, string) {
	s := t.s
	if depth > t.lim.MaxNesting {
		t.err = limitErr("MaxNesting", t.lim.MaxNesting, fmt.Sprintf("f-string nesting at line %d", t.line))
		return len(s), "nesting limit"
	}
	brackets := 0
	for j < len(s) {
		c := s[j]
		switch {
		case c == '\'' || c == '"':
			raw, f := false, false
			for k := j - 1; k >= 0 && k >= j-2 && isNameStart(s[k]); k-- {
				switch s[k] | 0x20 {
				case 'r':
					raw = true
				case 'f', 't':
					f = true
				}
			}
			end, msg := t.scanString(j, raw, f, depth+1)
			if msg != "" {
				return end, msg
			}
			j = end
			continue
		case c == '(' || c == '[' || c == '{':
			brackets++
		case c == ')' || c == ']':
			if brackets > 0 {
				brackets--
			}
		case c == '}':
			if brackets == 0 {
				return j + 1, ""
			}
			brackets--
		case (c == '\n' || c == '\r') && !outerTriple:
			return j, "unterminated f-string replacement field"
		}
		j++
	}
	return len(s), "unterminated f-string"
}

package pysrc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aigis-sec/aigis/internal/safeio"
	"github.com/google/go-cmp/cmp"
)

func kinds(toks []Token) string {
	var b []string
	for _, t := range toks {
		s := t.Kind.String()
		if t.Kind != Newline && t.Kind != NL && t.Kind != Indent && t.Kind != Dedent && t.Kind != EndMarker {
			s += " " + t.Text
		}
		if t.Err != "" {
			s += " !" + t.Err
		}
		b = append(b, s)
	}
	return strings.Join(b, " | ")
}

func TestTokenizeStrings(t *testing.T) {
	for _, s := range []string{
		`'a'`, `"a"`, `'''a'b''c'''`, `"""a"b""c"""`, `r'\d+\''`, `b'\x00'`, `rb"\x"`, `BR'x'`, `Rb'x'`,
		`u'x'`, `f'{x}'`, `F"{x!r:>{w}}"`, `fr'{x}\d'`, `Rf"x"`, `f'{a["b"]}'`, `f"{f'{x}'}"`, `f'{{}}'`,
		`t'{x}'`, `'a\
b'`, "'''\n\n'''", `f'''{
x
}'''`, `'\''`, `"\\"`,
	} {
		toks, err := Tokenize([]byte(s), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != 3 || toks[0].Kind != String || toks[0].Text != s || toks[0].Err != "" {
			t.Errorf("%s: %s", s, kinds(toks))
		}
	}
}

func TestTokenizeLayout(t *testing.T) {
	src := "class A:\n    def f(self, x=(1,\n            2)):  # c\n\n        return x \\\n            + 1\n    y = 0x1F + 1.5e-3j\nz = a ** 2 // 3 != 4\n"
	toks, err := Tokenize([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME class | NAME A | OP : | NEWLINE | INDENT | NAME def | NAME f | OP ( | NAME self | OP , | NAME x | OP = | OP ( | NUMBER 1 | OP , | NL | NUMBER 2 | OP ) | OP ) | OP : | COMMENT # c | NEWLINE | NL | INDENT | NAME return | NAME x | OP + | NUMBER 1 | NEWLINE | DEDENT | NAME y | OP = | NUMBER 0x1F | OP + | NUMBER 1.5e-3j | NEWLINE | DEDENT | NAME z | OP = | NAME a | OP ** | NUMBER 2 | OP // | NUMBER 3 | OP != | NUMBER 4 | NEWLINE | ENDMARKER"
	if diff := cmp.Diff(want, kinds(toks)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// line and column of `return` and of the number on the continuation line
	for _, tk := range toks {
		if tk.Text == "return" && (tk.Line != 5 || tk.Col != 8) {
			t.Errorf("return at %d:%d", tk.Line, tk.Col)
		}
		if tk.Text == "0x1F" && (tk.Line != 7 || tk.Col != 8) {
			t.Errorf("0x1F at %d:%d", tk.Line, tk.Col)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"x = 'abc\ny = 1\n", "NAME x | OP = | STRING 'abc !unterminated string literal | NEWLINE | NAME y | OP = | NUMBER 1 | NEWLINE | ENDMARKER"},
		{`s = """abc`, `NAME s | OP = | STRING """abc !unterminated triple-quoted string literal | NEWLINE | ENDMARKER`},
		{"a)\n", "NAME a | OP ) !unmatched closing bracket | NEWLINE | ENDMARKER"},
		{"if x:\n        a\n    b\n", "NAME if | NAME x | OP : | NEWLINE | INDENT | NAME a | NEWLINE | DEDENT !unindent does not match any outer indentation level | NAME b | NEWLINE | ENDMARKER"},
		{"a $ b ?", "NAME a | ERRORTOKEN $ !unexpected character | NAME b | ERRORTOKEN ? !unexpected character | NEWLINE | ENDMARKER"},
		{"f'{x", "STRING f'{x !unterminated f-string | NEWLINE | ENDMARKER"},
	}
	for _, tt := range tests {
		toks, _ := Tokenize([]byte(tt.src), Limits{})
		if diff := cmp.Diff(tt.want, kinds(toks)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.src, diff)
		}
	}
}

func TestTokenizeLimits(t *testing.T) {
	deep := strings.Repeat("(", 300) + strings.Repeat(")", 300)
	_, err := Tokenize([]byte(deep), Limits{})
	if le, ok := safeio.IsLimit(err); !ok || le.Limit != "pysrc.MaxNesting" {
		t.Errorf("brackets: %v", err)
	}
	var b strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "%sif x:\n", strings.Repeat(" ", i))
	}
	if _, err := Tokenize([]byte(b.String()), Limits{}); err == nil {
		t.Error("indentation: no limit error")
	}
	fdeep := "f'" + strings.Repeat("{f'", 250) + "'"
	if _, err := Tokenize([]byte(fdeep), Limits{}); err == nil {
		t.Error("f-string nesting: no limit error")
	}
	toks, err := Tokenize([]byte("a = 1\nb = 2\n"), Limits{MaxTokens: 3})
	if _, ok := safeio.IsLimit(err); !ok || len(toks) != 3 {
		t.Errorf("tokens: %d, %v", len(toks), err)
	}
	toks, err = Tokenize([]byte("import os\nos.system('x')\n"), Limits{MaxBytes: 12})
	if _, ok := safeio.IsLimit(err); !ok || len(toks) == 0 {
		t.Errorf("bytes: %v", err)
	}
}

func TestStringValue(t *testing.T) {
	tests := []struct {
		text, want string
		ok         bool
	}{
		{`'a\x41\n'`, "aA\n", true},
		{`r'a\x41'`, `a\x41`, true},
		{`b'\xff'`, "\xff", true},
		{`'\u00e9\101'`, "éA", true},
		{`f'a{{b}}'`, "a{b}", true},
		{`f'a{b}'`, "", false},
		{`'''x'''`, "x", true},
		{`'abc`, "", false},
	}
	for _, tt := range tests {
		got, _, ok := StringValue(tt.text)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %q %v", tt.text, got, ok)
		}
	}
}

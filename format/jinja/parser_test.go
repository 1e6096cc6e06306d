package jinja

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aigis-sec/aigis/internal/safeio"
)

func mustParse(t *testing.T, src string) *Template {
	t.Helper()
	tmpl, err := Parse(src, Limits{})
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tmpl
}

func TestExpressionPrecedence(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a + b * c", "(+ a (* b c))"},
		{"a ~ b + c", "(+ (~ a b) c)"}, // ~ binds tighter than +, as in Jinja2
		{"a * b ~ c", "(~ (* a b) c)"},
		{"a ** b ** c", "(** (** a b) c)"}, // left-associative in Jinja2
		{"-a ** 2", "(** (- a) 2)"},
		{"-a|abs", "(|abs (- a))"},
		{"a // b % c", "(% (// a b) c)"},
		{"not a == b", "(not (cmp a == b))"},
		{"a and b or c and not d", "(or (and a b) (and c (not d)))"},
		{"a < b <= c", "(cmp a < b <= c)"},
		{"a in b", "(cmp a in b)"},
		{"a not in b", "(cmp a notin b)"},
		{"a if b else c", "(if b a c)"},
		{"a if b", "(if b a _)"},
		{"a if b else c if d else e", "(if b a (if d c e))"},
		{"a.b[c](d, e=f, *g, **h)", "(call ([] (. a b) c) d e=f *g **h)"},
		{"a.0", "([] a 0)"},
		{"a[1:2]", "([] a (: 1 2 _))"},
		{"a[::-1]", "([] a (: _ _ (- 1)))"},
		{"a[:, 1]", "([] a (tuple (: _ _ _) 1))"},
		{"x|f(1)|g", "(|g (|f x 1))"},
		{"x|a.b", "(|a.b x)"},
		{"x|attr('__class__')", `(|attr x "__class__")`},
		{"x is defined", "(is-defined x)"},
		{"x is not none", "(not (is-none x))"},
		{"x is divisibleby 3", "(is-divisibleby x 3)"},
		{"x is sameas false and y", "(and (is-sameas x false) y)"},
		{"x is string or y", "(or (is-string x) y)"},
		{"'a' 'b'", `"ab"`},
		{`'\x5f\x5f\u0063\137'`, `"__c_"`},
		{`"it's \"q\" \n"`, `"it's \"q\" \n"`},
		{"True, False, None, none", "(tuple true false none none)"},
		{"[1, 2.5, 'x',]", `(list 1 2.5 "x")`},
		{"(1,)", "(tuple 1)"},
		{"()", "(tuple)"},
		{"{'a': [1], 'b': {}}", `(dict "a":(list 1) "b":(dict))`},
		{"1_000 + 0x10 + 0o7 + 0b11", "(+ (+ (+ 1000 16) 7) 3)"},
		{"1e3 + .5", "(+ 1000 0.5)"},
		{"f()()", "(call (call f))"},
		{"a|b is c", "(is-c (|b a))"},
	}
	for _, tt := range tests {
		tmpl := mustParse(t, "{{ "+tt.src+" }}")
		out, ok := tmpl.Body[0].(*Output)
		if !ok {
			t.Fatalf("%q: body is %s", tt.src, dump(tmpl))
		}
		if diff := cmp.Diff(tt.want, dump(out.Expr)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.src, diff)
		}
	}
}

func TestStatements(t *testing.T) {
	tests := []struct{ src, want string }{
		{"{% if a %}x{% elif b %}y{% else %}z{% endif %}", `(template (if a (then "x") (elif b (then "y")) (else "z")))`},
		{"{% for k, v in d|items if k recursive %}{{ k }}{% else %}e{% endfor %}",
			`(template (for (tuple k v) (|items d) if k recursive (do (out k)) (else "e")))`},
		{"{% for m in messages[1:] %}{% break %}{% continue %}{% endfor %}", "(template (for m ([] messages (: 1 _ _)) (do (break) (continue))))"},
		{"{% set ns.x = 1 %}", "(template (set (. ns x) 1))"},
		{"{% set a, b = 1, 2 %}", "(template (set (tuple a b) (tuple 1 2)))"},
		{"{% set x | trim %} y {% endset %}", `(template (set x (filters (|trim _)) (body " y ")))`},
		{"{% macro m(a, b=1) %}{{ a }}{% endmacro %}", "(template (macro m (params a b) (defaults 1) (body (out a))))"},
		{"{% call(x) m(1) %}{{ x }}{% endcall %}", "(template (callblock (call m 1) (params x) (body (out x))))"},
		{"{% filter upper %}x{% endfilter %}", `(template (filterblock (filters (|upper _)) (body "x")))`},
		{"{% with a = 1, b = a %}{{ b }}{% endwith %}", "(template (with (targets a b) (values 1 a) (body (out b))))"},
		{"{% import 'm.j' as m %}", `(template (import "m.j" m false))`},
		{"{% from 'm.j' import a as b, c with context %}", `(template (from "m.j" a/b c/ true))`},
		{"{% include 'x' ignore missing without context %}", `(template (include "x" true false))`},
		{"{% extends base %}{% block body required %}{% endblock body %}", "(template (extends base) (block body))"},
		{"{% do xs.append(1) %}", "(template (do (call (. xs append) 1)))"},
		{"{% generation %}x{% endgeneration %}", `(template (generation _ (body "x")))`},
		{"{% autoescape true %}x{% endautoescape %}", `(template (autoescape true (body "x")))`},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, dump(mustParse(t, tt.src))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.src, diff)
		}
	}
}

func TestWhitespaceControlAndRaw(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a  {{- x -}}  b", `(template "a" (out x) "b")`},
		{"a \n {%- if x -%} \n b \n {%- endif -%} \n c", `(template "a" (if x (then "b")) "c")`},
		{"a {#- comment -#} b", `(template "a" "b")`},
		{"a {# {{ not parsed }} #} b", `(template "a " " b")`},
		{"a {%+ if x +%} b{% endif %}", `(template "a " (if x (then " b")))`},
		{"{% raw %}{{ x }}{% if %}{% endraw %}", `(template "{{ x }}{% if %}")`},
		{"a {%- raw -%} {{ x }} {%- endraw -%} b", `(template "a" "{{ x }}" "b")`},
		{"{{ {'a': 1}['a'] }}", `(template (out ([] (dict "a":1) "a")))`},
		{"x { y } {", `(template "x { y } {")`},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, dump(mustParse(t, tt.src))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.src, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src        string
		line, col  int
		msgContain string
	}{
		{"{{ a", 1, 1, "not closed"},
		{"ok\n{% if a %}x", 2, 12, "expected 'elif' or 'else' or 'endif'"},
		{"{{ a + }}", 1, 8, "unexpected"},
		{"{% frobnicate %}", 1, 4, "unknown tag"},
		{"{% for x in y %}{% endif %}", 1, 20, "unknown tag"},
		{"{{ 'abc }}", 1, 4, "unterminated string"},
		{"{{ a ) }}", 1, 6, "unexpected"},
		{"line1\nline2 {{ a.(b) }}", 2, 12, "attribute name"},
		{"{% raw %} x", 1, 1, "endraw"},
		{"{# x", 1, 1, "comment"},
		{"{% set 1 = 2 %}", 1, 8, "assign"},
		{"{{ a $ b }}", 1, 6, "unexpected character"},
		{"{% block a %}{% endblock b %}", 1, 26, "does not close"},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.src, Limits{})
		if err == nil {
			t.Errorf("%q: parsed as %s, want an error", tt.src, dump(tmpl))
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("%q: %T is not *Error", tt.src, err)
		}
		if pe.Pos.Line != tt.line || pe.Pos.Col != tt.col || !strings.Contains(pe.Msg, tt.msgContain) {
			t.Errorf("%q: got %v (line %d col %d), want line %d col %d containing %q", tt.src, err, pe.Pos.Line, pe.Pos.Col, tt.line, tt.col, tt.msgContain)
		}
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("(", 100_000) + "a" + strings.Repeat(")", 100_000)
	nestedIf := strings.Repeat("{% if a %}", 10_000) + strings.Repeat("{% endif %}", 10_000)
	unary := "{{ " + strings.Repeat("not ", 100_000) + "a }}"
	minus := "{{ " + strings.Repeat("-", 100_000) + "a }}"
	chain := "{{ a" + strings.Repeat(" ~ a", 100_000) + " }}"
	attrs := "{{ a" + strings.Repeat(".b", 100_000) + " }}"
	filters := "{{ a" + strings.Repeat("|f", 100_000) + " }}"
	tests := []struct {
		name, src string
		lim       Limits
		limit     string
	}{
		{"brackets", "{{ " + deep + " }}", Limits{}, "jinja.MaxDepth"},
		{"statements", nestedIf, Limits{}, "jinja.MaxDepth"},
		{"not", unary, Limits{}, "jinja.MaxDepth"},
		{"minus", minus, Limits{}, "jinja.MaxDepth"},
		{"concat chain", chain, Limits{}, "jinja.MaxDepth"},
		{"attribute chain", attrs, Limits{}, "jinja.MaxDepth"},
		{"filter chain", filters, Limits{}, "jinja.MaxDepth"},
		{"bytes", strings.Repeat("x", 100), Limits{MaxBytes: 10}, "jinja.MaxBytes"},
		{"tokens", strings.Repeat("{{ a }}", 100), Limits{MaxTokens: 50}, "jinja.MaxTokens"},
		{"nodes", strings.Repeat("{{ a }}", 100), Limits{MaxNodes: 50}, "jinja.MaxNodes"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src, tt.lim)
		le, ok := safeio.IsLimit(err)
		if !ok || le.Limit != tt.limit {
			t.Errorf("%s: got %v, want limit %s", tt.name, err, tt.limit)
		}
	}
}

func TestPositions(t *testing.T) {
	src := "hello\n  {{ user.name }}\n{% if x %}{{ a['k'] }}{% endif %}"
	tmpl := mustParse(t, src)
	var got []string
	Walk(tmpl, func(n Node) bool {
		switch n.(type) {
		case *Getattr, *Getitem, *If:
			start, end := n.Span()
			got = append(got, src[start.Offset:end]+"@"+strconv.Itoa(start.Line)+":"+strconv.Itoa(start.Col))
		}
		return true
	})
	want := []string{"user.name@2:6", "{% if x %}{{ a['k'] }}{% endif %}@3:1", "a['k']@3:14"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWalkSkip(t *testing.T) {
	tmpl := mustParse(t, "{% for x in y %}{{ x.a }}{% endfor %}{{ z }}")
	var names []string
	Walk(tmpl, func(n Node) bool {
		if nm, ok := n.(*Name); ok {
			names = append(names, nm.Name)
		}
		_, isFor := n.(*For)
		return !isFor
	})
	if diff := cmp.Diff([]string{"z"}, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

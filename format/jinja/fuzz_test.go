package jinja

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that Parse never panics or runs away on hostile input,
// and that what it returns is consistent: a tree whose node count and spans
// agree with the source, or a nil tree and a positioned *Error.
func FuzzParse(f *testing.F) {
	for _, file := range templateFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "{{", "{%", "{#", "}}", "{{ a }}", "{{- a -}}", "{% raw %}{{ x }}{% endraw %}",
		"{{ {'a': {'b': 1}} }}", "{{ a.0.b[1:2:-1] }}", "{{ f(*a, **k, x=1) }}",
		"{{ x is not divisibleby 3 }}", "{{ 1 if a else 2 if b }}", "{{ -a|abs ** 2 }}",
		"{% for a, b in x|items if a recursive %}{{ loop(b) }}{% else %}{% endfor %}",
		"{% set ns.x = 1 %}{% set y | upper %}t{% endset %}",
		"{% macro m(a, b=1) %}{{ caller() }}{% endmacro %}{% call(x) m(1) %}{{ x }}{% endcall %}",
		"{% filter upper|trim %}x{% endfilter %}{% with a=1 %}{{ a }}{% endwith %}",
		"{% import 'a' as b with context %}{% from 'a' import b as c, d %}{% include ['a', 'b'] ignore missing %}",
		"{% extends 'x' %}{% block b scoped %}{% endblock b %}", "{{ 'a\\x5f\\u005f\\137' }}",
		"{{ 0x1F + 0o7 + 0b1 + 1_000 + 1.5e3 + .5 }}", "{{ 99999999999999999999999 }}",
		"{{ ((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))) }}",
		"{% if a %}{% elif b %}{% else %}{% endif %}{% do x.append(1) %}{% generation %}{% endgeneration %}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lim := Limits{MaxBytes: 1 << 16, MaxTokens: 20_000, MaxDepth: 64, MaxNodes: 20_000}
		tmpl, err := Parse(src, lim)
		if err != nil {
			if tmpl != nil {
				t.Fatal("non-nil template with an error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *jinja.Error", err)
			}
			if pe.Pos.Line < 1 || pe.Pos.Col < 1 || pe.Pos.Offset < 0 || pe.Pos.Offset > len(src) {
				t.Fatalf("bad error position %+v for %d bytes", pe.Pos, len(src))
			}
			return
		}
		if tmpl == nil {
			t.Fatal("nil template without an error")
		}
		n := 0
		Walk(tmpl, func(node Node) bool {
			n++
			start, end := node.Span()
			if start.Offset < 0 || end > len(src) || start.Offset > end {
				t.Fatalf("%T has span %d..%d in %d bytes", node, start.Offset, end, len(src))
			}
			return true
		})
		if n != tmpl.Nodes {
			t.Fatalf("Walk visited %d nodes, Template.Nodes = %d", n, tmpl.Nodes)
		}
		if n > lim.MaxNodes+1 {
			t.Fatalf("%d nodes beyond the limit %d", n, lim.MaxNodes)
		}
	})
}

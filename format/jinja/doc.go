// Package jinja parses Jinja2 templates, such as the chat templates that
// GGUF files (tokenizer.chat_template) and Hugging Face tokenizer configs
// (chat_template, chat_template.jinja) carry, into a syntax tree. It never
// renders or evaluates a template: a scanner analyses the tree instead.
//
// The grammar is Jinja2's with its default delimiters: text, "{{ … }}",
// "{% … %}", "{# … #}", whitespace control ("{%-", "-%}", "{{-", "-}}"),
// raw blocks, the statements of the core language (if, for, set, macro,
// call, filter, with, import, from, include, extends, block) and of the
// extensions chat-template renderers enable (break, continue, do, and
// transformers' generation block), and the full expression language
// (literals, attribute and item access, slices, calls, filters, tests,
// arithmetic, comparisons, boolean and conditional expressions).
//
// Parsing is bounded by Limits: source size, token count, nesting depth and
// node count. Recursion is bounded by the depth limit, so a hostile template
// cannot overflow the stack; a limit that is hit is an *Error that wraps a
// *safeio.LimitError. Syntax errors carry a line and column.
//
//	t, err := jinja.Parse(src, jinja.Limits{})
//	if err != nil { … }
//	jinja.Walk(t, func(n jinja.Node) bool {
//		if g, ok := n.(*jinja.Getattr); ok { … g.Attr … }
//		return true
//	})
package jinja

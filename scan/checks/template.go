package checks

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/jinja"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// Chat templates (GGUF tokenizer.chat_template, tokenizer_config.json
// chat_template, chat_template.jinja) are Jinja2 templates that
// llama-cpp-python, LiteLLM, vLLM and transformers render. Rendered outside a
// sandbox, or through a sandbox gap, a template walks Python objects to
// os.popen (CVE-2024-34359, CVE-2024-2952). aigis never renders them: it
// parses them (format/jinja) and judges the syntax tree.

const remTemplate = "Do not load this model with a runtime that renders its chat template (llama-cpp-python, LiteLLM, vLLM, " +
	"transformers apply_chat_template) until the template is replaced by the model family's published one. " +
	"Keep those runtimes updated: they render templates in a sandbox since the CVEs named. Report the repository to the hub."

var templateAtlas = []string{atlasUserExecMalicious, atlasSupplyChainModel}

// The rules of the chat-template check.
var (
	RuleTemplateEscape = finding.Rule{
		ID: "template-sandbox-escape", Severity: finding.Critical,
		Title:       "The chat template reaches Python's globals, builtins or os when rendered",
		Description: "The template walks Python object internals (__class__, __mro__, __subclasses__, __init__.__globals__, __builtins__) to import modules, evaluate code or run commands: server-side template injection that runs code in the process rendering the template (CVE-2024-34359 in llama-cpp-python, CVE-2024-2952 in LiteLLM).",
		ATLAS:       templateAtlas, Remediation: remTemplate,
	}
	RuleTemplateInternals = finding.Rule{
		ID: "template-python-internals", Severity: finding.High,
		Title:       "The chat template accesses Python internals",
		Description: "The template reads an underscore attribute (a dunder such as __class__ or __init__, or a private name), directly, by subscript, with the attr filter, through a format string, or with a name built at render time. Chat templates only need message fields; these accesses are the first steps of a sandbox escape.",
		ATLAS:       templateAtlas, Remediation: remTemplate,
	}
	RuleTemplateDynamicAttr = finding.Rule{
		ID: "template-dynamic-attribute", Severity: finding.Medium,
		Title:       "The chat template looks up an attribute whose name is computed",
		Description: "An attribute or item is looked up with a name that is built at render time (attr filter, concatenation, formatting, characters taken from an object's text), so what it reaches cannot be seen without rendering: the usual way to hide a dunder name from scanners.",
		ATLAS:       []string{atlasUserExecMalicious, atlasEvade}, Remediation: remTemplate,
	}
	RuleTemplateLoad = finding.Rule{
		ID: "template-loads-file", Severity: finding.High,
		Title:       "The chat template loads other templates or files",
		Description: "An include, import, from-import or extends statement makes the renderer load another template by name: with a file-system loader it reads local files, and a chat template has no reason to load anything.",
		ATLAS:       templateAtlas, Remediation: remTemplate,
	}
	RuleTemplateDoS = finding.Rule{
		ID: "template-denial-of-service", Severity: finding.Medium,
		Title:       "Rendering the chat template can exhaust CPU or memory",
		Description: "The template loops over a huge range, repeats strings or lists a huge number of times, computes huge powers or nests loops and blocks very deeply: every request rendering it stalls the serving process (vLLM PYSEC-2026-2013). Huge constant work is high; deep nesting is medium.",
		ATLAS:       []string{atlasSupplyChainModel}, Remediation: remTemplate,
	}
	RuleTemplateUnparsable = finding.Rule{
		ID: "template-unparsable", Severity: finding.Medium,
		Title:       "The chat template does not parse",
		Description: "The template is not valid Jinja2: loaders that render it fail, and a scanner cannot see what it does. Published templates of model families parse.",
		ATLAS:       []string{atlasEvade}, Remediation: "Replace the template with the model family's published one before loading the model with a runtime that renders it.",
	}
)

// TemplateRules lists the rules CheckTemplate can emit.
func TemplateRules() []finding.Rule {
	return []finding.Rule{RuleTemplateEscape, RuleTemplateInternals, RuleTemplateDynamicAttr,
		RuleTemplateLoad, RuleTemplateDoS, RuleTemplateUnparsable, RuleLimit}
}

// templateGadgets are globals that Jinja2 (or Flask, or a runtime) puts in
// every template context and whose Python methods lead to module globals:
// cycler.__init__.__globals__.os is the classic one.
var templateGadgets = map[string]string{
	"cycler":               "Jinja2 global",
	"joiner":               "Jinja2 global",
	"namespace":            "Jinja2 global",
	"lipsum":               "Jinja2 global (its __globals__ hold os)",
	"range":                "Jinja2 global (Python builtin)",
	"dict":                 "Jinja2 global (Python builtin)",
	"self":                 "Jinja2 template reference",
	"request":              "Flask request object",
	"config":               "Flask config object",
	"url_for":              "Flask global",
	"get_flashed_messages": "Flask global",
	"g":                    "Flask global",
	"session":              "Flask session",
	"raise_exception":      "transformers chat-template global",
	"strftime_now":         "transformers chat-template global",
}

// criticalKeys are the names that turn object traversal into code
// execution: module globals, builtins, the subclass list, import, and the
// os/subprocess/eval entry points.
var criticalKeys = map[string]bool{
	"__globals__": true, "__builtins__": true, "__subclasses__": true, "__import__": true,
	"__code__": true, "func_globals": true, "f_globals": true, "__loader__": true,
	"import": true, "import_module": true, "load_module": true, "modules": true,
	"os": true, "popen": true, "system": true, "subprocess": true, "check_output": true,
	"getoutput": true, "Popen": true, "spawnv": true, "execv": true,
	"eval": true, "exec": true, "open": true, "read": true, "_module": true,
}

// commandCalls are method names that run commands or code when called,
// whatever object they are reached on.
var commandCalls = map[string]bool{
	"popen": true, "system": true, "eval": true, "exec": true, "check_output": true,
	"getoutput": true, "Popen": true, "__import__": true, "import_module": true,
}

// Thresholds of constant work beyond which rendering stalls.
const (
	hugeWork  = 1e7 // iterations or elements: seconds to minutes of CPU, or GiBs of memory
	largeWork = 1e5
	deepLoops = 6  // nested for loops
	deepNest  = 40 // nested statements
	maxFold   = 4096
	maxTmplF  = 64 // findings per template
)

// CheckTemplate judges one chat template. name says where it was found
// (tokenizer.chat_template, chat_template, chat_template.jinja); loc is the
// file or member that holds it.
func CheckTemplate(loc finding.Location, name string, src string) []finding.Finding {
	tmpl, err := jinja.Parse(src, jinja.Limits{})
	a := &tmplAnalyzer{loc: loc, name: name, src: src,
		memo: map[jinja.Expr]tval{}, inChain: map[jinja.Node]bool{}, reported: map[string]bool{},
		consts: map[string]tval{}, assigned: map[string]int{}, tainted: map[string]string{}}
	if err != nil {
		var je *jinja.Error
		pos := ""
		if errors.As(err, &je) {
			pos = fmt.Sprintf("line %d column %d", je.Pos.Line, je.Pos.Col)
		}
		if le, ok := safeio.IsLimit(err); ok {
			f := finding.New(RuleLimit, RuleLimit.Severity, loc,
				fmt.Sprintf("%s: the chat template was not fully analysed: %v", name, err),
				map[string]string{"template": name, "limit": le.Limit, "position": pos})
			return []finding.Finding{f}
		}
		f := finding.New(RuleTemplateUnparsable, RuleTemplateUnparsable.Severity, loc,
			fmt.Sprintf("%s: template does not parse: loaders that render it fail, a scanner cannot see it (%v)", name, err),
			map[string]string{"template": name, "error": err.Error(), "position": pos})
		return []finding.Finding{f}
	}
	a.collectAssignments(tmpl)
	a.walk(tmpl)
	a.loops(tmpl.Body, 1, 0, 0)
	return a.out
}

type tmplAnalyzer struct {
	loc  finding.Location
	name string
	src  string
	out  []finding.Finding

	memo     map[jinja.Expr]tval
	inChain  map[jinja.Node]bool // postfix nodes judged as part of a longer chain
	reported map[string]bool     // rule id + offset
	consts   map[string]tval     // variables set once to a constant
	assigned map[string]int      // how many times each variable is assigned
	tainted  map[string]string   // variables holding Python internals: why

	deepLoopsSeen, deepNestSeen bool
}

func (a *tmplAnalyzer) text(n jinja.Node) (string, jinja.Pos) {
	start, end := n.Span()
	if start.Offset < 0 || end > len(a.src) || end < start.Offset {
		return "", start
	}
	s := a.src[start.Offset:end]
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s, start
}

func (a *tmplAnalyzer) report(r finding.Rule, sev finding.Severity, n jinja.Node, msg string, ev map[string]string) {
	start, _ := n.Span()
	key := r.ID + "@" + strconv.Itoa(start.Offset)
	if a.reported[key] || len(a.out) >= maxTmplF {
		return
	}
	a.reported[key] = true
	text, pos := a.text(n)
	if ev == nil {
		ev = map[string]string{}
	}
	ev["template"] = a.name
	ev["expression"] = text
	ev["line"] = strconv.Itoa(pos.Line)
	ev["column"] = strconv.Itoa(pos.Col)
	a.out = append(a.out, finding.New(r, sev, a.loc,
		fmt.Sprintf("%s line %d: %s", a.name, pos.Line, msg), ev))
}

// isInternal reports whether an attribute name is a dunder or private name.
func isInternal(key string) bool { return strings.HasPrefix(key, "_") }

func isDunder(key string) bool {
	return len(key) > 4 && strings.HasPrefix(key, "__") && strings.HasSuffix(key, "__")
}

// collectAssignments records variables set to constants (for names built
// in one statement and used in another) and variables that hold Python
// internals (for escapes split over several statements).
func (a *tmplAnalyzer) collectAssignments(t *jinja.Template) {
	type assign struct {
		target jinja.Expr
		value  jinja.Expr
	}
	var as []assign
	jinja.Walk(t, func(n jinja.Node) bool {
		switch n := n.(type) {
		case *jinja.Set:
			if n.Value != nil {
				as = append(as, assign{n.Target, n.Value})
			} else {
				as = append(as, assign{n.Target, nil})
			}
		case *jinja.For:
			as = append(as, assign{n.Target, n.Iter})
		case *jinja.With:
			for i := range n.Targets {
				as = append(as, assign{n.Targets[i], n.Values[i]})
			}
		case *jinja.Macro:
			for _, p := range n.Params {
				a.assigned[p.Name] += 2
			}
		}
		return true
	})
	for _, x := range as {
		if nm, ok := x.target.(*jinja.Name); ok {
			a.assigned[nm.Name]++
		} else {
			jinja.Walk(x.target, func(n jinja.Node) bool {
				if nm, ok := n.(*jinja.Name); ok {
					a.assigned[nm.Name] += 2
				}
				return true
			})
		}
	}
	for _, x := range as {
		nm, ok := x.target.(*jinja.Name)
		if !ok || x.value == nil || a.assigned[nm.Name] != 1 {
			continue
		}
		if _, isFor := x.value.(*jinja.Name); isFor {
			continue
		}
		if v := a.fold(x.value, 0); v.kind == kStr {
			a.consts[nm.Name] = v
		}
	}
	a.memo = map[jinja.Expr]tval{} // folds before consts were known are stale
	// Taint: a fixpoint over assignments whose value reaches internals.
	for round := 0; round < 8; round++ {
		changed := false
		for _, x := range as {
			if x.value == nil {
				continue
			}
			why := a.reachesInternals(x.value)
			if why == "" {
				continue
			}
			jinja.Walk(x.target, func(n jinja.Node) bool {
				if nm, ok := n.(*jinja.Name); ok {
					if _, done := a.tainted[nm.Name]; !done {
						a.tainted[nm.Name] = why
						changed = true
					}
				}
				return true
			})
		}
		if !changed {
			break
		}
	}
}

// reachesInternals reports why e holds Python internals, or "".
func (a *tmplAnalyzer) reachesInternals(e jinja.Expr) string {
	why := ""
	jinja.Walk(e, func(n jinja.Node) bool {
		if why != "" {
			return false
		}
		switch n := n.(type) {
		case *jinja.Name:
			if w, ok := a.tainted[n.Name]; ok {
				why = w
			}
		case jinja.Expr:
			for _, s := range a.stepsOf(n) {
				if s.known && isInternal(s.key) {
					why = s.key
				}
			}
		}
		return why == ""
	})
	return why
}

// step is one link of an access chain: an attribute, an item, a call, a
// filter.
type step struct {
	kind  string // "attr", "item", "attr-filter", "attr-arg", "call", "filter", "slice", "format"
	key   string // the attribute name, when known
	known bool
	node  jinja.Expr // the node of this step
	keyE  jinja.Expr // the expression that computes the key, if any
}

// stepsOf returns the accesses that node n itself makes (not its operand).
func (a *tmplAnalyzer) stepsOf(n jinja.Node) []step {
	keyStep := func(kind string, node, keyE jinja.Expr) step {
		v := a.fold(keyE, 0)
		if v.kind == kStr {
			return step{kind: kind, key: v.s, known: true, node: node, keyE: keyE}
		}
		return step{kind: kind, node: node, keyE: keyE}
	}
	switch n := n.(type) {
	case *jinja.Getattr:
		return []step{{kind: "attr", key: n.Attr, known: true, node: n}}
	case *jinja.Getitem:
		if _, ok := n.Arg.(*jinja.Slice); ok {
			return []step{{kind: "slice", node: n}}
		}
		v := a.fold(n.Arg, 0)
		if v.kind == kNum || v.kind == kBool {
			return []step{{kind: "index", node: n}}
		}
		return []step{keyStep("item", n, n.Arg)}
	case *jinja.Filter:
		switch n.Name {
		case "attr":
			if len(n.Args) > 0 {
				return []step{keyStep("attr-filter", n, n.Args[0])}
			}
			return []step{{kind: "attr-filter", node: n}}
		case "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max", "dictsort":
			var out []step
			for _, kw := range n.Kwargs {
				if kw.Key == "attribute" {
					out = append(out, a.attrPath(n, kw.Value)...)
				}
			}
			if len(n.Args) > 0 {
				switch n.Name {
				case "selectattr", "rejectattr", "groupby":
					out = append(out, a.attrPath(n, n.Args[0])...)
				case "map":
					if v := a.fold(n.Args[0], 0); v.kind == kStr && v.s == "attr" && len(n.Args) > 1 {
						out = append(out, keyStep("attr-filter", n, n.Args[1]))
					}
				}
			}
			return append(out, step{kind: "filter", key: n.Name, node: n})
		case "format":
			return append(a.formatFields(n, n.Node), step{kind: "filter", key: n.Name, node: n})
		}
		return []step{{kind: "filter", key: n.Name, node: n}}
	case *jinja.Call:
		if g, ok := n.Node.(*jinja.Getattr); ok {
			switch g.Attr {
			case "__getattribute__", "__getattr__", "getattr", "get", "pop", "setdefault":
				if len(n.Args) > 0 {
					v := a.fold(n.Args[0], 0)
					if v.kind == kStr {
						return []step{{kind: "item", key: v.s, known: true, node: n, keyE: n.Args[0]}, {kind: "call", node: n}}
					}
				}
			case "format", "format_map":
				return append(a.formatFields(n, g.Node), step{kind: "call", node: n})
			}
		}
		return []step{{kind: "call", key: a.argsText(n), node: n}}
	}
	return nil
}

// argsText is the source of a call's argument list, shortened.
func (a *tmplAnalyzer) argsText(c *jinja.Call) string {
	_, calleeEnd := c.Node.Span()
	_, end := c.Span()
	if calleeEnd < 0 || end > len(a.src) || calleeEnd >= end {
		return "()"
	}
	s := a.src[calleeEnd:end]
	if len(s) > 60 {
		s = s[:30] + "…" + s[len(s)-20:]
	}
	return s
}

// attrPath splits a dotted attribute argument ("a.b") of map/selectattr.
func (a *tmplAnalyzer) attrPath(n, keyE jinja.Expr) []step {
	v := a.fold(keyE, 0)
	if v.kind != kStr {
		return []step{{kind: "attr-arg", node: n, keyE: keyE}}
	}
	var out []step
	for _, part := range strings.Split(v.s, ".") {
		out = append(out, step{kind: "attr-arg", key: part, known: true, node: n, keyE: keyE})
	}
	return out
}

// formatFields finds attribute accesses inside a str.format string:
// "{0.__class__}".format(x) reads x.__class__.
func (a *tmplAnalyzer) formatFields(n, fmtE jinja.Expr) []step {
	v := a.fold(fmtE, 0)
	if v.kind != kStr {
		return nil
	}
	var out []step
	s := v.s
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			i++
			continue
		}
		j := strings.IndexAny(s[i:], "}:!")
		if j < 0 {
			break
		}
		field := s[i+1 : i+j]
		for _, part := range strings.FieldsFunc(field, func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
			if isInternal(part) {
				out = append(out, step{kind: "format", key: part, known: true, node: n, keyE: fmtE})
			}
		}
		i += j
	}
	return out
}

// chain collects the accesses of a postfix chain, root first.
func (a *tmplAnalyzer) chain(e jinja.Expr) (jinja.Expr, []step) {
	var rev [][]step
	cur := e
	for i := 0; i < 10000; i++ {
		var next jinja.Expr
		switch n := cur.(type) {
		case *jinja.Getattr:
			next = n.Node
		case *jinja.Getitem:
			next = n.Node
		case *jinja.Call:
			next = n.Node
		case *jinja.Filter:
			next = n.Node
		}
		if next == nil {
			break
		}
		if cur != e {
			a.inChain[cur] = true
		}
		rev = append(rev, a.stepsOf(cur))
		cur = next
	}
	var steps []step
	for i := len(rev) - 1; i >= 0; i-- {
		steps = append(steps, rev[i]...)
	}
	return cur, steps
}

func (a *tmplAnalyzer) walk(t *jinja.Template) {
	jinja.Walk(t, func(n jinja.Node) bool {
		switch n := n.(type) {
		case *jinja.Include:
			a.report(RuleTemplateLoad, RuleTemplateLoad.Severity, n, "include loads another template: "+a.describeTmpl(n.Template), nil)
		case *jinja.Import:
			a.report(RuleTemplateLoad, RuleTemplateLoad.Severity, n, "import loads another template: "+a.describeTmpl(n.Template), nil)
		case *jinja.FromImport:
			a.report(RuleTemplateLoad, RuleTemplateLoad.Severity, n, "from-import loads another template: "+a.describeTmpl(n.Template), nil)
		case *jinja.Extends:
			a.report(RuleTemplateLoad, RuleTemplateLoad.Severity, n, "extends loads another template: "+a.describeTmpl(n.Template), nil)
		case *jinja.Getattr, *jinja.Getitem, *jinja.Call, *jinja.Filter:
			if !a.inChain[n] {
				a.judgeChain(n.(jinja.Expr))
			}
			a.judgeWork(n.(jinja.Expr))
		case *jinja.Binary:
			a.judgeWork(n)
		case *jinja.Const:
			a.judgeString(n)
		}
		if e, ok := n.(jinja.Expr); ok {
			a.judgeBuiltString(e)
		}
		return true
	})
}

func (a *tmplAnalyzer) describeTmpl(e jinja.Expr) string {
	if v := a.fold(e, 0); v.kind == kStr {
		return strconv.Quote(v.s)
	}
	text, _ := a.text(e)
	return "a name computed at render time (" + text + ")"
}

// judgeChain judges the outermost access chain ending at e.
func (a *tmplAnalyzer) judgeChain(e jinja.Expr) {
	root, steps := a.chain(e)
	rootName := ""
	if nm, ok := root.(*jinja.Name); ok {
		rootName = nm.Name
	}
	gadget, isGadget := templateGadgets[rootName]
	taint, isTainted := a.tainted[rootName]

	var internals, critical []string
	var dynamic []step
	var command string
	for i, s := range steps {
		if s.known {
			if isInternal(s.key) {
				internals = append(internals, s.key)
			}
			if criticalKeys[s.key] {
				critical = append(critical, s.key)
			}
			if commandCalls[s.key] && i+1 < len(steps) && steps[i+1].kind == "call" {
				command = s.key
			}
			continue
		}
		switch s.kind {
		case "attr-filter", "attr-arg", "item":
			dynamic = append(dynamic, s)
		}
	}
	rootText := rootName
	if rootText == "" {
		rootText, _ = a.text(root)
		if len(rootText) > 40 {
			rootText = "(…)"
		}
	}
	path := describeChain(rootText, steps)
	ev := map[string]string{"access": path}
	if isGadget {
		ev["gadget"] = rootName + " (" + gadget + ")"
	}
	via := ""
	if isGadget && (len(internals) > 0 || command != "") {
		via = fmt.Sprintf(" through the global %s (%s)", rootName, gadget)
	}
	if isTainted {
		via = fmt.Sprintf(" through %s, which holds Python internals (%s)", rootName, taint)
	}
	reachesInternals := len(internals) > 0 || isTainted
	escapes := false
	for _, k := range critical {
		if isDunder(k) && (k == "__globals__" || k == "__builtins__" || k == "__subclasses__" || k == "__import__" || k == "__code__") {
			escapes = true
		}
	}
	if (reachesInternals && len(critical) > 0) || escapes || (command != "" && (reachesInternals || isGadget)) {
		a.report(RuleTemplateEscape, RuleTemplateEscape.Severity, e,
			fmt.Sprintf("the template walks Python internals to %s%s: %s", strings.Join(dedupe(append(critical, command)), ", "), via, path), ev)
		return
	}
	if len(internals) > 0 {
		a.report(RuleTemplateInternals, RuleTemplateInternals.Severity, e,
			fmt.Sprintf("the template reads %s%s: %s", strings.Join(dedupe(internals), ", "), via, path), ev)
		return
	}
	if command != "" {
		a.report(RuleTemplateInternals, RuleTemplateInternals.Severity, e,
			fmt.Sprintf("the template calls a method named %s, which runs commands or code on Python objects: %s", command, path), ev)
		return
	}
	for _, s := range dynamic {
		suspicious := s.kind != "item" || isGadget || isTainted || a.looksBuilt(s.keyE, 0)
		if !suspicious {
			continue
		}
		sev := RuleTemplateDynamicAttr.Severity
		what := "an attribute"
		if s.kind == "item" {
			what = "an item"
		}
		keyText, _ := a.text(s.keyE)
		if keyText == "" {
			keyText = "a missing name"
		}
		ev["key"] = keyText
		a.report(RuleTemplateDynamicAttr, sev, e,
			fmt.Sprintf("the template looks up %s whose name is computed at render time (%s): %s", what, keyText, path), ev)
		return
	}
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// describeChain writes an access chain in Python-like notation.
func describeChain(root string, steps []step) string {
	var b strings.Builder
	b.WriteString(root)
	for _, s := range steps {
		if b.Len() > 300 {
			b.WriteString("…")
			break
		}
		key := s.key
		if !s.known {
			key = "?"
		}
		switch s.kind {
		case "attr":
			b.WriteString("." + key)
		case "item":
			if s.known {
				b.WriteString("[" + strconv.Quote(key) + "]")
			} else {
				b.WriteString("[?]")
			}
		case "index":
			b.WriteString("[n]")
		case "slice":
			b.WriteString("[:]")
		case "call":
			if s.key == "" {
				s.key = "()"
			}
			b.WriteString(s.key)
		case "attr-filter":
			b.WriteString("|attr(" + strconv.Quote(key) + ")")
		case "attr-arg":
			b.WriteString("|…(attribute=" + strconv.Quote(key) + ")")
		case "format":
			b.WriteString("|format({…" + key + "…})")
		case "filter":
			b.WriteString("|" + key)
		}
	}
	return b.String()
}

// looksBuilt reports whether a key expression builds a string at render
// time: concatenation, formatting, joining, replacing, reversing, slicing,
// or characters taken from an object's text.
func (a *tmplAnalyzer) looksBuilt(e jinja.Expr, depth int) bool {
	if e == nil || depth > 32 {
		return false
	}
	switch n := e.(type) {
	case *jinja.Binary:
		if n.Op == "~" || n.Op == "%" || n.Op == "*" {
			return true
		}
		if n.Op == "+" {
			return a.fold(n.Left, 0).kind == kStr || a.fold(n.Right, 0).kind == kStr || a.looksBuilt(n.Left, depth+1) || a.looksBuilt(n.Right, depth+1)
		}
	case *jinja.Filter:
		switch n.Name {
		case "join", "format", "replace", "reverse", "string", "lower", "upper", "list", "first", "last", "safe", "title", "capitalize", "center", "urlencode":
			return true
		}
	case *jinja.Call:
		if g, ok := n.Node.(*jinja.Getattr); ok {
			switch g.Attr {
			case "format", "join", "replace", "lower", "upper", "strip", "decode", "encode", "swapcase":
				return true
			}
		}
	case *jinja.Getitem:
		if _, ok := n.Arg.(*jinja.Slice); ok {
			return true
		}
		// A character taken from an object's text: (x|string)[3].
		if f, ok := n.Node.(*jinja.Filter); ok && (f.Name == "string" || f.Name == "list") {
			return true
		}
	case *jinja.Name:
		return a.consts[n.Name].kind == kStr
	}
	return false
}

// judgeString reports a literal that names Python internals, used
// anywhere (stored in a variable, passed to a macro).
func (a *tmplAnalyzer) judgeString(c *jinja.Const) {
	s, ok := c.Value.(string)
	if !ok || !isDunder(s) || !isIdent(s) {
		return
	}
	a.report(RuleTemplateInternals, RuleTemplateInternals.Severity, c,
		fmt.Sprintf("the template holds the Python internal name %q as a string, for a lookup made elsewhere", s), nil)
}

// judgeBuiltString reports a string built at render time whose constant
// value names Python internals: '__cla' ~ 'ss__', ['__','class','__']|join,
// '{}{}'.format(…), '__ssalc__'|reverse.
func (a *tmplAnalyzer) judgeBuiltString(e jinja.Expr) {
	if _, ok := e.(*jinja.Const); ok {
		return
	}
	if _, ok := e.(*jinja.Name); ok {
		return
	}
	if !a.looksBuilt(e, 0) {
		return
	}
	v := a.fold(e, 0)
	if v.kind != kStr {
		return
	}
	var names []string
	for _, w := range strings.FieldsFunc(v.s, func(r rune) bool { return !(r == '_' || r == '.' || isAlnum(r)) }) {
		for _, part := range strings.Split(w, ".") {
			if isDunder(part) && isIdent(part) {
				names = append(names, part)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	sev := RuleTemplateInternals.Severity
	r := RuleTemplateInternals
	for _, nm := range names {
		if criticalKeys[nm] {
			r, sev = RuleTemplateEscape, RuleTemplateEscape.Severity
		}
	}
	a.report(r, sev, e, fmt.Sprintf("the template builds the Python internal name %s at render time, hiding it from text search",
		strings.Join(dedupe(names), ", ")), map[string]string{"built": v.s})
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || isAlnum(r)) {
			return false
		}
	}
	return s != ""
}

// judgeWork reports constant work large enough to stall rendering.
func (a *tmplAnalyzer) judgeWork(e jinja.Expr) {
	switch n := e.(type) {
	case *jinja.Call:
		if nm, ok := n.Node.(*jinja.Name); ok && nm.Name == "range" {
			if c, ok := a.rangeLen(n); ok && c >= largeWork {
				a.workFinding(n, c, "makes a range of %s numbers")
			}
		}
	case *jinja.Filter:
		switch n.Name {
		case "center", "indent", "wordwrap", "truncate", "batch", "slice":
			for _, arg := range n.Args {
				if v := a.fold(arg, 0); v.kind == kNum && v.n >= largeWork {
					a.workFinding(n, v.n, "applies "+n.Name+" with a width or count of %s")
				}
			}
		}
	case *jinja.Binary:
		switch n.Op {
		case "*":
			l, r := a.fold(n.Left, 0), a.fold(n.Right, 0)
			for _, pair := range [][2]tval{{l, r}, {r, l}} {
				if (pair[0].kind == kStr || pair[0].kind == kList) && pair[1].kind == kNum && pair[1].n >= largeWork {
					a.workFinding(n, pair[1].n, "repeats a string or list %s times")
				}
			}
		case "**":
			if v := a.fold(n, 0); v.kind == kNum && v.huge {
				a.workFinding(n, math.Inf(1), "computes a power with %s digits")
			}
		}
	}
}

func (a *tmplAnalyzer) workFinding(n jinja.Expr, count float64, what string) {
	sev := finding.Medium
	if count >= hugeWork {
		sev = finding.High
	}
	c := "a huge number of"
	if !math.IsInf(count, 0) {
		c = strconv.FormatFloat(count, 'g', 4, 64)
	}
	a.report(RuleTemplateDoS, sev, n, "rendering "+fmt.Sprintf(what, c)+" on every request: a denial of service", nil)
}

// rangeLen computes len(range(…)) for constant arguments.
func (a *tmplAnalyzer) rangeLen(c *jinja.Call) (float64, bool) {
	if len(c.Args) == 0 || len(c.Args) > 3 || c.DynArgs != nil {
		return 0, false
	}
	var xs []float64
	for _, arg := range c.Args {
		v := a.fold(arg, 0)
		if v.kind != kNum {
			return 0, false
		}
		xs = append(xs, v.n)
	}
	start, stop, stepv := 0.0, 0.0, 1.0
	switch len(xs) {
	case 1:
		stop = xs[0]
	case 2:
		start, stop = xs[0], xs[1]
	case 3:
		start, stop, stepv = xs[0], xs[1], xs[2]
	}
	if stepv == 0 {
		return 0, false
	}
	n := math.Ceil((stop - start) / stepv)
	if n < 0 || math.IsNaN(n) {
		return 0, true
	}
	return n, true
}

// loops walks the statements to find nested loops whose constant sizes
// multiply to huge work, and very deep nesting.
func (a *tmplAnalyzer) loops(body []jinja.Node, mult float64, loopDepth, depth int) {
	for _, n := range body {
		switch n := n.(type) {
		case *jinja.For:
			size := 1.0
			if c, ok := n.Iter.(*jinja.Call); ok {
				if nm, ok := c.Node.(*jinja.Name); ok && nm.Name == "range" {
					if l, ok := a.rangeLen(c); ok {
						size = math.Max(l, 1)
					}
				}
			}
			m := mult * size
			if m >= hugeWork && size < m {
				a.report(RuleTemplateDoS, finding.High, n,
					fmt.Sprintf("nested loops run %s iterations on every render: a denial of service", strconv.FormatFloat(m, 'g', 4, 64)), nil)
			}
			if loopDepth+1 == deepLoops && !a.deepLoopsSeen {
				a.deepLoopsSeen = true
				a.report(RuleTemplateDoS, RuleTemplateDoS.Severity, n,
					fmt.Sprintf("loops are nested %d deep: rendering time grows as the product of their sizes", deepLoops), nil)
			}
			a.loops(n.Body, m, loopDepth+1, depth+1)
			a.loops(n.Else, mult, loopDepth, depth+1)
			continue
		}
		if depth+1 == deepNest && !a.deepNestSeen {
			a.deepNestSeen = true
			a.report(RuleTemplateDoS, RuleTemplateDoS.Severity, n,
				fmt.Sprintf("statements are nested %d deep: published chat templates stay far below", deepNest), nil)
		}
		for _, c := range jinja.Children(n) {
			if _, isExpr := c.(jinja.Expr); isExpr {
				continue
			}
			if elif, ok := c.(*jinja.If); ok {
				a.loops(elif.Body, mult, loopDepth, depth+1)
				continue
			}
			a.loops([]jinja.Node{c}, mult, loopDepth, depth+1)
		}
	}
}

// tval is the statically known value of a template expression: constant
// folding over literals and the string operations used to hide names.
type tval struct {
	kind tkind
	s    string
	n    float64
	list []tval
	huge bool // a number too large to compute (a power with millions of digits)
}

type tkind int

const (
	kUnknown tkind = iota
	kStr
	kNum
	kBool
	kNone
	kList
)

var unknown = tval{}

func strv(s string) tval {
	if len(s) > maxFold {
		return unknown
	}
	return tval{kind: kStr, s: s}
}

func numv(f float64) tval { return tval{kind: kNum, n: f} }

// str converts v as Jinja's ~ and |string do.
func (v tval) str() (string, bool) {
	switch v.kind {
	case kStr:
		return v.s, true
	case kNum:
		if v.huge || math.IsInf(v.n, 0) {
			return "", false
		}
		if v.n == math.Trunc(v.n) && math.Abs(v.n) < 1e15 {
			return strconv.FormatInt(int64(v.n), 10), true
		}
		return strconv.FormatFloat(v.n, 'g', -1, 64), true
	case kBool:
		if v.n != 0 {
			return "True", true
		}
		return "False", true
	case kNone:
		return "None", true
	}
	return "", false
}

func (v tval) strs() ([]string, bool) {
	switch v.kind {
	case kList:
		out := make([]string, 0, len(v.list))
		for _, it := range v.list {
			s, ok := it.str()
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case kStr:
		out := make([]string, 0, len(v.s))
		for _, r := range v.s {
			out = append(out, string(r))
		}
		return out, true
	}
	return nil, false
}

func (a *tmplAnalyzer) fold(e jinja.Expr, depth int) tval {
	if e == nil || depth > 64 {
		return unknown
	}
	if v, ok := a.memo[e]; ok {
		return v
	}
	v := a.fold1(e, depth)
	a.memo[e] = v
	return v
}

func (a *tmplAnalyzer) fold1(e jinja.Expr, depth int) tval {
	f := func(x jinja.Expr) tval { return a.fold(x, depth+1) }
	switch n := e.(type) {
	case *jinja.Const:
		switch c := n.Value.(type) {
		case string:
			return strv(c)
		case int64:
			return numv(float64(c))
		case float64:
			return numv(c)
		case bool:
			if c {
				return tval{kind: kBool, n: 1}
			}
			return tval{kind: kBool}
		case nil:
			return tval{kind: kNone}
		}
	case *jinja.Name:
		return a.consts[n.Name]
	case *jinja.List, *jinja.Tuple:
		var items []jinja.Expr
		if l, ok := n.(*jinja.List); ok {
			items = l.Items
		} else {
			items = n.(*jinja.Tuple).Items
		}
		if len(items) > 1024 {
			return unknown
		}
		out := tval{kind: kList}
		for _, it := range items {
			out.list = append(out.list, f(it))
		}
		return out
	case *jinja.Unary:
		x := f(n.Node)
		if x.kind == kNum {
			switch n.Op {
			case "-":
				x.n = -x.n
				return x
			case "+":
				return x
			}
		}
	case *jinja.Binary:
		return foldBinary(n.Op, f(n.Left), f(n.Right))
	case *jinja.Getitem:
		return foldItem(f(n.Node), n.Arg, f)
	case *jinja.Filter:
		if n.Node == nil {
			return unknown
		}
		var args []tval
		for _, x := range n.Args {
			args = append(args, f(x))
		}
		return foldFilter(n.Name, f(n.Node), args, n.Kwargs, f)
	case *jinja.Call:
		var args []tval
		for _, x := range n.Args {
			args = append(args, f(x))
		}
		switch callee := n.Node.(type) {
		case *jinja.Name:
			if callee.Name == "dict" && len(n.Args) == 0 && n.DynArgs == nil && n.DynKwargs == nil {
				// dict(__cla=1, ss__=2) iterates to its keys.
				out := tval{kind: kList}
				for _, kw := range n.Kwargs {
					out.list = append(out.list, strv(kw.Key))
				}
				return out
			}
		case *jinja.Getattr:
			return foldMethod(callee.Attr, f(callee.Node), args, n.Kwargs, f)
		}
	}
	return unknown
}

func foldBinary(op string, l, r tval) tval {
	switch op {
	case "~":
		ls, ok1 := l.str()
		rs, ok2 := r.str()
		if ok1 && ok2 {
			return strv(ls + rs)
		}
	case "+":
		switch {
		case l.kind == kStr && r.kind == kStr:
			return strv(l.s + r.s)
		case l.kind == kNum && r.kind == kNum:
			return tval{kind: kNum, n: l.n + r.n, huge: l.huge || r.huge}
		case l.kind == kList && r.kind == kList && len(l.list)+len(r.list) <= 1024:
			return tval{kind: kList, list: append(append([]tval{}, l.list...), r.list...)}
		}
	case "-", "/", "//":
		if l.kind == kNum && r.kind == kNum {
			switch op {
			case "-":
				return tval{kind: kNum, n: l.n - r.n, huge: l.huge || r.huge}
			case "/":
				if r.n != 0 {
					return numv(l.n / r.n)
				}
			case "//":
				if r.n != 0 {
					return numv(math.Floor(l.n / r.n))
				}
			}
		}
	case "*":
		switch {
		case l.kind == kNum && r.kind == kNum:
			return tval{kind: kNum, n: l.n * r.n, huge: l.huge || r.huge}
		case l.kind == kStr && r.kind == kNum:
			return repeat(l.s, r.n)
		case l.kind == kNum && r.kind == kStr:
			return repeat(r.s, l.n)
		}
	case "**":
		if l.kind == kNum && r.kind == kNum {
			// A power whose result has millions of bits stalls Python.
			bits := r.n * math.Log2(math.Max(math.Abs(l.n), 1))
			return tval{kind: kNum, n: math.Pow(l.n, r.n), huge: l.huge || r.huge || bits > 1e6}
		}
	case "%":
		if l.kind == kNum && r.kind == kNum && r.n != 0 {
			return numv(math.Mod(l.n, r.n))
		}
		if l.kind == kStr {
			args := []tval{r}
			if r.kind == kList {
				args = r.list
			}
			return percentFormat(l.s, args)
		}
	}
	return unknown
}

func repeat(s string, n float64) tval {
	if n <= 0 {
		return strv("")
	}
	if float64(len(s))*n > maxFold {
		return unknown
	}
	return strv(strings.Repeat(s, int(n)))
}

func foldItem(base tval, arg jinja.Expr, f func(jinja.Expr) tval) tval {
	if sl, ok := arg.(*jinja.Slice); ok {
		var elems []tval
		switch base.kind {
		case kStr:
			for _, r := range base.s {
				elems = append(elems, strv(string(r)))
			}
		case kList:
			elems = base.list
		default:
			return unknown
		}
		bound := func(x jinja.Expr) (int, bool, bool) {
			if x == nil {
				return 0, false, true
			}
			v := f(x)
			if v.kind != kNum || math.Abs(v.n) > 1e9 {
				return 0, false, false
			}
			return int(v.n), true, true
		}
		start, hasStart, ok1 := bound(sl.Start)
		stop, hasStop, ok2 := bound(sl.Stop)
		stepN, hasStep, ok3 := bound(sl.Step)
		if !ok1 || !ok2 || !ok3 {
			return unknown
		}
		if !hasStep {
			stepN = 1
		}
		if stepN == 0 {
			return unknown
		}
		n := len(elems)
		norm := func(i int, has bool, def int) int {
			if !has {
				return def
			}
			if i < 0 {
				i += n
			}
			lo, hi := 0, n
			if stepN < 0 {
				lo, hi = -1, n-1
			}
			return min(max(i, lo), hi)
		}
		var out []tval
		if stepN > 0 {
			for i := norm(start, hasStart, 0); i < norm(stop, hasStop, n); i += stepN {
				out = append(out, elems[i])
			}
		} else {
			for i := norm(start, hasStart, n-1); i > norm(stop, hasStop, -1); i += stepN {
				out = append(out, elems[i])
			}
		}
		if base.kind == kStr {
			var b strings.Builder
			for _, x := range out {
				b.WriteString(x.s)
			}
			return strv(b.String())
		}
		return tval{kind: kList, list: out}
	}
	idx := f(arg)
	if idx.kind != kNum || idx.n != math.Trunc(idx.n) || math.Abs(idx.n) > 1e9 {
		return unknown
	}
	i := int(idx.n)
	switch base.kind {
	case kStr:
		rs := []rune(base.s)
		if i < 0 {
			i += len(rs)
		}
		if i >= 0 && i < len(rs) {
			return strv(string(rs[i]))
		}
	case kList:
		if i < 0 {
			i += len(base.list)
		}
		if i >= 0 && i < len(base.list) {
			return base.list[i]
		}
	}
	return unknown
}

func kwarg(kws []jinja.Keyword, name string, f func(jinja.Expr) tval) (tval, bool) {
	for _, k := range kws {
		if k.Key == name {
			return f(k.Value), true
		}
	}
	return unknown, false
}

func foldFilter(name string, x tval, args []tval, kws []jinja.Keyword, f func(jinja.Expr) tval) tval {
	switch name {
	case "join":
		sep := ""
		if len(args) > 0 {
			s, ok := args[0].str()
			if !ok {
				return unknown
			}
			sep = s
		} else if v, ok := kwarg(kws, "d", f); ok {
			if s, ok := v.str(); ok {
				sep = s
			}
		}
		parts, ok := x.strs()
		if !ok {
			return unknown
		}
		return strv(strings.Join(parts, sep))
	case "format":
		if x.kind == kStr {
			return percentFormat(x.s, args)
		}
	case "replace":
		if x.kind == kStr && len(args) >= 2 && args[0].kind == kStr && args[1].kind == kStr {
			count := -1
			if len(args) > 2 && args[2].kind == kNum {
				count = int(args[2].n)
			}
			if len(args[0].s) == 0 && len(x.s) > maxFold/8 {
				return unknown
			}
			return strv(strings.Replace(x.s, args[0].s, args[1].s, count))
		}
	case "reverse":
		switch x.kind {
		case kStr:
			rs := []rune(x.s)
			for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
				rs[i], rs[j] = rs[j], rs[i]
			}
			return strv(string(rs))
		case kList:
			out := make([]tval, len(x.list))
			for i, it := range x.list {
				out[len(out)-1-i] = it
			}
			return tval{kind: kList, list: out}
		}
	case "upper", "lower", "trim", "title", "capitalize", "string", "safe", "e", "escape":
		s, ok := x.str()
		if !ok {
			return unknown
		}
		return strMethod(name, s)
	case "list":
		switch x.kind {
		case kList:
			return x
		case kStr:
			parts, _ := x.strs()
			out := tval{kind: kList}
			for _, p := range parts {
				out.list = append(out.list, strv(p))
			}
			return out
		}
	case "first", "last":
		parts, ok := x.strs()
		if !ok || len(parts) == 0 {
			if x.kind == kList && len(x.list) > 0 {
				if name == "first" {
					return x.list[0]
				}
				return x.list[len(x.list)-1]
			}
			return unknown
		}
		if x.kind == kList {
			if name == "first" {
				return x.list[0]
			}
			return x.list[len(x.list)-1]
		}
		if name == "first" {
			return strv(parts[0])
		}
		return strv(parts[len(parts)-1])
	case "int":
		if x.kind == kNum {
			return numv(math.Trunc(x.n))
		}
		if x.kind == kStr {
			if v, err := strconv.ParseInt(strings.TrimSpace(x.s), 10, 64); err == nil {
				return numv(float64(v))
			}
		}
	case "length", "count":
		switch x.kind {
		case kStr:
			return numv(float64(len([]rune(x.s))))
		case kList:
			return numv(float64(len(x.list)))
		}
	}
	return unknown
}

func strMethod(name, s string) tval {
	switch name {
	case "upper":
		return strv(strings.ToUpper(s))
	case "lower":
		return strv(strings.ToLower(s))
	case "trim", "strip":
		return strv(strings.TrimSpace(s))
	case "lstrip":
		return strv(strings.TrimLeft(s, " \t\n\r\v\f"))
	case "rstrip":
		return strv(strings.TrimRight(s, " \t\n\r\v\f"))
	case "capitalize":
		if s == "" {
			return strv(s)
		}
		rs := []rune(strings.ToLower(s))
		return strv(strings.ToUpper(string(rs[0])) + string(rs[1:]))
	case "title":
		var b strings.Builder
		prev := ' '
		for _, r := range strings.ToLower(s) {
			if !isAlnum(prev) && r >= 'a' && r <= 'z' {
				r -= 32
			}
			b.WriteRune(r)
			prev = r
		}
		return strv(b.String())
	case "swapcase":
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= 'a' && r <= 'z':
				b.WriteRune(r - 32)
			case r >= 'A' && r <= 'Z':
				b.WriteRune(r + 32)
			default:
				b.WriteRune(r)
			}
		}
		return strv(b.String())
	case "string", "safe", "e", "escape":
		return strv(s)
	}
	return unknown
}

func foldMethod(name string, recv tval, args []tval, kws []jinja.Keyword, f func(jinja.Expr) tval) tval {
	if recv.kind != kStr {
		return unknown
	}
	switch name {
	case "format":
		kw := map[string]tval{}
		for _, k := range kws {
			kw[k.Key] = f(k.Value)
		}
		return braceFormat(recv.s, args, kw)
	case "join":
		if len(args) == 1 {
			parts, ok := args[0].strs()
			if ok {
				return strv(strings.Join(parts, recv.s))
			}
		}
	case "replace":
		return foldFilter("replace", recv, args, nil, f)
	case "upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase":
		if len(args) == 0 {
			return strMethod(name, recv.s)
		}
	}
	return unknown
}

// percentFormat folds Python's "%s %d %c" formatting (the format filter and
// the % operator).
func percentFormat(format string, args []tval) tval {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		// Skip flags, width and precision.
		for i < len(format) && strings.IndexByte("#0- +.123456789", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return unknown
		}
		conv := format[i]
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if ai >= len(args) {
			return unknown
		}
		arg := args[ai]
		ai++
		switch conv {
		case 's', 'r', 'a':
			s, ok := arg.str()
			if !ok {
				return unknown
			}
			if conv != 's' && arg.kind == kStr {
				s = "'" + s + "'"
			}
			b.WriteString(s)
		case 'd', 'i', 'u':
			if arg.kind != kNum {
				return unknown
			}
			b.WriteString(strconv.FormatInt(int64(arg.n), 10))
		case 'c':
			switch {
			case arg.kind == kNum && arg.n >= 0 && arg.n <= 0x10FFFF:
				b.WriteRune(rune(arg.n))
			case arg.kind == kStr && len([]rune(arg.s)) == 1:
				b.WriteString(arg.s)
			default:
				return unknown
			}
		case 'x', 'X', 'o':
			if arg.kind != kNum {
				return unknown
			}
			base := map[byte]int{'x': 16, 'X': 16, 'o': 8}[conv]
			s := strconv.FormatInt(int64(arg.n), base)
			if conv == 'X' {
				s = strings.ToUpper(s)
			}
			b.WriteString(s)
		default:
			return unknown
		}
		if b.Len() > maxFold {
			return unknown
		}
	}
	return strv(b.String())
}

// braceFormat folds str.format with positional and keyword fields; the
// conversions that matter for building names are "", "s" and "c".
func braceFormat(format string, args []tval, kw map[string]tval) tval {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '{' && i+1 < len(format) && format[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			j := strings.IndexByte(format[i:], '}')
			if j < 0 {
				return unknown
			}
			field := format[i+1 : i+j]
			i += j
			spec := ""
			if k := strings.IndexAny(field, ":!"); k >= 0 {
				spec = field[k+1:]
				field = field[:k]
			}
			var arg tval
			switch {
			case field == "":
				if auto >= len(args) {
					return unknown
				}
				arg = args[auto]
				auto++
			case isDigit(field):
				k, _ := strconv.Atoi(field)
				if k >= len(args) {
					return unknown
				}
				arg = args[k]
			default:
				v, ok := kw[field]
				if !ok {
					return unknown // also attribute fields: judged as accesses
				}
				arg = v
			}
			switch spec {
			case "", "s":
				s, ok := arg.str()
				if !ok {
					return unknown
				}
				b.WriteString(s)
			case "c":
				if arg.kind != kNum || arg.n < 0 || arg.n > 0x10FFFF {
					return unknown
				}
				b.WriteRune(rune(arg.n))
			default:
				return unknown
			}
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxFold {
			return unknown
		}
	}
	return strv(b.String())
}

func isDigit(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

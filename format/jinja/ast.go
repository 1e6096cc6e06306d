package jinja

// Pos is a place in the template source: a byte offset and a 1-based line
// and column (the column counts bytes).
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// Node is any node of the syntax tree: a statement, an expression or a
// piece of text. Span gives the source it was parsed from.
type Node interface {
	Span() (start Pos, end int)
}

// Expr is a node that computes a value.
type Expr interface {
	Node
	expr()
}

// span is embedded in every node.
type span struct {
	Start Pos
	End   int // byte offset just after the node
}

func (s *span) Span() (Pos, int) { return s.Start, s.End }

type exprNode struct{ span }

func (exprNode) expr() {}

// Template is the root: a parsed template.
type Template struct {
	span
	Body []Node
	// Nodes is the number of nodes in the tree.
	Nodes int
}

// Statements and text.
type (
	// Text is template data, after whitespace control.
	Text struct {
		span
		Text string
		Raw  bool // from a {% raw %} block
	}
	// Output is "{{ expr }}".
	Output struct {
		span
		Expr Expr
	}
	// If is "{% if %}…{% elif %}…{% else %}…{% endif %}"; each elif is an If
	// without Elifs and Else.
	If struct {
		span
		Test  Expr
		Body  []Node
		Elifs []*If
		Else  []Node
	}
	// For is "{% for Target in Iter if Filter recursive %}…{% else %}…{% endfor %}".
	For struct {
		span
		Target    Expr
		Iter      Expr
		Filter    Expr // the "if" clause, or nil
		Recursive bool
		Body      []Node
		Else      []Node
	}
	// Set is "{% set Target = Value %}", or a block set
	// "{% set Target | filters %}…{% endset %}" (Value nil, Body set).
	Set struct {
		span
		Target  Expr
		Value   Expr
		Filters []*Filter // of a block set; their Node is nil
		Body    []Node
	}
	// Macro is "{% macro Name(Params) %}…{% endmacro %}".
	Macro struct {
		span
		Name     string
		Params   []*Name
		Defaults []Expr // for the last len(Defaults) params
		Body     []Node
	}
	// CallBlock is "{% call(Params) Call %}…{% endcall %}".
	CallBlock struct {
		span
		Call     *Call
		Params   []*Name
		Defaults []Expr
		Body     []Node
	}
	// FilterBlock is "{% filter f|g %}…{% endfilter %}".
	FilterBlock struct {
		span
		Filters []*Filter // their Node is nil
		Body    []Node
	}
	// With is "{% with a = 1, b = 2 %}…{% endwith %}".
	With struct {
		span
		Targets []Expr
		Values  []Expr
		Body    []Node
	}
	// Import is "{% import Template as Target %}".
	Import struct {
		span
		Template    Expr
		Target      string
		WithContext bool
	}
	// FromImport is "{% from Template import a as b, c %}".
	FromImport struct {
		span
		Template    Expr
		Names       []ImportName
		WithContext bool
	}
	// Include is "{% include Template ignore missing %}".
	Include struct {
		span
		Template      Expr
		IgnoreMissing bool
		WithContext   bool
	}
	// Extends is "{% extends Template %}".
	Extends struct {
		span
		Template Expr
	}
	// Block is "{% block Name %}…{% endblock %}".
	Block struct {
		span
		Name     string
		Scoped   bool
		Required bool
		Body     []Node
	}
	// Break is "{% break %}" (loopcontrols extension).
	Break struct{ span }
	// Continue is "{% continue %}" (loopcontrols extension).
	Continue struct{ span }
	// Do is "{% do Expr %}" (do extension).
	Do struct {
		span
		Expr Expr
	}
	// ScopedBlock is a block tag that only changes rendering context:
	// "{% autoescape e %}" (Expr set) and Hugging Face's "{% generation %}".
	ScopedBlock struct {
		span
		Tag  string
		Expr Expr
		Body []Node
	}
)

// ImportName is one name of a from-import.
type ImportName struct {
	Name  string
	Alias string
}

// Expressions.
type (
	// Name is a variable.
	Name struct {
		exprNode
		Name string
	}
	// Const is a literal: Value is a string, int64, float64, bool or nil
	// (none). An integer too large for int64 is a float64 and BigInt holds
	// its digits.
	Const struct {
		exprNode
		Value  any
		BigInt string
	}
	// List is "[a, b]".
	List struct {
		exprNode
		Items []Expr
	}
	// Tuple is "(a, b)" or a bare "a, b".
	Tuple struct {
		exprNode
		Items []Expr
	}
	// Dict is "{k: v}".
	Dict struct {
		exprNode
		Keys   []Expr
		Values []Expr
	}
	// Getattr is "Node.Attr".
	Getattr struct {
		exprNode
		Node Expr
		Attr string
	}
	// Getitem is "Node[Arg]"; Arg may be a *Slice or a *Tuple of them.
	Getitem struct {
		exprNode
		Node Expr
		Arg  Expr
	}
	// Slice is "Start:Stop:Step" inside a subscript; absent parts are nil.
	Slice struct {
		exprNode
		Start, Stop, Step Expr
	}
	// Call is "Node(Args, k=v, *DynArgs, **DynKwargs)".
	Call struct {
		exprNode
		Node      Expr
		Args      []Expr
		Kwargs    []Keyword
		DynArgs   Expr
		DynKwargs Expr
	}
	// Filter is "Node|Name(Args)". In filter blocks and block sets Node is nil.
	Filter struct {
		exprNode
		Node      Expr
		Name      string
		Args      []Expr
		Kwargs    []Keyword
		DynArgs   Expr
		DynKwargs Expr
	}
	// Test is "Node is Name(Args)"; "is not" is a Unary "not" around it.
	Test struct {
		exprNode
		Node      Expr
		Name      string
		Args      []Expr
		Kwargs    []Keyword
		DynArgs   Expr
		DynKwargs Expr
	}
	// Binary is "Left Op Right" for + - * / // % ** ~ and, or.
	Binary struct {
		exprNode
		Op          string
		Left, Right Expr
	}
	// Unary is "not X", "-X" or "+X".
	Unary struct {
		exprNode
		Op   string
		Node Expr
	}
	// Compare is "Expr op1 e1 op2 e2…" with ==, !=, <, <=, >, >=, in, notin.
	Compare struct {
		exprNode
		Expr Expr
		Ops  []Operand
	}
	// CondExpr is "Then if Test else Else"; Else may be nil.
	CondExpr struct {
		exprNode
		Test, Then, Else Expr
	}
)

// Keyword is a keyword argument "Key=Value".
type Keyword struct {
	Key   string
	Value Expr
}

// Operand is one comparison step of a Compare.
type Operand struct {
	Op   string
	Expr Expr
}

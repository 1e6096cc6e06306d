package jinja

import (
	"fmt"
	"strings"
)

// dump renders a node as an S-expression, for tests.
func dump(n Node) string {
	var b strings.Builder
	dumpTo(&b, n)
	return b.String()
}

func dumpList[T Node](b *strings.Builder, head string, ns []T) {
	if strings.HasPrefix(head, " ") {
		b.WriteByte(' ')
		head = head[1:]
	}
	b.WriteString("(" + head)
	for _, n := range ns {
		b.WriteByte(' ')
		dumpTo(b, n)
	}
	b.WriteByte(')')
}

func dumpArgs(b *strings.Builder, args []Expr, kw []Keyword, da, dk Expr) {
	for _, a := range args {
		b.WriteByte(' ')
		dumpTo(b, a)
	}
	for _, k := range kw {
		b.WriteString(" " + k.Key + "=")
		dumpTo(b, k.Value)
	}
	if da != nil {
		b.WriteString(" *")
		dumpTo(b, da)
	}
	if dk != nil {
		b.WriteString(" **")
		dumpTo(b, dk)
	}
}

func dumpTo(b *strings.Builder, n Node) {
	if n == nil || isNilNode(n) {
		b.WriteString("_")
		return
	}
	switch n := n.(type) {
	case *Template:
		dumpList(b, "template", n.Body)
	case *Text:
		fmt.Fprintf(b, "%q", n.Text)
	case *Output:
		b.WriteString("(out ")
		dumpTo(b, n.Expr)
		b.WriteByte(')')
	case *Name:
		b.WriteString(n.Name)
	case *Const:
		switch v := n.Value.(type) {
		case string:
			fmt.Fprintf(b, "%q", v)
		case nil:
			b.WriteString("none")
		default:
			fmt.Fprint(b, v)
		}
	case *List:
		dumpList(b, "list", n.Items)
	case *Tuple:
		dumpList(b, "tuple", n.Items)
	case *Dict:
		b.WriteString("(dict")
		for i := range n.Keys {
			b.WriteByte(' ')
			dumpTo(b, n.Keys[i])
			b.WriteByte(':')
			dumpTo(b, n.Values[i])
		}
		b.WriteByte(')')
	case *Getattr:
		b.WriteString("(. ")
		dumpTo(b, n.Node)
		b.WriteString(" " + n.Attr + ")")
	case *Getitem:
		b.WriteString("([] ")
		dumpTo(b, n.Node)
		b.WriteByte(' ')
		dumpTo(b, n.Arg)
		b.WriteByte(')')
	case *Slice:
		b.WriteString("(: ")
		dumpTo(b, n.Start)
		b.WriteByte(' ')
		dumpTo(b, n.Stop)
		b.WriteByte(' ')
		dumpTo(b, n.Step)
		b.WriteByte(')')
	case *Call:
		b.WriteString("(call ")
		dumpTo(b, n.Node)
		dumpArgs(b, n.Args, n.Kwargs, n.DynArgs, n.DynKwargs)
		b.WriteByte(')')
	case *Filter:
		b.WriteString("(|" + n.Name + " ")
		dumpTo(b, n.Node)
		dumpArgs(b, n.Args, n.Kwargs, n.DynArgs, n.DynKwargs)
		b.WriteByte(')')
	case *Test:
		b.WriteString("(is-" + n.Name + " ")
		dumpTo(b, n.Node)
		dumpArgs(b, n.Args, n.Kwargs, n.DynArgs, n.DynKwargs)
		b.WriteByte(')')
	case *Binary:
		b.WriteString("(" + n.Op + " ")
		dumpTo(b, n.Left)
		b.WriteByte(' ')
		dumpTo(b, n.Right)
		b.WriteByte(')')
	case *Unary:
		b.WriteString("(" + n.Op + " ")
		dumpTo(b, n.Node)
		b.WriteByte(')')
	case *Compare:
		b.WriteString("(cmp ")
		dumpTo(b, n.Expr)
		for _, o := range n.Ops {
			b.WriteString(" " + o.Op + " ")
			dumpTo(b, o.Expr)
		}
		b.WriteByte(')')
	case *CondExpr:
		b.WriteString("(if ")
		dumpTo(b, n.Test)
		b.WriteByte(' ')
		dumpTo(b, n.Then)
		b.WriteByte(' ')
		dumpTo(b, n.Else)
		b.WriteByte(')')
	case *If:
		b.WriteString("(if ")
		dumpTo(b, n.Test)
		dumpList(b, " then", n.Body)
		for _, e := range n.Elifs {
			b.WriteString(" (elif ")
			dumpTo(b, e.Test)
			dumpList(b, " then", e.Body)
			b.WriteByte(')')
		}
		if n.Else != nil {
			dumpList(b, " else", n.Else)
		}
		b.WriteByte(')')
	case *For:
		b.WriteString("(for ")
		dumpTo(b, n.Target)
		b.WriteByte(' ')
		dumpTo(b, n.Iter)
		if n.Filter != nil {
			b.WriteString(" if ")
			dumpTo(b, n.Filter)
		}
		if n.Recursive {
			b.WriteString(" recursive")
		}
		dumpList(b, " do", n.Body)
		if n.Else != nil {
			dumpList(b, " else", n.Else)
		}
		b.WriteByte(')')
	case *Set:
		b.WriteString("(set ")
		dumpTo(b, n.Target)
		if n.Value != nil {
			b.WriteByte(' ')
			dumpTo(b, n.Value)
		} else {
			dumpList(b, " filters", n.Filters)
			dumpList(b, " body", n.Body)
		}
		b.WriteByte(')')
	case *Macro:
		b.WriteString("(macro " + n.Name)
		dumpList(b, " params", n.Params)
		dumpList(b, " defaults", n.Defaults)
		dumpList(b, " body", n.Body)
		b.WriteByte(')')
	case *CallBlock:
		b.WriteString("(callblock ")
		dumpTo(b, n.Call)
		dumpList(b, " params", n.Params)
		dumpList(b, " body", n.Body)
		b.WriteByte(')')
	case *FilterBlock:
		b.WriteString("(filterblock")
		dumpList(b, " filters", n.Filters)
		dumpList(b, " body", n.Body)
		b.WriteByte(')')
	case *With:
		b.WriteString("(with")
		dumpList(b, " targets", n.Targets)
		dumpList(b, " values", n.Values)
		dumpList(b, " body", n.Body)
		b.WriteByte(')')
	case *Import:
		b.WriteString("(import ")
		dumpTo(b, n.Template)
		fmt.Fprintf(b, " %s %v)", n.Target, n.WithContext)
	case *FromImport:
		b.WriteString("(from ")
		dumpTo(b, n.Template)
		for _, in := range n.Names {
			fmt.Fprintf(b, " %s/%s", in.Name, in.Alias)
		}
		fmt.Fprintf(b, " %v)", n.WithContext)
	case *Include:
		b.WriteString("(include ")
		dumpTo(b, n.Template)
		fmt.Fprintf(b, " %v %v)", n.IgnoreMissing, n.WithContext)
	case *Extends:
		b.WriteString("(extends ")
		dumpTo(b, n.Template)
		b.WriteByte(')')
	case *Block:
		dumpList(b, "block "+n.Name, n.Body)
	case *Break:
		b.WriteString("(break)")
	case *Continue:
		b.WriteString("(continue)")
	case *Do:
		b.WriteString("(do ")
		dumpTo(b, n.Expr)
		b.WriteByte(')')
	case *ScopedBlock:
		b.WriteString("(" + n.Tag + " ")
		dumpTo(b, n.Expr)
		dumpList(b, " body", n.Body)
		b.WriteByte(')')
	default:
		fmt.Fprintf(b, "<%T>", n)
	}
}

package jinja

// Children returns the direct children of n in source order. Nil children
// (absent optional parts) are left out.
func Children(n Node) []Node {
	var out []Node
	add := func(ns ...Node) {
		for _, c := range ns {
			if c != nil && !isNilNode(c) {
				out = append(out, c)
			}
		}
	}
	addBody := func(b []Node) { out = append(out, b...) }
	addExprs := func(es []Expr) {
		for _, e := range es {
			add(e)
		}
	}
	addKw := func(kw []Keyword) {
		for _, k := range kw {
			add(k.Value)
		}
	}
	addFilters := func(fs []*Filter) {
		for _, f := range fs {
			add(f)
		}
	}
	switch n := n.(type) {
	case *Template:
		addBody(n.Body)
	case *Output:
		add(n.Expr)
	case *If:
		add(n.Test)
		addBody(n.Body)
		for _, e := range n.Elifs {
			add(e)
		}
		addBody(n.Else)
	case *For:
		add(n.Target, n.Iter, n.Filter)
		addBody(n.Body)
		addBody(n.Else)
	case *Set:
		add(n.Target, n.Value)
		addFilters(n.Filters)
		addBody(n.Body)
	case *Macro:
		for _, p := range n.Params {
			add(p)
		}
		addExprs(n.Defaults)
		addBody(n.Body)
	case *CallBlock:
		add(n.Call)
		for _, p := range n.Params {
			add(p)
		}
		addExprs(n.Defaults)
		addBody(n.Body)
	case *FilterBlock:
		addFilters(n.Filters)
		addBody(n.Body)
	case *With:
		addExprs(n.Targets)
		addExprs(n.Values)
		addBody(n.Body)
	case *Import:
		add(n.Template)
	case *FromImport:
		add(n.Template)
	case *Include:
		add(n.Template)
	case *Extends:
		add(n.Template)
	case *Block:
		addBody(n.Body)
	case *Do:
		add(n.Expr)
	case *ScopedBlock:
		add(n.Expr)
		addBody(n.Body)
	case *List:
		addExprs(n.Items)
	case *Tuple:
		addExprs(n.Items)
	case *Dict:
		for i := range n.Keys {
			add(n.Keys[i], n.Values[i])
		}
	case *Getattr:
		add(n.Node)
	case *Getitem:
		add(n.Node, n.Arg)
	case *Slice:
		add(n.Start, n.Stop, n.Step)
	case *Call:
		add(n.Node)
		addExprs(n.Args)
		addKw(n.Kwargs)
		add(n.DynArgs, n.DynKwargs)
	case *Filter:
		add(n.Node)
		addExprs(n.Args)
		addKw(n.Kwargs)
		add(n.DynArgs, n.DynKwargs)
	case *Test:
		add(n.Node)
		addExprs(n.Args)
		addKw(n.Kwargs)
		add(n.DynArgs, n.DynKwargs)
	case *Binary:
		add(n.Left, n.Right)
	case *Unary:
		add(n.Node)
	case *Compare:
		add(n.Expr)
		for _, o := range n.Ops {
			add(o.Expr)
		}
	case *CondExpr:
		add(n.Test, n.Then, n.Else)
	}
	return out
}

// isNilNode catches typed nil pointers stored in an interface.
func isNilNode(n Node) bool {
	switch e := n.(type) {
	case *Filter:
		return e == nil
	case *Call:
		return e == nil
	case *If:
		return e == nil
	case *Name:
		return e == nil
	}
	return false
}

// Walk visits n and its descendants depth-first in source order. When fn
// returns false the children of that node are skipped. Walk uses its own
// stack, so it does not recurse however deep the tree is.
func Walk(n Node, fn func(Node) bool) {
	if n == nil {
		return
	}
	stack := []Node{n}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(top) {
			continue
		}
		kids := Children(top)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
}

package pysrc

// Module is what the analysis found in one source file.
type Module struct {
	Imports []Import
	// Aliases maps each name an import binds to what it stands for:
	// "sp" → "subprocess", "s" → "os.system", "np" → "numpy".
	Aliases    map[string]string
	Defs       []Def
	Calls      []Call
	Obfuscated []Obfuscation
	Lines      int
	Tokens     int
	// Errors lists malformed tokens (first few), "line N: message".
	Errors []string
}

// Import is one imported name.
type Import struct {
	Module string // dotted module, without the leading dots of a relative import
	Level  int    // number of leading dots (0: absolute)
	Name   string // the name imported from Module ("" for `import a.b`, "*" for a star import)
	As     string // the local name bound ("" for a star import)
	Line   int
	// ModuleLevel is true when the import runs when the file is imported.
	ModuleLevel bool
}

// Target is the dotted name the import binds As to (".x.y" for relative).
func (i Import) Target() string {
	m := i.Module
	for k := 0; k < i.Level; k++ {
		m = "." + m
	}
	if i.Name == "" {
		return m
	}
	if m == "" || m[len(m)-1] == '.' {
		return m + i.Name
	}
	return m + "." + i.Name
}

// Def is a function or class definition.
type Def struct {
	Kind      string // "def" or "class"
	Name      string
	Qualified string // Outer.inner
	Line      int    // line of the def or class keyword
	EndLine   int    // last line of its body
}

// Call is one call in the source.
type Call struct {
	Callee string // as written: os.system, __import__('os').system, getattr(os, 'sys'+'tem')
	// Resolved is the dotted name the callee stands for after imports,
	// aliases and constant folding: os.system, subprocess.run, builtins.exec.
	// A call's result in the middle appears as "()": requests.Session().get.
	Resolved string
	// Origin says where the first component of Resolved comes from:
	// "import" (an import or a constant __import__), "builtin", or "local"
	// (a parameter, variable, self, or a name this file defines).
	Origin string
	// Args are the positional arguments as Python-like text: string
	// constants quoted after folding ('ls -la'), anything else as written
	// (possibly shortened).
	Args []string
	// Keywords are the keyword arguments, in the same form.
	Keywords map[string]string
	Line     int
	Offset   int
	// ModuleLevel is true when the call runs when the file is imported: at
	// module level or in a class body, including decorators and default
	// values, but not inside a def or lambda.
	ModuleLevel bool
	// Scope is the qualified name of the innermost def or class ("" at module level).
	Scope string

	consts   []*string // constant value of each positional argument, nil when not constant
	kwConsts map[string]string
}

// StringArg returns the constant value of positional argument i.
func (c Call) StringArg(i int) (string, bool) {
	if i < 0 || i >= len(c.consts) || c.consts[i] == nil {
		return "", false
	}
	return *c.consts[i], true
}

// StringKeyword returns the constant value of keyword argument name.
func (c Call) StringKeyword(name string) (string, bool) {
	v, ok := c.kwConsts[name]
	return v, ok
}

// Obfuscation is a call of exec, eval or compile whose code is decoded,
// decompressed, unmarshalled or downloaded, or is a constant that the
// analysis could read.
type Obfuscation struct {
	Sink     string   // builtins.exec, builtins.eval or builtins.compile
	Chain    []string // decoders and sources, outermost first: zlib.decompress, base64.b64decode
	Download bool     // the code comes from a network call
	Line     int
	Offset   int
	// ModuleLevel and Scope as for Call.
	ModuleLevel bool
	Scope       string
	// Decoded is a preview of the code when it could be decoded statically.
	Decoded string
	// Inner is the analysis of the decoded code, nil when it could not be
	// decoded (marshal, a download, a variable the analysis does not follow).
	Inner *Module
}

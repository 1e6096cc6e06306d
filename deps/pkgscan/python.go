package pkgscan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pysrc"
	"github.com/aigis-sec/aigis/scan/checks"
)

// What a Python file is to the installer.
type pyRole int

const (
	roleModule pyRole = iota // imported by users: module level runs at import
	roleSetup                // setup.py of an sdist or source tree: module level runs at install
)

// hookCommands are the setuptools/distutils commands that pip runs when it
// builds and installs an sdist. strong ones have no business in ordinary
// packages; build ones are overridden by packages with compiled parts.
var hookCommands = map[string]bool{
	"install": true, "develop": true, "egg_info": true, "easy_install": true, "install_lib": true,
	"install_scripts": true, "install_egg_info": true, "install_data": true, "bdist_egg": true,
	"build_py": false, "build_ext": false, "build": false, "build_clib": false, "build_scripts": false,
	"sdist": false, "bdist_wheel": false, "dist_info": false,
}

// buildTools are programs that build hooks legitimately run.
var buildTools = map[string]bool{
	"cmake": true, "make": true, "ninja": true, "git": true, "gcc": true, "g++": true, "cc": true, "c++": true,
	"clang": true, "swig": true, "protoc": true, "cython": true, "nvcc": true, "meson": true, "cargo": true,
	"npm": true, "yarn": true, "go": true, "rustc": true, "pkg-config": true, "xcrun": true,
}

// credentialNeedles are parts of paths and names that hold credentials; a
// string constant containing one marks the file as reading them.
var credentialNeedles = []string{
	".ssh/", "id_rsa", "id_ed25519", "id_ecdsa", "authorized_keys", ".aws/credentials", ".aws/config",
	".netrc", ".pypirc", ".git-credentials", ".docker/config.json", ".kube/config", ".gnupg",
	"/etc/shadow", "login data", "local state", "cookies.sqlite", "logins.json", "key4.db", "key3.db",
	".mozilla/firefox", "google/chrome", "google\\chrome", "bravesoftware", "discord/local storage",
	"leveldb", "wallet.dat", "exodus", "electrum", ".azure/", ".config/gcloud", "application_default_credentials",
}

// dnsCallees resolve a host name: a name built from data leaks the data to
// the name server of the attacker's domain.
var dnsCallees = map[string]bool{
	"socket.gethostbyname": true, "socket.gethostbyname_ex": true, "socket.getaddrinfo": true,
	"dns.resolver.resolve": true, "dns.resolver.query": true, "dns.resolver.Resolver.resolve": true,
	"dns.resolver.Resolver.query": true, "dns.resolver.Resolver().resolve": true, "dns.resolver.Resolver().query": true,
}

// envDumps copy the whole environment (tokens, keys) into a value.
var envDumps = map[string]bool{"os.environ.copy": true, "os.environ.items": true, "builtins.dict": true,
	"json.dumps": true, "builtins.str": true, "os.environ.__str__": true}

// pyFile is the analysis of one Python file that the judgement works on.
type pyFile struct {
	loc    finding.Location
	role   pyRole
	src    []byte
	m      *pysrc.Module
	toks   []pysrc.Token
	reach  map[string]string // def scope → why it runs at import/install ("" when it does not)
	hooks  map[string]string // class → command it overrides
	hookOf map[string]string // def scope → hook class whose command runs it
}

// python judges one Python file of a package.
func (s *scanner) python(loc finding.Location, src []byte, role pyRole) {
	m, aerr := pysrc.Analyze(src, pysrc.Limits{}) // a limit is reported by CheckModule below
	if m == nil {
		return
	}
	toks, _ := pysrc.Tokenize(src, pysrc.Limits{})
	f := &pyFile{loc: loc, role: role, src: src, m: m, toks: toks}
	if role == roleSetup {
		f.hooks = installHooks(m, toks)
	}
	f.reachable()
	for cls, cmd := range f.hooks {
		sev := finding.Low
		if hookCommands[cmd] {
			sev = finding.High
		}
		s.hook = true
		s.add(finding.New(RuleInstallHook, sev, loc,
			fmt.Sprintf("setup.py replaces the %q command with class %s: pip runs its code when it installs the package", cmd, cls),
			map[string]string{"command": cmd, "class": cls, "file_role": "setup.py"}))
	}
	netLines := map[int]bool{}
	netAtRun := false
	for _, cf := range checks.CheckModule(loc, checks.RolePython, m, aerr) {
		g, ok := f.judge(cf)
		if !ok {
			continue
		}
		if cf.RuleID == checks.RulePyNetwork.ID {
			if l := cf.Evidence["line"]; l != "" {
				var n int
				fmt.Sscan(l, &n)
				netLines[n] = true
			}
			if g.Severity >= finding.High {
				netAtRun = true
			}
		}
		s.add(g)
	}
	f.exfiltration(s, netLines, netAtRun)
}

// runs says when the code in scope runs: "" (only when called), "import",
// "install" (setup.py module level or a hook), with the reason.
func (f *pyFile) runs(moduleLevel bool, scope string) (when, why string) {
	if cls, ok := f.hookOf[scope]; ok {
		return "install", fmt.Sprintf("%s overrides the %q command, which pip runs at install", cls, f.hooks[cls])
	}
	if moduleLevel {
		if f.role == roleSetup {
			return "install", "setup.py module level runs when pip builds or installs the package"
		}
		return "import", "runs when the module is imported"
	}
	if why, ok := f.reach[scope]; ok {
		if f.role == roleSetup {
			return "install", why
		}
		return "import", why
	}
	return "", ""
}

// judge turns a finding of checks.CheckPython into a package finding.
func (f *pyFile) judge(cf finding.Finding) (finding.Finding, bool) {
	scope := cf.Evidence["scope"]
	moduleLevel := strings.HasPrefix(scope, "import time")
	fn := strings.TrimPrefix(scope, "function ")
	if cf.Evidence["inside"] != "" { // code run by an exec chain: it runs when the exec does
		for _, o := range f.m.Obfuscated {
			if int64(o.Offset) == cf.Offset {
				moduleLevel, fn = o.ModuleLevel, o.Scope
			}
		}
	}
	when, why := f.runs(moduleLevel, fn)
	ev := map[string]string{}
	for k, v := range cf.Evidence {
		ev[k] = v
	}
	if f.role == roleSetup {
		ev["file_role"] = "setup.py"
	}
	if when != "" {
		ev["runs_at"] = when
	}
	msg := cf.Message
	if f.role == roleSetup {
		msg = strings.ReplaceAll(msg, "at import time", "at install time (setup.py module level)")
	}
	if why != "" && !moduleLevel {
		msg += "; " + why
	}
	var r finding.Rule
	var sev finding.Severity
	hook := f.hookOf[fn] != ""
	switch cf.RuleID {
	case checks.RuleLimit.ID:
		return cf, true
	case checks.RulePyReverseShell.ID:
		ev["technique"] = "reverse-shell"
		r, sev = RuleExfiltration, finding.Critical
	case checks.RulePyObfuscated.ID:
		r, sev = RuleObfuscation, finding.Critical
		if when == "" {
			sev = finding.High
		}
	case checks.RulePyCommand.ID, checks.RulePyDynamicCode.ID, checks.RulePyDeserialize.ID,
		checks.RulePyNetwork.ID, checks.RulePyFileWrite.ID:
		if when == "" {
			r, sev = RuleCapability, finding.Low
			break
		}
		sev = finding.Critical
		switch cf.RuleID {
		case checks.RulePyFileWrite.ID, checks.RulePyDeserialize.ID:
			sev = finding.High
		case checks.RulePyDynamicCode.ID:
			if when == "import" {
				sev = finding.High
			}
		case checks.RulePyNetwork.ID:
			if when == "import" {
				sev = finding.High
			}
		}
		switch {
		case hook:
			r = RuleInstallHook
			if cf.RuleID == checks.RulePyCommand.ID && f.buildTool(cf) {
				sev = finding.Medium
				msg += " (a build tool)"
			}
		case when == "install":
			r = RuleSetupCode
			if cf.RuleID == checks.RulePyCommand.ID && f.buildTool(cf) {
				sev = finding.Medium
				msg += " (a build tool)"
			}
		case cf.RuleID == checks.RulePyNetwork.ID:
			r = RuleNetworkAtImport
		case cf.RuleID == checks.RulePyFileWrite.ID:
			r = RuleFileWriteAtImport
		default:
			r = RuleExecAtImport
		}
	default:
		return finding.Finding{}, false
	}
	g := finding.New(r, sev, f.loc.At(cf.Offset), msg, ev)
	return g, true
}

// buildTool reports whether the command call at cf runs a build tool: its
// first argument's first string names one.
func (f *pyFile) buildTool(cf finding.Finding) bool {
	if buildTools[firstWord(cf.Evidence["args"])] {
		return true
	}
	for _, t := range callArgTokens(f.toks, int(cf.Offset)) {
		if t.Kind == pysrc.String {
			v, _, ok := pysrc.StringValue(t.Text)
			return ok && buildTools[firstWord(v)]
		}
	}
	return false
}

// firstWord is the program a command argument names: 'cmake ..' and
// ['cmake', '..'] are cmake.
func firstWord(args string) string {
	a := strings.TrimLeft(args, "[( ")
	a = strings.TrimLeft(a, "'\"")
	if i := strings.IndexAny(a, " '\","); i >= 0 {
		a = a[:i]
	}
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		a = a[i+1:]
	}
	return a
}

// reachable finds the functions that run at import (or install) because
// module-level code or an install hook calls them, following calls to
// functions and classes defined in the same file.
func (f *pyFile) reachable() {
	f.reach = map[string]string{}
	f.hookOf = map[string]string{}
	defs := map[string]bool{}
	for _, d := range f.m.Defs {
		defs[d.Qualified] = true
	}
	for cls := range f.hooks {
		for _, d := range f.m.Defs {
			if d.Qualified == cls || strings.HasPrefix(d.Qualified, cls+".") {
				f.hookOf[d.Qualified] = cls
			}
		}
	}
	// targets of a local call made in scope
	targets := func(c pysrc.Call) []string {
		name := strings.ReplaceAll(c.Resolved, "()", "")
		var out []string
		if rest, ok := strings.CutPrefix(name, "self."); ok && c.Scope != "" {
			if i := strings.LastIndexByte(c.Scope, '.'); i >= 0 {
				name = c.Scope[:i] + "." + rest
			}
		}
		for _, cand := range []string{name, c.Scope + "." + name} {
			if defs[cand] {
				out = append(out, cand, cand+".__init__", cand+".__new__", cand+".__post_init__")
			}
		}
		return out
	}
	for changed, rounds := true, 0; changed && rounds < 32; rounds++ {
		changed = false
		for _, c := range f.m.Calls {
			if c.Origin != "local" {
				continue
			}
			_, fromReach := f.reach[c.Scope]
			hookCls, fromHook := f.hookOf[c.Scope]
			if !c.ModuleLevel && !fromReach && !fromHook {
				continue
			}
			for _, t := range targets(c) {
				if !defs[t] {
					continue
				}
				if fromHook {
					if _, ok := f.hookOf[t]; !ok {
						f.hookOf[t] = hookCls
						changed = true
					}
					continue
				}
				if _, ok := f.reach[t]; !ok {
					who := "module level"
					if c.Scope != "" {
						who = c.Scope
					}
					f.reach[t] = fmt.Sprintf("%s runs at %s because %s calls it (line %d)", t, whenWord(f.role), who, c.Line)
					changed = true
				}
			}
		}
	}
}

func whenWord(r pyRole) string {
	if r == roleSetup {
		return "install"
	}
	return "import"
}

// installHooks finds the classes that replace setuptools commands: named in
// setup(cmdclass=…) or subclassing a command class.
func installHooks(m *pysrc.Module, toks []pysrc.Token) map[string]string {
	hooks := map[string]string{}
	local := map[string]bool{}
	for _, d := range m.Defs {
		if d.Kind == "class" {
			local[d.Qualified] = true
		}
	}
	// class NAME(BASE, …): a base that resolves to a command class.
	for i := 0; i+3 < len(toks); i++ {
		if toks[i].Kind != pysrc.Name || toks[i].Text != "class" || toks[i+1].Kind != pysrc.Name || toks[i+2].Text != "(" {
			continue
		}
		cls := toks[i+1].Text
		for _, base := range dottedArgs(toks, i+2) {
			first, rest, _ := strings.Cut(base, ".")
			if a, ok := m.Aliases[first]; ok {
				base = a
				if rest != "" {
					base += "." + rest
				}
			}
			last := base[strings.LastIndexByte(base, '.')+1:]
			if cmd, ok := hooks[last]; ok { // a subclass of another hook
				hooks[cls] = cmd
				continue
			}
			last = strings.TrimPrefix(last, "_")
			if _, ok := hookCommands[last]; ok && (strings.Contains(base, "command.") || strings.HasPrefix(base, "setuptools") ||
				strings.HasPrefix(base, "distutils") || strings.HasPrefix(base, "wheel.") || !strings.Contains(base, ".")) {
				hooks[cls] = last
			}
		}
	}
	// setup(cmdclass={'install': X}) or cmdclass=dict(install=X)
	for _, c := range m.Calls {
		if !strings.HasSuffix(c.Resolved, "setup") {
			continue
		}
		if _, ok := c.Keywords["cmdclass"]; !ok {
			continue
		}
		i := tokenAt(toks, c.Offset)
		for ; i+2 < len(toks); i++ {
			if toks[i].Text == "cmdclass" && toks[i+1].Text == "=" {
				break
			}
		}
		depth := 0
		for j := i + 2; j+2 < len(toks) && j < i+2000; j++ {
			t := toks[j]
			switch t.Text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			if depth < 0 || (depth == 0 && t.Text == ",") {
				break
			}
			key := ""
			if t.Kind == pysrc.String {
				key, _, _ = pysrc.StringValue(t.Text)
			} else if t.Kind == pysrc.Name {
				key = t.Text
			}
			if key == "" || (toks[j+1].Text != ":" && toks[j+1].Text != "=") || toks[j+2].Kind != pysrc.Name {
				continue
			}
			if _, ok := hookCommands[key]; ok && local[toks[j+2].Text] {
				hooks[toks[j+2].Text] = key
			}
		}
	}
	return hooks
}

// dottedArgs reads the dotted names inside the brackets opening at toks[i].
func dottedArgs(toks []pysrc.Token, i int) []string {
	var out []string
	cur := ""
	for j := i + 1; j < len(toks) && j < i+200; j++ {
		t := toks[j]
		switch {
		case t.Kind == pysrc.Name:
			cur += t.Text
		case t.Text == ".":
			cur += "."
		case t.Text == "," || t.Text == ")":
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			if t.Text == ")" {
				return out
			}
		case t.Kind == pysrc.NL || t.Kind == pysrc.Comment:
		default:
			return out
		}
	}
	return out
}

// tokenAt is the index of the first token at or after offset.
func tokenAt(toks []pysrc.Token, off int) int {
	return sort.Search(len(toks), func(i int) bool { return toks[i].Offset >= off })
}

// callArgTokens returns the tokens of the first argument of the call whose
// callee starts at offset.
func callArgTokens(toks []pysrc.Token, off int) []pysrc.Token {
	i := tokenAt(toks, off)
	for ; i < len(toks) && i < tokenAt(toks, off)+64; i++ {
		if toks[i].Text == "(" {
			break
		}
	}
	depth := 0
	start := i + 1
	for j := start; j < len(toks) && j < start+500; j++ {
		switch toks[j].Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				return toks[start:j]
			}
			depth--
		case ",":
			if depth == 0 {
				return toks[start:j]
			}
		}
	}
	return nil
}

// constructed reports whether an argument's tokens build a string from data:
// an f-string with fields, concatenation, % or .format/.join.
func constructed(arg []pysrc.Token) bool {
	for _, t := range arg {
		switch {
		case t.Kind == pysrc.String:
			if _, _, ok := pysrc.StringValue(t.Text); !ok && strings.Contains(t.Text, "{") {
				return true
			}
		case t.Kind == pysrc.Op && (t.Text == "+" || t.Text == "%"):
			return true
		case t.Kind == pysrc.Name && (t.Text == "format" || t.Text == "join" || t.Text == "hex" || t.Text == "b64encode" || t.Text == "hexlify"):
			return true
		}
	}
	return false
}

// exfiltration looks for DNS exfiltration, credential files and environment
// dumps next to network calls.
func (f *pyFile) exfiltration(s *scanner, netLines map[int]bool, netAtRun bool) {
	sevAt := func(moduleLevel bool, scope string) (finding.Severity, string) {
		if w, _ := f.runs(moduleLevel, scope); w != "" {
			return finding.Critical, w
		}
		return finding.High, ""
	}
	envCopy := 0
	for _, c := range f.m.Calls {
		if c.Origin == "local" {
			continue
		}
		name := strings.ReplaceAll(c.Resolved, "()", "")
		if dnsCallees[c.Resolved] || dnsCallees[name] {
			if arg := callArgTokens(f.toks, c.Offset); constructed(arg) {
				sev, when := sevAt(c.ModuleLevel, c.Scope)
				s.add(finding.New(RuleExfiltration, sev, f.loc.At(int64(c.Offset)),
					fmt.Sprintf("%s(%s) at line %d resolves a host name built from data: DNS exfiltration to the name server of that domain", c.Callee, preview(tokText(arg), 80), c.Line),
					map[string]string{"technique": "dns-exfiltration", "callee": name, "args": preview(tokText(arg), 200), "line": fmt.Sprint(c.Line), "runs_at": when}))
			}
		}
		args := strings.Join(c.Args, ",")
		for _, v := range c.Keywords {
			args += "," + v
		}
		envArg := strings.Contains(args, "environ")
		if envArg && netLines[c.Line] {
			sev, when := sevAt(c.ModuleLevel, c.Scope)
			s.add(finding.New(RuleExfiltration, sev, f.loc.At(int64(c.Offset)),
				fmt.Sprintf("%s at line %d sends the process environment (tokens, keys) over the network", c.Callee, c.Line),
				map[string]string{"technique": "environment-exfiltration", "callee": name, "args": preview(args, 200), "line": fmt.Sprint(c.Line), "runs_at": when}))
		} else if envDumps[name] && (envArg || name == "os.environ.copy" || name == "os.environ.items") && envCopy == 0 {
			envCopy = c.Line
		}
	}
	// credential paths among the string constants
	credLine, cred := 0, ""
	for _, t := range f.toks {
		if t.Kind != pysrc.String {
			continue
		}
		v, _, ok := pysrc.StringValue(t.Text)
		if !ok {
			v = t.Text
		}
		lv := strings.ToLower(v)
		for _, n := range credentialNeedles {
			if strings.Contains(lv, n) {
				credLine, cred = t.Line, v
				break
			}
		}
		if credLine > 0 {
			break
		}
	}
	if credLine == 0 && envCopy == 0 {
		return
	}
	what, line := "reads credentials ("+preview(cred, 60)+")", credLine
	if credLine == 0 {
		what, line = "copies the whole environment", envCopy
	}
	ev := map[string]string{"technique": "credential-theft", "line": fmt.Sprint(line)}
	if cred != "" {
		ev["path"] = preview(cred, 200)
	}
	switch {
	case len(netLines) > 0:
		sev := finding.High
		if netAtRun {
			sev = finding.Critical
		}
		nl := make([]int, 0, len(netLines))
		for l := range netLines {
			nl = append(nl, l)
		}
		sort.Ints(nl)
		ev["network_lines"] = fmt.Sprint(nl)
		s.add(finding.New(RuleExfiltration, sev, f.loc, fmt.Sprintf("the file %s at line %d and makes network calls (line %d): credential exfiltration", what, line, nl[0]), ev))
	case credLine > 0:
		s.add(finding.New(RuleExfiltration, finding.Medium, f.loc, fmt.Sprintf("the file %s at line %d; no network call was seen in the same file", what, line), ev))
	}
}

func tokText(ts []pysrc.Token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && t.Offset > ts[i-1].Offset+len(ts[i-1].Text) {
			b.WriteByte(' ')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// pth judges a .pth file: site.py executes its lines that start with import.
func (s *scanner) pth(loc finding.Location, name string, src []byte) {
	lines := strings.Split(string(src), "\n")
	code := make([]string, len(lines))
	var execLines []int
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "import ") || strings.HasPrefix(l, "import\t") {
			code[i] = l
			execLines = append(execLines, i+1)
		}
	}
	if len(execLines) == 0 {
		return
	}
	js := []byte(strings.Join(code, "\n"))
	base := name[strings.LastIndexByte(name, '/')+1:]
	var worst []finding.Finding
	for _, cf := range checks.CheckPython(loc, checks.RolePython, js) {
		switch cf.RuleID {
		case checks.RulePyCommand.ID, checks.RulePyDynamicCode.ID, checks.RulePyNetwork.ID, checks.RulePyObfuscated.ID,
			checks.RulePyReverseShell.ID, checks.RulePyFileWrite.ID, checks.RulePyDeserialize.ID:
			worst = append(worst, cf)
		}
	}
	for _, cf := range worst {
		ev := map[string]string{"line": cf.Evidence["line"], "callable": cf.Evidence["callable"], "args": cf.Evidence["args"], "pth": base}
		s.add(finding.New(RulePthExec, finding.Critical, loc.At(cf.Offset),
			fmt.Sprintf("%s: %s — site.py runs it at every Python start", base, cf.Message), ev))
	}
	if len(worst) > 0 {
		return
	}
	sev := finding.High
	if knownPth(base) {
		sev = finding.Low
	}
	first := strings.TrimSpace(lines[execLines[0]-1])
	s.add(finding.New(RulePthExec, sev, loc,
		fmt.Sprintf("%s has %d line(s) that site.py executes at every Python start: %s", base, len(execLines), preview(first, 120)),
		map[string]string{"line": fmt.Sprint(execLines[0]), "code": preview(first, 200), "pth": base}))
}

// knownPth are .pth files that packaging tools write themselves.
func knownPth(base string) bool {
	switch {
	case base == "distutils-precedence.pth": // setuptools
	case base == "_virtualenv.pth": // virtualenv
	case strings.HasPrefix(base, "__editable__.") && strings.HasSuffix(base, ".pth"): // PEP 660 editable installs
	default:
		return false
	}
	return true
}

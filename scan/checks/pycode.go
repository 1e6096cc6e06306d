package checks

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/pysrc"
	"github.com/aigis-sec/aigis/internal/safeio"
)

// Roles of a Python file, which decide who imports it and when.
const (
	RoleRemoteCode    = "remote-code"    // named by config.json auto_map: transformers imports it with trust_remote_code=True
	RoleDatasetScript = "dataset-script" // a dataset loading script: datasets imports it
	RoleTorchScript   = "torchscript"    // code/*.py of a TorchScript archive: compiled by torch.jit.load
	RolePython        = "python"         // any other *.py file: runs only if someone runs or imports it
)

const (
	remPyMalicious = "Do not load this repository with trust_remote_code=True (or its dataset script). " +
		"Report it to the hub. If you need the model, use a revision whose code you have reviewed, pin it by commit hash, " +
		"or use an implementation that ships with the library."
	remPyReview = "Review the code before loading with trust_remote_code=True, pin the revision by commit hash " +
		"(revision=…), and prefer models whose architecture ships with the library."
)

var pyAtlas = []string{atlasUserExecMalicious, atlasSupplyChainModel}

// The rules of the Python source check.
var (
	RulePyCommand = finding.Rule{
		ID: "python-command-execution", Severity: finding.Critical,
		Title:       "Python code runs commands or native code",
		Description: "The code calls os.system, os.popen, os.exec*/spawn*, subprocess, pty or ctypes. At import time this runs as soon as the model or dataset is loaded with trust_remote_code=True.",
		ATLAS:       pyAtlas, Remediation: remPyMalicious,
	}
	RulePyObfuscated = finding.Rule{
		ID: "python-obfuscated-exec", Severity: finding.Critical,
		Title:       "Python code executes decoded or downloaded code",
		Description: "exec, eval or compile of data that is base64/hex/rot13-decoded, decompressed, unmarshalled or downloaded: the way payloads are hidden from reviewers. aigis decodes constant payloads and reports what they call.",
		ATLAS:       append([]string{atlasEvade}, pyAtlas...), Remediation: remPyMalicious,
	}
	RulePyReverseShell = finding.Rule{
		ID: "python-reverse-shell", Severity: finding.Critical,
		Title:       "Python code opens a reverse shell",
		Description: "The code connects a socket and hands it to a shell (os.dup2 of the socket, pty.spawn, or a shell started next to a socket connection): remote control of the machine that loads the model.",
		ATLAS:       pyAtlas, Remediation: remPyMalicious,
	}
	RulePyDynamicCode = finding.Rule{
		ID: "python-dynamic-code", Severity: finding.High,
		Title:       "Python code executes code or imports modules that cannot be resolved statically",
		Description: "exec, eval or compile of code that is not a constant, __import__ or importlib.import_module of a computed name, getattr of a computed name on a dangerous module, debuggers and interpreters: one such call reaches anything.",
		ATLAS:       pyAtlas, Remediation: remPyReview,
	}
	RulePyNetwork = finding.Rule{
		ID: "python-network", Severity: finding.High,
		Title:       "Python code opens network connections",
		Description: "requests, urllib, http.client, httpx, socket…: at import time, loading the model downloads a second stage or sends data out.",
		ATLAS:       pyAtlas, Remediation: remPyReview,
	}
	RulePyFileWrite = finding.Rule{
		ID: "python-file-write", Severity: finding.High,
		Title:       "Python code writes, moves or deletes files",
		Description: "open() for writing, os.remove, shutil.rmtree, os.chmod, archive extraction…: at import time, loading the model changes the file system (persistence, overwriting other code).",
		ATLAS:       pyAtlas, Remediation: remPyReview,
	}
	RulePyDeserialize = finding.Rule{
		ID: "python-deserialization", Severity: finding.High,
		Title:       "Python code deserialises pickles or unsafe YAML",
		Description: "pickle/dill/joblib loads, numpy.load, yaml.load without a safe loader: a second payload that runs code.",
		ATLAS:       pyAtlas, Remediation: remPyReview,
	}
	RulePyRemoteCode = finding.Rule{
		ID: "python-remote-code", Severity: finding.Medium,
		Title:       "The repository ships Python code that runs when it is loaded",
		Description: "config.json auto_map names this file (or it is a dataset loading script): transformers or datasets import it when loading with trust_remote_code=True, with the rights of the user.",
		ATLAS:       pyAtlas, Remediation: remPyReview,
	}
	RulePyInventory = finding.Rule{
		ID: "python-code", Severity: finding.Info,
		Title:       "Python source file",
		Description: "A Python file that loaders do not import on their own; it runs only if someone runs or imports it. Its calls are listed when they matter.",
		ATLAS:       []string{atlasSupplyChainModel}, Remediation: "No action needed; review the file before running it.",
	}
	RuleTorchScriptCustomOp = finding.Rule{
		ID: "torchscript-custom-op", Severity: finding.High,
		Title:       "TorchScript code calls custom operators or Python names",
		Description: "The archive's code calls operators outside PyTorch's own namespaces (ops.<library>.<op>, loaded from native libraries with torch.ops.load_library), or names exec, eval, __import__, os or subprocess, which TorchScript itself does not offer: the archive was made or edited by hand.",
		ATLAS:       pyAtlas, Remediation: "Find out which native library provides the custom operators and whether you trust it; load the archive in a sandbox.",
	}
	RuleTorchScriptCode = finding.Rule{
		ID: "torchscript-code", Severity: finding.Medium,
		Title:       "TorchScript code runs when the archive is loaded",
		Description: "The code that torch.jit.load compiles and runs. TorchScript is a restricted language that cannot reach the operating system by itself, but custom operators it calls can, and torch.load(weights_only=True) dispatches such archives to torch.jit.load before torch 2.6 (CVE-2025-32434).",
		ATLAS:       []string{atlasSupplyChainModel, atlasUserExecMalicious}, Remediation: "Load TorchScript archives only from publishers you trust, with torch >= 2.6; prefer safetensors weights.",
	}
)

// PythonRules lists the rules CheckPython emits.
func PythonRules() []finding.Rule {
	return []finding.Rule{RulePyCommand, RulePyObfuscated, RulePyReverseShell, RulePyDynamicCode, RulePyNetwork,
		RulePyFileWrite, RulePyDeserialize, RulePyRemoteCode, RulePyInventory, RuleTorchScriptCustomOp,
		RuleTorchScriptCode, RuleLimit}
}

// The Python call policy, as data. A resolved callee is looked up in
// pyDeny first (longest entry wins), then pySafe; names under neither fall
// back to Judge, the pickle policy, for network and deserialisation.
var pyDeny = map[string]*finding.Rule{
	"os.system": &RulePyCommand, "os.popen": &RulePyCommand, "os.popen2": &RulePyCommand, "os.popen3": &RulePyCommand,
	"os.execl": &RulePyCommand, "os.execle": &RulePyCommand, "os.execlp": &RulePyCommand, "os.execlpe": &RulePyCommand,
	"os.execv": &RulePyCommand, "os.execve": &RulePyCommand, "os.execvp": &RulePyCommand, "os.execvpe": &RulePyCommand,
	"os.spawnl": &RulePyCommand, "os.spawnle": &RulePyCommand, "os.spawnlp": &RulePyCommand, "os.spawnlpe": &RulePyCommand,
	"os.spawnv": &RulePyCommand, "os.spawnve": &RulePyCommand, "os.spawnvp": &RulePyCommand, "os.spawnvpe": &RulePyCommand,
	"os.posix_spawn": &RulePyCommand, "os.posix_spawnp": &RulePyCommand, "os.startfile": &RulePyCommand,
	"os.fork": &RulePyCommand, "os.forkpty": &RulePyCommand,
	"subprocess": &RulePyCommand, "pty": &RulePyCommand, "popen2": &RulePyCommand, "commands": &RulePyCommand,
	"platform.popen": &RulePyCommand, "asyncio.create_subprocess_exec": &RulePyCommand,
	"asyncio.create_subprocess_shell": &RulePyCommand, "ctypes": &RulePyCommand, "_ctypes": &RulePyCommand,
	"cffi": &RulePyCommand, "pip": &RulePyCommand, "webbrowser": &RulePyCommand,

	"builtins.exec": &RulePyDynamicCode, "builtins.eval": &RulePyDynamicCode, "builtins.compile": &RulePyDynamicCode,
	"builtins.execfile": &RulePyDynamicCode, "builtins.breakpoint": &RulePyDynamicCode, "runpy": &RulePyDynamicCode,
	"code.interact": &RulePyDynamicCode, "pdb.set_trace": &RulePyDynamicCode, "imp.load_source": &RulePyDynamicCode,
	"importlib.machinery.SourceFileLoader": &RulePyDynamicCode, "importlib.util.spec_from_file_location": &RulePyDynamicCode,
	"types.FunctionType": &RulePyDynamicCode, "types.CodeType": &RulePyDynamicCode,

	"os.remove": &RulePyFileWrite, "os.unlink": &RulePyFileWrite, "os.rmdir": &RulePyFileWrite,
	"os.removedirs": &RulePyFileWrite, "os.rename": &RulePyFileWrite, "os.renames": &RulePyFileWrite,
	"os.replace": &RulePyFileWrite, "os.chmod": &RulePyFileWrite, "os.chown": &RulePyFileWrite,
	"os.symlink": &RulePyFileWrite, "os.link": &RulePyFileWrite, "os.truncate": &RulePyFileWrite,
	"os.write": &RulePyFileWrite, "os.makedirs": &RulePyFileWrite, "os.mkdir": &RulePyFileWrite,
	"os.putenv": &RulePyFileWrite, "shutil.rmtree": &RulePyFileWrite, "shutil.move": &RulePyFileWrite,
	"shutil.copy": &RulePyFileWrite, "shutil.copy2": &RulePyFileWrite, "shutil.copyfile": &RulePyFileWrite,
	"shutil.copytree": &RulePyFileWrite, "shutil.unpack_archive": &RulePyFileWrite, "shutil.chown": &RulePyFileWrite,
	"pathlib.Path.write_text": &RulePyFileWrite, "pathlib.Path.write_bytes": &RulePyFileWrite,
	"pathlib.Path.unlink": &RulePyFileWrite, "pathlib.Path.chmod": &RulePyFileWrite, "pathlib.Path.rename": &RulePyFileWrite,
	"tarfile.open.extractall": &RulePyFileWrite, "zipfile.ZipFile.extractall": &RulePyFileWrite,
	"tarfile.TarFile.extractall": &RulePyFileWrite, "os.dup2": &RulePyCommand,
}

// pySafe: names under denied modules that ordinary model code uses.
var pySafe = []string{
	"os.path", "os.environ", "os.getenv", "os.getcwd", "os.cpu_count", "os.getpid", "os.fspath", "os.listdir",
	"os.scandir", "os.walk", "os.stat", "os.sep", "os.access", "os.get_terminal_size", "os.isatty", "os.urandom",
	"os.sched_getaffinity", "os.getuid", "os.PathLike", "os.devnull", "os.name", "os.linesep", "os.lstat",
	"urllib.parse", "http.HTTPStatus", "sys", "inspect", "importlib.util.find_spec", "importlib.metadata",
	"importlib.reload", "multiprocessing", "threading", "distutils.version", "tempfile", "glob", "gc",
	"operator", "functools", "socket.gethostname", "asyncio.run", "asyncio.get_event_loop", "asyncio.gather",
	"asyncio.sleep", "asyncio.Lock", "asyncio.Queue", "asyncio.Event",
}

func pyLookup(name string) (*finding.Rule, bool) {
	parts := strings.Split(name, ".")
	for i := len(parts); i > 0; i-- {
		if r, ok := pyDeny[strings.Join(parts[:i], ".")]; ok {
			return r, true
		}
	}
	for _, s := range pySafe {
		if name == s || strings.HasPrefix(name, s+".") {
			return nil, true
		}
	}
	return nil, false
}

// judgeCall decides what one call means; nil when it does not matter.
func judgeCall(c pysrc.Call) (*finding.Rule, string) {
	if c.Origin == "local" || c.Resolved == "" {
		return nil, ""
	}
	name := strings.ReplaceAll(c.Resolved, "()", "")
	switch name {
	case "builtins.open", "io.open", "codecs.open":
		mode, ok := c.StringArg(1)
		if m, ok2 := c.StringKeyword("mode"); ok2 {
			mode, ok = m, true
		}
		if ok && strings.ContainsAny(mode, "wax+") {
			return &RulePyFileWrite, "opens a file for writing"
		}
		return nil, ""
	case "builtins.__import__", "importlib.import_module", "importlib.__import__":
		if _, ok := c.StringArg(0); ok {
			return nil, "" // resolved statically; what it reaches is judged where it is called
		}
		return &RulePyDynamicCode, "imports a module whose name is computed"
	case "builtins.getattr":
		if _, ok := c.StringArg(1); ok || len(c.Args) < 2 {
			return nil, ""
		}
		if v := Judge("", c.Args[0]); v.Rule.ID == RulePickleExec.ID || v.Canonical == "builtins" {
			return &RulePyDynamicCode, "reaches a computed attribute of " + c.Args[0]
		}
		return nil, ""
	case "yaml.load":
		if l, ok := c.Keywords["Loader"]; ok && strings.Contains(l, "Safe") {
			return nil, ""
		}
		return &RulePyDeserialize, "yaml.load constructs any object"
	}
	if r, ok := pyLookup(name); ok {
		if r == nil {
			return nil, ""
		}
		return r, pyWhy(r)
	}
	if strings.HasPrefix(name, "builtins.") || strings.HasPrefix(name, "os.") {
		return nil, ""
	}
	v := Judge("", name)
	switch v.Rule.ID {
	case RulePickleNetwork.ID:
		return &RulePyNetwork, v.Why
	case RulePickleNested.ID:
		return &RulePyDeserialize, v.Why
	}
	return nil, ""
}

func pyWhy(r *finding.Rule) string {
	switch r.ID {
	case RulePyCommand.ID:
		return "runs a command or native code"
	case RulePyDynamicCode.ID:
		return "executes code that is not known statically"
	case RulePyFileWrite.ID:
		return "writes, moves or deletes files"
	}
	return r.Title
}

func lower(s finding.Severity, n int) finding.Severity {
	s -= finding.Severity(n)
	if s < finding.Low {
		return finding.Low
	}
	return s
}

// when describes when a call runs, for messages.
func when(role string, moduleLevel bool, scope string) string {
	if !moduleLevel {
		return "when " + scope + " is called"
	}
	switch role {
	case RoleRemoteCode:
		return "at import time, as soon as the model is loaded with trust_remote_code=True"
	case RoleDatasetScript:
		return "at import time, as soon as the dataset is loaded"
	}
	return "at import time"
}

// CheckPython reports what a Python file does when it is imported or its
// functions are called. role is one of the Role* constants.
//
// Severity: a rule's severity applies at import time (module level or class
// body, including decorators and default values); inside a def or lambda it
// is one step lower. For RolePython (a file no loader imports by itself)
// everything is one step lower again. A reverse shell stays critical.
func CheckPython(loc finding.Location, role string, src []byte) []finding.Finding {
	m, err := pysrc.Analyze(src, pysrc.Limits{})
	return CheckModule(loc, role, m, err)
}

// CheckModule is CheckPython on a module the caller has analysed already
// (m and err as pysrc.Analyze returned them), for callers that need the
// module themselves and should not analyse the file twice.
func CheckModule(loc finding.Location, role string, m *pysrc.Module, err error) []finding.Finding {
	var out []finding.Finding
	if err != nil {
		if le, ok := safeio.IsLimit(err); ok {
			out = append(out, finding.New(RuleLimit, RuleLimit.Severity, loc,
				"the Python file was only partly analysed: "+le.Error(), map[string]string{"limit": le.Limit}))
		}
	}
	if m == nil {
		return out
	}
	if role == RoleTorchScript {
		return append(out, checkTorchScript(loc, m)...)
	}
	out = append(out, pyFindings(loc, role, m, 0, "")...)
	out = pyDedup(out)
	const maxFindings = 200
	omitted := 0
	if len(out) > maxFindings {
		omitted = len(out) - maxFindings
		out = out[:maxFindings]
	}
	ev := map[string]string{
		"role":    role,
		"lines":   fmt.Sprint(m.Lines),
		"imports": pyImportList(m, 12),
		"defs":    fmt.Sprint(len(m.Defs)),
	}
	if omitted > 0 {
		ev["omitted_findings"] = fmt.Sprint(omitted)
	}
	if len(m.Errors) > 0 {
		ev["syntax_errors"] = strings.Join(m.Errors[:min(3, len(m.Errors))], "; ")
	}
	classes := 0
	for _, d := range m.Defs {
		if d.Kind == "class" {
			classes++
		}
	}
	switch role {
	case RoleRemoteCode, RoleDatasetScript:
		what := "transformers imports this file when the model is loaded with trust_remote_code=True"
		if role == RoleDatasetScript {
			what = "datasets imports this loading script when the dataset is loaded (trust_remote_code=True)"
		}
		out = append(out, finding.New(RulePyRemoteCode, RulePyRemoteCode.Severity, loc,
			fmt.Sprintf("this code runs when loaded: %s (%d lines, %d classes, imports %s)", what, m.Lines, classes, ev["imports"]), ev))
	default:
		out = append(out, finding.New(RulePyInventory, RulePyInventory.Severity, loc,
			fmt.Sprintf("Python file, %d lines, %d classes, imports %s", m.Lines, classes, ev["imports"]), ev))
	}
	return out
}

func pyImportList(m *pysrc.Module, n int) string {
	seen := map[string]bool{}
	var names []string
	for _, im := range m.Imports {
		t := im.Module
		if im.Level > 0 {
			t = strings.Repeat(".", im.Level) + t
		}
		if t != "" && !seen[t] {
			seen[t] = true
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
	}
	return strings.Join(names, ", ")
}

// pyFindings judges the calls and exec chains of m; inner is the nesting
// of exec'd code, via describes where that code came from.
func pyFindings(loc finding.Location, role string, m *pysrc.Module, inner int, via string) []finding.Finding {
	var out []finding.Finding
	step := 0
	if role == RolePython {
		step = 1
	}
	sev := func(r *finding.Rule, moduleLevel bool) finding.Severity {
		s := lower(r.Severity, step)
		if !moduleLevel {
			s = lower(s, 1)
		}
		return s
	}
	obfLines := map[int]bool{}
	for _, o := range m.Obfuscated {
		obfLines[o.Line] = true
		r := &RulePyObfuscated
		what := strings.Join(o.Chain, " of ")
		if len(o.Chain) == 0 {
			// exec of a constant: judged by what the constant calls
			r = &RulePyDynamicCode
			what = "a constant string"
		}
		src := strings.TrimPrefix(o.Sink, "builtins.")
		msg := fmt.Sprintf("%s(%s(…)) at line %d runs %s", src, what, o.Line, when(role, o.ModuleLevel, o.Scope))
		if len(o.Chain) == 0 {
			msg = fmt.Sprintf("%s of a constant string at line %d runs %s", src, o.Line, when(role, o.ModuleLevel, o.Scope))
		}
		if o.Download {
			msg += ": the code is downloaded"
		}
		ev := map[string]string{"callable": o.Sink, "line": fmt.Sprint(o.Line), "chain": strings.Join(o.Chain, " <- "), "scope": scopeName(o.ModuleLevel, o.Scope)}
		if o.Decoded != "" {
			ev["decoded"] = pyPreview(o.Decoded, 200)
			msg += "; decoded: " + pyPreview(o.Decoded, 80)
		}
		if via != "" {
			ev["inside"] = via
		}
		out = append(out, finding.New(*r, sev(r, o.ModuleLevel), loc.At(int64(o.Offset)), msg, ev))
		if o.Inner != nil {
			in := pyFindings(loc, role, o.Inner, inner+1, fmt.Sprintf("%s at line %d", src, o.Line))
			for i := range in {
				if in[i].RuleID == RulePyRemoteCode.ID || in[i].RuleID == RulePyInventory.ID {
					continue
				}
				in[i].Offset = int64(o.Offset)
				if !o.ModuleLevel && in[i].Severity > lower(in[i].Severity, 1) {
					in[i].Severity = lower(in[i].Severity, 1)
				}
				out = append(out, in[i])
			}
		}
	}
	var socketLine, shellLine int
	for _, c := range m.Calls {
		name := strings.ReplaceAll(c.Resolved, "()", "")
		if c.Origin != "local" {
			if strings.HasPrefix(name, "socket.") && (strings.HasSuffix(name, ".connect") || name == "socket.create_connection" || name == "socket.socket") && socketLine == 0 {
				socketLine = c.Line
			}
			if name == "os.dup2" || name == "pty.spawn" {
				shellLine = c.Line
			}
		}
		r, why := judgeCall(c)
		if r == nil {
			continue
		}
		if r.ID == RulePyDynamicCode.ID && obfLines[c.Line] && strings.HasPrefix(name, "builtins.") {
			continue // reported as the exec chain
		}
		if r.ID == RulePyCommand.ID && shellLine == 0 {
			for _, a := range c.Args {
				if strings.Contains(a, "/bin/sh") || strings.Contains(a, "/bin/bash") || strings.Contains(a, "'sh'") || strings.Contains(a, "'bash'") {
					if strings.Contains(strings.Join(c.Args, " "), "-i") {
						shellLine = c.Line
					}
				}
			}
		}
		call := c.Callee + "(" + strings.Join(c.Args, ", ")
		if len(c.Keywords) > 0 {
			keys := make([]string, 0, len(c.Keywords))
			for k := range c.Keywords {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if len(c.Args) > 0 || k != keys[0] {
					call += ", "
				}
				call += k + "=" + c.Keywords[k]
			}
		}
		call = pyPreview(call, 160) + ")"
		msg := fmt.Sprintf("%s at line %d %s %s", call, c.Line, why, when(role, c.ModuleLevel, c.Scope))
		if c.Resolved != c.Callee && !strings.HasPrefix(c.Resolved, "builtins.") {
			msg = fmt.Sprintf("%s (%s) at line %d %s %s", call, name, c.Line, why, when(role, c.ModuleLevel, c.Scope))
		}
		ev := map[string]string{"callable": name, "callee": c.Callee, "line": fmt.Sprint(c.Line),
			"args": pyPreview(strings.Join(c.Args, ", "), 200), "scope": scopeName(c.ModuleLevel, c.Scope)}
		if via != "" {
			ev["inside"] = via
			msg += " (inside code run by " + via + ")"
		}
		out = append(out, finding.New(*r, sev(r, c.ModuleLevel), loc.At(int64(c.Offset)), msg, ev))
	}
	if socketLine > 0 && shellLine > 0 {
		out = append(out, finding.New(RulePyReverseShell, RulePyReverseShell.Severity, loc,
			fmt.Sprintf("a socket connected at line %d is handed to a shell at line %d: a reverse shell", socketLine, shellLine),
			map[string]string{"socket_line": fmt.Sprint(socketLine), "shell_line": fmt.Sprint(shellLine)}))
	}
	return out
}

func scopeName(moduleLevel bool, scope string) string {
	if moduleLevel {
		if scope != "" {
			return "import time (class " + scope + ")"
		}
		return "import time"
	}
	return "function " + scope
}

func pyPreview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// pyDedup keeps one finding per rule and offset (Popen(...).communicate()
// is one call), the most severe.
func pyDedup(fs []finding.Finding) []finding.Finding {
	type key struct {
		rule string
		off  int64
		line string
	}
	best := map[key]int{}
	var out []finding.Finding
	for _, f := range fs {
		k := key{f.RuleID, f.Offset, f.Evidence["line"] + f.Evidence["inside"]}
		if i, ok := best[k]; ok {
			if f.Severity > out[i].Severity {
				out[i] = f
			}
			continue
		}
		best[k] = len(out)
		out = append(out, f)
	}
	return out
}

// builtinOpNamespaces are the operator namespaces of PyTorch itself.
var builtinOpNamespaces = map[string]bool{
	"aten": true, "prim": true, "prims": true, "quantized": true, "_quantized": true, "quantized_decomposed": true,
	"profiler": true, "cuda": true, "mkldnn": true, "mkldnn_prepacked": true, "prepacked": true, "_caffe2": true,
	"c10d": true, "_c10d_functional": true, "_c10d_functional_autograd": true, "_dtensor": true, "onednn": true,
	"sparse": true, "_nested": true, "_inductor_test": false,
}

func checkTorchScript(loc finding.Location, m *pysrc.Module) []finding.Finding {
	var out []finding.Finding
	custom := map[string]bool{}
	for _, c := range m.Calls {
		name := strings.ReplaceAll(c.Resolved, "()", "")
		if rest, ok := strings.CutPrefix(name, "torch.ops."); ok {
			name = "ops." + rest
		}
		if rest, ok := strings.CutPrefix(name, "ops."); ok {
			ns, _, _ := strings.Cut(rest, ".")
			if !builtinOpNamespaces[ns] && !custom[name] {
				custom[name] = true
				out = append(out, finding.New(RuleTorchScriptCustomOp, RuleTorchScriptCustomOp.Severity, loc.At(int64(c.Offset)),
					fmt.Sprintf("TorchScript code calls the custom operator %s at line %d: it runs native code from a library loaded with torch.ops.load_library", name, c.Line),
					map[string]string{"callable": name, "line": fmt.Sprint(c.Line), "args": pyPreview(strings.Join(c.Args, ", "), 200)}))
			}
			continue
		}
		if r, _ := judgeCall(c); r != nil && (r.ID == RulePyCommand.ID || r.ID == RulePyDynamicCode.ID || r.ID == RulePyNetwork.ID) {
			out = append(out, finding.New(RuleTorchScriptCustomOp, RuleTorchScriptCustomOp.Severity, loc.At(int64(c.Offset)),
				fmt.Sprintf("TorchScript code names %s at line %d, which TorchScript does not provide: the archive was edited by hand", name, c.Line),
				map[string]string{"callable": name, "line": fmt.Sprint(c.Line), "args": pyPreview(strings.Join(c.Args, ", "), 200)}))
		}
	}
	for _, o := range m.Obfuscated {
		out = append(out, finding.New(RuleTorchScriptCustomOp, RuleTorchScriptCustomOp.Severity, loc.At(int64(o.Offset)),
			fmt.Sprintf("TorchScript code calls %s at line %d, which TorchScript does not provide", o.Sink, o.Line),
			map[string]string{"callable": o.Sink, "line": fmt.Sprint(o.Line)}))
	}
	out = append(out, finding.New(RuleTorchScriptCode, RuleTorchScriptCode.Severity, loc,
		fmt.Sprintf("TorchScript code, %d lines, %d calls", m.Lines, len(m.Calls)),
		map[string]string{"lines": fmt.Sprint(m.Lines), "calls": fmt.Sprint(len(m.Calls))}))
	return pyDedup(out)
}

// AutoMapFiles returns the Python files that transformers imports for a
// repository's config.json (or tokenizer_config.json, preprocessor_config.json)
// when loading with trust_remote_code=True: each auto_map value
// "module.Class" (or "repo_id--module.Class", or a list of such for
// tokenizers) names module.py next to the config. Values that point at
// another repository ("owner/repo--module.Class") are returned with the repo
// prefix kept ("owner/repo--module.py") so the engine can report them. The
// result is sorted and without duplicates; nil when there is no auto_map.
func AutoMapFiles(configJSON []byte) []string {
	var cfg struct {
		AutoMap map[string]json.RawMessage `json:"auto_map"`
	}
	if len(configJSON) > 64<<20 || json.Unmarshal(configJSON, &cfg) != nil {
		return nil
	}
	seen := map[string]bool{}
	add := func(v string) {
		repo := ""
		if i := strings.Index(v, "--"); i >= 0 {
			repo, v = v[:i+2], v[i+2:]
		}
		i := strings.LastIndexByte(v, '.')
		if i <= 0 {
			return
		}
		mod := v[:i]
		file := strings.ReplaceAll(mod, ".", "/") + ".py"
		if strings.Contains(mod, "..") || path.IsAbs(file) {
			return
		}
		seen[repo+file] = true
	}
	for _, raw := range cfg.AutoMap {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			add(s)
			continue
		}
		var list []*string
		if json.Unmarshal(raw, &list) == nil {
			for _, s := range list {
				if s != nil {
					add(*s)
				}
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

package checks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// Keras model configs are JSON descriptions of objects that the loader
// rebuilds: every {"class_name": …, "config": …} is looked up and
// instantiated, and Keras 3 adds "module" (imported by name) and
// "registered_name". Loading a config is therefore a deserialiser as
// powerful as a pickle wherever it can name a module, a function or
// marshalled bytecode. CheckKerasConfig walks the whole config — models
// nest (a Functional inside a Sequential inside a TimeDistributed), custom
// objects hide in initializers, losses, metrics and optimizers — and judges
// every name it finds with the pickle policy (Judge).
//
// Where configs come from (the engine reads them):
//   - legacy .h5 (Keras 2, tf_keras, Keras 3's legacy saver): the root
//     group's string attributes model_config and training_config
//     (format/hdf5.ReadRootAttributes). Keras loads .h5 files without
//     safe_mode (CVE-2025-9905), so every Lambda runs.
//   - .keras (Keras 3): a zip with config.json and metadata.json.

// KindKeras and KindKerasH5 are the artifact kinds of Keras files.
const (
	KindKeras   = "keras"    // Keras 3 zip: config.json, metadata.json, model.weights.h5
	KindKerasH5 = "keras-h5" // legacy HDF5 with a model_config attribute
)

// Limits of the config walk; a config beyond them is reported as scan-limit.
const (
	kerasMaxDepth = 256
	kerasMaxNodes = 2_000_000
)

// kerasNamespaces: modules whose classes a Keras config may name. A module
// outside them is imported by name when the config is loaded (CVE-2025-1550).
var kerasNamespaces = []string{"keras", "tf_keras", "tensorflow", "keras_nlp", "keras_cv", "keras_hub"}

const (
	remKeras = "Do not load this model. Keras rebuilds every object its config names, and legacy .h5 files are " +
		"loaded without safe_mode (CVE-2025-9905). If you need the weights, load them into an architecture you " +
		"define in code (model.load_weights on a .weights.h5 or safetensors file), keep Keras ≥ 3.9 with " +
		"safe_mode=True for .keras files, and report the repository to the hub."
	remKerasCustom = "Check that you trust the module named: loading the model imports it and instantiates the " +
		"class. Register known custom objects explicitly (custom_objects=…) and load with safe_mode=True."
)

var kerasAtlas = []string{atlasUserExecMalicious, atlasSupplyChainModel}

// The rules of the Keras check.
var (
	RuleKerasLambda = finding.Rule{
		ID: "keras-lambda", Severity: finding.Critical,
		Title: "A Keras Lambda layer carries code that runs when the model is loaded",
		Description: "The Lambda layer's function is marshalled Python bytecode (or a named Python function) that Keras " +
			"rebuilds and calls (CVE-2024-3660). safe_mode does not protect legacy .h5 files (CVE-2025-9905) nor " +
			"older Keras versions.",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasUnsafeObject = finding.Rule{
		ID: "keras-unsafe-object", Severity: finding.Critical,
		Title: "The Keras config names a Python module that runs code, touches files or the network",
		Description: "A module/class_name pair outside the Keras namespaces is imported and called when the config " +
			"is deserialised, bypassing safe_mode in Keras < 3.9 ({\"module\": \"subprocess\", \"class_name\": " +
			"\"Popen\"}: CVE-2025-1550). It is judged with the same policy as a pickle callable.",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasGadget = finding.Rule{
		ID: "keras-gadget", Severity: finding.Critical,
		Title: "The Keras config calls a Keras function that downloads files or disables safe_mode",
		Description: "keras.utils.get_file fetches a URL into any folder (CVE-2025-8747); " +
			"keras.config.enable_unsafe_deserialization turns safe_mode off for the rest of the load, so a " +
			"Lambda that follows runs (CVE-2025-9906); load_model/load_weights in a config load a second file.",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasTorchWrapper = finding.Rule{
		ID: "keras-torch-module", Severity: finding.Critical,
		Title: "A TorchModuleWrapper layer unpickles a PyTorch module when the model is loaded",
		Description: "Keras' TorchModuleWrapper stores a torch.save payload in its config and restores it with " +
			"torch.load(weights_only=False), which runs any pickle (CVE-2025-49655).",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasTFOp = finding.Rule{
		ID: "keras-tfop", Severity: finding.High,
		Title: "A TFOpLambda layer calls a TensorFlow function that runs Python, loads libraries or touches files",
		Description: "TFOpLambda layers call the TensorFlow API function their config names: tf.py_function and " +
			"tf.numpy_function run Python, tf.load_op_library loads native code, tf.io reads and writes files.",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasYAML = finding.Rule{
		ID: "keras-yaml", Severity: finding.Critical,
		Title: "The Keras model config is YAML with Python tags",
		Description: "Keras < 2.6 loaded YAML configs with yaml.unsafe_load, where !!python/object tags construct " +
			"any object and call any function (CVE-2021-37678).",
		ATLAS: kerasAtlas, Remediation: remKeras,
	}
	RuleKerasCustom = finding.Rule{
		ID: "keras-custom-object", Severity: finding.Medium,
		Title: "The Keras config imports a third-party or user module",
		Description: "A module outside the Keras, TensorFlow and KerasHub namespaces is imported when the config is " +
			"loaded: typically a custom layer, but importing a module runs its code.",
		ATLAS: kerasAtlas, Remediation: remKerasCustom,
	}
)

// KerasRules lists the rules CheckKerasConfig emits. It also emits RuleLimit
// and RuleUnreadable, which the container rules declare.
func KerasRules() []finding.Rule {
	return []finding.Rule{RuleKerasLambda, RuleKerasUnsafeObject, RuleKerasGadget, RuleKerasTorchWrapper,
		RuleKerasTFOp, RuleKerasYAML, RuleKerasCustom}
}

// kerasGadgets are Keras functions and classes, in the Keras namespaces,
// that are dangerous to name in a config. Matched against class_name,
// registered_name and the function name of {"class_name": "function"}.
var kerasGadgets = map[string]struct {
	rule finding.Rule
	sev  finding.Severity
	why  string
}{
	"Lambda":                        {RuleKerasLambda, finding.Critical, "Lambda layer: its function is Python code (CVE-2024-3660)"},
	"__lambda__":                    {RuleKerasLambda, finding.Critical, "marshalled Python bytecode of a lambda (CVE-2024-3660)"},
	"TorchModuleWrapper":            {RuleKerasTorchWrapper, finding.Critical, "torch.load(weights_only=False) of a pickled module (CVE-2025-49655)"},
	"get_file":                      {RuleKerasGadget, finding.High, "keras.utils.get_file downloads a URL into any folder (CVE-2025-8747)"},
	"enable_unsafe_deserialization": {RuleKerasGadget, finding.Critical, "turns safe_mode off for the rest of the load (CVE-2025-9906)"},
	"load_model":                    {RuleKerasGadget, finding.High, "loads a second model file, outside this scan"},
	"load_weights":                  {RuleKerasGadget, finding.High, "loads a second file, outside this scan"},
}

// tfOpDanger: TensorFlow API functions a TFOpLambda must not call, by the
// suffix of their name (matched on dotted components).
var tfOpDanger = []struct {
	name string
	sev  finding.Severity
	why  string
}{
	{"py_function", finding.Critical, "runs a Python function"},
	{"numpy_function", finding.Critical, "runs a Python function"},
	{"py_func", finding.Critical, "runs a Python function"},
	{"PyFunc", finding.Critical, "runs a Python function"},
	{"EagerPyFunc", finding.Critical, "runs a Python function"},
	{"load_op_library", finding.Critical, "loads native code"},
	{"load_library", finding.Critical, "loads native code"},
	{"io.write_file", finding.High, "writes a file"},
	{"io.read_file", finding.High, "reads a file"},
	{"io.matching_files", finding.High, "lists files"},
	{"io.gfile", finding.High, "reads, writes or deletes files"},
	{"WriteFile", finding.High, "writes a file"},
	{"ReadFile", finding.High, "reads a file"},
	{"MatchingFiles", finding.High, "lists files"},
	{"print", finding.Low, "prints to a file or stream"},
}

// kerasWalk carries the state of one config walk.
type kerasWalk struct {
	loc      finding.Location
	source   string
	h5       bool
	nodes    int
	limitHit bool
	out      []finding.Finding
	seen     map[string]bool // rule|path, so one object is reported once per rule
}

// CheckKerasConfig reports what loading the Keras config configJSON would
// run. source says where it came from ("config.json", "model_config
// attribute", "training_config attribute"); it is named in the messages,
// and sources that are HDF5 attributes get the note that .h5 files ignore
// safe_mode.
func CheckKerasConfig(loc finding.Location, source string, configJSON []byte) []finding.Finding {
	w := &kerasWalk{loc: loc, source: source, seen: map[string]bool{},
		h5: strings.Contains(source, "attribute")}
	trimmed := bytes.TrimSpace(configJSON)
	if len(trimmed) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if isPythonYAML(trimmed) {
			w.add(RuleKerasYAML, finding.Critical, "", "", "",
				"the config is YAML with !!python tags, which Keras < 2.6 loads with yaml.unsafe_load",
				map[string]string{"tag": firstPythonTag(trimmed)})
			return w.out
		}
		return []finding.Finding{finding.New(RuleUnreadable, RuleUnreadable.Severity, loc,
			fmt.Sprintf("the Keras %s is not valid JSON: %v", source, err), map[string]string{"source": source})}
	}
	w.walk(v, "", "", 0)
	if w.limitHit {
		w.out = append(w.out, finding.New(RuleLimit, RuleLimit.Severity, loc,
			fmt.Sprintf("the Keras %s is nested deeper than %d levels or has more than %d values; the rest was not analysed",
				source, kerasMaxDepth, kerasMaxNodes), map[string]string{"source": source}))
	}
	return w.out
}

func isPythonYAML(b []byte) bool {
	return bytes.Contains(b, []byte("!!python")) || bytes.Contains(b, []byte("!python/")) ||
		bytes.Contains(b, []byte("tag:yaml.org,2002:python"))
}

func firstPythonTag(b []byte) string {
	for _, t := range [][]byte{[]byte("!!python"), []byte("!python/"), []byte("tag:yaml.org,2002:python")} {
		if i := bytes.Index(b, t); i >= 0 {
			end := i
			for end < len(b) && end-i < 80 && b[end] != ' ' && b[end] != '\n' && b[end] != '\r' {
				end++
			}
			return string(b[i:end])
		}
	}
	return ""
}

func (w *kerasWalk) add(r finding.Rule, sev finding.Severity, layer, path, callable, msg string, ev map[string]string) {
	key := r.ID + "|" + path
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	if ev == nil {
		ev = map[string]string{}
	}
	ev["source"] = w.source
	if path != "" {
		ev["path"] = path
	}
	if layer != "" {
		ev["layer"] = layer
		msg = fmt.Sprintf("layer %q: %s", layer, msg)
	}
	if callable != "" {
		ev["callable"] = callable
	}
	msg += " (in the " + w.source
	if path != "" {
		msg += " at " + path
	}
	msg += ")"
	if w.h5 && sev >= finding.High {
		msg += "; .h5 files are loaded without safe_mode (CVE-2025-9905)"
	}
	w.out = append(w.out, finding.New(r, sev, w.loc, msg, ev))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func str(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// walk visits every value; layer is the name of the innermost layer (an
// object with class_name whose config has a name).
func (w *kerasWalk) walk(v any, path, layer string, depth int) {
	if w.limitHit {
		return
	}
	w.nodes++
	if depth > kerasMaxDepth || w.nodes > kerasMaxNodes {
		w.limitHit = true
		return
	}
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			w.walk(e, path+"["+strconv.Itoa(i)+"]", layer, depth+1)
		}
	case map[string]any:
		if cfg, ok := t["config"].(map[string]any); ok {
			if _, isObj := t["class_name"]; isObj {
				if n, ok := str(cfg["name"]); ok && n != "" {
					layer = n
				}
			}
		}
		if n, ok := str(t["name"]); ok && layer == "" && t["class_name"] != nil {
			layer = n
		}
		w.object(t, path, layer)
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w.walk(t[k], join(path, k), layer, depth+1)
		}
	}
}

func inKerasNamespace(module string) bool {
	for _, ns := range kerasNamespaces {
		if module == ns || strings.HasPrefix(module, ns+".") {
			return true
		}
	}
	return false
}

// object judges one JSON object of the config.
func (w *kerasWalk) object(o map[string]any, path, layer string) {
	cls, _ := str(o["class_name"])
	module, _ := str(o["module"])
	reg, _ := str(o["registered_name"])
	cfg := o["config"]

	// The function a {"class_name": "function"} object stands for (Keras 3
	// serialises functions so).
	fn := ""
	if cls == "function" {
		if s, ok := str(cfg); ok {
			fn = s
		} else if reg != "" {
			fn = reg
		}
	}

	// Keras gadgets, by name, whatever the module.
	for _, name := range []string{cls, fn, reg} {
		if name == "" {
			continue
		}
		short := name
		if i := strings.LastIndexAny(short, ".>"); i >= 0 {
			short = short[i+1:]
		}
		g, ok := kerasGadgets[short]
		if !ok {
			continue
		}
		ev := map[string]string{"class_name": cls}
		if module != "" {
			ev["module"] = module
		}
		callable := strings.Trim(module+"."+short, ".")
		switch g.rule.ID {
		case RuleKerasLambda.ID:
			w.lambda(o, path, layer, short)
			continue
		case RuleKerasTorchWrapper.ID:
			if c, ok := cfg.(map[string]any); ok {
				if p, ok := str(c["module"]); ok {
					ev["payload_bytes"] = strconv.Itoa(len(p))
					if len(p) > 64 {
						p = p[:64] + "…"
					}
					ev["payload"] = p
				}
			}
		}
		w.add(g.rule, g.sev, layer, path, callable, g.why, ev)
	}

	if cls == "TFOpLambda" {
		w.tfop(o, path, layer)
	}

	// A module outside the Keras namespaces is imported by name (Keras 3).
	if module != "" && cls != "" && !inKerasNamespace(module) && cls != "Lambda" {
		name := cls
		if cls == "function" && fn != "" {
			name = fn
		}
		w.judge(module, name, path, layer, "module "+strconv.Quote(module)+" with class_name "+strconv.Quote(cls))
	}
	// fn_module / fn pairs (function references in some configs).
	if fm, ok := str(o["fn_module"]); ok && fm != "" && !inKerasNamespace(fm) {
		name, _ := str(o["fn"])
		if name == "" {
			name, _ = str(o["function"])
		}
		w.judge(fm, name, join(path, "fn_module"), layer, "fn_module "+strconv.Quote(fm))
	}
	// A registered custom object outside the known packages ("Package>Name").
	if i := strings.IndexByte(reg, '>'); i > 0 && module == "" {
		pkg := reg[:i]
		if !inKerasNamespace(pkg) && pkg != "Custom" {
			w.add(RuleKerasCustom, finding.Medium, layer, path, reg,
				fmt.Sprintf("registered custom object %q: loading needs the package that registers it", reg), nil)
		}
	}
}

// judge applies the pickle policy to module.name.
func (w *kerasWalk) judge(module, name, path, layer, what string) {
	v := Judge(module, name)
	if v.Allowed {
		return
	}
	rule := RuleKerasCustom
	if v.Severity >= finding.High {
		rule = RuleKerasUnsafeObject
	}
	w.add(rule, v.Severity, layer, path, v.Canonical,
		fmt.Sprintf("%s: loading imports and calls %s: %s", what, v.Canonical, v.Why), nil)
}

// lambda reports a Lambda layer (Keras 2: function is [code, defaults,
// closure] with function_type "lambda", or a name with module; Keras 3:
// function is {"class_name": "__lambda__", "config": {"code": …}}).
func (w *kerasWalk) lambda(o map[string]any, path, layer, short string) {
	if short == "__lambda__" {
		code := ""
		if c, ok := o["config"].(map[string]any); ok {
			code, _ = str(c["code"])
		}
		w.add(RuleKerasLambda, finding.Critical, layer, path, "", "marshalled Python bytecode is rebuilt and called (CVE-2024-3660)",
			map[string]string{"bytecode_base64_chars": strconv.Itoa(len(code))})
		return
	}
	cfg, _ := o["config"].(map[string]any)
	if cfg == nil {
		w.add(RuleKerasLambda, finding.Critical, layer, path, "", "Lambda layer without a readable config: its function is Python code (CVE-2024-3660)", nil)
		return
	}
	fpath := join(join(path, "config"), "function")
	ftype, _ := str(cfg["function_type"])
	module, _ := str(cfg["module"])
	switch f := cfg["function"].(type) {
	case string:
		if ftype == "lambda" {
			w.add(RuleKerasLambda, finding.Critical, layer, fpath, "",
				"Lambda layer with marshalled Python bytecode, rebuilt and called on load (CVE-2024-3660)",
				map[string]string{"function_type": ftype, "bytecode_base64_chars": strconv.Itoa(len(f))})
			return
		}
		callable := strings.Trim(module+"."+f, ".")
		sev := finding.High
		why := "Lambda layer calls the Python function " + callable
		if module != "" {
			if v := Judge(module, f); v.Severity > sev {
				sev, why = v.Severity, why+": "+v.Why
			}
		}
		w.add(RuleKerasLambda, sev, layer, fpath, callable, why+" (CVE-2024-3660)", map[string]string{"function_type": ftype})
	case []any:
		code := ""
		if len(f) > 0 {
			code, _ = str(f[0])
		}
		w.add(RuleKerasLambda, finding.Critical, layer, fpath, "",
			"Lambda layer with marshalled Python bytecode, rebuilt and called on load (CVE-2024-3660)",
			map[string]string{"function_type": ftype, "module": module, "bytecode_base64_chars": strconv.Itoa(len(code))})
	case map[string]any:
		// Keras 3: the nested object is visited by the walk (__lambda__ or
		// a serialised function); report the layer itself too.
		w.add(RuleKerasLambda, finding.Critical, layer, path, "",
			"Lambda layer: its function is Python code rebuilt on load (CVE-2024-3660)", nil)
	default:
		w.add(RuleKerasLambda, finding.Critical, layer, path, "",
			"Lambda layer: its function is Python code rebuilt on load (CVE-2024-3660)", nil)
	}
}

// tfop judges the TensorFlow function a TFOpLambda layer calls.
func (w *kerasWalk) tfop(o map[string]any, path, layer string) {
	cfg, _ := o["config"].(map[string]any)
	if cfg == nil {
		return
	}
	fn, _ := str(cfg["function"])
	if fn == "" {
		return
	}
	fpath := join(join(path, "config"), "function")
	name := strings.TrimPrefix(fn, "tf.")
	for _, d := range tfOpDanger {
		if name == d.name || strings.HasSuffix(name, "."+d.name) || strings.HasPrefix(name, d.name+".") ||
			strings.Contains(name, "."+d.name+".") {
			if d.sev < finding.Medium {
				return
			}
			w.add(RuleKerasTFOp, d.sev, layer, fpath, "tf."+name, "TFOpLambda calls tf."+name+", which "+d.why, nil)
			return
		}
	}
	// Names outside TensorFlow's API cannot be resolved by TFOpLambda;
	// a Python-looking module path (os.system) is a crafted file.
	top := name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		top = name[:i]
	}
	if stdlibModules[top] && !tfSubmodule(top) {
		w.add(RuleKerasTFOp, finding.High, layer, fpath, name,
			"TFOpLambda names "+name+", which is not a TensorFlow function", nil)
	}
}

// tfSubmodule: TensorFlow API modules that share a name with a standard
// library module (tf.math, tf.random, tf.io…).
func tfSubmodule(top string) bool {
	switch top {
	case "math", "random", "io", "signal", "types", "test", "compat", "debugging", "audio", "image",
		"strings", "string", "queue", "profiler", "config", "data", "errors", "linalg", "sets", "nest":
		return true
	}
	return false
}

// KerasChecker checks Keras configs. The engine hands it an Artifact of
// kind KindKeras (Text: config.json of a .keras zip, Name: "config.json")
// or KindKerasH5 (Text: a model_config or training_config attribute read
// with format/hdf5, Name: "model_config attribute" …).
type KerasChecker struct{}

// Name implements Checker.
func (KerasChecker) Name() string { return "keras" }

// Accepts implements Checker.
func (KerasChecker) Accepts(kind string) bool { return kind == KindKeras || kind == KindKerasH5 }

// Rules implements Checker.
func (KerasChecker) Rules() []finding.Rule { return KerasRules() }

// Check implements Checker.
func (KerasChecker) Check(a *Artifact) []finding.Finding {
	src := a.Name
	if src == "" {
		src = "config.json"
		if a.Kind == KindKerasH5 {
			src = "model_config attribute"
		}
	}
	return CheckKerasConfig(a.Loc, src, a.Text)
}

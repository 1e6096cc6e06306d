package checks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/onnx"
)

// The rules of the ONNX check.
var (
	// RuleONNXExternalPath: ONNX loaders join an external-data location
	// to the model's folder and open it; onnx.save_model writes there.
	RuleONNXExternalPath = finding.Rule{
		ID: "onnx-external-data-path", Severity: finding.High,
		Title: "A tensor's external data points outside the model folder",
		Description: "A tensor keeps its bytes in another file whose location is absolute, climbs out of the model's folder with '..', " +
			"or resolves through a symbolic link to a file outside it. Loading the model reads that file into the tensor (and can leak it " +
			"through the model's outputs); saving it writes there (CVE-2022-25882, CVE-2024-27318, CVE-2025-51480, CVE-2026-34447).",
		ATLAS: []string{atlasSupplyChainModel, atlasUserExecMalicious},
		Remediation: "Do not load or re-save this model. External data must be plain relative files inside the model's folder; " +
			"ask the publisher for a fixed copy. Keep onnx and onnxruntime current (recent releases reject such locations), but do not rely on it.",
	}
	// RuleONNXCustomOp: operators outside the built-in domains are
	// implemented by custom-op libraries the runtime loads as native code.
	RuleONNXCustomOp = finding.Rule{
		ID: "onnx-custom-operator", Severity: finding.Medium,
		Title: "The model uses operators from a custom domain",
		Description: "A node names an operator outside the ONNX and ONNX Runtime domains. Running the model needs a custom-op library " +
			"(register_custom_ops_library, a TensorRT plugin, onnxruntime-extensions): native code that runs with the application's rights.",
		ATLAS: []string{atlasUserExecMalicious, atlasSupplyChainModel},
		Remediation: "Find out which library implements the domain and who publishes it; load only libraries you have reviewed " +
			"and pinned, never one shipped next to the model.",
	}
	// RuleONNXExternalMissing: the external file is not there or is
	// shorter than a tensor needs.
	RuleONNXExternalMissing = finding.Rule{
		ID: "onnx-external-data-missing", Severity: finding.Low,
		Title: "A tensor's external data file is missing or too short",
		Description: "The model keeps tensor bytes in a file that is not in its folder, or that ends before the offset and length " +
			"the tensor declares. The model cannot load as shipped, and the missing bytes were not scanned.",
		ATLAS:       []string{atlasSupplyChainModel},
		Remediation: "Download the whole model folder (all external data files) from the same revision and scan it again.",
	}
	// RuleONNXModel describes the model.
	RuleONNXModel = finding.Rule{
		ID: "onnx-model", Severity: finding.Info,
		Title: "ONNX model",
		Description: "The file is an ONNX model: its IR version, operator sets, producer and size. ONNX graphs run no Python code; " +
			"what a loader reads beyond the file (external data, custom operators) is reported separately.",
		ATLAS:       []string{atlasSupplyChainModel},
		Remediation: "No action needed.",
	}
)

// ONNXRules lists the rules CheckONNX can emit.
func ONNXRules() []finding.Rule {
	return []finding.Rule{RuleONNXExternalPath, RuleONNXCustomOp, RuleONNXExternalMissing, RuleONNXModel}
}

// builtinONNXDomains are the operator domains a stock runtime implements
// without loading a library.
var builtinONNXDomains = map[string]string{
	"":                         "ONNX default domain",
	"ai.onnx":                  "ONNX default domain, spelled out",
	"ai.onnx.ml":               "ONNX-ML operators",
	"ai.onnx.training":         "ONNX training operators",
	"ai.onnx.preview.training": "ONNX preview training operators",
	"com.microsoft":            "ONNX Runtime contrib operators, built into onnxruntime",
	"com.microsoft.nchwc":      "ONNX Runtime layout-optimised operators, written by its own optimizer",
}

// ExternalTarget is what is at an external-data location on disk.
type ExternalTarget struct {
	Exists bool  // a file is there
	Inside bool  // with symbolic links followed, it is inside the model folder
	Size   int64 // its size in bytes, when it exists
}

// ResolveExternal looks an external-data location up relative to the
// model's folder. The engine passes ONNXDirResolver for a model read from
// a folder, and nil for one read from inside an archive, where only the
// location's text can be judged.
type ResolveExternal func(location string) (ExternalTarget, error)

// ONNXDirResolver resolves locations against dir with symbolic links
// followed, as the loader's open() would. It only looks at file metadata.
func ONNXDirResolver(dir string) ResolveExternal {
	return func(location string) (ExternalTarget, error) {
		root, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return ExternalTarget{}, fmt.Errorf("onnx: resolve model folder %s: %w", dir, err)
		}
		root, err = filepath.Abs(root)
		if err != nil {
			return ExternalTarget{}, err
		}
		path := filepath.Join(dir, filepath.FromSlash(location))
		real, err := filepath.EvalSymlinks(path)
		if errors.Is(err, fs.ErrNotExist) {
			// onnx.save_model would create the file, through any link on
			// the way: judge where the existing part of the path leads.
			dest, err := resolveMissing(path)
			if err != nil {
				return ExternalTarget{}, fmt.Errorf("onnx: resolve external data %q: %w", location, err)
			}
			return ExternalTarget{Inside: within(root, dest)}, nil
		}
		if err != nil {
			return ExternalTarget{}, fmt.Errorf("onnx: resolve external data %q: %w", location, err)
		}
		real, err = filepath.Abs(real)
		if err != nil {
			return ExternalTarget{}, err
		}
		fi, err := os.Stat(real)
		if err != nil {
			return ExternalTarget{}, fmt.Errorf("onnx: external data %q: %w", location, err)
		}
		return ExternalTarget{Exists: true, Inside: within(root, real), Size: fi.Size()}, nil
	}
}

// resolveMissing resolves a path that does not exist: the deepest part
// that exists with its links followed, dangling links followed by hand,
// and the missing rest joined on.
func resolveMissing(path string) (string, error) {
	p, rest := path, ""
	for range 255 { // as many links as Linux follows, and then some
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Abs(filepath.Join(real, rest))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			p = target
			continue
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Abs(filepath.Join(p, rest))
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
	return "", errors.New("too many symbolic links")
}

func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// lexicalPath judges a location by its text, with both '/' and '\' taken
// as separators because the same model may be loaded on Windows. escapes
// is set when it is absolute or climbs above the folder; dotdot when it
// has a '..' component at all.
func lexicalPath(loc string) (reason string, escapes, dotdot bool) {
	switch {
	case strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`):
		return "the location is an absolute path", true, false
	case len(loc) >= 2 && loc[1] == ':' && (loc[0]|0x20) >= 'a' && (loc[0]|0x20) <= 'z':
		return "the location starts with a Windows drive letter", true, false
	}
	depth := 0
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch part {
		case ".":
		case "..":
			dotdot = true
			depth--
			if depth < 0 {
				return "the location climbs out of the model folder with '..'", true, true
			}
		default:
			depth++
		}
	}
	if dotdot {
		return "the location has a '..' component", false, true
	}
	return "", false, false
}

// maxONNXFindings bounds the findings of one rule for one model.
const maxONNXFindings = 100

// CheckONNX turns a parsed ONNX model into findings. resolve may be nil
// (a model inside an archive); otherwise every external-data location
// that looks inside the folder is looked up, to catch symbolic links that
// lead out of it and files that are missing.
func CheckONNX(loc finding.Location, m *onnx.Model, resolve ResolveExternal) []finding.Finding {
	if m == nil {
		return nil
	}
	var out []finding.Finding
	out = append(out, onnxExternal(loc, m, resolve)...)
	out = append(out, onnxCustomOps(loc, m)...)
	out = append(out, onnxSummary(loc, m))
	return out
}

func onnxExternal(loc finding.Location, m *onnx.Model, resolve ResolveExternal) []finding.Finding {
	// One finding per distinct location, naming the first tensor and how
	// many use it: a sharded model has thousands of tensors per file.
	type use struct {
		first   onnx.External
		tensors int
		end     int64 // largest offset+length a tensor needs
	}
	uses := map[string]*use{}
	var order []string
	for _, e := range m.ExternalData {
		u := uses[e.Location]
		if u == nil {
			u = &use{first: e}
			uses[e.Location] = u
			order = append(order, e.Location)
		}
		u.tensors++
		if e.Offset >= 0 && e.Length >= 0 && e.Offset+e.Length > u.end {
			u.end = e.Offset + e.Length
		}
	}
	var out []finding.Finding
	var missing int
	for _, l := range order {
		u := uses[l]
		e := u.first
		ev := map[string]string{
			"location": strconv.Quote(l), "tensor": e.Tensor, "graph": e.Graph,
			"tensors": strconv.Itoa(u.tensors),
		}
		if !e.Declared {
			ev["data_location"] = "not EXTERNAL (onnx ignores the entry; other tools may not)"
		}
		if l == "" {
			continue // declared external without a location: the load fails
		}
		reason, escapes, dotdot := lexicalPath(l)
		if escapes {
			if len(out) < maxONNXFindings {
				out = append(out, finding.New(RuleONNXExternalPath, RuleONNXExternalPath.Severity, loc.At(e.At),
					fmt.Sprintf("tensor %q reads its bytes from %q: %s", e.Tensor, l, reason), ev))
			}
			continue
		}
		if resolve == nil {
			if dotdot && len(out) < maxONNXFindings {
				out = append(out, finding.New(RuleONNXExternalPath, finding.Low, loc.At(e.At),
					fmt.Sprintf("tensor %q reads its bytes from %q: %s; it stays inside the folder unless a component is a symbolic link", e.Tensor, l, reason), ev))
			}
			continue
		}
		t, err := resolve(l)
		if err != nil {
			ev["error"] = err.Error()
			if len(out) < maxONNXFindings {
				out = append(out, finding.New(RuleUnreadable, RuleUnreadable.Severity, loc.At(e.At),
					fmt.Sprintf("external data %q of tensor %q could not be checked: %v", l, e.Tensor, err), ev))
			}
			continue
		}
		switch {
		case !t.Inside:
			if len(out) < maxONNXFindings {
				out = append(out, finding.New(RuleONNXExternalPath, RuleONNXExternalPath.Severity, loc.At(e.At),
					fmt.Sprintf("tensor %q reads its bytes from %q, which resolves through a symbolic link to a file outside the model folder", e.Tensor, l), ev))
			}
		case !t.Exists:
			if missing < maxONNXFindings {
				missing++
				out = append(out, finding.New(RuleONNXExternalMissing, RuleONNXExternalMissing.Severity, loc.At(e.At),
					fmt.Sprintf("external data file %q of tensor %q is missing", l, e.Tensor), ev))
			}
		case u.end > t.Size:
			if missing < maxONNXFindings {
				missing++
				ev["size"] = strconv.FormatInt(t.Size, 10)
				ev["needed"] = strconv.FormatInt(u.end, 10)
				out = append(out, finding.New(RuleONNXExternalMissing, RuleONNXExternalMissing.Severity, loc.At(e.At),
					fmt.Sprintf("external data file %q has %d bytes, but its tensors need %d", l, t.Size, u.end), ev))
			}
		case dotdot:
			if len(out) < maxONNXFindings {
				out = append(out, finding.New(RuleONNXExternalPath, finding.Low, loc.At(e.At),
					fmt.Sprintf("tensor %q reads its bytes from %q: %s, though it resolves inside the folder", e.Tensor, l, reason), ev))
			}
		}
	}
	return out
}

func onnxCustomOps(loc finding.Location, m *onnx.Model) []finding.Finding {
	local := map[string]bool{}
	for _, f := range m.Functions {
		local[f.Domain+"\x00"+f.Name] = true
	}
	var out []finding.Finding
	for _, op := range m.Ops {
		if _, ok := builtinONNXDomains[op.Domain]; ok || local[op.Domain+"\x00"+op.Type] {
			continue
		}
		if len(out) >= maxONNXFindings {
			break
		}
		out = append(out, finding.New(RuleONNXCustomOp, RuleONNXCustomOp.Severity, loc.At(op.Offset),
			fmt.Sprintf("operator %s.%s (%d nodes, first in %s) needs a custom-op library for domain %q", op.Domain, op.Type, op.Count, op.Graph, op.Domain),
			map[string]string{"domain": op.Domain, "op_type": op.Type, "graph": op.Graph, "nodes": strconv.Itoa(op.Count)}))
	}
	return out
}

func onnxSummary(loc finding.Location, m *onnx.Model) finding.Finding {
	var opsets []string
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		opsets = append(opsets, fmt.Sprintf("%s %d", d, o.Version))
	}
	sort.Strings(opsets)
	files := map[string]bool{}
	for _, e := range m.ExternalData {
		files[e.Location] = true
	}
	producer := strings.TrimSpace(m.Producer + " " + m.ProducerVersion)
	if producer == "" {
		producer = "unknown"
	}
	ev := map[string]string{
		"ir_version":     strconv.FormatInt(m.IRVersion, 10),
		"opsets":         strings.Join(opsets, ", "),
		"producer":       producer,
		"nodes":          strconv.Itoa(m.Nodes),
		"initializers":   strconv.Itoa(m.Initializers),
		"graphs":         strconv.Itoa(m.Graphs),
		"functions":      strconv.Itoa(len(m.Functions)),
		"external_files": strconv.Itoa(len(files)),
	}
	msg := fmt.Sprintf("ONNX model, IR version %d, opsets %s, produced by %s: %d nodes in %d graphs, %d initializers",
		m.IRVersion, ev["opsets"], producer, m.Nodes, m.Graphs, m.Initializers)
	if len(files) > 0 {
		msg += fmt.Sprintf(", tensor bytes in %d external files", len(files))
	}
	return finding.New(RuleONNXModel, RuleONNXModel.Severity, loc, msg, ev)
}

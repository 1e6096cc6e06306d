package checks

import (
	"fmt"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/gguf"
)

// KindGGUF is the artifact kind of a GGUF file.
const KindGGUF = "gguf"

// The rules of the GGUF check.
var (
	RuleGGUFMalformed = finding.Rule{
		ID: "gguf-malformed", Severity: finding.High,
		Title: "The GGUF header is malformed in a way that corrupts loaders' memory",
		Description: "Counts or lengths larger than the file, element counts or byte sizes that overflow, general.alignment " +
			"that is zero, not a power of two or not a uint32, tensors that are misaligned, overlap or reach past the end of " +
			"the file, unknown ggml types, more than four dimensions, duplicate keys or tensor names: the inputs of the " +
			"llama.cpp heap overflows (CVE-2024-21802, CVE-2024-21836, CVE-2025-53630 and their bypasses). Loaders " +
			"without those fixes can be made to run code.",
		ATLAS:       []string{atlasSupplyChainModel, atlasUserExecMalicious, atlasEvade},
		Remediation: "Do not load this file, and keep llama.cpp, llama-cpp-python and other GGUF loaders up to date. Re-download the model from a trusted source and compare its hash with the publisher's.",
	}
	RuleGGUFAnomaly = finding.Rule{
		ID: "gguf-anomaly", Severity: finding.Low,
		Title: "The GGUF tensor data has a layout that GGUF writers do not produce",
		Description: "Tensors out of order, gaps between them, or bytes after the last one: current llama.cpp refuses such " +
			"files, and the uncovered bytes can carry data no tensor accounts for.",
		ATLAS:       []string{atlasEvade},
		Remediation: "Check where the file came from; re-convert the model with llama.cpp's tools.",
	}
	RuleGGUFInventory = finding.Rule{
		ID: "gguf-inventory", Severity: finding.Info,
		Title:       "GGUF model",
		Description: "The finding records the model's architecture, tensors, parameters, quantisation types and whether it carries chat templates (Jinja code that the loader renders), for the inventory.",
		ATLAS:       []string{atlasSupplyChainModel},
		Remediation: "No action needed.",
	}
)

// GGUFChecker checks the artifacts of kind KindGGUF, whose Model is a
// *gguf.File.
type GGUFChecker struct{}

// Name implements Checker.
func (GGUFChecker) Name() string { return "gguf" }

// Accepts implements Checker.
func (GGUFChecker) Accepts(kind string) bool { return kind == KindGGUF }

// Rules implements Checker.
func (GGUFChecker) Rules() []finding.Rule { return GGUFRules() }

// Check implements Checker.
func (GGUFChecker) Check(a *Artifact) []finding.Finding {
	f, _ := a.Model.(*gguf.File)
	return CheckGGUF(a.Loc, f)
}

// GGUFRules lists the rules CheckGGUF emits.
func GGUFRules() []finding.Rule {
	return []finding.Rule{RuleGGUFMalformed, RuleGGUFAnomaly, RuleGGUFInventory}
}

func ggufRule(kind string) finding.Rule {
	switch kind {
	case gguf.KindLayout, gguf.KindTrailingBytes:
		return RuleGGUFAnomaly
	}
	return RuleGGUFMalformed
}

// CheckGGUF reports the anomalies of a parsed GGUF header and an inventory
// finding. The chat templates (f.ChatTemplates) are not analysed here.
func CheckGGUF(loc finding.Location, f *gguf.File) []finding.Finding {
	if f == nil {
		return nil
	}
	var kinds, details []string
	var offs []int64
	for _, a := range f.Anomalies {
		kinds, details, offs = append(kinds, a.Kind), append(details, a.Detail), append(offs, a.Offset)
	}
	out := modelAnomalyFindings(loc, kinds, details, offs, ggufRule)
	ev := map[string]string{
		"version":        fmt.Sprint(f.Version),
		"tensors":        fmt.Sprint(f.TensorCount),
		"parameters":     fmt.Sprint(f.ParamCount),
		"types":          modelCountList(f.Types),
		"chat_templates": fmt.Sprint(len(f.ChatTemplates())),
	}
	for _, k := range []string{"general.architecture", "general.name"} {
		if s := f.String(k); s != "" {
			ev[k] = ggufTruncate(s, 200)
		}
	}
	if f.BigEndian {
		ev["byte_order"] = "big-endian"
	}
	arch := ev["general.architecture"]
	if arch == "" {
		arch = "unknown architecture"
	}
	msg := fmt.Sprintf("GGUF v%d, %s, %d tensors, %d parameters (%s)", f.Version, arch, f.TensorCount, f.ParamCount, ev["types"])
	out = append(out, finding.New(RuleGGUFInventory, RuleGGUFInventory.Severity, loc, msg, ev))
	return out
}

func ggufTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

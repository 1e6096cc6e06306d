package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/safetensors"
)

// KindSafetensors is the artifact kind of a safetensors file.
const KindSafetensors = "safetensors"

const remSafetensorsMalformed = "Do not load this file: its header does not describe its bytes the way the format requires, " +
	"so loaders disagree about what it contains. Re-download it from a trusted source and compare its hash with the publisher's."

// The rules of the safetensors check.
var (
	RuleSafetensorsMalformed = finding.Rule{
		ID: "safetensors-malformed", Severity: finding.High,
		Title: "The safetensors header does not match the file",
		Description: "The header is not strict JSON (duplicate keys, trailing garbage, invalid UTF-8), names an unknown dtype, " +
			"or its data_offsets do not tile the data area exactly: ranges that overlap, leave holes, differ from shape × dtype " +
			"or reach past the end. The format requires full, hole-free indexing so that no bytes escape the header " +
			"(polyglot files), and loaders that trust the offsets read out of bounds or disagree with each other and with scanners.",
		ATLAS:       []string{atlasSupplyChainModel, atlasUserExecMalicious, atlasEvade},
		Remediation: remSafetensorsMalformed,
	}
	RuleSafetensorsMetadata = finding.Rule{
		ID: "safetensors-metadata", Severity: finding.Medium,
		Title: "The safetensors metadata holds values that are not strings",
		Description: "__metadata__ must map strings to strings; the reference loader refuses anything else, so the file was " +
			"not written by a safetensors library, and tools that read the metadata leniently see data others do not.",
		ATLAS:       []string{atlasSupplyChainModel, atlasEvade},
		Remediation: "Check where the file came from; re-export it with the safetensors library.",
	}
	RuleSafetensorsAnomaly = finding.Rule{
		ID: "safetensors-anomaly", Severity: finding.Low,
		Title: "The safetensors header has a form that safetensors writers do not produce",
		Description: "Whitespace before the JSON object or tensor entries with keys the format does not define: " +
			"loaders accept them, but they are signs of a hand-made file.",
		ATLAS:       []string{atlasEvade},
		Remediation: "Check where the file came from; re-export it with the safetensors library.",
	}
	RuleSafetensorsIndexPath = finding.Rule{
		ID: "safetensors-index-path", Severity: finding.High,
		Title: "The shard index points outside the model's folder",
		Description: "A shard name in model.safetensors.index.json contains a path separator, '..', a drive letter or a NUL: " +
			"loaders join it to the model's folder and open whatever file it reaches.",
		ATLAS:       []string{atlasSupplyChainModel, atlasUserExecMalicious},
		Remediation: "Do not load this model; shard names are plain file names in the model's folder.",
	}
	RuleSafetensorsIndexMismatch = finding.Rule{
		ID: "safetensors-index-mismatch", Severity: finding.Medium,
		Title: "The shard index does not match the shards",
		Description: "The index names shards that are missing, puts tensors in shards that do not hold them, lists a tensor twice, " +
			"or a shard holds tensors the index does not list: loaders then fail, load another tensor than the index says, " +
			"or leave weights randomly initialised.",
		ATLAS:       []string{atlasSupplyChainModel},
		Remediation: "Re-download the whole model at one pinned revision and check the shards' hashes.",
	}
	RuleSafetensorsInventory = finding.Rule{
		ID: "safetensors-inventory", Severity: finding.Info,
		Title:       "safetensors weights",
		Description: "The file stores tensors only; loading it runs no code. The finding records its tensors, parameters and dtypes for the inventory.",
		ATLAS:       []string{atlasSupplyChainModel},
		Remediation: "No action needed.",
	}
)

// SafetensorsChecker checks the artifacts of kind KindSafetensors, whose Model is a
// *safetensors.File.
type SafetensorsChecker struct{}

// Name implements Checker.
func (SafetensorsChecker) Name() string { return "safetensors" }

// Accepts implements Checker.
func (SafetensorsChecker) Accepts(kind string) bool { return kind == KindSafetensors }

// Rules implements Checker.
func (SafetensorsChecker) Rules() []finding.Rule { return SafetensorsRules() }

// Check implements Checker.
func (SafetensorsChecker) Check(a *Artifact) []finding.Finding {
	f, _ := a.Model.(*safetensors.File)
	return CheckSafetensors(a.Loc, f)
}

// SafetensorsRules lists the rules CheckSafetensors and CheckSafetensorsIndex emit.
func SafetensorsRules() []finding.Rule {
	return []finding.Rule{RuleSafetensorsMalformed, RuleSafetensorsMetadata, RuleSafetensorsAnomaly,
		RuleSafetensorsIndexPath, RuleSafetensorsIndexMismatch, RuleSafetensorsInventory}
}

// safetensorsRule says which rule reports an anomaly kind.
func safetensorsRule(kind string) finding.Rule {
	switch kind {
	case safetensors.KindMetadataType:
		return RuleSafetensorsMetadata
	case safetensors.KindHeaderStart, safetensors.KindUnknownField:
		return RuleSafetensorsAnomaly
	case safetensors.KindShardPath:
		return RuleSafetensorsIndexPath
	case safetensors.KindMissingShard, safetensors.KindMissingTensor, safetensors.KindUnlisted:
		return RuleSafetensorsIndexMismatch
	}
	return RuleSafetensorsMalformed
}

// modelPerKind is how many findings one anomaly kind produces in one file; the
// rest are summed up in the last one.
const modelPerKind = 10

// modelAnomalyFindings turns anomalies into findings, at most modelPerKind of each
// kind, plus one that counts the rest.
func modelAnomalyFindings(loc finding.Location, kinds, details []string, offsets []int64, rule func(string) finding.Rule) []finding.Finding {
	var out []finding.Finding
	count := map[string]int{}
	for i, k := range kinds {
		count[k]++
		if count[k] > modelPerKind {
			continue
		}
		r := rule(k)
		out = append(out, finding.New(r, r.Severity, loc.At(offsets[i]), details[i], map[string]string{"anomaly": k}))
	}
	var extra []string
	for k, n := range count {
		if n > modelPerKind {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		r := rule(k)
		out = append(out, finding.New(r, r.Severity, loc, fmt.Sprintf("%d more %s anomalies", count[k]-modelPerKind, k),
			map[string]string{"anomaly": k}))
	}
	return out
}

// CheckSafetensors reports the anomalies of a parsed safetensors header and
// an inventory finding. loc is the file (or archive member).
func CheckSafetensors(loc finding.Location, f *safetensors.File) []finding.Finding {
	if f == nil {
		return nil
	}
	var kinds, details []string
	var offs []int64
	for _, a := range f.Anomalies {
		kinds, details, offs = append(kinds, a.Kind), append(details, a.Detail), append(offs, a.Offset)
	}
	out := modelAnomalyFindings(loc, kinds, details, offs, safetensorsRule)
	ev := map[string]string{
		"tensors":    fmt.Sprint(len(f.Tensors)),
		"parameters": fmt.Sprint(f.ParamCount),
		"dtypes":     modelCountList(f.DTypes),
		"header_len": fmt.Sprint(f.HeaderLen),
	}
	if v, ok := f.Metadata["format"]; ok {
		ev["format"] = v
	}
	msg := fmt.Sprintf("%d tensors, %d parameters (%s)", len(f.Tensors), f.ParamCount, ev["dtypes"])
	out = append(out, finding.New(RuleSafetensorsInventory, RuleSafetensorsInventory.Severity, loc, msg, ev))
	return out
}

// CheckSafetensorsIndex reports the anomalies of a shard index: those of
// the index itself (idx.Anomalies) and those safetensors.CheckIndex found
// against the shards (problems). loc is the index file.
func CheckSafetensorsIndex(loc finding.Location, idx *safetensors.Index, problems []safetensors.Anomaly) []finding.Finding {
	if idx == nil {
		return nil
	}
	var kinds, details []string
	var offs []int64
	for _, a := range append(append([]safetensors.Anomaly{}, idx.Anomalies...), problems...) {
		k := a.Kind
		if k == safetensors.KindDuplicateKey || k == safetensors.KindInvalidJSON {
			k = safetensors.KindUnlisted // an ambiguous index: report it as a mismatch
			kinds, details, offs = append(kinds, k), append(details, "index: "+a.Detail), append(offs, 0)
			continue
		}
		kinds, details, offs = append(kinds, k), append(details, a.Detail), append(offs, 0)
	}
	return modelAnomalyFindings(loc, kinds, details, offs, safetensorsRule)
}

// modelCountList writes counts by name as "F16:3, F32:1", largest first.
func modelCountList(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s:%d", n, m[n])
	}
	return strings.Join(parts, ", ")
}

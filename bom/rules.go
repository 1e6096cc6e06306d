package bom

import "github.com/aigis-sec/aigis/finding"

// MITRE ATLAS ids used by the BOM rules.
const (
	atlasSupplyChainModel = "AML.T0010.003" // ML Supply Chain Compromise: Model
	atlasSupplyChainData  = "AML.T0010.002" // ML Supply Chain Compromise: Data
	atlasAIBOM            = "AML.M0023"     // AI Bill of Materials
)

// The rules the BOM builder emits.
var (
	RuleUnpinnedModel = finding.Rule{
		ID: "bom-unpinned-model", Severity: finding.Medium,
		Title: "Model or dataset loaded from the Hub without a pinned revision",
		Description: "The code downloads a Hub repository by name without a 40-hex commit: a branch or tag " +
			"moves, so the bytes loaded tomorrow may differ from those reviewed today, and a takeover of the " +
			"repository reaches production on the next start.",
		ATLAS:       []string{atlasSupplyChainModel, atlasSupplyChainData, atlasAIBOM},
		Remediation: "Pass revision=\"<40-hex commit>\" (the commit you reviewed and scanned) to the loading call.",
	}
	RuleUnresolvedReference = finding.Rule{
		ID: "bom-unresolved-reference", Severity: finding.Low,
		Title: "Model, dataset or endpoint computed at run time",
		Description: "The repository id, revision or API endpoint comes from a variable, an environment " +
			"variable or a parameter, so the BOM cannot say what is loaded or called. It is not guessed.",
		ATLAS:       []string{atlasAIBOM},
		Remediation: "Use a constant id and a pinned revision, or record the allowed values in configuration that is reviewed.",
	}
	RuleIncomplete = finding.Rule{
		ID: "bom-incomplete", Severity: finding.Low,
		Title:       "Part of the project could not be inventoried",
		Description: "A file could not be read or parsed, or a limit was hit; the BOM may miss what it declares.",
		ATLAS:       []string{atlasAIBOM},
		Remediation: "Check the file named; fix it or raise the limit if you trust it.",
	}
)

// Rules lists the rules Build can emit (besides the scan engine's, which it
// passes on for model files).
func Rules() []finding.Rule {
	return []finding.Rule{RuleUnpinnedModel, RuleUnresolvedReference, RuleIncomplete}
}

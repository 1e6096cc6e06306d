package checks

import (
	"fmt"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/lookalike"
)

// RuleLookalikeName: typosquatted model ids (meta-IIama/Llama-2-7b-hf)
// impersonate well-known publishers so that a typo or a search result
// pulls an attacker's model.
var RuleLookalikeName = finding.Rule{
	ID: "model-lookalike-name", Severity: finding.High,
	Title:       "The model id looks like a well-known one but is not",
	Description: "The repository id differs from a well-known organisation or model by a confusable character, an edit, a separator or an added word such as -official: the way attackers impersonate publishers on model hubs.",
	ATLAS:       []string{atlasSupplyChainModel},
	Remediation: "Check the id letter by letter against the publisher's page; download the model from the real repository, pinned by commit.",
}

// LookalikeRules are the rules of CheckModelID.
func LookalikeRules() []finding.Rule { return []finding.Rule{RuleLookalikeName} }

// CheckModelID reports when id (org/name) imitates a well-known one. where
// says how the id was found (a cache folder, config.json's _name_or_path).
func CheckModelID(loc finding.Location, id, where string) []finding.Finding {
	var out []finding.Finding
	for _, m := range lookalike.Check(id) {
		sev := finding.Medium
		if m.Score >= 0.8 {
			sev = finding.High
		}
		out = append(out, finding.New(RuleLookalikeName, sev, loc,
			fmt.Sprintf("%s %q looks like %q (%s)", where, m.Input, m.LooksLike, m.Reason),
			map[string]string{"model_id": m.Input, "looks_like": m.LooksLike, "score": fmt.Sprintf("%.2f", m.Score)}))
	}
	return out
}

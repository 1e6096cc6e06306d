package policy

import (
	"slices"
	"sync"

	"github.com/aigis-sec/aigis/data/integrity"
	"github.com/aigis-sec/aigis/data/signals"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/scan/checks"
)

// RuleLookalike is the rule id of a look-alike repository id. The
// lookalikes key decides about the repository's own id; an exception that
// names this rule (or no rules) waives it.
var RuleLookalike = checks.RuleLookalikeName.ID

// The rules a registry scan can report: models (scan) and datasets (data).
// An ignore_rules entry or an exception naming anything else is a typo.
var (
	rulesOnce sync.Once
	ruleSet   map[string]bool
	ruleList  []string
)

func loadRules() {
	ruleSet = map[string]bool{}
	for _, list := range [][]finding.Rule{checks.Rules(), checks.LookalikeRules(), signals.Rules(), integrity.Rules()} {
		for _, r := range list {
			if !ruleSet[r.ID] {
				ruleSet[r.ID] = true
				ruleList = append(ruleList, r.ID)
			}
		}
	}
	slices.Sort(ruleList)
}

func knownRules() map[string]bool { rulesOnce.Do(loadRules); return ruleSet }

func ruleIDs() []string { rulesOnce.Do(loadRules); return ruleList }

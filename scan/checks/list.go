package checks

import "github.com/aigis-sec/aigis/finding"

// All is every checker the scan engine runs, in order.
func All() []Checker {
	return []Checker{
		PickleChecker{},
		ContainerChecker{},
		TensorChecker{},
		ConfigChecker{},
	}
}

// Rules lists the rules of every checker, without duplicates, in order.
func Rules() []finding.Rule {
	var out []finding.Rule
	seen := map[string]bool{}
	for _, c := range All() {
		for _, r := range c.Rules() {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}

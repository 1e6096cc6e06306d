package checks

import (
	"fmt"

	"github.com/aigis-sec/aigis/finding"
)

// ContainerChecker reports the structural anomalies of archives: the tricks
// that make Python's zipfile (and the scanners built on it) give up while
// PyTorch still loads the file.
type ContainerChecker struct{}

// Name implements Checker.
func (ContainerChecker) Name() string { return "container" }

// Accepts implements Checker.
func (ContainerChecker) Accepts(kind string) bool { return kind == KindContainer }

// Rules implements Checker.
func (ContainerChecker) Rules() []finding.Rule {
	return []finding.Rule{RuleArchiveTampered, RuleArchivePath, RuleLinkOutside, RuleEncrypted, RuleLimit, RuleUnreadable}
}

// Path anomalies are reported under their own rule.
const AnomalyPathKind = "path"

// Check implements Checker.
func (ContainerChecker) Check(a *Artifact) []finding.Finding {
	var out []finding.Finding
	seen := map[string]bool{}
	for _, an := range a.Anomalies {
		key := an.Member + "\x00" + an.Kind + "\x00" + an.Detail
		if seen[key] {
			continue
		}
		seen[key] = true
		loc := a.Loc
		if an.Member != "" {
			loc = loc.Child(an.Member)
		}
		r := RuleArchiveTampered
		if an.Kind == AnomalyPathKind {
			r = RuleArchivePath
		}
		msg := an.Detail
		if an.Member != "" {
			msg = fmt.Sprintf("member %q: %s", an.Member, an.Detail)
		}
		out = append(out, finding.New(r, r.Severity, loc.At(an.Offset), msg, map[string]string{"anomaly": an.Kind}))
	}
	return out
}

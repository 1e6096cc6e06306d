package checks

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/aigis-sec/aigis/finding"
)

// RuleConfigTarget: Hydra's instantiate() imports and calls whatever a
// config's _target_ names; NeMo and many training stacks instantiate the
// model config that ships inside the checkpoint (CVE-2025-23304).
var RuleConfigTarget = finding.Rule{
	ID: "config-dangerous-target", Severity: finding.Critical,
	Title:       "A model config makes the loader call a dangerous function",
	Description: "A _target_ in a YAML model config (Hydra, NeMo) names a callable that instantiate() imports and calls when the model is restored: code execution, file or network access, or a standard-library function a model does not need.",
	ATLAS:       []string{atlasUserExecMalicious, atlasSupplyChainModel},
	Remediation: "Do not restore this model. Check every _target_ in its configs; restore only models whose targets are the library's own classes.",
}

// ConfigChecker judges the _target_ values of YAML configs with the same
// policy as pickle callables.
type ConfigChecker struct{}

// Name implements Checker.
func (ConfigChecker) Name() string { return "config" }

// Accepts implements Checker.
func (ConfigChecker) Accepts(kind string) bool { return kind == KindConfig }

// Rules implements Checker.
func (ConfigChecker) Rules() []finding.Rule { return []finding.Rule{RuleConfigTarget} }

// Check implements Checker.
func (ConfigChecker) Check(a *Artifact) []finding.Finding {
	var doc yaml.Node
	if err := yaml.Unmarshal(a.Text, &doc); err != nil {
		return nil // not YAML after all: nothing to instantiate
	}
	var out []finding.Finding
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || seen[n] || depth > 200 || len(out) >= 100 {
			return
		}
		seen[n] = true // aliases point at nodes already walked: no expansion
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if (k.Value == "_target_" || k.Value == "target_") && v.Kind == yaml.ScalarNode {
					if f, ok := judgeTarget(a, v); ok {
						out = append(out, f)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
		walk(n.Alias, depth+1)
	}
	walk(&doc, 0)
	return out
}

func judgeTarget(a *Artifact, v *yaml.Node) (finding.Finding, bool) {
	target := strings.TrimSpace(v.Value)
	mod, name := "", target
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		mod, name = target[:i], target[i+1:]
	}
	verdict := Judge(mod, name)
	if verdict.Allowed || verdict.Severity < finding.High {
		return finding.Finding{}, false
	}
	msg := fmt.Sprintf("_target_: %s on line %d is imported and called when the config is instantiated", target, v.Line)
	if verdict.Canonical != target {
		msg += fmt.Sprintf(" (%s)", verdict.Canonical)
	}
	if verdict.Why != "" {
		msg += ": " + verdict.Why
	}
	return finding.New(RuleConfigTarget, verdict.Severity, a.Loc, msg,
		map[string]string{"callable": target, "line": fmt.Sprint(v.Line)}), true
}

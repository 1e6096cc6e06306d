package checks

import (
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/format/onnx"
	"github.com/aigis-sec/aigis/format/safetensors"
	"github.com/aigis-sec/aigis/format/tfgraph"
	"github.com/aigis-sec/aigis/format/tflite"
)

// All is every checker the scan engine runs, in order.
func All() []Checker {
	return []Checker{
		PickleChecker{},
		ContainerChecker{},
		TensorChecker{},
		ConfigChecker{},
		SafetensorsChecker{},
		funcChecker{"safetensors-index", KindShardIndex, func() []finding.Rule { return nil }, func(a *Artifact) []finding.Finding {
			return CheckSafetensorsIndex(a.Loc, a.Model.(*safetensors.Index), a.Problems)
		}},
		GGUFChecker{},
		funcChecker{"onnx", KindONNX, ONNXRules, func(a *Artifact) []finding.Finding {
			return CheckONNX(a.Loc, a.Model.(*onnx.Model), a.Resolve)
		}},
		funcChecker{"keras", KindKerasConfig, KerasRules, func(a *Artifact) []finding.Finding {
			return CheckKerasConfig(a.Loc, a.Name, a.Text)
		}},
		funcChecker{"tensorflow", KindTFGraph, TensorFlowRules, func(a *Artifact) []finding.Finding {
			return CheckTFGraph(a.Loc, a.Model.(*tfgraph.Graph))
		}},
		funcChecker{"tflite", KindTFLite, func() []finding.Rule { return nil }, func(a *Artifact) []finding.Finding {
			return CheckTFLite(a.Loc, a.Model.(*tflite.Model))
		}},
		funcChecker{"keras-metadata", KindKerasMetadata, func() []finding.Rule { return nil }, func(a *Artifact) []finding.Finding {
			return CheckKerasMetadata(a.Loc, a.Model.(*tfgraph.KerasMetadata))
		}},
		funcChecker{"python", KindPython, PythonRules, func(a *Artifact) []finding.Finding {
			return CheckPython(a.Loc, a.Name, a.Text)
		}},
		funcChecker{"secrets", KindText, SecretRules, func(a *Artifact) []finding.Finding {
			return CheckSecrets(a.Loc, a.Text)
		}},
		funcChecker{"model-id", KindModelID, LookalikeRules, func(a *Artifact) []finding.Finding {
			return CheckModelID(a.Loc, a.Name, string(a.Text))
		}},
		funcChecker{"chat-template", KindTemplate, TemplateRules, func(a *Artifact) []finding.Finding {
			return CheckTemplate(a.Loc, a.Name, string(a.Text))
		}},
	}
}

// funcChecker adapts a format's check function to the Checker interface.
type funcChecker struct {
	name  string
	kind  string
	rules func() []finding.Rule
	check func(*Artifact) []finding.Finding
}

func (c funcChecker) Name() string                        { return c.name }
func (c funcChecker) Accepts(kind string) bool            { return kind == c.kind }
func (c funcChecker) Rules() []finding.Rule               { return c.rules() }
func (c funcChecker) Check(a *Artifact) []finding.Finding { return c.check(a) }

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

package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/bom"
	"github.com/aigis-sec/aigis/data/integrity"
	"github.com/aigis-sec/aigis/data/signals"
	depchecks "github.com/aigis-sec/aigis/deps/checks"
	"github.com/aigis-sec/aigis/deps/pkgscan"
	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/report"
	"github.com/aigis-sec/aigis/scan/checks"
)

func newRulesCmd(stdout io.Writer) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "rules",
		Short: "List every rule aigis can report, with severity, MITRE ATLAS ids and remediation",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if !validFormat(format, report.RuleFormats()) {
				return usagef("--format %q: use one of %s", format, strings.Join(report.RuleFormats(), ", "))
			}
			return report.WriteRules(stdout, format, allRules())
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "table", "output format: "+strings.Join(report.RuleFormats(), ", "))
	return c
}

// allRules lists the rules of every verb once: scan, deps, package sources
// and the BOM.
func allRules() []finding.Rule {
	var out []finding.Rule
	seen := map[string]bool{}
	for _, list := range [][]finding.Rule{checks.Rules(), depchecks.Rules(), pkgscan.Rules(), bom.Rules(), signals.Rules(), integrity.Rules()} {
		for _, r := range list {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out
}

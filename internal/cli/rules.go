package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

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
			return report.WriteRules(stdout, format, checks.Rules())
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "table", "output format: "+strings.Join(report.RuleFormats(), ", "))
	return c
}

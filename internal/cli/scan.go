package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/report"
	"github.com/aigis-sec/aigis/scan"
)

func newScanCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		format, output, failOn string
		hashAll                bool
	)
	opt := scan.DefaultOptions()
	c := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan model files, folders and archives for what loading them would do",
		Long: `Scan model files, folders and archives without loading them.

Every file is recognised by its bytes, never by its name: pickles (also
protocol 0 files named .bin), PyTorch zip and legacy checkpoints, numpy
.npy/.npz, joblib (plain and compressed), zip, 7z, tar, gzip, bz2, xz, lzma,
zlib and lz4, nested to any depth within limits.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above
--fail-on; 2 usage error; 3 the scan could not be completed (an unreadable
file, a limit hit, an encrypted member) and nothing at or above the gate
was found.`,
		Example: `  aigis scan model.pt
  aigis scan ./my-model-repo --format sarif --output aigis.sarif
  aigis scan ~/.cache/huggingface/hub --fail-on medium`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gate, err := finding.ParseSeverity(failOn)
			if err != nil {
				return usagef("--fail-on: %v", err)
			}
			if !validFormat(format, report.Formats()) {
				return usagef("--format %q: use one of %s", format, strings.Join(report.Formats(), ", "))
			}
			if hashAll {
				opt.HashLimit = -1
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			rep, err := scan.Scan(ctx, args, opt)
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			rep.Tool = finding.Tool{Name: "aigis", Version: version()}
			return writeReport(stdout, output, format, rep, gate)
		},
	}
	f := c.Flags()
	f.StringVarP(&format, "format", "f", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	f.StringVar(&failOn, "fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	f.BoolVar(&hashAll, "hash", false, "compute the SHA-256 of every file, however large (by default only files up to 256 MiB)")
	f.IntVar(&opt.Limits.MaxDepth, "max-depth", opt.Limits.MaxDepth, "containers nested inside each other")
	f.Int64Var(&opt.Limits.MaxMemberBytes, "max-member-bytes", opt.Limits.MaxMemberBytes, "uncompressed bytes read from one archive member")
	f.Int64Var(&opt.Limits.MaxTotalBytes, "max-total-bytes", opt.Limits.MaxTotalBytes, "uncompressed bytes read below one file")
	f.IntVar(&opt.Limits.PickleMaxOps, "max-pickle-ops", opt.Limits.PickleMaxOps, "pickle opcodes interpreted in one file")
	f.BoolVar(&opt.Deps, "deps", opt.Deps, "also run the dependency checks of 'aigis deps' (offline) on the dependency files under each folder")
	f.DurationVar(&opt.Limits.Timeout, "timeout", opt.Limits.Timeout, "time to analyse one file, 0 for none; past it the file is incomplete")
	return c
}

func validFormat(name string, formats []string) bool {
	for _, f := range formats {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// writeReport writes rep and returns the exit error its findings call for.
func writeReport(stdout io.Writer, output, format string, rep *finding.Report, gate finding.Severity) error {
	w, done, err := createOutput(stdout, output)
	if err != nil {
		return err
	}
	defer done()
	color := output == "" && colorFor(stdout)
	if err := report.Write(w, format, rep, report.Options{Color: color, FailOn: gate}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if code := exitCode(rep, gate); code != ExitOK {
		return exitError{code}
	}
	return nil
}

// exitCode applies the contract: findings at or above the gate win over
// incompleteness.
func exitCode(rep *finding.Report, gate finding.Severity) int {
	if max, ok := rep.Max(); ok && max >= gate {
		return ExitFindings
	}
	if len(rep.Incomplete) > 0 {
		return ExitIncomplete
	}
	return ExitOK
}

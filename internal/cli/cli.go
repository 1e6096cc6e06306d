// Package cli is the aigis command line: one file per verb, flags turned
// into options, and every error mapped to an exit code in one place.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, the contract CI pipelines rely on (README, DESIGN.md).
const (
	ExitOK         = 0 // nothing at or above --fail-on
	ExitFindings   = 1 // findings at or above --fail-on, or verification failed
	ExitUsage      = 2 // usage or configuration error
	ExitIncomplete = 3 // the work could not be completed and nothing gated
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3";
// otherwise the module version from the build info is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// usageError marks errors that are the caller's to fix: exit 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code decided by a verb (1 or 3).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs aigis with args (without the program name) and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:   "aigis",
		Short: "AI supply-chain security: scan models before anyone loads them",
		Long: `aigis scans model files and repositories for what loading them would do,
without ever loading them, and reports every finding with its MITRE ATLAS ids.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newScanCmd(stdout, stderr), newHashCmd(stdout, stderr), newSignCmd(stdout, stderr),
		newVerifyCmd(stdout, stderr), newBOMCmd(stdout, stderr), newDepsCmd(stdout, stderr), newDataCmd(stdout, stderr), newProbeCmd(stdout, stderr), newServeCmd(stdout, stderr), newAuditCmd(stdout, stderr), newPushCmd(stdout, stderr),
		newRulesCmd(stdout), newVersionCmd(stdout))

	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "aigis: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitIncomplete
}

// isCobraUsage recognises the errors cobra returns for unknown commands
// and bad arguments.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "requires at least", "accepts ", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// colorFor reports whether output to w should be coloured: a terminal,
// and NO_COLOR unset (https://no-color.org).
func colorFor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// createOutput creates the --output file, or gives stdout when output is
// empty; the caller defers done.
func createOutput(stdout io.Writer, output string) (w io.Writer, done func(), err error) {
	if output == "" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(output)
	if err != nil {
		return nil, nil, usagef("--output: %v", err)
	}
	return f, func() { f.Close() }, nil
}

// readFlagFile reads the file that flag names with read; the errors are
// usage errors naming the flag, and the file when it does not read.
func readFlagFile[T any](flag, path string, read func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, usagef("%s: %v", flag, err)
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return v, usagef("%s %s: %v", flag, path, err)
	}
	return v, nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of aigis",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(stdout, "aigis %s\n", version())
			return nil
		},
	}
}

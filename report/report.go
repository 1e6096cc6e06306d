// Package report writes a finding.Report for people and for machines.
//
// Three formats are offered, chosen by name in one switch (Write):
//
//   - "table": for a person at a terminal. Findings are grouped by file and
//     by archive member, each on one line (severity, rule, byte offset,
//     message) with the rule's remediation below its first occurrence in a
//     file, then a summary: files scanned, findings by severity, work left
//     incomplete and a one-line verdict against the --fail-on gate. Every
//     string that came out of a scanned file is escaped before it reaches
//     the terminal, because a hostile model can carry escape sequences.
//   - "json": the versioned JSON report of DESIGN.md, the contract that
//     scripts rely on. Empty lists are written as [] so that consumers never
//     have to tell null from empty.
//   - "sarif": SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
//     See sarif.go for how a finding in a binary file, inside an archive
//     member, is mapped onto a format designed for lines of source code.
//
// WriteRules writes the list of rules (`aigis rules`) as a table or JSON.
//
// Writers never modify the report they are given: they sort a copy, so
// output is the same whatever order the engine produced.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aigis-sec/aigis/finding"
)

// Options adjust the table; the machine formats ignore them so that their
// output depends on the report alone.
type Options struct {
	// Color turns on ANSI colour in the table. The CLI decides: standard
	// output is a terminal and NO_COLOR is unset.
	Color bool
	// FailOn is the gate (--fail-on) the table's verdict is measured
	// against. The zero value is finding.Info: every finding gates.
	FailOn finding.Severity
}

// ErrUnknownFormat is returned, wrapped, for a format name that has no
// writer; the CLI reports it as a usage error.
var ErrUnknownFormat = errors.New("unknown format")

// Formats are the names Write accepts, in the order the CLI lists them.
func Formats() []string { return []string{"table", "json", "sarif"} }

// RuleFormats are the names WriteRules accepts.
func RuleFormats() []string { return []string{"table", "json"} }

// Write writes r to w in the named format. A nil report is written as an
// empty one. Output is built in memory and written with one call, so a
// failing writer never leaves half a JSON document behind unreported.
func Write(w io.Writer, format string, r *finding.Report, opt Options) error {
	rep := prepare(r)
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(format) {
	case "table":
		writeTable(&buf, &rep, opt)
	case "json":
		err = writeJSON(&buf, &rep)
	case "sarif":
		err = writeSARIF(&buf, &rep)
	default:
		return fmt.Errorf("report: %w %q: use one of %s", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("report: %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write %s: %w", format, err)
	}
	return nil
}

// WriteRules writes the rules aigis can emit, in the order given, as a table
// or as JSON ({"rules": [...]}).
func WriteRules(w io.Writer, format string, rules []finding.Rule) error {
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(format) {
	case "table":
		writeRulesTable(&buf, rules)
	case "json":
		err = writeRulesJSON(&buf, rules)
	default:
		return fmt.Errorf("report: %w %q for rules: use one of %s", ErrUnknownFormat, format, strings.Join(RuleFormats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("report: rules %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write rules %s: %w", format, err)
	}
	return nil
}

// prepare returns a sorted copy of r whose lists are never nil, so that the
// caller's report is left alone and JSON shows [] rather than null. A report
// whose producer forgot the schema version or tool name still gets them:
// the JSON contract says both are always there.
func prepare(r *finding.Report) finding.Report {
	var c finding.Report
	if r != nil {
		c = *r
	}
	c.Targets = append([]finding.Target{}, c.Targets...)
	c.Findings = append([]finding.Finding{}, c.Findings...)
	for i := range c.Findings {
		if c.Findings[i].ATLAS == nil {
			c.Findings[i].ATLAS = []string{}
		}
	}
	c.Incomplete = append([]finding.Incomplete{}, c.Incomplete...)
	c.Rules = append([]finding.Rule{}, c.Rules...)
	if c.SchemaVersion == "" {
		c.SchemaVersion = finding.SchemaVersion
	}
	if c.Tool.Name == "" {
		c.Tool.Name = toolName
	}
	c.Sort()
	return c
}

const toolName = "aigis"

// where names a location as people and the rest of aigis write it:
// path!member, nested members joined by "!".
func where(path, member string) string {
	if member == "" {
		return path
	}
	return path + "!" + member
}

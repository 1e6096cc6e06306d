// Package finding is the vocabulary every part of aigis speaks: rules (what
// can be found, with severity, MITRE ATLAS ids and remediation), findings
// (one instance of a rule in one file, with its evidence), and the report
// that a scan or check produces.
//
// A Rule is declared once, by the checker that emits it, so the full list
// can be printed (`aigis rules`) and fed to SARIF without scanning anything.
// A Finding refers to its rule by id and carries what was seen.
package finding

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Severity orders findings; the CLI gate (--fail-on) compares against it.
type Severity int

// Severities, lowest first. The meaning of each is documented in README.md
// and DESIGN.md: critical means loading runs arbitrary code.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name as given on the command line.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use one of %s", name, strings.Join(severityNames[:], ", "))
}

// MarshalJSON writes the severity by name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity by name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Rule is a kind of finding: declared by a checker, listed by `aigis rules`.
type Rule struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"` // default severity; a finding may carry another
	Title       string   `json:"title"`
	Description string   `json:"description"` // why it matters
	ATLAS       []string `json:"atlas"`
	Remediation string   `json:"remediation"`
}

// Finding is one piece of evidence in one file.
type Finding struct {
	RuleID      string            `json:"rule_id"`
	Severity    Severity          `json:"severity"`
	Title       string            `json:"title"`
	Path        string            `json:"path"`
	Member      string            `json:"member,omitempty"`
	Offset      int64             `json:"offset"`
	Message     string            `json:"message"`
	Evidence    map[string]string `json:"evidence,omitempty"`
	ATLAS       []string          `json:"atlas"`
	Remediation string            `json:"remediation"`
}

// New makes a finding of rule r at severity sev (r.Severity when sev < 0 is
// not wanted: pass r.Severity explicitly).
func New(r Rule, sev Severity, loc Location, msg string, evidence map[string]string) Finding {
	return Finding{
		RuleID:      r.ID,
		Severity:    sev,
		Title:       r.Title,
		Path:        loc.Path,
		Member:      loc.Member,
		Offset:      loc.Offset,
		Message:     msg,
		Evidence:    evidence,
		ATLAS:       r.ATLAS,
		Remediation: r.Remediation,
	}
}

// Location says where something was seen: the file as the user named it, the
// member inside an archive (nested members joined by "!"), and a byte offset
// inside the innermost member or file.
type Location struct {
	Path   string
	Member string
	Offset int64
}

// Child is the location of member name inside l.
func (l Location) Child(name string) Location {
	m := name
	if l.Member != "" {
		m = l.Member + "!" + name
	}
	return Location{Path: l.Path, Member: m}
}

// At is l at byte offset off.
func (l Location) At(off int64) Location { l.Offset = off; return l }

// Target is a file that was scanned.
type Target struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// Incomplete records work that could not be finished: an I/O error, a limit,
// an encrypted member. It makes the exit code 3 unless a finding gates.
type Incomplete struct {
	Path   string `json:"path"`
	Member string `json:"member,omitempty"`
	Reason string `json:"reason"`
}

// Tool names the program that made a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// SchemaVersion is the version of the JSON report format.
const SchemaVersion = "1"

// Report is the result of one invocation.
type Report struct {
	SchemaVersion string       `json:"schema_version"`
	Tool          Tool         `json:"tool"`
	Targets       []Target     `json:"targets"`
	Findings      []Finding    `json:"findings"`
	Incomplete    []Incomplete `json:"incomplete"`
	// Rules are the rules that could have fired (for SARIF); not in JSON.
	Rules []Rule `json:"-"`
}

// Max is the highest severity among the findings, and false when there are none.
func (r *Report) Max() (Severity, bool) {
	if len(r.Findings) == 0 {
		return 0, false
	}
	m := Info
	for _, f := range r.Findings {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m, true
}

// Sort orders targets by path and findings by path, member, offset and
// descending severity, so output is stable across runs.
func (r *Report) Sort() {
	sort.SliceStable(r.Targets, func(i, j int) bool { return r.Targets[i].Path < r.Targets[j].Path })
	SortFindings(r.Findings)
	sort.SliceStable(r.Incomplete, func(i, j int) bool {
		a, b := r.Incomplete[i], r.Incomplete[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Member < b.Member
	})
}

// SortFindings orders findings by path, member, offset, descending severity
// and rule id; the sort is stable.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(CompareLocation(a, b), cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.RuleID, b.RuleID))
	})
}

// CompareLocation orders two findings by path, member and offset.
func CompareLocation(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Member, b.Member), cmp.Compare(a.Offset, b.Offset))
}

// Count returns the number of findings at each severity.
func (r *Report) Count() map[Severity]int {
	c := map[Severity]int{}
	for _, f := range r.Findings {
		c[f.Severity]++
	}
	return c
}

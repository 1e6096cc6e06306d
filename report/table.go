package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aigis-sec/aigis/finding"
)

// The table is laid out for a 100-column terminal, the narrowest that CI
// logs and split editor panes commonly give.
const (
	tableWidth = 100
	// findingIndent is where a finding line starts: under a file header
	// (column 0) and a member header (column 2).
	findingIndent = 4
	sevWidth      = 8 // len("critical")
	// maxRuleWidth caps the rule column; a longer id pushes its own
	// message to the right rather than every message in the table.
	maxRuleWidth = 28
	// minMessageWidth is the narrowest message column worth wrapping
	// into; below it the message starts on its own line.
	minMessageWidth = 40
	// maxMessageLines bounds what one finding may print: messages quote
	// attacker-chosen arguments, which can be megabytes long.
	maxMessageLines = 4
	maxFixLines     = 6
	// maxIncompleteListed keeps the summary short when a whole corpus is
	// unreadable; the JSON report lists every entry.
	maxIncompleteListed = 20
)

// ANSI SGR parameters, by severity. Critical is bold so it stands out
// from high even where red and bright red look alike.
var sevColor = map[finding.Severity]string{
	finding.Critical: "1;31",
	finding.High:     "31",
	finding.Medium:   "33",
	finding.Low:      "36",
	finding.Info:     "34",
}

type table struct {
	buf   *bytes.Buffer
	color bool
}

func (t *table) paint(sgr, s string) string {
	if !t.color || sgr == "" {
		return s
	}
	return "\x1b[" + sgr + "m" + s + "\x1b[0m"
}

func (t *table) line(parts ...string) {
	for _, p := range parts {
		t.buf.WriteString(p)
	}
	t.buf.WriteByte('\n')
}

func writeTable(buf *bytes.Buffer, r *finding.Report, opt Options) {
	t := &table{buf: buf, color: opt.Color}
	if len(r.Findings) > 0 {
		t.findings(r)
	}
	t.summary(r, opt.FailOn)
}

// findings prints one block per file: a header, the findings in the file
// itself, then one sub-block per archive member. r is sorted by path and
// member, so each group is a run of consecutive findings.
func (t *table) findings(r *finding.Report) {
	kinds := map[string]string{}
	for _, tg := range r.Targets {
		kinds[tg.Path] = tg.Kind
	}
	ruleW, offW := 0, 0
	for _, f := range r.Findings {
		ruleW = max(ruleW, utf8.RuneCountInString(clean(f.RuleID)))
		offW = max(offW, len(offsetLabel(f.Offset)))
	}
	ruleW = min(ruleW, maxRuleWidth)

	fs := r.Findings
	for i := 0; i < len(fs); {
		path := fs[i].Path
		header := t.paint("1", clean(path))
		if k := kinds[path]; k != "" {
			header += " (" + clean(k) + ")"
		}
		t.line(header)
		fixed := map[string]bool{} // rules whose remediation this file has shown
		for i < len(fs) && fs[i].Path == path {
			member := fs[i].Member
			if member != "" {
				t.line("  in ", t.paint("1", clean(member)))
			}
			for ; i < len(fs) && fs[i].Path == path && fs[i].Member == member; i++ {
				f := fs[i]
				t.finding(f, ruleW, offW)
				if !fixed[f.RuleID] && f.Remediation != "" {
					fixed[f.RuleID] = true
					t.fix(f.Remediation)
				}
			}
		}
		t.line()
	}
}

// finding prints "severity  rule  @offset  message", the message wrapped
// under itself.
func (t *table) finding(f finding.Finding, ruleW, offW int) {
	sev := f.Severity.String()
	// Only an absurdly long rule id is cut, so that the line still fits.
	rule := truncate(clean(f.RuleID), tableWidth-findingIndent-sevWidth-2-offW-2)
	prefix := strings.Repeat(" ", findingIndent) +
		t.paint(sevColor[f.Severity], sev) + pad(sev, sevWidth) + "  " +
		rule + pad(rule, ruleW) + "  "
	col := findingIndent + sevWidth + 2 + max(ruleW, utf8.RuneCountInString(rule)) + 2
	if offW > 0 {
		off := offsetLabel(f.Offset)
		prefix += off + pad(off, offW) + "  "
		col += offW + 2
	}
	msg := clean(f.Message)
	if msg == "" {
		msg = clean(f.Title)
	}
	if tableWidth-col < minMessageWidth {
		t.line(strings.TrimRight(prefix, " "))
		col = findingIndent + sevWidth + 2
		prefix = strings.Repeat(" ", col)
	}
	lines := wrap(msg, tableWidth-col, maxMessageLines)
	t.line(prefix, lines[0])
	for _, l := range lines[1:] {
		t.line(strings.Repeat(" ", col), l)
	}
}

// fix prints a remediation under the rule column, so the eye goes from the
// severity straight down to what to do.
func (t *table) fix(remediation string) {
	const label = "fix: "
	col := findingIndent + sevWidth + 2
	lines := wrap(clean(remediation), tableWidth-col-len(label), maxFixLines)
	t.line(strings.Repeat(" ", col), label, lines[0])
	for _, l := range lines[1:] {
		t.line(strings.Repeat(" ", col+len(label)), l)
	}
}

// summary closes the table: what was scanned, what was found by severity,
// what could not be finished, and the verdict against the gate — the same
// decision the exit code makes (DESIGN.md: findings win over
// incompleteness).
func (t *table) summary(r *finding.Report, gate finding.Severity) {
	n := len(r.Findings)
	scanned := fmt.Sprintf("Scanned %d %s", len(r.Targets), plural(len(r.Targets), "file", "files"))
	if n == 0 {
		t.line(scanned, ": no findings.")
	} else {
		counts := r.Count()
		var parts []string
		for s := finding.Critical; s >= finding.Info; s-- {
			if c := counts[s]; c > 0 {
				parts = append(parts, t.paint(sevColor[s], s.String())+" "+strconv.Itoa(c))
			}
		}
		t.line(scanned, fmt.Sprintf(": %d %s (", n, plural(n, "finding", "findings")), strings.Join(parts, ", "), ").")
	}

	if k := len(r.Incomplete); k > 0 {
		t.line(fmt.Sprintf("Incomplete: %d %s could not be scanned completely:", k, plural(k, "item", "items")))
		for i, in := range r.Incomplete {
			if i == maxIncompleteListed {
				t.line(fmt.Sprintf("  … and %d more (the JSON report lists them all)", k-i))
				break
			}
			text := clean(where(in.Path, in.Member)) + ": " + clean(in.Reason)
			lines := wrap(text, tableWidth-4, 2)
			t.line("  ", lines[0])
			for _, l := range lines[1:] {
				t.line("    ", l)
			}
		}
	}

	gated := 0
	for _, f := range r.Findings {
		if f.Severity >= gate {
			gated++
		}
	}
	g := gate.String()
	switch {
	case gated > 0:
		t.line(t.paint("1;31", "FAIL"), fmt.Sprintf(": %d %s at or above the gate (%s).", gated, plural(gated, "finding", "findings"), g))
	case len(r.Incomplete) > 0:
		t.line(t.paint("1;33", "INCOMPLETE"), fmt.Sprintf(": nothing at or above the gate (%s) was found, but the scan did not finish.", g))
	case n > 0:
		t.line(t.paint("1;32", "PASS"), fmt.Sprintf(": nothing at or above the gate (%s); %d %s below it.", g, n, plural(n, "finding", "findings")))
	default:
		t.line(t.paint("1;32", "PASS"), fmt.Sprintf(": nothing at or above the gate (%s).", g))
	}
}

// writeRulesTable lists rules for `aigis rules`: one header line per rule
// (severity, id, title) and its ATLAS ids, rationale and remediation
// indented under the id.
func writeRulesTable(buf *bytes.Buffer, rules []finding.Rule) {
	t := &table{buf: buf}
	idW := 0
	for _, r := range rules {
		idW = max(idW, utf8.RuneCountInString(clean(r.ID)))
	}
	idW = min(idW, maxRuleWidth)
	const col = sevWidth + 2
	for _, r := range rules {
		sev, id := r.Severity.String(), clean(r.ID)
		head := sev + pad(sev, sevWidth) + "  " + id + pad(id, idW) + "  "
		titleCol := col + max(idW, utf8.RuneCountInString(id)) + 2
		lines := wrap(clean(r.Title), tableWidth-titleCol, maxFixLines)
		t.line(head, lines[0])
		for _, l := range lines[1:] {
			t.line(strings.Repeat(" ", titleCol), l)
		}
		for _, field := range []struct{ label, text string }{
			{"atlas: ", strings.Join(r.ATLAS, ", ")},
			{"why:   ", r.Description},
			{"fix:   ", r.Remediation},
		} {
			if field.text == "" {
				continue
			}
			lines := wrap(clean(field.text), tableWidth-col-len(field.label), 0)
			t.line(strings.Repeat(" ", col), field.label, lines[0])
			for _, l := range lines[1:] {
				t.line(strings.Repeat(" ", col+len(field.label)), l)
			}
		}
		t.line()
	}
	t.line(fmt.Sprintf("%d %s.", len(rules), plural(len(rules), "rule", "rules")))
}

// offsetLabel is "@57"; offset 0 is left blank because checkers use it for
// findings about a file as a whole (format advice), where "@0" is noise.
func offsetLabel(off int64) string {
	if off <= 0 {
		return ""
	}
	return "@" + strconv.FormatInt(off, 10)
}

// truncate cuts s to width runes, marking the cut with "…".
func truncate(s string, width int) string {
	r := []rune(s)
	if len(r) <= width || width < 1 {
		return s
	}
	return string(r[:width-1]) + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pad returns the spaces that bring s to width runes.
func pad(s string, width int) string {
	n := width - utf8.RuneCountInString(s)
	if n <= 0 {
		return ""
	}
	return strings.Repeat(" ", n)
}

// wrap breaks s into lines of at most width runes at spaces, cutting words
// longer than a line (base64 payloads have no spaces). With maxLines > 0
// the text is cut after that many lines and the last one ends in "…".
// Width is counted in runes: wide CJK characters may overrun a little,
// which is better than pulling in a width table for a rare case.
func wrap(s string, width, maxLines int) []string {
	width = max(width, 10)
	var lines []string
	var cur []rune
	flush := func() {
		lines = append(lines, strings.TrimRight(string(cur), " "))
		cur = cur[:0]
	}
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(w) > width {
			flush()
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		for len(cur)+len(w) > width {
			take := width - len(cur)
			cur = append(cur, w[:take]...)
			w = w[take:]
			flush()
		}
		cur = append(cur, w...)
	}
	if len(cur) > 0 || len(lines) == 0 {
		flush()
	}
	if maxLines > 0 && len(lines) > maxLines {
		lines = lines[:maxLines]
		last := []rune(lines[maxLines-1])
		if len(last) >= width {
			last = last[:width-1]
		}
		lines[maxLines-1] = string(last) + "…"
	}
	return lines
}

// clean makes text from a scanned file safe to print on a terminal. A
// pickle's arguments, a member name or a parser's error can contain ESC
// sequences (which could rewrite the screen, retitle the window or hide a
// line), bidirectional overrides (which reorder what is shown) and
// invalid UTF-8. Each such character is shown as a Go-style escape instead,
// so the reader sees that it was there.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports control characters (C0, DEL, C1), format characters
// (bidi overrides and isolates, zero-width characters) and the Unicode line
// and paragraph separators.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

package signals

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/aigis-sec/aigis/finding"
	"github.com/aigis-sec/aigis/scan/checks"
)

// tally counts one kind of thing in one column, with a few examples.
type tally struct {
	n        int64
	rows     []int64
	examples []string // masked values, one per example row (may be empty)
}

func (t *tally) add(row int64, example string) {
	t.n++
	if len(t.rows) < maxExamples {
		t.rows = append(t.rows, row)
		if example != "" {
			t.examples = append(t.examples, example)
		}
	}
}

// columnStats holds the per-column signals: unicode anomalies, lengths,
// secrets and personal data.
type columnStats struct {
	kinds map[string]*tally // "unicode:…", "secret:…", "pii:…"

	hist    [65]int64 // cells by bit length of their byte length
	cells   int64
	longest []lenRow // the maxExamples longest cells, longest first
}

type lenRow struct {
	n   int
	row int64
}

func (c *columnStats) tally(kind string) *tally {
	if c.kinds == nil {
		c.kinds = map[string]*tally{}
	}
	t := c.kinds[kind]
	if t == nil {
		t = &tally{}
		c.kinds[kind] = t
	}
	return t
}

func (c *columnStats) add(a *Analyzer, row int64, col int, v string) {
	c.cells++
	c.hist[bits.Len(uint(len(v)))]++
	if len(c.longest) < maxExamples || len(v) > c.longest[len(c.longest)-1].n {
		c.longest = append(c.longest, lenRow{len(v), row})
		slices.SortStableFunc(c.longest, func(x, y lenRow) int { return y.n - x.n })
		c.longest = c.longest[:min(maxExamples, len(c.longest))]
	}
	if v == "" {
		return
	}
	if len(v) > maxCellBytes {
		c.tally("unicode:very long cell").add(row, fmt.Sprintf("%d bytes", len(v)))
	}
	unicodeAnomalies(v, func(kind, ex string) { c.tally("unicode:"+kind).add(row, ex) })
	// CheckSecrets only reads the bytes: no copy of every cell.
	for _, f := range checks.CheckSecrets(a.loc, unsafe.Slice(unsafe.StringData(v), len(v))) {
		if f.Evidence["secret"] == "" {
			continue // the limit note: cells are far below it
		}
		c.tally("secret:"+f.Evidence["kind"]).add(row, f.Evidence["secret"])
	}
	findPII(v, func(kind string, start, end int) { c.tally("pii:"+kind).add(row, mask(v[start:end])) })
}

// Invisible characters: zero-width and word-joiner family, and bidi
// controls (the Trojan Source characters, CVE-2021-42574).
func invisibleKind(r rune) string {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0xFEFF:
		return "zero-width character"
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return "bidi control character"
	}
	return ""
}

func unicodeAnomalies(v string, report func(kind, example string)) {
	seen := map[string]bool{}
	wordStart, latin, other := -1, false, false
	flush := func(end int) {
		if wordStart >= 0 && latin && other && !seen["mixed-script word"] {
			seen["mixed-script word"] = true
			w := v[wordStart:end]
			if len(w) > 40 {
				w = w[:40]
				w = strings.ToValidUTF8(w, "")
			}
			report("mixed-script word", fmt.Sprintf("%q", w))
		}
		wordStart, latin, other = -1, false, false
	}
	for i, r := range v {
		if k := invisibleKind(r); k != "" && !(r == 0xFEFF && i == 0) {
			if !seen[k] {
				seen[k] = true
				report(k, fmt.Sprintf("U+%04X at byte %d", r, i))
			}
			continue // inside a word, an invisible character does not end it
		}
		if unicode.IsLetter(r) {
			if wordStart < 0 {
				wordStart = i
			}
			switch {
			case r < utf8.RuneSelf || unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r):
				other = true
			}
			continue
		}
		flush(i)
	}
	flush(len(v))
}

// p999 estimates the 99.9th percentile of cell lengths from the histogram
// (the upper bound of its bucket: conservative).
func (c *columnStats) p999() int {
	need := c.cells - c.cells/1000
	var acc int64
	for b, n := range c.hist {
		acc += n
		if acc >= need {
			if b == 0 {
				return 0
			}
			return 1<<b - 1
		}
	}
	return 1<<62 - 1
}

func (c *columnStats) findings(a *Analyzer, col int) []finding.Finding {
	var out []finding.Finding
	name := a.column(col)
	keys := make([]string, 0, len(c.kinds))
	for k := range c.kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := c.kinds[k]
		group, kind, _ := strings.Cut(k, ":")
		ev := map[string]string{"column": name, "kind": kind, "count": fmt.Sprint(t.n), "examples": joinRows(t.rows)}
		exText := ""
		if len(t.examples) > 0 {
			ev["values"] = strings.Join(t.examples, "; ")
			exText = ": " + ev["values"]
		}
		switch group {
		case "unicode":
			out = append(out, finding.New(RuleUnicodeAnomaly, RuleUnicodeAnomaly.Severity, a.loc,
				fmt.Sprintf("column %q: %d cells with a %s, e.g. rows %s%s", name, t.n, kind, joinRows(t.rows), exText), ev))
		case "secret":
			out = append(out, finding.New(RuleSecret, RuleSecret.Severity, a.loc,
				fmt.Sprintf("column %q: %d %s in %s, e.g. rows %s%s", name, t.n, kind, plural(t.n, "cell"), joinRows(t.rows), exText), ev))
		case "pii":
			out = append(out, finding.New(RulePII, RulePII.Severity, a.loc,
				fmt.Sprintf("column %q: %d %s, e.g. rows %s%s", name, t.n, plural(t.n, kind), joinRows(t.rows), exText), ev))
		}
	}
	// Length outliers: 10× the 99.9th percentile, and only when the column
	// has enough cells for a percentile to mean something.
	if c.cells >= 1000 {
		limit := 10 * max(c.p999(), 16)
		var rows []int64
		for _, l := range c.longest {
			if l.n > limit {
				rows = append(rows, l.row)
			}
		}
		if len(rows) > 0 {
			out = append(out, finding.New(RuleLengthOutlier, RuleLengthOutlier.Severity, a.loc,
				fmt.Sprintf("column %q: cells longer than %d bytes (10× the 99.9th percentile), e.g. rows %s (longest %d bytes)", name, limit, joinRows(rows), c.longest[0].n),
				map[string]string{"column": name, "limit": fmt.Sprint(limit), "examples": joinRows(rows), "longest": fmt.Sprint(c.longest[0].n)}))
		}
	}
	return out
}

func plural(n int64, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// Package signals looks for signs of poisoning, tampering and leakage in a
// training dataset, one row at a time, with bounded memory.
//
// An Analyzer is made with New for one dataset file, fed every row with Add,
// and asked for Findings at the end. Each finding is a signal for review,
// never a verdict:
//
//   - data-trigger-token: unigrams and bigrams whose label distribution is
//     extreme against the base rate (Z-defence, He et al. 2023), gated by
//     purity so that ordinary sentiment words are not reported;
//   - data-conflicting-duplicate and data-near-duplicate: identical texts with
//     different labels, and MinHash/LSH clusters of near-identical texts;
//   - data-label-shift and data-rows-changed: a comparison with the Baseline
//     of a trusted earlier version (label counts and a set of row hashes);
//   - data-unicode-anomaly and data-length-outlier: invisible and bidi control
//     characters, mixed-script words, enormous cells;
//   - data-secret and data-pii: credentials (scan/checks.CheckSecrets) and
//     validated personal data (e-mail, phone, card, IBAN, SSN), counted per
//     column and shown masked.
//
// RedactRow masks the same secrets and personal data in a row, for writing a
// cleaned copy.
//
// Memory is bounded by Options.MaxTokens (distinct tokens and bigrams,
// pruned like lossy counting when full) and Options.MaxRows (per-row hashes
// and 64-byte MinHash signatures); past a bound the analysis reports a
// data-analysis-incomplete finding instead of growing.
//
// # How the trigger threshold was chosen
//
// For a feature seen in n rows, k of them with label L of base rate p, the
// z-score is (k − np)/sqrt(np(1−p)). z ≥ 6 has a one-sided binomial tail
// below 1e-9, so even a million features tested give no chance hit. But z
// alone also flags honest words: in a sentiment set "great" is positive in
// 85 % of 2,000 rows, z ≈ 31. What separates a planted trigger is purity: an
// attacker flips the label of every row that carries the trigger, so k/n is
// close to 1, while natural lexical correlation stays below it (the
// sentiment words of the generated set in the tests agree with their label
// in 65–90 % of rows). Purity is taken as the lower end of its Wilson
// interval (z = 2), so that a bigram that is 48 of 50 times negative by
// chance is not pure. A feature is reported when z ≥ TriggerZ,
// n ≥ MinTokenCount and that lower bound is ≥ 0.93 (medium); it is high
// when the bound is ≥ 0.97. A trigger on 1 % of 20,000 balanced rows has
// n = 200, k/n = 1, bound 0.98, z ≈ 14: high; on 1 % of 10,000 rows the bound
// is 0.96: medium. With a balanced label the smallest pure feature that can
// reach z = 6 is in 36 rows. These values were tuned on the generated sets of
// signals_test.go: the clean set has no trigger finding at all.
package signals

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aigis-sec/aigis/data"
	"github.com/aigis-sec/aigis/finding"
)

// Options configures an Analyzer. Zero values take the defaults.
type Options struct {
	Text, Label      int     // column indexes, -1 when absent
	TriggerZ         float64 // z-score a trigger must reach; default 6
	MinTokenCount    int     // rows a trigger must be in; default 10
	NearDupThreshold float64 // estimated Jaccard similarity of near duplicates; default 0.9
	MaxTokens        int     // distinct tokens and bigrams tracked; default 1<<20
	MaxRows          int     // rows whose hashes and signatures are kept; default 1<<20
	Baseline         *Baseline
}

// Defaults.
const (
	DefaultTriggerZ         = 6
	DefaultMinTokenCount    = 10
	DefaultNearDupThreshold = 0.9
	DefaultMaxTokens        = 1 << 20
	DefaultMaxRows          = 1 << 20

	// triggerPurityMedium and triggerPurityHigh gate the z-score: see the
	// package documentation.
	triggerPurityMedium = 0.93
	triggerPurityHigh   = 0.97

	maxLabels    = 1024 // distinct labels tracked; others count as otherLabel
	maxExamples  = 5
	maxTriggers  = 50 // trigger findings reported
	maxClusters  = 20 // near-duplicate and conflict findings reported
	maxCellBytes = 64 << 10
)

const otherLabel = "(other labels)"

// Analyzer accumulates the signals of one dataset file.
type Analyzer struct {
	loc  finding.Location
	cols []string
	opt  Options

	rows int64

	labels   []string
	labelIdx map[string]int
	labelN   []int64

	tok tokenTable

	// Per-row state, up to MaxRows rows.
	rowNum   []int64
	rowHash  []uint64
	textHash []uint64
	rowLabel []uint16
	sigs     []byte // 64 bytes per row with text
	sigRow   []int32
	rowsCut  bool

	cols2 []*columnStats

	scratch []string
}

// New makes an Analyzer for the dataset at loc with columns cols.
func New(loc finding.Location, cols []string, opt Options) *Analyzer {
	if opt.TriggerZ <= 0 {
		opt.TriggerZ = DefaultTriggerZ
	}
	if opt.MinTokenCount <= 0 {
		opt.MinTokenCount = DefaultMinTokenCount
	}
	if opt.NearDupThreshold <= 0 || opt.NearDupThreshold > 1 {
		opt.NearDupThreshold = DefaultNearDupThreshold
	}
	if opt.MaxTokens <= 0 {
		opt.MaxTokens = DefaultMaxTokens
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = DefaultMaxRows
	}
	a := &Analyzer{loc: loc, cols: append([]string(nil), cols...), opt: opt,
		labelIdx: map[string]int{}}
	a.tok.init(opt.MaxTokens)
	return a
}

func (a *Analyzer) column(i int) string {
	if i >= 0 && i < len(a.cols) {
		return a.cols[i]
	}
	return fmt.Sprintf("column %d", i+1)
}

func cell(r *data.Row, i int) string {
	if i < 0 || i >= len(r.Values) {
		return ""
	}
	return r.Values[i]
}

func (a *Analyzer) label(s string) int {
	if i, ok := a.labelIdx[s]; ok {
		return i
	}
	if len(a.labels) >= maxLabels {
		s = otherLabel
		if i, ok := a.labelIdx[s]; ok {
			return i
		}
	}
	a.labelIdx[s] = len(a.labels)
	a.labels = append(a.labels, s)
	a.labelN = append(a.labelN, 0)
	return len(a.labels) - 1
}

// Add feeds one row. Rows are expected in file order.
func (a *Analyzer) Add(r *data.Row) {
	if r == nil {
		return
	}
	a.rows++
	lab := -1
	if a.opt.Label >= 0 {
		lab = a.label(cell(r, a.opt.Label))
		a.labelN[lab]++
	}
	for len(a.cols2) < len(r.Values) {
		a.cols2 = append(a.cols2, &columnStats{})
	}
	for i, v := range r.Values {
		a.cols2[i].add(a, r.Num, i, v)
	}
	text := ""
	if a.opt.Text >= 0 {
		text = cell(r, a.opt.Text)
	}
	var words []string
	if a.opt.Text >= 0 {
		words = tokenize(text, a.scratch[:0])
		a.scratch = words
	}
	if lab >= 0 && a.opt.Text >= 0 {
		a.tok.addRow(words, lab, r.Num)
	}
	if len(a.rowNum) >= a.opt.MaxRows {
		a.rowsCut = true
		return
	}
	a.rowNum = append(a.rowNum, r.Num)
	a.rowHash = append(a.rowHash, rowHash(r.Values))
	if a.opt.Text >= 0 {
		a.textHash = append(a.textHash, hashWords(words))
		if lab < 0 {
			lab = 0
		}
		a.rowLabel = append(a.rowLabel, uint16(lab))
		if len(words) > 0 {
			a.sigs = minhash(words, a.sigs)
			a.sigRow = append(a.sigRow, int32(len(a.rowNum)-1))
		}
	}
}

// Findings reports the signals of the rows added so far.
func (a *Analyzer) Findings() []finding.Finding {
	var out []finding.Finding
	out = append(out, a.triggerFindings()...)
	out = append(out, a.duplicateFindings()...)
	out = append(out, a.baselineFindings()...)
	for i, c := range a.cols2 {
		out = append(out, c.findings(a, i)...)
	}
	if a.tok.pruned > 0 {
		out = append(out, finding.New(RuleIncomplete, RuleIncomplete.Severity, a.loc,
			fmt.Sprintf("more than %d distinct tokens and bigrams: rare ones were pruned %d times, so trigger counts may be underestimated", a.opt.MaxTokens, a.tok.pruned),
			map[string]string{"limit": "MaxTokens", "max_tokens": fmt.Sprint(a.opt.MaxTokens), "prunings": fmt.Sprint(a.tok.pruned)}))
	}
	if a.rowsCut {
		out = append(out, finding.New(RuleIncomplete, RuleIncomplete.Severity, a.loc,
			fmt.Sprintf("only the first %d of %d rows were kept for duplicate detection and the baseline", len(a.rowNum), a.rows),
			map[string]string{"limit": "MaxRows", "max_rows": fmt.Sprint(a.opt.MaxRows), "rows": fmt.Sprint(a.rows)}))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

func joinRows(rows []int64) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = fmt.Sprint(r)
	}
	return strings.Join(s, ",")
}
